"""Issue 17's ablation table: EQL-style and KAN-style architectures side by side, with the
size and cost of one population member beside each, so the comparison is fair.

    .venv/bin/python -m experiments.run --suite feynman --sample 30 --sample-seed 0 \\
        --time 60 --jobs 2 --seed S \\
        --methods symnet symnet-kan symnet-spline_kan symnet+kan pykan --out DIR
    .venv/bin/python -m experiments.kan_ablation DIR/feynman.jsonl --out DIR/ablation.md

Per method: exact recoveries per seed (mean and min), the median test R^2 and the median
time to the selected formula over all its records; then, per architecture and input
count ``d`` of the tasks, one member's trainable parameters (masks excluded) and
floating-point operations per sample of its forward pass (XLA's cost analysis of the
jitted network; transcendental functions counted as one each). pykan's member is
``KAN(width=[d, 5, 1], grid=5, k=3)`` as its recipe builds it (grid 10 after ``refine``);
its FLOPs are estimated per edge from the B-spline recursion (Cox-de Boor, order 3):
``7 k (G + 2k)`` for the basis, ``2 (G + k)`` for the coefficients, 8 for the SiLU base
and the scales.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import platform

import numpy as np

#: The architectures each method trains.
ARCHS = {
    "symnet": ("default", "rational"),
    "symnet-kan": ("kan",),
    "symnet-spline_kan": ("spline_kan",),
    "symnet+kan": ("default", "rational", "kan"),
    "pykan": ("pykan",),
}


def member_cost(arch: str, d: int) -> tuple[int, float]:
    """``(parameters, FLOPs per sample)`` of one member of ``arch`` with ``d`` inputs."""
    if arch == "pykan":
        return _pykan_cost(d)
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from symnet.search import DEFAULT_CONFIG

    net = DEFAULT_CONFIG.model_fn(d, arch)(rngs=nnx.Rngs(0))
    params = sum(int(np.size(v)) for v in jax.tree.leaves(nnx.state(net, nnx.Param)))
    batch = 256
    graphdef, state = nnx.split(net)

    def forward(state, x):
        return nnx.merge(graphdef, state)(x)[0]

    x = jnp.ones((batch, d), jnp.float32)
    cost = jax.jit(forward).lower(state, x).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    flops = float(cost.get("flops", 0.0)) + float(cost.get("transcendentals", 0.0))
    return params, flops / batch


def _pykan_cost(d: int, hidden: int = 5, k: int = 3) -> tuple[int, float]:
    edges = d * hidden + hidden
    out = []
    for grid in (5, 10):
        # per edge: G + k spline coefficients, scale_base, scale_sp, mask (not trained)
        params = edges * (grid + k + 2)
        flops = edges * (7 * k * (grid + 2 * k) + 2 * (grid + k) + 8) + hidden + 1
        out.append((params, flops))
    return out[1][0], out[1][1]


def report(records: list[dict], dims: dict[str, int]) -> str:
    by = collections.defaultdict(list)
    for r in records:
        by[r["method"]].append(r)
    seeds = sorted({int(r["seed"]) for r in records})
    head = "| method | " + " | ".join(f"exact seed {s}" for s in seeds)
    lines = [
        head + " | mean | min | median R^2 | median time to selected (s) | records |",
        "|---|" + "---|" * (len(seeds) + 5),
    ]
    for method in [m for m in ARCHS if m in by] + sorted(set(by) - set(ARCHS)):
        rs = by[method]
        per = [sum(bool(r.get("exact")) for r in rs if int(r["seed"]) == s) for s in seeds]
        n = [sum(int(r["seed"]) == s for r in rs) for s in seeds]
        r2 = np.median([r.get("r2_test", -np.inf) for r in rs])
        tts = [r["time_to_selected"] for r in rs if r.get("time_to_selected") is not None]
        lines.append(
            f"| {method} | "
            + " | ".join(f"{p}/{k}" for p, k in zip(per, n, strict=True))
            + f" | {np.mean(per):.1f} | {min(per)} | {r2:.4f} | "
            + (f"{np.median(tts):.1f}" if tts else "n/a")
            + f" | {len(rs)} |"
        )
    counts = collections.Counter(dims.values())
    lines += [
        "",
        "One member (parameters / FLOPs per sample of a forward pass), by input count d "
        f"(tasks per d: {dict(sorted(counts.items()))}):",
        "",
        "| architecture | " + " | ".join(f"d={d}" for d in sorted(counts)) + " |",
        "|---|" + "---|" * len(counts),
    ]
    for arch in dict.fromkeys(a for m in by for a in ARCHS.get(m, ())):
        cells = [member_cost(arch, d) for d in sorted(counts)]
        lines.append(f"| {arch} | " + " | ".join(f"{p} / {f:.0f}" for p, f in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", help="the runner's JSON lines")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    from experiments.run import load_records
    from symnet.datasets import get_task

    records = load_records(args.records)
    dims = {}
    for r in records:
        if r["task"] not in dims:
            dims[r["task"]] = len(get_task(r["task"]).variables)
    commits = sorted({str(r.get("commit")) for r in records})
    text = (
        f"# KAN-style vs EQL-style architectures\n\n{__doc__.split(chr(10) * 2)[2]}\n\n"
        f"Written {datetime.date.today()}; python {platform.python_version()}, "
        f"{platform.machine()}; commits {', '.join(commits)}; records `{args.records}`.\n\n"
        + report(records, dims)
    )
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()

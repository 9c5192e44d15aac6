"""ODEBench from trajectories (ODEFormer's protocol), symnet and pysindy side by side.

    .venv/bin/python -m experiments.odebench --noise 0 0.01 --seed 0 --time 60 --jobs 2 \\
        --methods symnet pysindy --out experiments/results/odebench
    .venv/bin/python -m experiments.odebench --suite odebench_sub50 ...   # half the times

Each of ODEBench's 63 systems (``symnet.systems.odebench_systems``) is integrated from its
first initial condition over t in [0, 10] (512 evenly spaced states); ``odebench_sub50``
keeps a random half of the times (seeded). Gaussian noise of standard deviation
``noise * RMS`` of each state is added (seed ``--seed``, which also seeds the search).
A method sees only the times and the noisy states and returns one right-hand side per
state. Scoring:

- exact: SRBench's symbolic-solution check per right-hand side (difference or ratio to
  the truth simplifies to a constant, floats rounded first); a system counts when every
  right-hand side passes;
- reconstruction R^2: the found system simulated (diffrax, float64) from the first initial
  condition, against the true trajectory (sklearn's ``r2_score`` over the ``(512, d)``
  states, averaged over states; ``-inf`` when the simulation blows up);
- generalisation R^2: the same from the second initial condition.

Methods: ``symnet`` (``SymbolicODE(max_time=--time)``, the budget for the whole system),
``symnet-weak`` (the same with ``weak=True``) and ``pysindy`` (SINDy with its default
STLSQ, a polynomial library of degree 3 plus Fourier terms, smoothed finite
differences). One process per (system, method, noise, seed), pinned to its own core(s)
and killed after ``2 * time + 120`` s; one JSON line per finished system in
``OUT/<suite>.jsonl``; resumable (recorded systems are skipped); ``OUT/<suite>.md`` is
rewritten from all records after each.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

import numpy as np

from experiments.run import load_records, run_all, worker
from symnet.systems import ODEBENCH_TIMES

#: Suites: the share of the 512 times kept.
SUITES = {"odebench": 1.0, "odebench_sub50": 0.5}
METHODS = ("symnet", "symnet-weak", "pysindy")


def _data(name: str, keep: float, noise: float, seed: int):
    from symnet.systems import odebench_systems

    entry = odebench_systems()[name]
    x, t = entry.trajectory(0), ODEBENCH_TIMES
    rng = np.random.default_rng([entry.number, seed, round(noise * 1e6)])
    if keep < 1:
        rows = np.sort(rng.choice(len(t), int(keep * len(t)), replace=False))
        x, t = x[rows], t[rows]
    noisy = x + noise * np.sqrt(np.mean(x**2, axis=0)) * rng.normal(size=x.shape)
    return entry, np.asarray(t), noisy


def _pysindy(x, t, states):
    import pysindy as ps
    import sympy

    library = ps.PolynomialLibrary(degree=3) + ps.FourierLibrary()
    model = ps.SINDy(
        optimizer=ps.STLSQ(),
        feature_library=library,
        differentiation_method=ps.SmoothedFiniteDifference(),
    )
    model.fit(x, t=t, feature_names=list(states))
    symbols = {s: sympy.Symbol(s, real=True) for s in states}
    terms = [
        sympy.sympify(f.replace("^", "**").replace(" ", "*"), locals=symbols)
        for f in model.get_feature_names()
    ]
    return [
        sympy.Add(*(sympy.Float(c) * f for c, f in zip(row, terms, strict=True) if c != 0))
        for row in model.coefficients()
    ]


def _symnet(x, t, states, max_time, seed, weak=False):
    from symnet.dynamics import SymbolicODE

    model = SymbolicODE(max_time=max_time, random_state=seed, weak=weak)
    return model.fit(x, t, feature_names=states).sympy()


def _r2(found, entry, which: int) -> float:
    from sklearn.metrics import r2_score

    from symnet.dynamics._simulate import integrate, vector_field

    F, params = vector_field(found, entry.system.symbols())
    sim = integrate(F, params, entry.starts[which], ODEBENCH_TIMES)
    if not np.all(np.isfinite(sim)):
        return float("-inf")
    return float(r2_score(entry.trajectory(which), sim))


def run_one(task: str, method: str, noise: float, seed: int, max_time: float) -> dict:
    """Fits and scores one system in this process (the worker's job)."""
    from symnet import is_symbolic_solution

    suite, name = task.split("/")
    entry, t, x = _data(name, SUITES[suite], noise, seed)
    states = entry.system.states
    t0 = time.perf_counter()
    if method.startswith("symnet"):
        found = _symnet(x, t, states, max_time, seed, weak=method == "symnet-weak")
    else:
        found = _pysindy(x, t, states)
    wall = time.perf_counter() - t0
    exact = [
        bool(is_symbolic_solution(f, e, seconds=10.0, positive=[]))
        for f, e in zip(found, entry.system.exprs(), strict=True)
    ]
    return {
        "found": [str(f) for f in found],
        "wall": wall,
        "exact_states": exact,
        "exact": all(exact),
        "r2_recon": _r2(found, entry, 0),
        "r2_gen": _r2(found, entry, 1),
        "dim": len(states),
    }


def _share(rs, key, bar=0.9):
    return sum(r.get(key, -np.inf) > bar for r in rs)


def write_report(records: list[dict], suite: str, out: str, command: str) -> None:
    """Per (method, noise, seed): systems exact, R^2 > 0.9 shares; then per system."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["method"], float(r["noise"]), int(r["seed"])), []).append(r)
    commits = sorted({str(r.get("commit")) for r in records})
    lines = [
        f"# ODEBench from trajectories: {suite}",
        "",
        "\n".join(__doc__.split("\n\n")[2:4]),
        "",
        f"Written {datetime.date.today()}; python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs. Commits: {', '.join(commits)}. "
        f"Last command: `{command}`",
        "",
        "| method | noise | seed | systems | all states exact | states exact | "
        "recon R^2 > 0.9 | gen R^2 > 0.9 | median wall (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (method, noise, seed), rs in sorted(groups.items()):
        n = len(rs)
        states = [e for r in rs for e in r.get("exact_states", [False] * r.get("dim", 1))]
        walls = [r["wall"] for r in rs if "wall" in r]
        lines.append(
            f"| {method} | {noise:g} | {seed} | {n} | {sum(bool(r['exact']) for r in rs)} "
            f"({100 * sum(bool(r['exact']) for r in rs) / n:.0f}%) | {sum(states)}/{len(states)}"
            f" | {_share(rs, 'r2_recon')} ({100 * _share(rs, 'r2_recon') / n:.0f}%) | "
            f"{_share(rs, 'r2_gen')} ({100 * _share(rs, 'r2_gen') / n:.0f}%) | "
            f"{np.median(walls) if walls else float('nan'):.1f} |"
        )
    lines += [
        "",
        "| system | method | noise | seed | status | exact | recon R^2 | gen R^2 | found |",
    ]
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(records, key=lambda r: (r["task"], r["method"], r["noise"], r["seed"])):
        found = " ; ".join(r.get("found", []))[:160].replace("|", "/")
        lines.append(
            f"| {r['task']} | {r['method']} | {r['noise']:g} | {r['seed']} | {r['status']} | "
            f"{''.join('1' if e else '0' for e in r.get('exact_states', []))} | "
            f"{r.get('r2_recon', float('nan')):.4f} | {r.get('r2_gen', float('nan')):.4f} | "
            f"`{found}` |"
        )
    with open(os.path.join(out, f"{suite}.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        worker(argv, run_one)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="odebench", choices=sorted(SUITES))
    ap.add_argument("--noise", type=float, nargs="+", default=[0.0])
    ap.add_argument("--time", type=float, default=60.0, help="budget per system (s)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", nargs="+", default=["symnet"], choices=METHODS)
    ap.add_argument("--only", nargs="*", help="system names, e.g. ode01 ode24")
    ap.add_argument("--out", default=os.path.join("experiments", "results", "odebench"))
    args = ap.parse_args(argv)
    from symnet.systems import odebench_systems

    names = list(odebench_systems())
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            raise SystemExit(f"unknown systems in --only: {unknown}")
        names = [n for n in names if n in args.only]
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.suite}.jsonl")
    records = load_records(path)
    done = {(r["task"], r["method"], float(r["noise"]), int(r["seed"])) for r in records}
    todo = [
        (f"{args.suite}/{n}", m, g)
        for g in args.noise
        for n in names
        for m in args.methods
        if (f"{args.suite}/{n}", m, float(g), args.seed) not in done
    ]
    command = "python -m experiments.odebench " + " ".join(argv)

    def done_one(rec):
        print(
            f"{rec['task']:>24} {rec['method']:>8} noise={rec['noise']} {rec.get('status')} "
            f"exact={rec.get('exact')} gen={rec.get('r2_gen', float('nan')):.3f}",
            flush=True,
        )
        write_report(records, args.suite, args.out, command)

    run_all(todo, args.seed, args.time, args.jobs, "experiments.odebench", path, records, done_one)
    if records:
        write_report(records, args.suite, args.out, command)


if __name__ == "__main__":
    main()

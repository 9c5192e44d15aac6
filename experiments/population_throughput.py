"""Training throughput of the population trainer for populations of 1 to 256 networks,
against the machine's measured fp32 matrix-multiply peak.

For each preset (symnet's default network and EQL, both on 2 inputs) and population size:
1000 points, full batch, the default `TrainConfig` schedule shortened to `--steps` steps. The
first `run` call of `--steps` steps includes tracing and compilation; a second call of the
same `--steps` steps from the same initial state runs the compiled program only. Reports
steps/s = steps / (second-call time), member-steps/s = population * steps/s, and the achieved
GFLOP/s = (XLA's flop count of one population step, `PopulationTrainer.step_cost`) *
steps/s, as a share of the peak: the best of `--peak-repeats` timed fp32 matmuls of
`--peak-n` x `--peak-n` matrices with `jnp.dot` in the same process (2 n^3 flops each).
XLA counts transcendentals (sin, exp, log) apart from flops; they are listed, not added, and
the flops are counted on the step traced with ``jnp.sin``/``jnp.cos`` (the CPU series that
the step runs instead, ``symnet._trig``, would add its multiply-adds to the count).
Each population is measured as one ``vmap`` ("all") and, where it is larger, with each
``--member-chunks`` value as `TrainConfig.member_chunk` (chunks of that many members trained
one after another, each all its steps, so a chunk's parameters and activations stay in
cache). Writes a markdown table.

    taskset -c 0 .venv/bin/python experiments/population_throughput.py [--steps 200] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import os
import platform
import subprocess
import sys
import time

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax

import symnet
from symnet import PopulationTrainer, TrainConfig, _trig, init_population
from symnet.layers import default_network, eql

PRESETS = {
    "default_network": functools.partial(default_network, 2),
    "eql": functools.partial(eql, 2),
}
POPULATIONS = (1, 8, 64, 256)
N_POINTS = 1000


def make_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x ~ U(0.5, 3)^2 (inside every primitive's domain), y = x0*x1 + sin(x1), standardised."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 3.0, (N_POINTS, 2)).astype(np.float32)
    y = x[:, 0] * x[:, 1] + np.sin(x[:, 1])
    y = ((y - y.mean()) / y.std())[:, None].astype(np.float32)
    return x, y


def measure(model_fn, population: int, steps: int, seed: int, x, y, chunk=None) -> dict:
    """Times a first (compile + run) and a second (run only) call of `steps` steps
    (``chunk``: `TrainConfig.member_chunk`)."""
    config = TrainConfig(steps=steps, member_chunk=chunk)
    graphdef, params, masks = init_population(model_fn, jax.random.key(seed), population)
    trainer = PopulationTrainer(graphdef, config)
    lam = np.geomspace(1e-3, 3e-2, population).astype(np.float32)
    state = trainer.init(params, masks, lam, jax.random.key(seed + 1))
    schedule = config.schedule()
    x, y = jnp.asarray(x), jnp.asarray(y)
    jax.block_until_ready((state, x, y, schedule))

    t0 = time.perf_counter()
    first = jax.block_until_ready(trainer.run(state, x, y, schedule, steps))
    t1 = time.perf_counter()
    second = jax.block_until_ready(trainer.run(state, x, y, schedule, steps))
    t2 = time.perf_counter()
    if trainer.n_traces != 1:
        raise RuntimeError(f"expected one trace, got {trainer.n_traces}")
    for a, b in zip(jax.tree.leaves(first.params), jax.tree.leaves(second.params), strict=True):
        if not np.array_equal(np.asarray(a), np.asarray(b)):
            raise RuntimeError("the second call did not repeat the first")
    n_params = sum(int(np.prod(a.shape[1:])) for a in jax.tree.leaves(params))
    second_s = t2 - t1
    cost = trainer.step_cost(state, x, y)
    with libm_trig():
        counted = trainer.step_cost(state, x, y)
    return {
        "flops_per_step": counted["flops"],
        "compiled_flops_per_step": cost["flops"],
        "transcendentals_per_step": counted["transcendentals"],
        "gbytes_per_s": cost["bytes accessed"] * steps / second_s / 1e9,
        "gflops": counted["flops"] * steps / second_s / 1e9,
        "population": population,
        "chunk": chunk,
        "params": n_params,
        "first_s": t1 - t0,
        "second_s": second_s,
        "compile_s": (t1 - t0) - second_s,
        "steps_per_s": steps / second_s,
        "member_steps_per_s": population * steps / second_s,
        "median_mse": float(np.median(np.asarray(second.loss))),
    }


@contextlib.contextmanager
def libm_trig():
    """Steps traced inside count ``sin``/``cos`` as XLA's own ops (one transcendental each),
    not as the CPU series' multiply-adds (:mod:`symnet._trig`), so the series' extra
    arithmetic does not count as achieved FLOP/s."""
    saved = _trig._sin_cpu, _trig._cos_cpu
    _trig._sin_cpu, _trig._cos_cpu = jnp.sin, jnp.cos
    try:
        yield
    finally:
        _trig._sin_cpu, _trig._cos_cpu = saved


def matmul_peak(n: int, repeats: int) -> float:
    """The best fp32 GFLOP/s of ``repeats`` timed ``jnp.dot`` calls on n x n matrices."""
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    dot = jax.jit(jnp.dot)
    jax.block_until_ready(dot(a, b))  # compiled
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(dot(a, b))
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def memory_bandwidth(n: int, repeats: int) -> float:
    """The best GB/s of ``repeats`` timed ``a * x + y`` over ``n`` float32s (reads two
    arrays, writes one: 12 n bytes), the STREAM triad in JAX."""
    x = jnp.ones((n,), jnp.float32)
    y = jnp.ones((n,), jnp.float32)
    triad = jax.jit(lambda x, y: 1.5 * x + y)
    jax.block_until_ready(triad(x, y))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(triad(x, y))
        best = min(best, time.perf_counter() - t0)
    return 12 * n / best / 1e9


def write_report(
    path: str, args, argv: list[str], rows: list[dict], peak: float, bandwidth: float
) -> None:
    cmd = " ".join([".venv/bin/python", "experiments/population_throughput.py", *argv])
    with open(path, "w") as f:
        f.write("# Population trainer throughput\n\n")
        f.write(f"Command: `{cmd}`  \n")
        rev = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=os.path.dirname(os.path.abspath(__file__)),
            capture_output=True,
            text=True,
        ).stdout.strip()
        f.write(f"Date: {datetime.date.today()}; seed {args.seed}; commit {rev or 'unknown'}  \n")
        f.write(
            f"Versions: symnet {symnet.__version__}, jax {jax.__version__}, flax "
            f"{flax.__version__}, optax {optax.__version__}, numpy {np.__version__}, python "
            f"{platform.python_version()}  \n"
        )
        f.write(
            f"Machine: {platform.platform()}, {platform.machine()}, os.cpu_count() = "
            f"{os.cpu_count()}, jax.devices() = {jax.devices()}  \n"
        )
        f.write(
            f"Workload: {N_POINTS} points, 2 inputs, full batch, `TrainConfig(steps="
            f"{args.steps})` schedule (warm-up, sparsify, freeze, fine-tune), float32, "
            "sparsity strengths geometric in [1e-3, 3e-2] across members; y standardised "
            "(the last column is the training MSE of the last step, a sanity check only).\n\n"
        )
        f.write(
            "Timing: *first call* = `trainer.run(state, ..., n_steps)` including trace and "
            "XLA compilation; *second call* = the same call again from the same state "
            "(compiled program only; results are checked to be bitwise equal); *compile* = "
            "first - second. steps/s = steps / second call; member-steps/s = population x "
            "steps/s. Wall-clock times with `jax.block_until_ready`, one measurement each, on "
            "a machine shared with other jobs, so expect run-to-run noise of tens of percent."
            "\n\n"
        )
        f.write(
            f"Peak: fp32 `jnp.dot` of {args.peak_n} x {args.peak_n} matrices, best of "
            f"{args.peak_repeats}: **{peak:.1f} GFLOP/s** (same process, same devices). "
            "GFLOP/s = XLA's flops of one population step x steps/s, the step traced with "
            "`jnp.sin`/`jnp.cos` (XLA counts each as one transcendental; the CPU series the "
            "step runs, `symnet._trig`, adds multiply-adds that are not counted: *MFLOP / "
            "step as compiled* has them); % peak = GFLOP/s / peak. Memory: the STREAM triad "
            "`1.5 * x + y` over "
            f"{args.bandwidth_n} float32s, best of {args.peak_repeats}: **{bandwidth:.1f} "
            "GB/s**; GB/s = XLA's bytes accessed by one population step (its fused "
            "operations' operands and results) x steps/s; % bw = GB/s / the triad's.\n\n"
        )
        f.write(
            "| preset | population | member chunk | params / member | first call (s) | "
            "compile (s) | "
            "second call (s) | steps/s | member-steps/s | MFLOP / step | "
            "MFLOP / step as compiled | transcendentals / step (M) | GFLOP/s | % peak | "
            "GB/s | % bw | median last-step MSE |\n"
        )
        f.write("|---|" + "---:|" * 16 + "\n")
        for r in rows:
            f.write(
                f"| {r['preset']} | {r['population']} | {r['chunk'] or 'all'} | "
                f"{r['params']} | {r['first_s']:.2f} | "
                f"{r['compile_s']:.2f} | {r['second_s']:.3f} | {r['steps_per_s']:.0f} | "
                f"{r['member_steps_per_s']:.0f} | {r['flops_per_step'] / 1e6:.2f} | "
                f"{r['compiled_flops_per_step'] / 1e6:.2f} | "
                f"{r['transcendentals_per_step'] / 1e6:.2f} | {r['gflops']:.2f} | "
                f"{r['gflops'] / peak:.1%} | {r['gbytes_per_s']:.1f} | "
                f"{r['gbytes_per_s'] / bandwidth:.0%} | {r['median_mse']:.3g} |\n"
            )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200, help="steps per timed call")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(__file__), "results"),
        help="directory of the markdown report",
    )
    ap.add_argument("--peak-n", type=int, default=2048, help="matmul size of the peak")
    ap.add_argument("--peak-repeats", type=int, default=10)
    ap.add_argument("--bandwidth-n", type=int, default=2**26, help="floats of the triad")
    ap.add_argument(
        "--member-chunks",
        default="all,4,8",
        help="comma-separated TrainConfig.member_chunk values ('all': one vmap); a chunk "
        "is measured for populations larger than it",
    )
    args = ap.parse_args(argv)
    if args.steps < 1:
        ap.error(f"--steps must be >= 1, got {args.steps}")
    peak = matmul_peak(args.peak_n, args.peak_repeats)
    bandwidth = memory_bandwidth(args.bandwidth_n, args.peak_repeats)
    print(f"fp32 matmul peak {peak:.1f} GFLOP/s, triad {bandwidth:.1f} GB/s", flush=True)
    chunks = [None if c == "all" else int(c) for c in args.member_chunks.split(",")]
    x, y = make_data(args.seed)
    rows = []
    for name, model_fn in PRESETS.items():
        for population in POPULATIONS:
            for chunk in chunks:
                if chunk is not None and chunk >= population:
                    continue
                m = measure(model_fn, population, args.steps, args.seed, x, y, chunk)
                rows.append({"preset": name, **m})
                _print_row(rows[-1], peak, bandwidth)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "population_throughput.md")
    write_report(path, args, argv, rows, peak, bandwidth)
    print(f"wrote {path}")
    return 0


def _print_row(row: dict, peak: float, bandwidth: float) -> None:
    print(
        f"{row['preset']:>16} pop={row['population']:>3} chunk={row['chunk'] or 'all':>3}  "
        f"first {row['first_s']:6.2f}s  second {row['second_s']:6.3f}s  "
        f"{row['steps_per_s']:8.0f} steps/s  {row['member_steps_per_s']:9.0f} member-steps/s  "
        f"{row['gflops']:7.2f} GFLOP/s ({row['gflops'] / peak:.1%} of peak)  "
        f"{row['gbytes_per_s']:6.1f} GB/s ({row['gbytes_per_s'] / bandwidth:.0%} of bw)",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())

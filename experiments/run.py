"""Benchmark runner: suites of :mod:`symnet.datasets`, scored side by side with peers.

    .venv/bin/python -m experiments.run --suite feynman --noise 0.01 --time 60 --jobs 2 \\
        --out experiments/results/srbench
    .venv/bin/python -m experiments.run --suite feynman --sample 30 --methods symnet operon gplearn
    .venv/bin/python -m experiments.run --suite feynman --units   # symnet given X_units, y_units

One process per (task, method, noise, seed), killed after a hard timeout (``2 * time + 120``
seconds); one JSON line per finished task in ``OUT/<suite>.jsonl``. Resumable: tasks
already recorded (same task, method, noise, seed and budget) are skipped. After each run
the markdown report ``OUT/<suite>.md`` and the plot ``OUT/<suite>_recovery.png`` (recovery
rate vs noise per method) are rewritten from every record.

Scoring (:func:`score`): SRBench's symbolic-solution check (model minus truth or model over
truth simplifies to a constant, floats rounded first, each check time-limited), R^2 on
held-out points from the task's box, R^2 on a wider box (``extrapolate=True``), complexity
(sympy operation count of the rounded formula), wall time and time to the selected formula.
SRBench's rounding (3 decimals, ``|c| < 1e-4`` zeroed) assumes data of order 1: on SRSD's
physical scales it zeroes ``4.427e-12*Ef**2`` (which solves ``8.854e-12*Ef**2/2``) and
``3.3e-9*omega`` (``omega/c``), so where the data's magnitudes are extreme the check is
also run in units of them (:func:`magnitudes`), and either showing the formula exact
suffices (in those units, the 3-decimal rounding of ``0.836*chi + 0.836`` scaled to
``8.359*chi' + 0.836`` no longer factors as ``1 + chi``).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

N_TRAIN = {"nguyen": None, "strogatz": None, "chaotic": None}  # None: the task's own size
TRAJECTORIES = ("strogatz", "chaotic")  # samples along ODE trajectories


#: Data whose target or an input has a median magnitude this many decades or more from 1
#: (SRSD's) are also checked in units of the data's magnitudes.
EXTREME_DECADES = 3


def magnitudes(X: np.ndarray, y: np.ndarray) -> tuple[list[float], float]:
    """``(input units, target unit)``: where the median magnitude of the target or of an
    input is at least ``EXTREME_DECADES`` decades from 1, the powers of ten nearest the
    target's and each input's median magnitude; 1.0 for all otherwise (data of ordinary
    magnitude)."""

    def decade(v):
        m = float(np.median(np.abs(v)))
        return round(np.log10(m)) if m > 0 and np.isfinite(m) else 0

    decades = [decade(X[:, j]) for j in range(X.shape[1])] + [decade(y)]
    if max(abs(k) for k in decades) < EXTREME_DECADES:
        return [1.0] * X.shape[1], 1.0
    return [10.0**k for k in decades[:-1]], 10.0 ** decades[-1]


def _in_units(expr, symbols, units_x, unit_y):
    """``expr(x)`` over ``x = units_x * x'``, divided by ``unit_y``."""
    import sympy

    sub = {s: s * sympy.Float(u) for s, u in zip(symbols, units_x, strict=True) if u != 1.0}
    return expr.xreplace(sub) / sympy.Float(unit_y)


def score(task, formula, *, seed: int, check_seconds: float = 10.0) -> dict:
    """Exactness, test and extrapolation R^2 and complexity of ``formula`` on ``task``.

    Test points are drawn with seed ``seed + 1`` (training uses ``seed``), extrapolation
    points from the widened box with seed ``seed + 2``.
    """
    import sympy

    from symnet import is_symbolic_solution, r2_score
    from symnet._refit import evaluate
    from symnet._sympy_utils import complexity, round_floats
    from symnet.units import is_consistent

    symbols = task.symbols()
    out = {}
    units = None
    for label, extrapolate, s in (("r2_test", False, seed + 1), ("r2_extrap", True, seed + 2)):
        X, y = task.sample(
            None if task.suite in N_TRAIN else 1000, seed=s, extrapolate=extrapolate
        )
        with np.errstate(all="ignore"):
            pred = evaluate(formula, symbols, X.to_numpy())
        out[label] = float(r2_score(y, pred))
        units = units or magnitudes(X.to_numpy(), np.asarray(y))
    # Variables sampled from boxes above 0 are positive on the task's domain.
    positive = [v for v, (lo, _) in zip(task.variables, task.ranges, strict=True) if lo > 0]
    if task.suite in TRAJECTORIES:
        positive = []  # trajectories may leave the initial-condition box
    exact = is_symbolic_solution(formula, task.expr(), seconds=check_seconds, positive=positive)
    if not exact and units != ([1.0] * len(symbols), 1.0):
        model, truth = (_in_units(e, symbols, *units) for e in (formula, task.expr()))
        exact = is_symbolic_solution(model, truth, seconds=check_seconds, positive=positive)
    out["exact"] = bool(exact)
    if task.units is not None:  # dimensional consistency of the formula (constants: none)
        dims = dict(zip(symbols, task.units, strict=True))
        out["consistent"] = bool(is_consistent(formula, dims, task.y_units))
    rounded = round_floats(formula)  # 2.0000001 counts as 2; a constant 1e-30 is not 0
    if rounded.free_symbols != sympy.sympify(formula).free_symbols:
        rounded = formula
    out["complexity"] = int(complexity(rounded))
    return out


def run_one(task_name: str, method: str, noise: float, seed: int, max_time: float) -> dict:
    """Fits and scores one task in this process (the worker's job)."""
    from experiments.peers import METHODS
    from symnet.datasets import get_task

    task = get_task(task_name)
    n = None if task.suite in N_TRAIN else 1000
    X, y = task.sample(n, noise=noise, seed=seed)
    t0 = time.perf_counter()
    extra = {"task": task} if method.endswith("+units") else {}
    formula, found_at = METHODS[method](X, y, max_time=max_time, seed=seed, **extra)
    wall = time.perf_counter() - t0
    rec = {"found": str(formula), "wall": wall, "time_to_selected": found_at}
    rec.update(score(task, formula, seed=seed))
    return rec


def _key(r):
    return (r["task"], r["method"], float(r["noise"]), int(r["seed"]), float(r["max_time"]))


def _core_slots(jobs: int) -> queue.Queue:
    """The machine's cores split into ``jobs`` disjoint sets, one per parallel task: a
    task is pinned to its set, so parallel tasks (and the methods they compare) do not
    take each other's cores."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    jobs = max(1, jobs)
    slots: queue.Queue = queue.Queue()
    for j in range(jobs):
        part = cores[j::jobs] if len(cores) >= jobs else cores
        slots.put(tuple(part))
    return slots


@functools.cache
def commit() -> str:
    """The checkout's commit (``-dirty`` with uncommitted changes), or ``unknown``."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (rev + ("-dirty" if dirty else "")) if rev else "unknown"


#: Environment variables that size the BLAS / OpenMP thread pools numpy and scipy start.
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _launch(task, method, noise, seed, max_time, hard, slots=None, module="experiments.run"):
    """Runs one task in a fresh ``python -m <module> --worker ...`` process pinned to
    cores from ``slots``, killed after ``hard`` seconds: its record."""
    base = {
        "task": task,
        "method": method,
        "noise": noise,
        "seed": seed,
        "max_time": max_time,
        "commit": commit(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "result.json")
        cmd = [
            sys.executable,
            "-m",
            module,
            "--worker",
            task,
            method,
            str(noise),
            str(seed),
            str(max_time),
            path,
        ]
        t0 = time.perf_counter()
        try:
            cores = slots.get() if slots is not None else ()
            env = None
            if cores:  # the worker pins itself to these cores (see main)
                env = {
                    **os.environ,
                    "BENCH_CORES": ",".join(map(str, cores)),
                    "BENCH_THREADS": str(len(cores)),
                    # BLAS pools sized before the worker pins itself would oversubscribe
                    **{v: str(len(cores)) for v in BLAS_THREAD_VARS},
                }
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=hard, env=env)
            finally:
                if slots is not None:
                    slots.put(cores)
        except subprocess.TimeoutExpired:
            return {**base, "status": "timeout", "wall": time.perf_counter() - t0, "exact": False}
        if proc.returncode != 0 or not os.path.exists(path):
            lines = (proc.stderr or "").strip().splitlines() or ["no output"]
            return {
                **base,
                "status": "error",
                "error": lines[-1][:300],
                "traceback": "\n".join(lines[-25:]),
                "exact": False,
            }
        with open(path) as f:
            return {**base, "status": "ok", **json.load(f)}


def worker(argv: list[str], run_one) -> None:
    """The ``--worker TASK METHOD NOISE SEED MAX_TIME PATH`` branch of a runner: pins
    itself to ``BENCH_CORES`` (before jax starts its threads), runs ``run_one`` and writes
    its record to ``PATH`` as JSON."""
    cores = os.environ.get("BENCH_CORES")
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(c) for c in cores.split(",")})
    task, method, noise, seed, max_time, path = argv[1:7]
    rec = run_one(task, method, float(noise), int(seed), float(max_time))
    with open(path, "w") as f:
        json.dump(rec, f)


def run_all(todo, seed, max_time, jobs, module, path, records, done_one, ray=None) -> None:
    """Runs the ``(task, method, noise)`` triples of ``todo`` in ``jobs`` parallel worker
    processes of ``module`` (each pinned to its cores, killed after ``2 * max_time + 120``
    s); each record is appended to ``records`` and to the JSON lines file ``path``, then
    passed to ``done_one``. With ``ray`` (``""``: a local Ray of ``jobs`` CPUs, else a
    cluster's address) each worker process is started by a Ray task asking one CPU
    (:func:`symnet.sweep`'s engine; Ray places them, so they are not pinned)."""
    from experiments import run  # `_launch` by its module (Ray pickles __main__'s by value)
    from symnet._sweep import map_jobs

    hard = 2 * max_time + 120
    slots = None if ray is not None else _core_slots(jobs)
    args = [(t, m, g, seed, max_time, hard, slots, module) for t, m, g in todo]
    backend = "thread" if ray is None else "ray"
    launch = run._launch
    for _, rec in map_jobs(launch, args, backend=backend, workers=jobs, address=ray or None):
        records.append(rec)
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        done_one(rec)


def add_ray_option(ap) -> None:
    """``--ray [ADDRESS]`` of a runner: :func:`run_all`'s ``ray``."""
    ap.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run the tasks as Ray tasks: a local Ray of --jobs CPUs, or a cluster's address",
    )


def load_records(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _median(values):
    values = [v for v in values if v is not None and np.isfinite(v)]
    return statistics.median(values) if values else float("nan")


def write_report(records: list[dict], suite: str, out: str, command: str) -> None:
    """Markdown summary per (method, noise) plus failures, and the recovery-vs-noise plot."""
    groups: dict[tuple[str, float, float], list[dict]] = {}
    for r in records:
        groups.setdefault((r["method"], float(r["noise"]), float(r["max_time"])), []).append(r)
    lines = [f"# Benchmark: {suite}", ""]
    lines.append(
        f"Written {datetime.date.today()}; python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs. Last command: `{command}`"
    )
    commits = sorted({str(r.get("commit", "unrecorded")) for r in records})
    lines.append(f"Commits of the records: {', '.join(commits)}.")
    lines += [
        "",
        "Exact = SRBench symbolic solution. R^2 on 1000 held-out points from the task's box "
        "(test) and from the box widened by 50% upwards (extrap). Times in seconds.",
        "",
        "| method | noise | budget (s) | tasks | exact | rate | median R^2 test | "
        "median R^2 extrap | median complexity | median wall | median time to selected |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (method, noise, budget), rs in sorted(groups.items()):
        ok = [r for r in rs if r.get("status") == "ok"]
        n_exact = sum(bool(r.get("exact")) for r in rs)
        lines.append(
            f"| {method} | {noise} | {budget:g} | {len(rs)} | {n_exact} | "
            f"{100 * n_exact / len(rs):.1f}% | {_median(r['r2_test'] for r in ok):.4f} | "
            f"{_median(r['r2_extrap'] for r in ok):.4f} | "
            f"{_median(r['complexity'] for r in ok):.0f} | "
            f"{_median(r.get('wall') for r in rs):.1f} | "
            f"{_median(r.get('time_to_selected') for r in ok):.1f} |"
        )
    checked = {k: [r for r in rs if "consistent" in r] for k, rs in sorted(groups.items())}
    if any(checked.values()):
        lines += ["", "Dimensionally inconsistent selected formulas (units of the task):", ""]
        for (method, noise, budget), rs in checked.items():
            bad = sum(not r["consistent"] for r in rs)
            lines.append(f"- {method}, noise {noise}, {budget:g} s: {bad} of {len(rs)}")
    if suite in TRAJECTORIES:
        lines += _per_system(groups)
    lines += ["", "## Not recovered", ""]
    lines += ["| method | noise | task | status | R^2 test | found |", "|---|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: (r["method"], r["noise"], r["task"])):
        if r.get("exact"):
            continue
        found = r.get("found", r.get("error", ""))
        found = found if len(found) <= 160 else found[:157] + "..."
        r2 = f"{r['r2_test']:.4f}" if "r2_test" in r else "-"
        cells = [r["method"], r["noise"], r["task"], r.get("status"), r2, f"`{found}`"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    with open(os.path.join(out, f"{suite}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    _plot(groups, suite, out)


def _per_system(groups) -> list[str]:
    """Per ODE system (task ``<suite>/<system>_<state>``): right-hand sides recovered."""
    lines = []
    for (method, noise, budget), rs in sorted(groups.items()):
        systems: dict[str, list[bool]] = {}
        for r in rs:
            system = r["task"].split("/", 1)[-1].rsplit("_", 1)[0]
            systems.setdefault(system, []).append(bool(r.get("exact")))
        complete = sum(all(v) for v in systems.values())
        lines += [
            "",
            f"## Per system: {method}, noise {noise}, {budget:g} s",
            "",
            f"{complete}/{len(systems)} systems with every right-hand side exact.",
            "",
            "| system | exact right-hand sides |",
            "|---|---|",
        ]
        lines += [f"| {name} | {sum(v)}/{len(v)} |" for name, v in systems.items()]
    return lines


def _plot(groups, suite, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method in sorted({m for m, _, _ in groups}):
        pts = sorted(
            (noise, 100 * sum(bool(r.get("exact")) for r in rs) / len(rs))
            for (m, noise, _), rs in groups.items()
            if m == method
        )
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=method)
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_xlabel("noise level gamma")
    ax.set_ylabel("exact recovery (%)")
    ax.set_title(suite)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, f"{suite}_recovery.png"), dpi=120)
    plt.close(fig)


def select_tasks(suite: str, only=None, sample: int | None = None, sample_seed: int = 0):
    """Task names of ``suite``: ``only`` (names with or without the suite prefix) or a
    fixed, seeded random sample of ``sample`` tasks."""
    from symnet.datasets import load_suite

    names = [t.name for t in load_suite(suite)]
    if only:
        wanted = {o if "/" in o else f"{suite}/{o}" for o in only}
        unknown = wanted - set(names)
        if unknown:
            raise SystemExit(f"unknown tasks in --only: {sorted(unknown)}")
        names = [n for n in names if n in wanted]
    if sample is not None and sample < len(names):
        names = sorted(random.Random(sample_seed).sample(names, sample), key=names.index)
    return names


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        worker(argv, run_one)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="feynman")
    ap.add_argument("--noise", type=float, nargs="+", default=[0.0])
    ap.add_argument("--time", type=float, default=60.0, help="budget per task (s)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", nargs="+", default=["symnet"])
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--sample", type=int, help="a seeded random subset of this many tasks")
    ap.add_argument("--sample-seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join("experiments", "results", "bench"))
    add_ray_option(ap)
    ap.add_argument(
        "--units",
        action="store_true",
        help="give the methods the task's units (symnet -> symnet+units; Feynman suites)",
    )
    args = ap.parse_args(argv)
    from experiments.peers import METHODS, UNIT_METHODS

    if args.units:
        no_units = [m for m in args.methods if m not in UNIT_METHODS]
        if no_units:
            raise SystemExit(f"--units: {no_units} take no units; choose from {UNIT_METHODS}")
        args.methods = [UNIT_METHODS[m] for m in args.methods]
    bad = [m for m in args.methods if m not in METHODS]
    if bad:
        raise SystemExit(f"unknown --methods {bad}; choose from {sorted(METHODS)}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.suite}.jsonl")
    records = load_records(path)
    done = {_key(r) for r in records}
    names = select_tasks(args.suite, args.only, args.sample, args.sample_seed)
    todo = [
        (t, m, g)
        for g in args.noise
        for t in names
        for m in args.methods
        if (t, m, float(g), args.seed, float(args.time)) not in done
    ]
    command = "python -m experiments.run " + " ".join(argv)

    def done_one(rec):
        print(
            f"{rec['task']:>28} {rec['method']:>8} noise={rec['noise']} "
            f"{rec.get('status')} exact={rec.get('exact')} {rec.get('found', '')[:80]}",
            flush=True,
        )
        write_report(records, args.suite, args.out, command)

    run_all(
        todo, args.seed, args.time, args.jobs, "experiments.run", path, records, done_one, args.ray
    )
    if records:
        write_report(records, args.suite, args.out, command)


if __name__ == "__main__":
    main()

"""ODEBench from trajectories (ODEFormer's protocol), symnet and pysindy side by side.

    .venv/bin/python -m experiments.odebench --noise 0 0.01 --seed 0 --time 60 --jobs 2 \\
        --methods symnet pysindy --out experiments/results/odebench
    .venv/bin/python -m experiments.odebench --suite odebench_sub50 ...   # half the times
    .venv/bin/python -m experiments.odebench --suite chaotic ...   # dysts' 39 flows

Each of ODEBench's 63 systems (``symnet.systems.odebench_systems``) is integrated from its
first initial condition over t in [0, 10] (512 evenly spaced states); ``odebench_sub50``
keeps a random half of the times (seeded). ``chaotic``: each of the 39 flows of
``symnet.systems.chaotic_systems`` recorded at 1000 times over 10 periods after a
5-period transient, from a start near dysts' initial condition drawn by ``--seed``;
generalisation from a start outside the attractor (its extrapolation design, 5 periods).
Gaussian noise of standard deviation
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

Methods: ``symnet`` (``SymbolicODE(max_time=--time)`` with its defaults, ``weak="auto"``
among them; the budget is for the whole system; records before 2026-12-04 19:40, up to
commit a6a1896, were run with ``weak=False`` under this name), ``symnet-weak`` (the same
with ``weak=True``), ``symnet-deriv`` (``weak=False``: derivatives only) and ``pysindy``
(SINDy with its default
STLSQ, a polynomial library of degree 3 plus Fourier terms, smoothed finite
differences). One process per (system, method, noise, seed), pinned to its own core(s)
and killed after ``2 * time + 120`` s; one JSON line per finished system in
``OUT/<suite>.jsonl``; resumable (recorded systems are skipped); ``OUT/<suite>.md`` is
rewritten from all records after each.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import sys
import time

import numpy as np

from experiments.run import add_ray_option, load_records, run_all, worker
from symnet.systems import ODEBENCH_TIMES

#: Suites: the share of the recorded times kept.
SUITES = {"odebench": 1.0, "odebench_sub50": 0.5, "chaotic": 1.0}
METHODS = ("symnet", "symnet-weak", "symnet-deriv", "pysindy")
#: ``SymbolicODE``'s ``weak`` setting of each symnet method.
WEAK = {"symnet": "auto", "symnet-weak": True, "symnet-deriv": False}
#: States recorded over the 10 periods of a chaotic flow's run (dysts' 100 per period).
CHAOTIC_POINTS = 1000


@dataclasses.dataclass(frozen=True)
class Entry:
    """One system of a suite: its fitting run (``which=0``) and its generalisation run
    (``which=1``), each with its recorded times."""

    system: object
    number: int
    runs: tuple[object, object]

    def times(self, which: int) -> np.ndarray:
        return self.runs[which][0]

    def trajectory(self, which: int) -> np.ndarray:
        return self.runs[which][1]


def _entry(suite: str, name: str, seed: int) -> Entry:
    """ODEBench: its two fixed initial conditions on [0, 10]. ``chaotic``: the flow's
    default design (10 periods after a 5-period transient, a start drawn near dysts'
    initial condition by ``seed``) recorded at :data:`CHAOTIC_POINTS` times, and for
    generalisation its extrapolation design (5 periods from a start outside the
    attractor's box)."""
    if suite != "chaotic":
        from symnet.systems import odebench_systems

        entry = odebench_systems()[name]
        runs = tuple((ODEBENCH_TIMES, entry.trajectory(w)) for w in (0, 1))
        return Entry(entry.system, entry.number, runs)
    from symnet.systems import chaotic_systems

    names = list(chaotic_systems())
    system = chaotic_systems()[name]
    design = dataclasses.replace(system.simulation, points=CHAOTIC_POINTS, trajectories=1)
    system = dataclasses.replace(system, simulation=design)
    runs = tuple(
        (system.times(extrapolate=bool(w)), system.simulate(1, seed=seed, extrapolate=bool(w))[0])
        for w in (0, 1)
    )
    return Entry(system, 1000 + names.index(name), runs)


def _names(suite: str) -> list[str]:
    from symnet.systems import chaotic_systems, odebench_systems

    return list(chaotic_systems() if suite == "chaotic" else odebench_systems())


def _data(suite: str, name: str, noise: float, seed: int):
    entry = _entry(suite, name, seed)
    x, t, keep = entry.trajectory(0), entry.times(0), SUITES[suite]
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


def _symnet(x, t, states, max_time, seed, weak="auto"):
    from symnet.dynamics import SymbolicODE

    model = SymbolicODE(max_time=max_time, random_state=seed, weak=weak)
    model.fit(x, t, feature_names=states)
    info = {
        k: v if isinstance(v, bool) else None if v is None else float(v)
        for k, v in model.refinement_.items()
    }
    return model.sympy(), info


def _r2(found, entry: Entry, which: int) -> float:
    from sklearn.metrics import r2_score

    from symnet.dynamics._simulate import integrate, vector_field

    F, params = vector_field(found, entry.system.symbols())
    truth = entry.trajectory(which)
    sim = integrate(F, params, truth[0], entry.times(which))
    if not np.all(np.isfinite(sim)):
        return float("-inf")
    return float(r2_score(truth, sim))


def run_one(task: str, method: str, noise: float, seed: int, max_time: float) -> dict:
    """Fits and scores one system in this process (the worker's job)."""
    from symnet import is_symbolic_solution

    suite, name = task.split("/")
    entry, t, x = _data(suite, name, noise, seed)
    states = entry.system.states
    t0 = time.perf_counter()
    refinement = None
    if method.startswith("symnet"):
        found, refinement = _symnet(x, t, states, max_time, seed, weak=WEAK[method])
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
        "refinement": refinement,
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
    add_ray_option(ap)
    args = ap.parse_args(argv)
    names = _names(args.suite)
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

    run_all(
        todo,
        args.seed,
        args.time,
        args.jobs,
        "experiments.odebench",
        path,
        records,
        done_one,
        args.ray,
    )
    if records:
        write_report(records, args.suite, args.out, command)


if __name__ == "__main__":
    main()

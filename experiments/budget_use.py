"""How much of ``max_time`` a fit uses, and whether ``deterministic=True`` reproduces itself.

    # the budget: 20 fits at each of 10, 30 and 60 s, a fresh process each, on one core
    taskset -c 0 .venv/bin/python -m experiments.budget_use budget
    # determinism: 20 fits with deterministic=True, each in two fresh processes
    taskset -c 1 .venv/bin/python -m experiments.budget_use deterministic
    .venv/bin/python -m experiments.budget_use report

Each fit is the default :class:`symnet.SymbolicRegressor` on 300 rows of one of the laws in
``LAWS`` (not from the benchmark suites), inputs drawn uniformly from each law's box with
the case's seed. The share of the budget is the wall time of ``fit`` (timed inside the
fresh process, after imports) over ``max_time``; a fit's formula is the selected one, and
two deterministic fits agree when their whole fronts (every formula and loss) are equal.
Records go to ``experiments/results/budget_use/{budget,deterministic}.jsonl``; a case
already recorded is skipped, so an interrupted run resumes. ``report`` writes
``README.md`` there.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

from experiments.run import commit, load_records

OUT = os.path.join(os.path.dirname(__file__), "results", "budget_use")
BUDGETS = (10.0, 30.0, 60.0)
N_CASES = 20

#: (formula, {input: (low, high)}): laws outside the reported suites.
LAWS = [
    ("2.5*mass*exp(-time)", {"mass": (1, 5), "time": (0, 3)}),
    ("a*b/(1 + c**2)", {"a": (1, 4), "b": (1, 4), "c": (0, 2)}),
    ("sqrt(p**2 + q)", {"p": (1, 3), "q": (1, 5)}),
    ("u*sin(w) + 1.5", {"u": (0.5, 2), "w": (0, 3)}),
    ("k*log(r)/h", {"k": (1, 3), "r": (1, 10), "h": (1, 2)}),
]


def case(i: int):
    """The ``i``-th case: law ``i % 5`` sampled with seed ``i``."""
    formula, box = LAWS[i % len(LAWS)]
    rng = np.random.default_rng(i)
    cols = {name: rng.uniform(lo, hi, 300) for name, (lo, hi) in box.items()}
    y = eval(formula, {"exp": np.exp, "sqrt": np.sqrt, "sin": np.sin, "log": np.log}, cols)
    return formula, cols, y


def one_fit(kind: str, i: int, max_time: float | None) -> dict:
    """Runs in a fresh process: one fit, timed after imports."""
    import pandas as pd

    import symnet

    formula, cols, y = case(i)
    kw = {"deterministic": True} if kind == "deterministic" else {"max_time": max_time}
    model = symnet.SymbolicRegressor(random_state=i, **kw)
    t0 = time.monotonic()
    model.fit(pd.DataFrame(cols), y)
    wall = time.monotonic() - t0
    front = model.equations_[["complexity", "loss", "equation"]].to_csv(index=False)
    return {
        "case": i,
        "law": formula,
        "max_time": max_time,
        "wall": wall,
        "share": None if max_time is None else wall / max_time,
        "found": str(model.sympy()),
        "front": front,
        "complexity": int(model.equations_["complexity"].iloc[model.selection_]),
        "cache_dir": symnet.cache_dir(),
        "commit": commit(),
        "version": symnet.__version__,
    }


def _records(name: str) -> list[dict]:
    return load_records(os.path.join(OUT, f"{name}.jsonl"))


def _fresh(kind: str, i: int, max_time: float | None) -> dict:
    arg = "none" if max_time is None else str(max_time)
    cmd = [sys.executable, "-m", "experiments.budget_use", "one", kind, str(i), arg]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _append(name: str, record: dict) -> None:
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"{name}.jsonl"), "a") as f:
        f.write(json.dumps(record) + "\n")


def run_budget() -> None:
    done = {(r["case"], r["max_time"]) for r in _records("budget")}
    for max_time in BUDGETS:
        for i in range(N_CASES):
            if (i, max_time) not in done:
                r = _fresh("budget", i, max_time)
                _append("budget", r)
                print(f"{max_time:>4.0f} s case {i:2d}: {r['share']:.1%}  {r['found'][:60]}")


def run_deterministic() -> None:
    done = {(r["case"], r["process"]) for r in _records("deterministic")}
    for i in range(N_CASES):
        for process in (0, 1):
            if (i, process) not in done:
                r = {**_fresh("deterministic", i, None), "process": process}
                _append("deterministic", r)
                print(f"case {i:2d} process {process}: {r['wall']:.1f} s  {r['found'][:60]}")


def report() -> str:
    budget, det = _records("budget"), _records("deterministic")
    lines = [
        "# Budget use and determinism (issue 13)",
        "",
        f"Written {datetime.date.today()}; python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs; commits "
        f"{sorted({r['commit'] for r in budget + det})}.",
        "",
        "Reproduce: `taskset -c 0 .venv/bin/python -m experiments.budget_use budget`, "
        "`taskset -c 1 .venv/bin/python -m experiments.budget_use deterministic`, then "
        "`.venv/bin/python -m experiments.budget_use report` (see the module docstring).",
        "",
        "| max_time | fits | median share | min | max | median complexity |",
        "|---|---|---|---|---|---|",
    ]
    for max_time in BUDGETS:
        rs = [r for r in budget if r["max_time"] == max_time]
        if rs:
            shares = np.array([r["share"] for r in rs])
            cx = np.median([r["complexity"] for r in rs])
            lines.append(
                f"| {max_time:.0f} s | {len(rs)} | {np.median(shares):.1%} | "
                f"{shares.min():.1%} | {shares.max():.1%} | {cx:.0f} |"
            )
    pairs = {}
    for r in det:
        pairs.setdefault(r["case"], {})[r["process"]] = r
    full = [p for p in pairs.values() if len(p) == 2]
    same_formula = sum(p[0]["found"] == p[1]["found"] for p in full)
    same_front = sum(p[0]["front"] == p[1]["front"] for p in full)
    walls = [r["wall"] for r in det]
    lines += [
        "",
        f"deterministic=True, two fresh processes per case: same selected formula "
        f"{same_formula}/{len(full)}, same whole front {same_front}/{len(full)} "
        f"(median fit {np.median(walls) if walls else float('nan'):.0f} s).",
    ]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["budget", "deterministic", "report", "one"])
    parser.add_argument("args", nargs="*")
    a = parser.parse_args()
    if a.what == "one":
        kind, i, max_time = a.args
        print(json.dumps(one_fit(kind, int(i), None if max_time == "none" else float(max_time))))
    elif a.what == "budget":
        run_budget()
    elif a.what == "deterministic":
        run_deterministic()
    else:
        print(report())


if __name__ == "__main__":
    main()

"""Twelve AI-Feynman equations with the default SymbolicRegressor (issue: SymbolicRegressor).

Per equation: 1000 training points sampled uniformly in the published ranges, 1000
held-out test points, noise y + N(0, gamma * rms(y)) on the training target only, the
default regressor with ``max_time`` seconds. Reports exact recovery (SRBench), test R^2,
complexity and time. Resumable: one JSON line per (equation, noise, seed) in
``--out/feynman_easy.jsonl``; finished tasks are skipped. The markdown table is rewritten
from all records at the end of each run.

    .venv/bin/python experiments/feynman_easy.py --noise 0 --time 120
    .venv/bin/python experiments/feynman_easy.py --noise 0.01 --time 120
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time

import jax
import numpy as np
import pandas as pd
import sympy

import symnet
from symnet import SymbolicRegressor

# name: (formula, {variable: (low, high)})
EQUATIONS = {
    "I.6.2a": ("exp(-theta**2/2)/sqrt(2*pi)", {"theta": (1, 3)}),
    "I.8.14": (
        "sqrt((x2-x1)**2+(y2-y1)**2)",
        {"x1": (1, 5), "x2": (1, 5), "y1": (1, 5), "y2": (1, 5)},
    ),
    "I.10.7": ("m0/sqrt(1-v**2/c**2)", {"m0": (1, 5), "v": (1, 2), "c": (3, 10)}),
    "I.12.11": (
        "q*(Ef+B*v*sin(theta))",
        {"q": (1, 5), "Ef": (1, 5), "B": (1, 5), "v": (1, 5), "theta": (1, 5)},
    ),
    "I.14.4": ("k_spring*x**2/2", {"k_spring": (1, 5), "x": (1, 5)}),
    "I.18.4": (
        "(m1*r1+m2*r2)/(m1+m2)",
        {"m1": (1, 5), "m2": (1, 5), "r1": (1, 5), "r2": (1, 5)},
    ),
    "I.24.6": (
        "m*(omega**2+omega_0**2)*x**2/4",
        {"m": (1, 3), "omega": (1, 3), "omega_0": (1, 3), "x": (1, 3)},
    ),
    "I.29.16": (
        "sqrt(x1**2+x2**2-2*x1*x2*cos(theta1-theta2))",
        {"x1": (1, 5), "x2": (1, 5), "theta1": (1, 5), "theta2": (1, 5)},
    ),
    "I.34.8": ("q*v*B/p", {"q": (1, 5), "v": (1, 5), "B": (1, 5), "p": (1, 5)}),
    "I.39.22": ("n*kb*T/V", {"n": (1, 5), "kb": (1, 5), "T": (1, 5), "V": (1, 5)}),
    "I.44.4": (
        "n*kb*T*log(V2/V1)",
        {"n": (1, 5), "kb": (1, 5), "T": (1, 5), "V1": (1, 5), "V2": (1, 5)},
    ),
    "III.17.37": (
        "beta*(1+alpha*cos(theta))",
        {"beta": (1, 5), "alpha": (1, 5), "theta": (1, 5)},
    ),
}


def sample(name, n, rng):
    formula, ranges = EQUATIONS[name]
    names = list(ranges)
    X = np.column_stack([rng.uniform(*ranges[v], n) for v in names])
    symbols = [sympy.Symbol(v, real=True) for v in names]
    truth = sympy.sympify(formula, locals=dict(zip(names, symbols, strict=True)))
    y = symnet._refit.evaluate(truth, symbols, X)
    return pd.DataFrame(X, columns=names), y, truth


def run_task(name, noise, seed, max_time):
    rng = np.random.default_rng([seed, list(EQUATIONS).index(name)])
    X, y, truth = sample(name, 1000, rng)
    X_test, y_test, _ = sample(name, 1000, rng)
    y_train = y + rng.normal(0, noise * np.sqrt(np.mean(y**2)), len(y)) if noise else y
    t0 = time.perf_counter()
    model = SymbolicRegressor(max_time=max_time, random_state=seed).fit(X, y_train)
    wall = time.perf_counter() - t0
    found = model.sympy()
    return {
        "equation": name,
        "noise": noise,
        "seed": seed,
        "max_time": max_time,
        "truth": str(truth),
        "found": str(found),
        # Every range here lies above 0, so the check may use positivity (log(a/b) = ...).
        "exact": bool(symnet.is_symbolic_solution(found, truth, positive=list(X.columns))),
        "r2_test": float(symnet.r2_score(y_test, model.predict(X_test))),
        "complexity": int(model.equations_["complexity"][model.selection_]),
        "time": wall,
        "time_to_selected": float(model.equations_["found_at"][model.selection_]),
    }


def write_report(records, out):
    lines = ["# AI-Feynman, 12 easy equations, default SymbolicRegressor", ""]
    lines.append(
        f"Written {datetime.date.today()}; symnet {symnet.__version__}, jax {jax.__version__}, "
        f"python {platform.python_version()}; machine {platform.machine()}, "
        f"{os.cpu_count()} CPUs. 1000 train / 1000 test points, uniform in the published "
        "ranges; noise on the training target only."
    )
    lines.append("")
    lines.append("Commands: `.venv/bin/python experiments/feynman_easy.py --noise G --time T`")
    lines.append("")
    lines.append(
        "Time to selected: seconds into the fit when the selected formula's structure had "
        "been trained and refit (its simplification and rounding happen at the end of the "
        "fit); wall: the whole fit, which uses the budget for further rounds."
    )
    lines.append("")
    for noise in sorted({r["noise"] for r in records}):
        rs = [r for r in records if r["noise"] == noise]
        n_ok = sum(r["exact"] for r in rs)
        med = statistics.median(r["time"] for r in rs)
        sel = [r["time_to_selected"] for r in rs if r.get("time_to_selected") is not None]
        med_sel = f"{statistics.median(sel):.1f} s" if sel else "n/a"
        lines.append(
            f"## noise {noise}: recovered {n_ok}/{len(rs)} of the tasks run "
            f"(of {len(EQUATIONS)}), median time to the selected formula {med_sel}, "
            f"median wall time {med:.1f} s"
        )
        lines.append("")
        head = ["equation", "exact", "test R^2", "complexity", "to selected (s)", "wall (s)"]
        lines.append("| " + " | ".join([*head, "found"]) + " |")
        lines.append("|---|---|---|---|---|---|---|")
        for r in sorted(rs, key=lambda r: list(EQUATIONS).index(r["equation"])):
            t_sel = r.get("time_to_selected")
            t_sel = f"{t_sel:.1f}" if t_sel is not None else "-"
            lines.append(
                f"| {r['equation']} | {'yes' if r['exact'] else 'no'} | {r['r2_test']:.6f} | "
                f"{r['complexity']} | {t_sel} | {r['time']:.1f} | `{r['found']}` |"
            )
        lines.append("")
    with open(os.path.join(out, "feynman_easy.md"), "w") as f:
        f.write("\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--noise", type=float, default=0.0)
    ap.add_argument("--time", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", help="equation names to run (default: all 12)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "feynman_easy.jsonl")
    records = []
    if os.path.exists(path):
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
    done = {(r["equation"], r["noise"], r["seed"], r["max_time"]) for r in records}
    for name in args.only or EQUATIONS:
        if (name, args.noise, args.seed, args.time) in done:
            continue
        rec = run_task(name, args.noise, args.seed, args.time)
        records.append(rec)
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(
            f"{name:>10} noise={args.noise} exact={rec['exact']!s:5} R2={rec['r2_test']:.5f} "
            f"{rec['time']:6.1f}s  {rec['found']}",
            flush=True,
        )
        write_report(records, args.out)
    write_report(records, args.out)


if __name__ == "__main__":
    main()

"""Distil an MLP teacher into a formula with ``symnet.distill.distill``.

The teacher, a scikit-learn ``MLPRegressor`` (tanh, 2 x 64 units, L-BFGS), is trained on
4000 points of ``y = sin(x0)*exp(-x1/2) + 0.5*x2**2`` with ``x0 ~ U(-3, 3)``,
``x1 ~ U(-1, 2)``, ``x2 ~ U(-2, 2)``. The distiller only sees the teacher (a callable on
arrays) and the box: it queries the teacher uniformly on the box, runs active-querying
rounds, and reports the formula, its R^2 against the teacher (target >= 0.999), on the box
widened by 50% per side, and whether it matches the hidden formula (SRBench symbolic
solution).

    .venv/bin/python experiments/distill_mlp.py [--seed 0] [--time 60]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

import jax
import numpy as np
import sklearn
import sympy
from sklearn.neural_network import MLPRegressor

import symnet
from symnet.distill import distill

DOMAIN = [(-3.0, 3.0), (-1.0, 2.0), (-2.0, 2.0)]
TRUTH = "sin(x0)*exp(-x1/2) + 0.5*x2**2"


def truth_fn(X):
    return np.sin(X[:, 0]) * np.exp(-X[:, 1] / 2) + 0.5 * X[:, 2] ** 2


def train_teacher(seed: int):
    rng = np.random.default_rng(seed)
    lo, hi = np.array(DOMAIN).T
    X = rng.uniform(lo, hi, (4000, 3))
    mlp = MLPRegressor(
        hidden_layer_sizes=(64, 64),
        activation="tanh",
        solver="lbfgs",
        max_iter=3000,
        tol=1e-10,
        random_state=seed,
    )
    t0 = time.perf_counter()
    mlp.fit(X, truth_fn(X))
    X_test = rng.uniform(lo, hi, (4000, 3))
    r2 = symnet.r2_score(truth_fn(X_test), mlp.predict(X_test))
    return mlp, r2, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time", type=float, default=60.0, help="regressor max_time per round")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args(argv)

    mlp, teacher_r2, teacher_time = train_teacher(args.seed)
    print(f"teacher R^2 vs truth: {teacher_r2:.6f} ({teacher_time:.0f} s)", flush=True)
    t0 = time.perf_counter()
    model = distill(
        mlp.predict,
        domain=DOMAIN,
        n_queries=1500,
        rounds=2,
        random_state=args.seed,
        max_time=args.time,
    )
    wall = time.perf_counter() - t0
    fid = model.fidelity_
    print(fid, flush=True)
    symbols = sympy.symbols("x0 x1 x2", real=True)
    truth = sympy.sympify(TRUTH, locals=dict(zip(["x0", "x1", "x2"], symbols, strict=True)))
    exact = symnet.is_symbolic_solution(model.sympy(), truth)
    rng = np.random.default_rng(args.seed + 1)
    lo, hi = np.array(DOMAIN).T
    X_test = rng.uniform(lo, hi, (4000, 3))
    r2_truth = symnet.r2_score(truth_fn(X_test), model.predict(X_test))
    pad = 0.5 * (hi - lo)
    X_wide = rng.uniform(lo - pad, hi + pad, (4000, 3))
    r2_truth_wide = symnet.r2_score(truth_fn(X_wide), model.predict(X_wide))
    r2_teacher_wide_truth = symnet.r2_score(truth_fn(X_wide), mlp.predict(X_wide))

    cmd = " ".join([".venv/bin/python", "experiments/distill_mlp.py", *sys.argv[1:]])
    lines = [
        "# Distilling an MLP teacher into a formula",
        "",
        f"Command: `{cmd}`  ",
        f"Date: {datetime.date.today()}; seed {args.seed}; symnet {symnet.__version__}, jax "
        f"{jax.__version__}, scikit-learn {sklearn.__version__}, python "
        f"{platform.python_version()}; machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"devices {jax.devices()}  ",
        f"Settings: `distill(mlp.predict, domain={DOMAIN}, n_queries=1500, rounds=2, "
        f"random_state={args.seed}, max_time={args.time})` (default SymbolicRegressor "
        "otherwise); teacher MLPRegressor(64, 64, tanh, lbfgs) on 4000 noise-free points.",
        "",
        f"Hidden formula (never shown to the distiller): `{TRUTH}`",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| teacher R^2 vs hidden formula (training box) | {teacher_r2:.6f} |",
        f"| teacher R^2 vs hidden formula (box widened 50%/side) | {r2_teacher_wide_truth:.4f} |",
        f"| distilled formula | `{model.sympy()}` |",
        f"| matches hidden formula (SRBench symbolic solution) | {'yes' if exact else 'no'} |",
        f"| R^2 formula vs teacher, {fid.n_eval} fresh points | {fid.r2[0]:.6f} |",
        f"| max abs error formula vs teacher | {fid.max_abs_error[0]:.4g} |",
        f"| R^2 formula vs teacher, box widened 50%/side | {fid.r2_wide[0]:.6f} |",
        f"| R^2 formula vs hidden formula (training box) | {r2_truth:.6f} |",
        f"| R^2 formula vs hidden formula (widened box) | {r2_truth_wide:.6f} |",
        f"| teacher queries used for the fit / all teacher calls | {fid.n_queries} / "
        f"{fid.n_teacher_calls} |",
        f"| rounds run / kept | {fid.rounds} / {fid.best_round + 1} |",
        f"| teacher training time (s) | {teacher_time:.0f} |",
        f"| distillation wall time (s) | {wall:.0f} |",
        "",
        f"**R^2 to the teacher {'>=' if fid.r2[0] >= 0.999 else '<'} 0.999 (target); "
        f"hidden formula {'recovered' if exact else 'not recovered'}.**",
        "",
        "On the widened box the teacher is extrapolating: the formula vs teacher R^2 there "
        "measures the teacher's drift (see the teacher's own R^2 to the hidden formula) as "
        "much as the formula's.",
        "",
        "Pareto front of the kept round:",
        "",
        "```",
        str(model),
        "```",
        "",
    ]
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "distill_mlp.md")
    with open(path, "w") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

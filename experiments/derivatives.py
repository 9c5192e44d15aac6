"""Which derivative estimator should ``SymbolicODE`` use by default? Measured on ODEBench.

For each of ODEBench's 63 systems, the trajectory from its first initial condition (512
states over t in [0, 10]) gets Gaussian noise of standard deviation ``level * RMS`` of
each state (levels 0, 1 % and 5 %; noise seeds 0, 1, 2), and each estimator of
``symnet.dynamics.METHODS`` differentiates it. The error of a state is the normalised
RMSE against the true right-hand side at the true states,
``rms(x_dot_hat - F(x)) / rms(F(x) - mean F(x))``; the table gives, per level and method,
the median over all states and seeds and the share of states below 0.05 and 0.2, plus the
same over the interior (the first and last 5 % of the times dropped: every estimator is
worst at the ends).

    .venv/bin/python -m experiments.derivatives   # ~1 min on one core
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess

import numpy as np
import scipy

from symnet.dynamics import METHODS, differentiate
from symnet.systems import ODEBENCH_TIMES, odebench_systems

LEVELS = (0.0, 0.01, 0.05)
SEEDS = (0, 1, 2)
OUT = os.path.join(os.path.dirname(__file__), "results", "derivatives.md")


def _errors():
    t = ODEBENCH_TIMES
    edge = int(0.05 * len(t))
    rows = {}  # (level, method) -> [(nrmse, nrmse interior)]
    for entry in odebench_systems().values():
        x = entry.trajectory(0)
        truth = entry.system.rhs(x)
        spread = np.sqrt(np.mean((truth - truth.mean(0)) ** 2, axis=0))
        rms = np.sqrt(np.mean(x**2, axis=0))
        for level in LEVELS:
            for seed in SEEDS if level else (0,):
                rng = np.random.default_rng([entry.number, seed])
                noisy = x + level * rms * rng.normal(size=x.shape)
                for method in METHODS:
                    err = differentiate(noisy, t, method) - truth
                    whole = np.sqrt(np.mean(err**2, axis=0)) / spread
                    inner = np.sqrt(np.mean(err[edge:-edge] ** 2, axis=0)) / spread
                    rows.setdefault((level, method), []).extend(zip(whole, inner, strict=True))
    return rows


def main() -> None:
    rows = _errors()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    lines = [
        "# Derivative estimators on ODEBench",
        "",
        __doc__.split("\n\n")[1].replace("\n", " "),
        "",
        "| noise | method | median NRMSE | < 0.05 | < 0.2 | median NRMSE, interior | "
        "< 0.05, interior |",
        "|---|---|---|---|---|---|---|",
    ]
    for (level, method), errs in rows.items():
        e = np.array(errs)
        lines.append(
            f"| {level:g} | {method} | {np.median(e[:, 0]):.3g} | {np.mean(e[:, 0] < 0.05):.0%} "
            f"| {np.mean(e[:, 0] < 0.2):.0%} | {np.median(e[:, 1]):.3g} "
            f"| {np.mean(e[:, 1] < 0.05):.0%} |"
        )
    lines += [
        "",
        f"States: {len(rows[(0.0, 'spline')])} (noise 0, one draw) and "
        f"{len(rows[(LEVELS[-1], 'spline')])} (noisy levels, seeds {list(SEEDS)}).",
        "",
        "Command: `.venv/bin/python -m experiments.derivatives`. "
        f"Written {datetime.date.today()} at commit {commit}; python "
        f"{platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs.",
    ]
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Would a fit's constant refits run faster batched on the device? (issue 18, section 1)

A fit refits every exported formula's constants in float64 with scipy's MINPACK
Levenberg-Marquardt (:func:`symnet.refit`, about 10 % of a 60 s fit's wall time,
``experiments/results/profile_fit/``). The candidate replacement is a JAX solver under
``jit`` and ``vmap`` (optimistix's Levenberg-Marquardt, float64), which has to be traced
and compiled once per formula *structure*. Two measurements, one core:

1. ``formulas``: per formula (a few shapes a fit refits, 1000 rows), the time of one
   ``symnet.refit`` (lambdify + MINPACK, as a fit calls it), and of the optimistix solve:
   its first call (trace + compile + run), a second call (compiled), and a ``vmap`` over
   64 starting points (compiled), per start.
2. ``fits``: in default fits (``max_time`` 20 s) of two Feynman tasks, the number of
   refits of exported formulas, how many distinct structures they had (the formula with
   its constants replaced by symbols), and their summed time: batching can only share a
   compile between refits of one structure.

    taskset -c 0 .venv/bin/python -m experiments.refit_device

Writes ``experiments/results/refit_device.md``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time

OUT = os.path.join(os.path.dirname(__file__), "results", "refit_device.md")
TASKS = ("feynman/I.6.2a", "feynman/II.11.3")
K = 64


def _formulas():
    import sympy

    x0, x1, x2 = sympy.symbols("x0 x1 x2")
    return (x0, x1, x2), [
        ("power law", 1.3 * x0**2 * x1 + 0.2),
        ("gaussian", 0.4 * sympy.exp(-0.45 * (x0 - 0.1) ** 2) / (0.9 * x1)),
        ("ratio", (1.1 * x0 * x1 + 0.3) / (0.8 * x2 + 1.2 * x0 + 0.1)),
        ("trig sum", 1.3 * x0 * sympy.sin(0.9 * x1 + 0.2) + 0.4 * sympy.exp(-0.5 * x2)),
        (
            "raw export",
            sum(
                (0.3 + 0.1 * k) * sympy.sin((0.5 + 0.05 * k) * x0 + 0.2 * x1 - 0.1 * k)
                for k in range(6)
            )
            + 0.7 * sympy.log(1.1 * x2 + 0.4) * (0.6 * x0 + 0.2),
        ),
    ]


def formulas() -> list[dict]:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np
    import optimistix as optx
    import sympy

    from symnet import refit
    from symnet._refit import evaluate, parametrize

    symbols, cases = _formulas()
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 3.0, (1000, 3))
    rows = []
    for name, expr in cases:
        # the data: the formula with its constants moved by 20 %, so a refit has work to do
        par = parametrize(expr)
        truth = par.substitute(par.values * rng.uniform(0.8, 1.2, len(par.values)))
        y = evaluate(truth, symbols, X)
        t0 = time.perf_counter()
        _, rss_scipy = refit(expr, symbols, X, y)
        scipy_s = time.perf_counter() - t0

        fn = sympy.lambdify([*symbols, *par.consts], par.expr, modules="jax")

        def resid(c, args, fn=fn):
            X, y = args
            return fn(*X.T, *c) - y

        solver = optx.LevenbergMarquardt(rtol=1e-10, atol=1e-10)

        def solve(c0, X, y, resid=resid, solver=solver):
            sol = optx.least_squares(resid, solver, c0, args=(X, y), max_steps=200, throw=False)
            return sol.value

        one = jax.jit(solve)
        many = jax.jit(jax.vmap(solve, in_axes=(0, None, None)))
        c0, Xj, yj = jnp.asarray(par.values), jnp.asarray(X), jnp.asarray(y)
        t0 = time.perf_counter()
        c = one(c0, Xj, yj).block_until_ready()
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        one(c0, Xj, yj).block_until_ready()
        second_s = time.perf_counter() - t0
        starts = c0 * (1 + 0.1 * jax.random.normal(jax.random.key(0), (K, len(par.values))))
        many(starts, Xj, yj).block_until_ready()  # compiled
        t0 = time.perf_counter()
        many(starts, Xj, yj).block_until_ready()
        vmap_s = time.perf_counter() - t0
        rss_jax = float(jnp.sum(resid(c, (Xj, yj)) ** 2))
        rows.append(
            {
                "formula": name,
                "constants": len(par.consts),
                "scipy_ms": 1e3 * scipy_s,
                "rss_scipy": rss_scipy,
                "jax_first_ms": 1e3 * first_s,
                "jax_second_ms": 1e3 * second_s,
                "jax_vmap_per_start_ms": 1e3 * vmap_s / K,
                "rss_jax": rss_jax,
            }
        )
        print(rows[-1], flush=True)
    return rows


def fit_counts(task: str) -> dict:
    """Runs in a fresh process: one default fit, its refits of exported formulas counted."""
    import symnet
    import symnet.search._slot as slot
    from symnet._refit import parametrize
    from symnet.datasets import get_task

    calls, structures, seconds = [0], set(), [0.0]
    inner = slot.refit

    def counted(expr, *args, **kwargs):
        t0 = time.perf_counter()
        out = inner(expr, *args, **kwargs)
        seconds[0] += time.perf_counter() - t0
        calls[0] += 1
        structures.add(parametrize(expr).expr)
        return out

    slot.refit = counted
    X, y = get_task(task).sample(1000, seed=100)
    t0 = time.perf_counter()
    symnet.SymbolicRegressor(max_time=20, random_state=100).fit(X, y)
    wall = time.perf_counter() - t0
    return {
        "task": task,
        "wall_s": wall,
        "refits": calls[0],
        "structures": len(structures),
        "refit_s": seconds[0],
        "mean_refit_ms": 1e3 * seconds[0] / max(calls[0], 1),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--fit":
        print(json.dumps(fit_counts(sys.argv[2])))
        return
    rows = formulas()
    fits = []
    for task in TASKS:
        out = subprocess.run(
            [sys.executable, "-m", "experiments.refit_device", "--fit", task],
            capture_output=True,
            text=True,
            check=True,
        )
        fits.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(fits[-1], flush=True)
    import jax
    import optimistix
    import scipy

    lines = [
        "# Constant refits: MINPACK per formula vs a JAX solver under jit/vmap (issue 18)",
        "",
        "Command: `taskset -c 0 .venv/bin/python -m experiments.refit_device` (the module "
        "docstring says what is timed)  ",
        f"Date: {datetime.date.today()}; jax {jax.__version__}, optimistix "
        f"{optimistix.__version__}, scipy {scipy.__version__}, python "
        f"{platform.python_version()}; {platform.machine()}, os.cpu_count() = "
        f"{os.cpu_count()}, jax.devices() = {jax.devices()}",
        "",
        "## One refit per formula (1000 rows, float64, one core)",
        "",
        "| formula | constants | `symnet.refit` (ms) | optimistix LM first call (ms) | "
        "second call (ms) | vmap of 64 starts, per start (ms) | RSS scipy | RSS optimistix |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['formula']} | {r['constants']} | {r['scipy_ms']:.1f} | "
            f"{r['jax_first_ms']:.0f} | {r['jax_second_ms']:.1f} | "
            f"{r['jax_vmap_per_start_ms']:.2f} | {r['rss_scipy']:.2g} | {r['rss_jax']:.2g} |"
        )
    lines += [
        "",
        "## Refits in a default fit (`max_time=20`, `random_state=100`, 1000 rows)",
        "",
        "| task | fit wall (s) | refits | distinct structures | refit time (s) | "
        "mean per refit (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for f in fits:
        lines.append(
            f"| {f['task']} | {f['wall_s']:.1f} | {f['refits']} | {f['structures']} | "
            f"{f['refit_s']:.1f} | {f['mean_refit_ms']:.1f} |"
        )
    with open(OUT, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

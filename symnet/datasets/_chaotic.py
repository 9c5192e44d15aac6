r"""Chaotic flows from the dysts collection: one task per state derivative.

``symnet/data/chaotic_systems.csv`` holds 39 autonomous chaotic systems of 3 or 4 states
from *dysts* (Gilpin, NeurIPS 2021 Datasets and Benchmarks; ``williamgilpin/dysts``
0.96): each right-hand side was generated from ``dysts/flows.py`` (the ``_rhs`` of the
class) with the parameters of ``dysts/data/chaotic_attractors.json`` substituted as
numbers, and the row also keeps dysts' initial condition on the attractor and its
dominant ``period``. One departure: Lorenz's :math:`\beta` is the textbook :math:`8/3`
where dysts stores ``2.667``. ``low``/``high`` are the attractor's bounding box, the
per-state minimum and maximum over five reference trajectories (50 periods from dysts'
initial condition after 10, and 95 periods after 5 from each of four perturbed starts),
rounded outwards to three significant digits; they are the task's ``ranges``.
Only systems with elementary right-hand sides (polynomials, ``sin``, ``Abs``) whose
trajectories stay bounded from moderately perturbed initial conditions were kept.

The task ``"chaotic/<System>_<state>"`` asks for :math:`\dot s_{state}` as a function of
all the states. Sampling, with :math:`P` the system's period and :math:`w` the box width:

- default: :math:`k` initial conditions
  :math:`s_0 = s_{dysts} + 0.01\,w \odot \mathcal N(0, I)`; each trajectory is
  integrated with ``scipy.integrate.solve_ivp`` (LSODA, ``rtol = atol = 1e-9``), the
  first :math:`5P` are discarded as a transient (chaos spreads the perturbations over the
  attractor) and 101 states are recorded over the next :math:`10P`.
- ``extrapolate=True``: :math:`s_0 \sim U[l - w/4,\ h + w/4]`, a box 1.5 times as wide
  as the attractor's, and the 101 states are recorded over :math:`t \in [0, 5P]` with no
  transient: the approach to the attractor from outside, a region the default sample
  does not visit.

``X`` holds the states and ``y`` the exact right-hand side there. As for Strogatz,
``n_default = 4 * 101``; other ``n`` integrate :math:`\max(4, \lceil n / 101 \rceil)`
trajectories and keep ``n`` evenly spaced rows. A trajectory is rejected, and its initial
condition redrawn, if the solver fails or the state leaves the box widened by ten widths
on every side (a terminal event stops such runs early), at most 100 times. All tasks of a
system share the trajectories for a given seed, cached with ``functools.lru_cache``.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
from importlib.resources import files

import numpy as np
import pandas as pd
import sympy
from scipy.integrate import solve_ivp

from symnet.datasets._parse import compile_formula, parse_formula
from symnet.datasets._task import Task, make_rng

__all__ = ["chaotic_tasks", "simulate"]

POINTS_PER_TRAJECTORY = 101
N_TRAJECTORIES = 4
TRANSIENT_PERIODS = 5.0
RECORD_PERIODS = 10.0
EXTRAPOLATION_PERIODS = 5.0
PERTURBATION = 0.01
EXTRAPOLATION_MARGIN = 0.25
ESCAPE_WIDTHS = 10.0
MAX_TRIES = 100
RTOL = 1e-9
ATOL = 1e-9
METHOD = "LSODA"


@dataclasses.dataclass(frozen=True)
class _System:
    name: str
    states: tuple[str, ...]
    derivatives: tuple[str, ...]
    initial: tuple[float, ...]
    box: tuple[tuple[float, float], ...]
    period: float


@functools.cache
def _systems() -> dict[str, _System]:
    text = files("symnet.data").joinpath("chaotic_systems.csv").read_text(encoding="utf-8")
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    table = table.apply(lambda column: column.str.strip())
    systems: dict[str, _System] = {}
    for key in dict.fromkeys(table["system"]):
        rows = table[table["system"] == key]
        periods = set(rows["period"])
        if len(periods) != 1:
            raise ValueError(f"chaotic_systems.csv: {key} lists several periods {periods}")
        systems[key] = _System(
            name=key,
            states=tuple(rows["state"]),
            derivatives=tuple(rows["derivative"]),
            initial=tuple(float(v) for v in rows["initial"]),
            box=tuple(
                (float(lo), float(hi)) for lo, hi in zip(rows["low"], rows["high"], strict=True)
            ),
            period=float(periods.pop()),
        )
    return systems


@functools.cache
def _task_index() -> dict[str, str]:
    return {
        f"chaotic/{system.name}_{state}": system.name
        for system in _systems().values()
        for state in system.states
    }


def chaotic_tasks() -> tuple[Task, ...]:
    """One task per (system, state), in file order, e.g. ``"chaotic/Lorenz_x"``."""
    return tuple(
        Task(
            name=f"chaotic/{system.name}_{state}",
            suite="chaotic",
            formula=derivative,
            variables=system.states,
            ranges=system.box,
            n_default=N_TRAJECTORIES * POINTS_PER_TRAJECTORY,
        )
        for system in _systems().values()
        for state, derivative in zip(system.states, system.derivatives, strict=True)
    )


@functools.cache
def _field(key: str):
    """The vector field ``F(t, s) -> ds/dt`` for the solver, and the per-state formulas.

    The solver's callable is lambdified with the ``math`` module: one scalar call per
    step is several times faster than the broadcasting numpy functions.
    """
    system = _systems()[key]
    symbols = [sympy.Symbol(name, real=True) for name in system.states]
    exprs = [parse_formula(f, system.states) for f in system.derivatives]
    scalar = sympy.lambdify(symbols, exprs, modules="math")

    def rhs(_t: float, s: np.ndarray) -> list[float]:
        return scalar(*s)

    return rhs, [compile_formula(f, system.states) for f in system.derivatives]


def _trajectory(system: _System, rng: np.random.Generator, extrapolate: bool) -> np.ndarray:
    """One accepted trajectory, shape ``(101, n_states)``."""
    rhs, fields = _field(system.name)
    lo = np.array([b[0] for b in system.box])
    hi = np.array([b[1] for b in system.box])
    width = hi - lo
    centre = (lo + hi) / 2.0
    period = system.period
    if extrapolate:
        t_start, t_end = 0.0, EXTRAPOLATION_PERIODS * period
    else:
        t_start = TRANSIENT_PERIODS * period
        t_end = t_start + RECORD_PERIODS * period
    t_eval = np.linspace(t_start, t_end, POINTS_PER_TRAJECTORY)

    def escaped(_t: float, s: np.ndarray) -> float:
        return ESCAPE_WIDTHS + 0.5 - float(np.max(np.abs(s - centre) / width))

    escaped.terminal = True  # type: ignore[attr-defined]

    for _ in range(MAX_TRIES):
        if extrapolate:
            margin = EXTRAPOLATION_MARGIN * width
            initial = rng.uniform(lo - margin, hi + margin)
        else:
            initial = np.array(system.initial) + PERTURBATION * width * rng.normal(size=width.size)
        with np.errstate(all="ignore"):
            solution = solve_ivp(
                rhs,
                (0.0, t_end),
                initial,
                method=METHOD,
                t_eval=t_eval,
                rtol=RTOL,
                atol=ATOL,
                events=escaped,
            )
        if solution.status != 0 or solution.y.shape != (width.size, t_eval.size):
            continue
        values = np.column_stack([f(*solution.y) for f in fields])
        if np.all(np.isfinite(solution.y)) and np.all(np.isfinite(values)):
            return solution.y.T
    raise RuntimeError(
        f"chaotic/{system.name}: no bounded trajectory in {MAX_TRIES} initial conditions "
        f"(extrapolate={extrapolate})"
    )


@functools.lru_cache(maxsize=128)
def _trajectories(key: str, count: int, seed: int, extrapolate: bool) -> np.ndarray:
    system = _systems()[key]
    rng = make_rng(f"chaotic/{system.name}", seed, 0, extrapolate)
    rows = np.concatenate([_trajectory(system, rng, extrapolate) for _ in range(count)])
    rows.setflags(write=False)
    return rows


def simulate(task: Task, n: int, *, seed: int, extrapolate: bool) -> np.ndarray:
    """States visited by the task's system, shape ``(n, n_states)`` (module docstring).

    Args:
        task: a chaotic task from :func:`chaotic_tasks`.
        n: number of rows, ``>= 1``.
        seed: non-negative integer seed.
        extrapolate: start from the widened box and keep the transient.
    """
    key = _task_index().get(task.name)
    if key is None:
        raise ValueError(f"{task.name!r} is not a packaged chaotic task")
    count = max(N_TRAJECTORIES, math.ceil(n / POINTS_PER_TRAJECTORY))
    rows = _trajectories(key, count, seed, extrapolate)
    keep = np.floor(np.linspace(0.0, rows.shape[0] - 1, n) + 1e-9).astype(np.int64)
    return np.array(rows[keep])

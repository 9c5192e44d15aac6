r"""The ODE-Strogatz benchmark: 7 planar systems, one task per right-hand side.

Each system :math:`\dot{\mathbf s} = F(\mathbf s)`, :math:`\mathbf s = (x, y)`, comes from
the packaged ``symnet/data/strogatz_equations.csv`` (from Strogatz, *Nonlinear Dynamics
and Chaos*, as used by SRBench). The task ``"strogatz/<system>_<state>"`` asks for the
component :math:`F_{state}(x, y)`.

Sampling (as in SRBench): :math:`k` initial conditions :math:`\mathbf s_0 \sim U(B)` are
drawn from a per-system box :math:`B`; the whole system is integrated with
``scipy.integrate.solve_ivp`` (LSODA, ``rtol = atol = 1e-9``) over :math:`t \in [0, 10]`
and recorded every :math:`\Delta t = 0.1` (101 points per trajectory). ``X`` holds the
visited states and ``y`` the exact right-hand side :math:`F_{state}` at those states, so
``n_default = 4 * 101 = 404``. For another ``n`` the sampler integrates
:math:`k = \max(4, \lceil n / 101 \rceil)` trajectories, stacks their
:math:`101 k` rows in trajectory order and keeps the ``n`` evenly spaced rows
:math:`\lfloor i (101 k - 1) / (n - 1) \rfloor`, :math:`i = 0, \dots, n - 1` (all rows
when ``n = 404``). Both tasks of a system see the same trajectories for the same seed:
the initial conditions are seeded from the seed and the system name.

A trajectory is rejected if the solver fails or any state or right-hand side value is
non-finite or exceeds :math:`10^6` in magnitude; its initial condition is then redrawn
from the same generator, at most 100 times, after which ``RuntimeError`` is raised. With
``extrapolate=True`` the initial conditions come from the widened box
:math:`[l, h + \tfrac12 (h - l)]` per state.

Initial-condition boxes :math:`B` (chosen around each system's interesting region, loosely
following the ODE-Strogatz simulation setup):

=========  ===================  =======================  ===============
system     :math:`x_0`          :math:`y_0`              note
=========  ===================  =======================  ===============
bacres     :math:`[2, 8]`       :math:`[9, 11]`          positive
barmag     :math:`[0, 2\pi]`    :math:`[0, 2\pi]`        one period
glider     :math:`[2, 8]`       :math:`[-1, 1]`          speed > 0
lv         :math:`[1, 8]`       :math:`[1, 3]`           positive
predprey   :math:`[2, 8]`       :math:`[9, 11]`          positive
shearflow  :math:`[-\pi, \pi]`  :math:`[\pi/4, 3\pi/4]`  avoids cot pole
vdp        :math:`[0, 1]`       :math:`[0, 1]`           near origin
=========  ===================  =======================  ===============

The shear-flow box keeps :math:`y_0` away from the poles of :math:`\cot y` at
:math:`y = 0, \pi` (a symmetric box such as :math:`[-\pi/2, \pi/2]` would contain one).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
from importlib.resources import files

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

from symnet.datasets._parse import compile_formula
from symnet.datasets._task import Task, extrapolation_box, make_rng

__all__ = ["STROGATZ_BOXES", "simulate", "strogatz_tasks"]

T_END = 10.0
DT = 0.1
POINTS_PER_TRAJECTORY = 101
N_TRAJECTORIES = 4
MAX_TRIES = 100
BLOWUP_LIMIT = 1e6
RTOL = 1e-9
ATOL = 1e-9
METHOD = "LSODA"

#: Initial-condition box per system: ((x_low, x_high), (y_low, y_high)).
STROGATZ_BOXES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "bacres": ((2.0, 8.0), (9.0, 11.0)),
    "barmag": ((0.0, 2.0 * math.pi), (0.0, 2.0 * math.pi)),
    "glider": ((2.0, 8.0), (-1.0, 1.0)),
    "lv": ((1.0, 8.0), (1.0, 3.0)),
    "predprey": ((2.0, 8.0), (9.0, 11.0)),
    "shearflow": ((-math.pi, math.pi), (math.pi / 4.0, 3.0 * math.pi / 4.0)),
    "vdp": ((0.0, 1.0), (0.0, 1.0)),
}
_FALLBACK_BOX = (-2.0, 2.0)


@dataclasses.dataclass(frozen=True)
class _System:
    """A planar system: its state names and one derivative formula per state."""

    name: str
    states: tuple[str, ...]
    derivatives: tuple[str, ...]
    box: tuple[tuple[float, float], ...]


@functools.cache
def _systems() -> dict[str, _System]:
    text = files("symnet.data").joinpath("strogatz_equations.csv").read_text(encoding="utf-8")
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    systems: dict[str, _System] = {}
    for key in dict.fromkeys(table["system"].str.strip()):
        rows = table[table["system"].str.strip() == key]
        states = tuple(rows["state"].str.strip())
        box = STROGATZ_BOXES.get(key, (_FALLBACK_BOX,) * len(states))
        systems[key] = _System(
            name=key,
            states=states,
            derivatives=tuple(rows["derivative"].str.strip()),
            box=tuple(box),
        )
    return systems


@functools.cache
def _task_index() -> dict[str, str]:
    return {
        f"strogatz/{system.name}_{state}": system.name
        for system in _systems().values()
        for state in system.states
    }


def strogatz_tasks() -> tuple[Task, ...]:
    """One task per (system, state), in file order, e.g. ``"strogatz/bacres_x"``."""
    tasks = []
    for system in _systems().values():
        for state, derivative in zip(system.states, system.derivatives, strict=True):
            tasks.append(
                Task(
                    name=f"strogatz/{system.name}_{state}",
                    suite="strogatz",
                    formula=derivative,
                    variables=system.states,
                    ranges=system.box,
                    n_default=N_TRAJECTORIES * POINTS_PER_TRAJECTORY,
                )
            )
    return tuple(tasks)


def _trajectory(
    system: _System, rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Integrate one accepted trajectory; rows are the states at ``t = 0, 0.1, ..., 10``."""
    fields = [compile_formula(f, system.states) for f in system.derivatives]
    t_eval = np.linspace(0.0, T_END, POINTS_PER_TRAJECTORY)

    def rhs(_t: float, s: np.ndarray) -> np.ndarray:
        return np.array([float(f(*s)) for f in fields])

    for _ in range(MAX_TRIES):
        initial = rng.uniform(lo, hi)
        with np.errstate(all="ignore"):
            solution = solve_ivp(
                rhs, (0.0, T_END), initial, method=METHOD, t_eval=t_eval, rtol=RTOL, atol=ATOL
            )
        if not solution.success or solution.y.shape != (len(system.states), t_eval.size):
            continue
        states = solution.y.T
        values = np.column_stack([f(*solution.y) for f in fields])
        ok_states = np.all(np.isfinite(states)) and np.max(np.abs(states)) <= BLOWUP_LIMIT
        ok_values = np.all(np.isfinite(values)) and np.max(np.abs(values)) <= BLOWUP_LIMIT
        if ok_states and ok_values:
            return states
    raise RuntimeError(
        f"strogatz/{system.name}: no finite trajectory in {MAX_TRIES} initial conditions "
        f"from the box {list(zip(lo, hi, strict=True))}"
    )


def simulate(task: Task, n: int, *, seed: int, extrapolate: bool) -> np.ndarray:
    """States visited by the task's system, shape ``(n, 2)`` (see the module docstring).

    Args:
        task: a Strogatz task from :func:`strogatz_tasks`.
        n: number of rows, ``>= 1``.
        seed: non-negative integer seed.
        extrapolate: draw the initial conditions from the widened box.
    """
    key = _task_index().get(task.name)
    if key is None:
        raise ValueError(f"{task.name!r} is not a packaged Strogatz task")
    system = _systems()[key]
    rng = make_rng(f"strogatz/{system.name}", seed, 0, extrapolate)
    lo, hi = extrapolation_box(system.box, extrapolate)
    count = max(N_TRAJECTORIES, math.ceil(n / POINTS_PER_TRAJECTORY))
    rows = np.concatenate([_trajectory(system, rng, lo, hi) for _ in range(count)])
    keep = np.floor(np.linspace(0.0, rows.shape[0] - 1, n) + 1e-9).astype(np.int64)
    return rows[keep]

r"""The packaged catalogues: ODE-Strogatz and the chaotic flows of dysts.

Both are read from tables in ``symnet/data`` with one row per (system, state), in file
order, and come with the :class:`Simulation` their benchmark suites sample them with.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import math
from importlib.resources import files

import numpy as np
import pandas as pd

from symnet.systems._simulation import Regime, Simulation
from symnet.systems._system import System

__all__ = [
    "CHAOTIC_SIMULATION",
    "ODEBENCH_SIMULATION",
    "ODEBENCH_TIMES",
    "OdeBenchSystem",
    "STROGATZ_BOXES",
    "STROGATZ_SIMULATION",
    "chaotic_systems",
    "odebench_systems",
    "strogatz_systems",
]

#: The ODE-Strogatz design (the :class:`Simulation` defaults): 4 trajectories of 101
#: states over :math:`t \in [0, 10]` from :math:`U(B)`, or from :math:`B` widened upwards
#: by half its width; a trajectory beyond :math:`10^6` in magnitude is rejected.
STROGATZ_SIMULATION = Simulation(limit=1e6)

#: The chaotic design, times in periods :math:`P`: by default 10 periods recorded after
#: a 5-period transient from dysts' initial condition perturbed by :math:`0.01 w`; for
#: extrapolation the first 5 periods from :math:`U[l - w/4, h + w/4]`; runs leaving the
#: box widened by 10 widths are stopped and rejected.
CHAOTIC_SIMULATION = Simulation(
    default=Regime(start="initial", spread=0.01, transient=5.0, duration=10.0),
    extrapolation=Regime(widen=(0.25, 0.25), duration=5.0),
    escape=10.0,
    field="math",
)

#: Initial-condition box per Strogatz system: ((x_low, x_high), (y_low, y_high)).
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


def _table(filename: str) -> dict[str, pd.DataFrame]:
    """The rows of ``symnet/data/<filename>`` per system, stripped, in file order."""
    text = files("symnet.data").joinpath(filename).read_text(encoding="utf-8")
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    table = table.apply(lambda column: column.str.strip())
    return {key: table[table["system"] == key] for key in dict.fromkeys(table["system"])}


@functools.cache
def _strogatz() -> dict[str, System]:
    systems = {}
    for key, rows in _table("strogatz_equations.csv").items():
        states = tuple(rows["state"])
        systems[key] = System(
            name=key,
            states=states,
            derivatives=tuple(rows["derivative"]),
            box=STROGATZ_BOXES.get(key, (_FALLBACK_BOX,) * len(states)),
            simulation=STROGATZ_SIMULATION,
            catalogue="strogatz",
            description=rows["name"].iloc[0],
        )
    return systems


def strogatz_systems() -> dict[str, System]:
    r"""The 7 planar systems of ODE-Strogatz, by name, in file order.

    From ``symnet/data/strogatz_equations.csv`` (Strogatz, *Nonlinear Dynamics and
    Chaos*, as used by SRBench): :math:`\dot{\mathbf s} = F(\mathbf s)`,
    :math:`\mathbf s = (x, y)`, sampled with :data:`STROGATZ_SIMULATION`: :math:`k`
    initial conditions :math:`\mathbf s_0 \sim U(B)` from a per-system box :math:`B`,
    integrated with LSODA (``rtol = atol = 1e-9``) over :math:`t \in [0, 10]` and recorded
    every :math:`\Delta t = 0.1`. A trajectory is rejected, and its initial condition
    redrawn (at most 100 times), if the solver fails or a state or right-hand side value is
    not finite or exceeds :math:`10^6` in magnitude. Extrapolation draws from
    :math:`[l, h + \tfrac12 (h - l)]` per state. The boxes (:data:`STROGATZ_BOXES`) are
    chosen around each system's interesting region, loosely following the ODE-Strogatz
    simulation setup:

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

    Returns:
        A new dict of the (immutable, cached) systems.
    """
    return dict(_strogatz())


@functools.cache
def _chaotic() -> dict[str, System]:
    systems = {}
    for key, rows in _table("chaotic_systems.csv").items():
        periods = set(rows["period"])
        if len(periods) != 1:
            raise ValueError(f"chaotic_systems.csv: {key} lists several periods {periods}")
        systems[key] = System(
            name=key,
            states=tuple(rows["state"]),
            derivatives=tuple(rows["derivative"]),
            box=tuple(
                (float(lo), float(hi)) for lo, hi in zip(rows["low"], rows["high"], strict=True)
            ),
            initial=tuple(float(v) for v in rows["initial"]),
            period=float(periods.pop()),
            simulation=CHAOTIC_SIMULATION,
            catalogue="chaotic",
        )
    return systems


def chaotic_systems() -> dict[str, System]:
    r"""39 autonomous chaotic flows of 3 or 4 states from dysts, by name, in file order.

    ``symnet/data/chaotic_systems.csv`` holds systems from *dysts* (Gilpin, NeurIPS 2021
    Datasets and Benchmarks; ``williamgilpin/dysts`` 0.96): each right-hand side was
    generated from ``dysts/flows.py`` (the ``_rhs`` of the class) with the parameters of
    ``dysts/data/chaotic_attractors.json`` substituted as numbers, and the row keeps
    dysts' initial condition on the attractor (:attr:`System.initial`) and its dominant
    period :math:`P` (:attr:`System.period`). One departure: Lorenz's :math:`\beta` is the
    textbook :math:`8/3` where dysts stores ``2.667``. ``low``/``high``, the
    :attr:`System.box`, are the attractor's bounding box: the per-state minimum and
    maximum over five reference trajectories (50 periods from dysts' initial condition
    after 10, and 95 periods after 5 from each of four perturbed starts), rounded outwards
    to three significant digits. Only systems with elementary right-hand sides
    (polynomials, ``sin``, ``Abs``) whose trajectories stay bounded from moderately
    perturbed initial conditions were kept.

    Sampling (:data:`CHAOTIC_SIMULATION`), with :math:`w` the box width:

    - default: :math:`\mathbf s_0 = \mathbf s_{dysts} + 0.01\, w \odot \mathcal N(0, I)`;
      each trajectory is integrated with LSODA (``rtol = atol = 1e-9``), the first
      :math:`5P` are discarded as a transient (chaos spreads the perturbations over the
      attractor) and 101 states are recorded over the next :math:`10P`.
    - extrapolation: :math:`\mathbf s_0 \sim U[l - w/4,\ h + w/4]`, a box 1.5 times as
      wide as the attractor's, and the 101 states are recorded over :math:`t \in [0, 5P]`
      with no transient: the approach to the attractor from outside.

    A trajectory is rejected, and its initial condition redrawn (at most 100 times), if
    the solver fails or the state leaves the box widened by ten widths on every side (a
    terminal event stops such runs early).

    Returns:
        A new dict of the (immutable, cached) systems.

    Raises:
        ValueError: if the table gives one system several periods.
    """
    return dict(_chaotic())


#: ODEBench's protocol: one trajectory from a given initial condition, 512 states evenly
#: spaced over :math:`t \in [0, 10]`, LSODA with ``rtol = atol = 1e-9``.
ODEBENCH_SIMULATION = Simulation(
    default=Regime(start="initial"),
    extrapolation=Regime(start="initial"),
    points=512,
    trajectories=1,
    field="math",
)
#: The recorded times of an ODEBench trajectory.
ODEBENCH_TIMES = np.linspace(0.0, 10.0, ODEBENCH_SIMULATION.points)
ODEBENCH_TIMES.setflags(write=False)


@dataclasses.dataclass(frozen=True)
class OdeBenchSystem:
    """One ODEBench system: the :class:`System` (states ``x_0 .. x_{d-1}``, constants
    ``c_i`` as its parameters, :attr:`System.initial` the first initial condition) and
    both of ODEBench's initial conditions (fit on the first, test generalisation on the
    second).

    Attributes:
        system: the system.
        starts: the two initial conditions.
        number: ODEBench's id (1..63).
    """

    system: System
    starts: tuple[tuple[float, ...], tuple[float, ...]]
    number: int

    def trajectory(self, which: int = 0) -> np.ndarray:
        """The states at :data:`ODEBENCH_TIMES` from initial condition ``which`` (0 or
        1): shape ``(512, d)``."""
        if which not in (0, 1):
            raise ValueError(f"which must be 0 or 1 (ODEBench's two starts), got {which!r}")
        return _odebench_trajectory(self.system, self.starts[which])


@functools.lru_cache(maxsize=256)
def _odebench_trajectory(system: System, start: tuple[float, ...]) -> np.ndarray:
    states = system.solve(start, ODEBENCH_TIMES)
    states.setflags(write=False)
    return states


@functools.cache
def _odebench() -> dict[str, OdeBenchSystem]:
    text = files("symnet.data").joinpath("odebench_equations.csv").read_text(encoding="utf-8")
    table = pd.read_csv(io.StringIO(text), keep_default_na=False)
    systems = {}
    for row in table.itertuples(index=False):
        d = int(row.dim)
        starts = tuple(tuple(float(v) for v in ic) for ic in json.loads(row.initial_conditions))
        lo = np.min(starts, axis=0)
        hi = np.max(starts, axis=0)
        pad = np.maximum(1.0, 0.5 * np.maximum(np.abs(lo), np.abs(hi)))
        name = f"ode{int(row.id):02d}"
        system = System(
            name=name,
            states=tuple(f"x_{i}" for i in range(d)),
            derivatives=tuple(e.strip().replace("^", "**") for e in row.equation.split("|")),
            parameters={f"c_{i}": float(c) for i, c in enumerate(json.loads(row.constants))},
            box=tuple((float(a), float(b)) for a, b in zip(lo - pad, hi + pad, strict=True)),
            initial=starts[0],
            simulation=ODEBENCH_SIMULATION,
            catalogue="odebench",
            description=row.description,
        )
        systems[name] = OdeBenchSystem(system, (starts[0], starts[1]), int(row.id))
    return systems


def odebench_systems() -> dict[str, OdeBenchSystem]:
    r"""The 63 systems of ODEBench (d'Ascoli et al., ODEFormer, ICLR 2024), by name
    (``"ode01"`` .. ``"ode63"``), in file order.

    From ``symnet/data/odebench_equations.csv``: 23 one-, 28 two-, 10 three- and 2
    four-dimensional systems, mostly from Strogatz's book, with constants ``c_i`` and two
    initial conditions each. The protocol (:data:`ODEBENCH_SIMULATION`) integrates a
    system from one of them over :math:`t \in [0, 10]` and records 512 evenly spaced
    states (:meth:`OdeBenchSystem.trajectory`); methods see only the times and states.
    The systems' boxes are nominal (the span of the two starts, padded by
    :math:`\max(1, |s|/2)`): trajectories are started from the fixed conditions, not drawn.

    Returns:
        A new dict of the (immutable, cached) systems.
    """
    return dict(_odebench())

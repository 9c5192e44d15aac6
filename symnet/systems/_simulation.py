r"""How a :class:`System`'s trajectories are started, recorded, accepted and sampled.

A :class:`Simulation` is the simulation design of a catalogue. It holds two :class:`Regime`
objects, one for the default sample and one for ``extrapolate=True``, and the settings the
two share. Let :math:`[l, h]` be the system's box, :math:`w = h - l` its width and
:math:`c = (l + h) / 2` its centre (per state), and :math:`u` the system's time unit (its
``period``, or 1).

One trajectory:

1. An initial condition is drawn (``Regime.start``): ``"box"`` draws
   :math:`\mathbf s_0 \sim U[l - a w,\ h + b w]` with :math:`(a, b)` = ``Regime.widen``;
   ``"initial"`` draws :math:`\mathbf s_0 = \mathbf s_{ref} + \sigma\, w \odot
   \mathcal N(0, I)` around the system's reference state, :math:`\sigma` =
   ``Regime.spread``.
2. The system is integrated with ``scipy.integrate.solve_ivp`` (``Simulation.method``,
   ``rtol``, ``atol``) over :math:`t \in [0, (\tau + D) u]`, :math:`\tau` =
   ``Regime.transient``, :math:`D` = ``Regime.duration``, and the states at
   ``Simulation.points`` equally spaced times of :math:`[\tau u, (\tau + D) u]` are kept:
   the transient :math:`[0, \tau u)` is discarded.
3. With ``Simulation.escape`` :math:`= E`, a terminal event stops the run when
   :math:`\max_i |s_i - c_i| / w_i` reaches :math:`E + \tfrac12`: the state left the box
   widened by :math:`E` widths on every side.
4. The trajectory is accepted if the solver finished (status 0: it neither failed nor
   escaped) and every recorded state and right-hand side value is finite and at most
   ``Simulation.limit`` in magnitude. Otherwise a new initial condition is drawn from the
   same generator, at most ``Simulation.max_tries`` times, after which ``RuntimeError`` is
   raised.

A sample of :math:`n` rows integrates :math:`k = \max(K, \lceil n / P \rceil)` trajectories
(:math:`K` = ``Simulation.trajectories``, :math:`P` = ``Simulation.points``), stacks their
:math:`P k` rows in trajectory order and keeps the :math:`n` evenly spaced rows
:math:`\lfloor i (P k - 1) / (n - 1) \rfloor`, :math:`i = 0, \dots, n - 1`: all of them
when :math:`n = P K`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

__all__ = ["Regime", "Simulation"]

STARTS = ("box", "initial")
FIELDS = ("numpy", "math")


def _real(value: object, name: str, *, minimum: float = 0.0, strict: bool = False) -> float:
    """``value`` as a float, or ``ValueError`` naming ``name`` unless finite and in range."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    number = float(value) if ok else math.nan  # type: ignore[arg-type]
    if not math.isfinite(number) or number < minimum or (strict and number == minimum):
        bound = ">" if strict else ">="
        raise ValueError(f"{name} must be a finite real number {bound} {minimum}, got {value!r}")
    return number


def _count(value: object, name: str) -> int:
    """``value`` as an int, or ``ValueError`` naming ``name`` unless an integer ``>= 1``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Regime:
    """One kind of trajectory: where it starts and which stretch of it is recorded.

    Attributes:
        start: ``"box"``: :math:`\\mathbf s_0 \\sim U[l - a w, h + b w]`; ``"initial"``:
            :math:`\\mathbf s_0 = \\mathbf s_{ref} + \\sigma w \\odot \\mathcal N(0, I)`.
        widen: :math:`(a, b)`, how far the box is widened below and above, in widths
            (``"box"`` starts only).
        spread: :math:`\\sigma`, the relative size of the perturbation (``"initial"``
            starts only).
        transient: :math:`\\tau`, the time discarded before recording, in units of the
            system's time unit.
        duration: :math:`D > 0`, the time recorded, in the same unit.
    """

    start: str = "box"
    widen: tuple[float, float] = (0.0, 0.0)
    spread: float = 0.0
    transient: float = 0.0
    duration: float = 10.0

    def __post_init__(self) -> None:
        if self.start not in STARTS:
            raise ValueError(f"start must be one of {list(STARTS)}, got {self.start!r}")
        widen = tuple(self.widen) if isinstance(self.widen, tuple | list) else ()
        if len(widen) != 2:
            raise ValueError(f"widen must be a pair (below, above), got {self.widen!r}")
        object.__setattr__(self, "widen", tuple(_real(a, "widen") for a in widen))
        object.__setattr__(self, "spread", _real(self.spread, "spread"))
        object.__setattr__(self, "transient", _real(self.transient, "transient"))
        object.__setattr__(self, "duration", _real(self.duration, "duration", strict=True))

    def bounds(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The box :math:`[l - a w, h + b w]` that ``"box"`` starts are drawn from."""
        width = hi - lo
        below, above = self.widen
        return lo - below * width, hi + above * width

    def draw(
        self,
        rng: np.random.Generator,
        lo: np.ndarray,
        hi: np.ndarray,
        initial: tuple[float, ...] | None,
    ) -> np.ndarray:
        """One initial condition :math:`\\mathbf s_0` (see the attributes)."""
        if self.start == "box":
            return rng.uniform(*self.bounds(lo, hi))
        width = hi - lo
        return np.array(initial) + self.spread * width * rng.normal(size=width.size)

    def window(self, unit: float) -> tuple[float, float]:
        """The recorded times :math:`[\\tau u, (\\tau + D) u]` for the time unit ``u``."""
        start = self.transient * unit
        return start, start + self.duration * unit


@dataclasses.dataclass(frozen=True, kw_only=True)
class Simulation:
    """A simulation design: two :class:`Regime` objects and the shared settings.

    The defaults are the ODE-Strogatz design of SRBench: initial conditions uniform in the
    box (extrapolation: the box widened upwards by half its width), 4 trajectories of 101
    states over :math:`t \\in [0, 10]`, LSODA with ``rtol = atol = 1e-9``.

    Attributes:
        default: the regime of the default sample.
        extrapolation: the regime of ``extrapolate=True``.
        points: :math:`P`, states recorded per trajectory.
        trajectories: :math:`K`, the least number of trajectories per sample.
        escape: :math:`E`, stop a run whose state leaves the box widened by :math:`E`
            widths on every side (``None``: no escape test).
        limit: the largest accepted magnitude of a state or right-hand side value.
        max_tries: initial conditions drawn per trajectory before giving up.
        field: how the solver evaluates :math:`F`: ``"numpy"``, one broadcasting numpy
            call per state, or ``"math"``, one scalar call lambdified with the ``math``
            module (several times faster). The two agree to rounding; each catalogue
            keeps the one its samples were first made with, so they do not change.
        method: the ``solve_ivp`` method.
        rtol: the solver's relative tolerance.
        atol: the solver's absolute tolerance.
    """

    default: Regime = Regime()
    extrapolation: Regime = Regime(widen=(0.0, 0.5))
    points: int = 101
    trajectories: int = 4
    escape: float | None = None
    limit: float = math.inf
    max_tries: int = 100
    field: str = "numpy"
    method: str = "LSODA"
    rtol: float = 1e-9
    atol: float = 1e-9

    def __post_init__(self) -> None:
        for name in ("default", "extrapolation"):
            if not isinstance(getattr(self, name), Regime):
                raise ValueError(f"{name} must be a Regime, got {getattr(self, name)!r}")
        if self.field not in FIELDS:
            raise ValueError(f"field must be one of {list(FIELDS)}, got {self.field!r}")
        if _count(self.points, "points") < 2:
            raise ValueError(f"points must be an integer >= 2, got {self.points!r}")
        _count(self.trajectories, "trajectories")
        _count(self.max_tries, "max_tries")
        if self.escape is not None:
            _real(self.escape, "escape", strict=True)
        if not (isinstance(self.limit, numbers.Real) and self.limit > 0):
            raise ValueError(f"limit must be a real number > 0, got {self.limit!r}")
        _real(self.rtol, "rtol", strict=True)
        _real(self.atol, "atol", strict=True)

    @property
    def n_default(self) -> int:
        """Rows of the default sample, :math:`P K`."""
        return self.points * self.trajectories

    def regime(self, extrapolate: bool) -> Regime:
        """:attr:`extrapolation` if ``extrapolate`` else :attr:`default`."""
        return self.extrapolation if extrapolate else self.default

    def count(self, n: int) -> int:
        """Trajectories integrated for ``n`` rows, :math:`\\max(K, \\lceil n / P \\rceil)`."""
        return max(self.trajectories, math.ceil(n / self.points))

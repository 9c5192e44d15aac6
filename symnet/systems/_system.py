r"""The :class:`System` record: an autonomous ODE with its simulation design.

A system is :math:`\dot{\mathbf s} = F(\mathbf s; \theta)` with states
:math:`\mathbf s = (s_1, \dots, s_d)`, one right-hand side :math:`F_i` per state written
as a sympy-parsable formula over the state names and the names of the parameters
:math:`\theta`, a box :math:`[l_i, h_i]` per state and a :class:`Simulation` that says how
its trajectories are simulated and sampled (see :mod:`symnet.systems._simulation`).
Simulations are reproducible: the generator is seeded from the seed and a CRC-32 of the
system's :attr:`System.key` (:func:`make_rng`), so every user of a system (e.g. every
benchmark task asking for one of its components) sees the same trajectories.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
from collections.abc import Callable

import numpy as np
import sympy
from scipy.integrate import solve_ivp

from symnet.systems._formula import compile_formula, parse_formula
from symnet.systems._random import make_rng
from symnet.systems._simulation import Simulation

__all__ = ["System"]

#: The stream of :func:`make_rng` that draws initial conditions.
_STATE_STREAM = 0


def _names(value: object, field: str, owner: str) -> tuple[str, ...]:
    """``value`` as a tuple of distinct identifiers, or ``ValueError`` naming ``field``."""
    names = tuple(value) if isinstance(value, tuple | list) else ()
    if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
        raise ValueError(f"system {owner!r}: {field} must be a non-empty sequence of names")
    if len(set(names)) != len(names):
        raise ValueError(f"system {owner!r}: {field} must be distinct, got {names}")
    return names


def _reals(values: object, field: str, owner: str) -> tuple[float, ...]:
    """``values`` as a tuple of finite floats, or ``ValueError`` naming ``field``."""
    items = tuple(values) if isinstance(values, tuple | list | np.ndarray) else (values,)
    ok = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in items)
    if not ok or not all(math.isfinite(float(v)) for v in items):
        raise ValueError(f"system {owner!r}: {field} must be finite real numbers, got {values!r}")
    return tuple(float(v) for v in items)


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@functools.cache
def _scalar_field(states: tuple[str, ...], formulas: tuple[str, ...]) -> Callable[..., list]:
    """:math:`F` as one call of the scalar states, lambdified with the ``math`` module."""
    symbols = [sympy.Symbol(name, real=True) for name in states]
    exprs = [parse_formula(f, states) for f in formulas]
    return sympy.lambdify(symbols, exprs, modules="math")


@dataclasses.dataclass(frozen=True, kw_only=True)
class System:
    """An autonomous system :math:`\\dot{\\mathbf s} = F(\\mathbf s; \\theta)`.

    Attributes:
        name: the system's id in its catalogue, e.g. ``"vdp"`` or ``"Lorenz"``.
        states: the state names :math:`s_1, \\dots, s_d`, in column order.
        derivatives: per state, :math:`F_i` as a sympy-parsable formula over the states
            and the parameter names (see :func:`parse_formula`).
        box: per state, an interval :math:`[l_i, h_i]`, :math:`l_i < h_i`: where
            ``"box"`` initial conditions are drawn and the scale of perturbations and
            of the escape test. For a chaotic flow, the attractor's bounding box.
        parameters: the values of :math:`\\theta` by name (read-only; none for the
            packaged catalogues, whose numbers are written into the formulas).
        initial: a reference state :math:`\\mathbf s_{ref}` (e.g. on the attractor),
            needed by ``"initial"`` starts.
        period: the characteristic time (a chaotic flow's dominant period), the unit of
            the simulation's times; ``None``: plain time units.
        simulation: how trajectories are simulated and sampled.
        catalogue: the catalogue the system belongs to, e.g. ``"strogatz"``.
        description: a human-readable name, e.g. ``"van der Pol oscillator"``.
    """

    name: str
    states: tuple[str, ...]
    derivatives: tuple[str, ...]
    box: tuple[tuple[float, float], ...]
    parameters: dict[str, float] = dataclasses.field(default_factory=dict, hash=False)
    initial: tuple[float, ...] | None = None
    period: float | None = None
    simulation: Simulation = Simulation()
    catalogue: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.simulation, Simulation):
            raise ValueError(f"system {self.name!r}: simulation must be a Simulation")
        states = _names(self.states, "states", self.name)
        object.__setattr__(self, "states", states)
        formulas = self.derivatives
        if not isinstance(formulas, tuple | list) or len(formulas) != len(states):
            formulas = None
        if formulas is None or not all(isinstance(f, str) for f in formulas):
            raise ValueError(
                f"system {self.name!r}: derivatives must be one formula string per state "
                f"({len(states)} states), got {self.derivatives!r}"
            )
        object.__setattr__(self, "derivatives", tuple(formulas))
        self._check_box()
        self._check_parameters()
        self._check_initial()
        if self.period is not None:
            (period,) = _reals([self.period], "period", self.name)
            if period <= 0.0:
                raise ValueError(f"system {self.name!r}: period must be > 0, got {period!r}")
            object.__setattr__(self, "period", period)

    def _check_box(self) -> None:
        d = len(self.states)
        pairs = self.box if isinstance(self.box, tuple | list) else ()
        box = tuple(_reals(pair, "box", self.name) for pair in pairs)
        if len(box) != d or not all(len(p) == 2 and p[0] < p[1] for p in box):
            raise ValueError(
                f"system {self.name!r}: box must be one (low, high) pair with low < high per "
                f"state ({d} states), got {self.box!r}"
            )
        object.__setattr__(self, "box", box)

    def _check_initial(self) -> None:
        if self.initial is None:
            starts = (self.simulation.default.start, self.simulation.extrapolation.start)
            if "initial" in starts:
                raise ValueError(
                    f"system {self.name!r}: initial is required by the 'initial' starts of "
                    f"the simulation"
                )
            return
        initial = _reals(self.initial, "initial", self.name)
        if len(initial) != len(self.states):
            raise ValueError(
                f"system {self.name!r}: initial must have one value per state "
                f"({len(self.states)} states), got {self.initial!r}"
            )
        object.__setattr__(self, "initial", initial)

    def _check_parameters(self) -> None:
        if not isinstance(self.parameters, dict):
            raise ValueError(
                f"system {self.name!r}: parameters must be a dict, got {self.parameters!r}"
            )
        names = tuple(self.parameters)
        if names:
            _names(names, "parameters", self.name)
        clash = sorted(set(names) & set(self.states))
        if clash:
            raise ValueError(f"system {self.name!r}: parameters {clash} are also states")
        values = _reals(tuple(self.parameters.values()), "parameters", self.name)
        object.__setattr__(self, "parameters", dict(zip(names, values, strict=True)))

    @property
    def key(self) -> str:
        """``"<catalogue>/<name>"`` (or the name alone): seeds the simulations."""
        return f"{self.catalogue}/{self.name}" if self.catalogue else self.name

    def formulas(self) -> tuple[str, ...]:
        """The right-hand sides as formulas over the states alone.

        Each parameter name in :attr:`derivatives` is replaced by ``repr`` of its value in
        parentheses, which reads back as the same float; without parameters these are
        :attr:`derivatives` themselves.
        """
        if not self.parameters:
            return self.derivatives
        names = sorted(self.parameters, key=len, reverse=True)
        pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")

        def value(match: re.Match[str]) -> str:
            return f"({self.parameters[match.group(1)]!r})"

        return tuple(pattern.sub(value, f) for f in self.derivatives)

    def symbols(self) -> list[sympy.Symbol]:
        """The states as ``sympy.Symbol(name, real=True)``, in column order."""
        return [sympy.Symbol(name, real=True) for name in self.states]

    def exprs(self) -> tuple[sympy.Expr, ...]:
        """:math:`F_1, \\dots, F_d` as sympy expressions over :meth:`symbols`."""
        return tuple(parse_formula(f, self.states) for f in self.formulas())

    def rhs(self, states: np.ndarray) -> np.ndarray:
        """:math:`F(\\mathbf s)` at each state: shape ``(..., d)`` in, ``(..., d)`` out.

        Raises:
            ValueError: if the last axis of ``states`` is not of length :math:`d`.
        """
        array = np.asarray(states, dtype=np.float64)
        if array.ndim == 0 or array.shape[-1] != len(self.states):
            raise ValueError(
                f"states must have shape (..., {len(self.states)}), got {array.shape}"
            )
        columns = np.moveaxis(array, -1, 0)
        return np.stack([f(*columns) for f in self._fields()], axis=-1)

    def _fields(self) -> tuple[Callable[..., np.ndarray], ...]:
        return tuple(compile_formula(f, self.states) for f in self.formulas())

    def vector_field(self) -> Callable[[float, np.ndarray], np.ndarray | list]:
        """The callable ``F(t, s) -> ds/dt`` that ``scipy.integrate.solve_ivp`` integrates.

        It evaluates :math:`F` as ``Simulation.field`` says: one numpy call per state
        (``"numpy"``) or one scalar call for all states (``"math"``).
        """
        if self.simulation.field == "math":
            scalar = _scalar_field(self.states, self.formulas())

            def fast(_t: float, s: np.ndarray) -> list:
                return scalar(*s)

            return fast
        fields = self._fields()

        def broadcast(_t: float, s: np.ndarray) -> np.ndarray:
            return np.array([float(f(*s)) for f in fields])

        return broadcast

    def times(self, *, extrapolate: bool = False) -> np.ndarray:
        """The ``Simulation.points`` times at which a trajectory is recorded."""
        start, end = self.simulation.regime(bool(extrapolate)).window(self._unit())
        return np.linspace(start, end, self.simulation.points)

    def _unit(self) -> float:
        return 1.0 if self.period is None else self.period

    def _escape_event(self) -> Callable[[float, np.ndarray], float] | None:
        if self.simulation.escape is None:
            return None
        lo, hi = (np.array(side) for side in zip(*self.box, strict=True))
        width, centre = hi - lo, (lo + hi) / 2.0
        threshold = self.simulation.escape + 0.5

        def escaped(_t: float, s: np.ndarray) -> float:
            return threshold - float(np.max(np.abs(s - centre) / width))

        escaped.terminal = True  # type: ignore[attr-defined]
        return escaped

    def _accepted(self, states: np.ndarray) -> bool:
        """Whether the states and :math:`F` there are finite and within the limit."""
        values = np.column_stack([f(*states.T) for f in self._fields()])
        limit = self.simulation.limit
        return all(np.all(np.isfinite(a)) and np.max(np.abs(a)) <= limit for a in (states, values))

    def solve(self, initial, times) -> np.ndarray:
        """The trajectory from ``initial`` at ``times[0]``, recorded at ``times``: shape
        ``(len(times), d)``, integrated with the simulation's ``method``, ``rtol`` and
        ``atol`` (no escape test, no acceptance test).

        Raises:
            ValueError: if ``initial`` has not one finite value per state or ``times`` is
                not a strictly increasing 1-D array of at least two finite times.
            RuntimeError: if the solver fails before ``times[-1]``.
        """
        d = len(self.states)
        start = np.asarray(initial, dtype=np.float64)
        if start.shape != (d,) or not np.all(np.isfinite(start)):
            raise ValueError(
                f"initial must be {d} finite values (one per state of {self.name!r}), "
                f"got {initial!r}"
            )
        t = np.asarray(times, dtype=np.float64)
        if t.ndim != 1 or t.size < 2 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise ValueError(
                f"times must be a strictly increasing 1-D array of >= 2 finite times, "
                f"got shape {t.shape}"
            )
        simulation = self.simulation
        with np.errstate(all="ignore"):
            solution = solve_ivp(
                self.vector_field(),
                (t[0], t[-1]),
                start,
                method=simulation.method,
                t_eval=t,
                rtol=simulation.rtol,
                atol=simulation.atol,
            )
        if solution.status != 0 or solution.y.shape != (d, t.size):
            raise RuntimeError(f"{self.key}: the solver failed ({solution.message})")
        return solution.y.T

    def trajectory(self, rng: np.random.Generator, *, extrapolate: bool = False) -> np.ndarray:
        """One accepted trajectory, shape ``(points, d)``, recorded at :meth:`times`.

        The initial conditions are drawn from ``rng`` by the simulation's regime (see
        :class:`Simulation` for the start, the transient, the escape test and acceptance).

        Args:
            rng: the generator of the initial conditions, advanced by each draw.
            extrapolate: use the simulation's extrapolation regime.

        Raises:
            RuntimeError: if no trajectory is accepted in ``Simulation.max_tries`` initial
                conditions.
        """
        simulation = self.simulation
        regime = simulation.regime(bool(extrapolate))
        lo, hi = (np.array(side, dtype=np.float64) for side in zip(*self.box, strict=True))
        _, t_end = regime.window(self._unit())
        t_eval = self.times(extrapolate=extrapolate)
        rhs, escaped = self.vector_field(), self._escape_event()
        for _ in range(simulation.max_tries):
            initial = regime.draw(rng, lo, hi, self.initial)
            with np.errstate(all="ignore"):
                solution = solve_ivp(
                    rhs,
                    (0.0, t_end),
                    initial,
                    method=simulation.method,
                    t_eval=t_eval,
                    rtol=simulation.rtol,
                    atol=simulation.atol,
                    events=escaped,
                )
            if solution.status != 0 or solution.y.shape != (len(self.states), t_eval.size):
                continue
            if self._accepted(solution.y.T):
                return solution.y.T
        raise RuntimeError(
            f"{self.key}: no accepted trajectory in {simulation.max_tries} initial conditions "
            f"(extrapolate={bool(extrapolate)})"
        )

    def simulate(self, count: int, *, seed: int = 0, extrapolate: bool = False) -> np.ndarray:
        """``count`` trajectories, shape ``(count, points, d)``, recorded at :meth:`times`.

        The initial conditions come from :func:`make_rng` of :attr:`key` and ``seed``; the
        result is a pure function of ``(system, count, seed, extrapolate)`` and is cached.

        Args:
            count: number of trajectories, ``>= 1``.
            seed: non-negative integer seed.
            extrapolate: use the simulation's extrapolation regime.
        """
        count = _check_int(count, "count", 1)
        seed = _check_int(seed, "seed", 0)
        return np.array(_simulated(self, count, seed, bool(extrapolate)))

    def sample(self, n: int, *, seed: int = 0, extrapolate: bool = False) -> np.ndarray:
        """``n`` states along ``Simulation.count(n)`` trajectories, shape ``(n, d)``.

        The :math:`m` rows of :meth:`simulate` (the trajectories stacked in order) are
        thinned to the ``n`` evenly spaced rows :math:`\\lfloor i (m - 1) / (n - 1)
        \\rfloor`, :math:`i = 0, \\dots, n - 1`. ``seed`` and ``extrapolate`` are as for
        :meth:`simulate`; ``n`` must be an integer ``>= 1``.
        """
        n = _check_int(n, "n", 1)
        runs = self.simulate(self.simulation.count(n), seed=seed, extrapolate=extrapolate)
        rows = runs.reshape(-1, len(self.states))
        keep = np.floor(np.linspace(0.0, rows.shape[0] - 1, n) + 1e-9).astype(np.int64)
        return rows[keep]


@functools.lru_cache(maxsize=256)
def _simulated(system: System, count: int, seed: int, extrapolate: bool) -> np.ndarray:
    rng = make_rng(system.key, seed, _STATE_STREAM, extrapolate)
    rows = np.stack([system.trajectory(rng, extrapolate=extrapolate) for _ in range(count)])
    rows.setflags(write=False)
    return rows

"""The :class:`Task` record: one ground-truth formula with its sampling design."""

from __future__ import annotations

import dataclasses
import numbers
from typing import Protocol

import numpy as np
import pandas as pd
import sympy

from symnet.datasets._noise import add_noise, check_gamma
from symnet.datasets._sampling import Sampler
from symnet.systems import compile_formula, make_rng, parse_formula
from symnet.units import Dim

__all__ = ["StateSource", "Task", "extrapolation_box"]

#: Relative widening of the upper end of each range when ``extrapolate=True``.
EXTRAPOLATION_FACTOR = 0.5

_INPUT_STREAM = 0
_MAX_BATCHES = 100
_NOISE_STREAM = 1

# SRSD keeps a row only if its target is a finite float32 of magnitude at least the
# smallest normal float32 (``datasets/base.py``, ``check_if_valid``).
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)


class StateSource(Protocol):
    """Where a task's input rows come from when they are not drawn independently.

    A :class:`symnet.systems.System` is one: its :meth:`~symnet.systems.System.sample`
    returns states along simulated trajectories.
    """

    def sample(self, n: int, *, seed: int, extrapolate: bool) -> np.ndarray:
        """``n`` input rows of shape ``(n, d)``, a pure function of the arguments.

        ``d`` is the task's variable count; ``extrapolate`` asks for the design that
        leaves the default region.
        """
        ...


def extrapolation_box(
    ranges: tuple[tuple[float, float], ...], extrapolate: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the sampling box.

    With ``extrapolate`` each :math:`[l, h]` becomes :math:`[l, h + \\tfrac12 (h - l)]`:
    only the upper end moves, so formulas defined for positive inputs stay defined.
    """
    lo = np.array([r[0] for r in ranges], dtype=np.float64)
    hi = np.array([r[1] for r in ranges], dtype=np.float64)
    if extrapolate:
        hi = hi + EXTRAPOLATION_FACTOR * (hi - lo)
    return lo, hi


def _check_count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or int(n) < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return int(n)


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


@dataclasses.dataclass(frozen=True)
class Task:
    """One benchmark problem :math:`y = f(x_1, \\dots, x_d)` with a sampling design.

    Attributes:
        name: unique id ``"<suite>/<id>"``, e.g. ``"feynman/I.6.2a"``, ``"nguyen/1"``,
            ``"strogatz/bacres_x"``, ``"chaotic/Lorenz_x"``, ``"srsd_easy/I.12.1"``.
        suite: one of :data:`symnet.datasets.ALL_SUITES`.
        formula: sympy-parsable ground truth :math:`f` over the variable names.
        variables: the input names :math:`x_1, \\dots, x_d`, in column order.
        ranges: per variable, the uniform sampling interval :math:`[l_j, h_j]`. For
            Strogatz tasks this is the box of initial conditions (the states along the
            trajectories may leave it); for chaotic tasks the bounding box of the
            attractor; with ``samplers``, the smallest interval holding every draw.
        n_default: the sample count used when ``sample`` gets ``n=None``.
        samplers: optional per-variable :class:`Sampler` (log-uniform, integer, signed
            draws, as in SRSD). Empty (the default): :math:`x_j \\sim U[l_j, h_j]`.
        source: optional :class:`StateSource` of the input rows, supplied by the suite
            that built the task: for Strogatz and chaotic tasks, the
            :class:`symnet.systems.System` of which :math:`f` is a right-hand side; its
            simulated states are the inputs. ``None`` (the default): the inputs are
            drawn from ``samplers`` or the ranges.
        units: optional dimensions of the variables (:class:`symnet.units.Dim`, in
            column order) and y_units of the target: the Feynman tasks carry them
            (``symnet/data/feynman_units.csv``, over the base dimensions m, s, kg, K, V).
    """

    name: str
    suite: str
    formula: str
    variables: tuple[str, ...]
    ranges: tuple[tuple[float, float], ...]
    n_default: int
    samplers: tuple[Sampler, ...] = ()
    source: StateSource | None = dataclasses.field(default=None, repr=False)
    units: tuple[Dim, ...] | None = dataclasses.field(default=None, repr=False)
    y_units: Dim | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.source is not None and not callable(getattr(self.source, "sample", None)):
            raise ValueError(
                f"task {self.name!r}: source must have a sample(n, *, seed, extrapolate) "
                f"method, got {self.source!r}"
            )
        if self.source is not None and self.samplers:
            raise ValueError(f"task {self.name!r}: give samplers or a source, not both")
        if len(self.ranges) != len(self.variables):
            raise ValueError(
                f"task {self.name!r}: {len(self.variables)} variables but "
                f"{len(self.ranges)} ranges"
            )
        if self.units is not None and len(self.units) != len(self.variables):
            raise ValueError(
                f"task {self.name!r}: {len(self.variables)} variables but {len(self.units)} units"
            )
        if self.samplers and len(self.samplers) != len(self.variables):
            raise ValueError(
                f"task {self.name!r}: {len(self.variables)} variables but "
                f"{len(self.samplers)} samplers"
            )
        for name, (lo, hi) in zip(self.variables, self.ranges, strict=True):
            if not lo < hi:
                raise ValueError(f"task {self.name!r}: empty range [{lo}, {hi}] for {name!r}")

    def symbols(self) -> list[sympy.Symbol]:
        """The variables as ``sympy.Symbol(name, real=True)``, in column order."""
        return [sympy.Symbol(name, real=True) for name in self.variables]

    def expr(self) -> sympy.Expr:
        """The ground truth :math:`f` as a sympy expression over :meth:`symbols`."""
        return parse_formula(self.formula, self.variables)

    def evaluate(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Noise-free targets :math:`f(x)` for each row of ``X`` (float64, shape ``(n,)``).

        ``X`` is a DataFrame with the variable names as columns or an array whose columns
        are in :attr:`variables` order.
        """
        if isinstance(X, pd.DataFrame):
            columns = [X[name].to_numpy(dtype=np.float64) for name in self.variables]
        else:
            array = np.asarray(X, dtype=np.float64)
            if array.ndim != 2 or array.shape[1] != len(self.variables):
                raise ValueError(
                    f"X must have shape (n, {len(self.variables)}), got {array.shape}"
                )
            columns = list(array.T)
        f = compile_formula(self.formula, self.variables)
        return f(*columns).reshape(-1)

    def _uniform_inputs(self, count: int, seed: int, extrapolate: bool) -> np.ndarray:
        """``count`` rows drawn uniformly from the (possibly widened) box.

        In the widened box a formula may leave its domain (e.g. ``arcsin`` of an argument
        above 1); there, rows where :math:`f` is not finite are rejected and redrawn from
        the same generator, in batches of ``count``, at most ``_MAX_BATCHES`` times.
        """
        rng = make_rng(self.name, seed, _INPUT_STREAM, extrapolate)
        lo, hi = extrapolation_box(self.ranges, extrapolate)
        states = rng.uniform(lo, hi, size=(count, len(self.variables)))
        if not extrapolate:
            return states
        kept: list[np.ndarray] = []
        total = 0
        for _ in range(_MAX_BATCHES):
            good = states[np.isfinite(self.evaluate(states))]
            kept.append(good)
            total += good.shape[0]
            if total >= count:
                return np.concatenate(kept)[:count]
            states = rng.uniform(lo, hi, size=(count, len(self.variables)))
        raise ValueError(
            f"task {self.name!r}: fewer than {count} points of the extrapolation box "
            f"lie in the formula's domain after {_MAX_BATCHES} batches"
        )

    def _sampler_inputs(self, count: int, seed: int, extrapolate: bool) -> np.ndarray:
        """``count`` rows drawn column by column from :attr:`samplers`.

        As in SRSD, a row is kept only if :math:`f` is finite there, with
        :math:`|f| \\le` the largest float32 and :math:`|f| \\ge` the smallest normal
        float32; other rows are redrawn from the same generator, in batches of
        ``count``, at most ``_MAX_BATCHES`` times.
        """
        rng = make_rng(self.name, seed, _INPUT_STREAM, extrapolate)
        kept: list[np.ndarray] = []
        total = 0
        for _ in range(_MAX_BATCHES):
            states = np.column_stack([s.draw(rng, count, extrapolate) for s in self.samplers])
            magnitude = np.abs(self.evaluate(states))
            good = states[
                np.isfinite(magnitude) & (magnitude <= _FLOAT32_MAX) & (magnitude >= _FLOAT32_TINY)
            ]
            kept.append(good)
            total += good.shape[0]
            if total >= count:
                return np.concatenate(kept)[:count]
        raise ValueError(
            f"task {self.name!r}: fewer than {count} valid points after {_MAX_BATCHES} "
            f"batches (extrapolate={extrapolate})"
        )

    def _source_inputs(
        self, source: StateSource, count: int, seed: int, extrapolate: bool
    ) -> np.ndarray:
        """``count`` rows from :attr:`source`, checked for their shape."""
        states = np.asarray(
            source.sample(count, seed=seed, extrapolate=extrapolate), dtype=np.float64
        )
        if states.shape != (count, len(self.variables)):
            raise ValueError(
                f"task {self.name!r}: the source gave shape {states.shape}, expected "
                f"{(count, len(self.variables))}"
            )
        return states

    def sample(
        self,
        n: int | None = None,
        *,
        noise: float = 0.0,
        seed: int = 0,
        extrapolate: bool = False,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Draw a data set :math:`(X, y)` with :math:`y_i = f(x_i) + \\varepsilon_i`.

        Feynman, bonus and Nguyen tasks draw :math:`x_{ij} \\sim U[l_j, h_j]` i.i.d.
        Tasks with a :attr:`source` take their inputs from it: Strogatz and chaotic
        tasks integrate the whole system along simulated trajectories and return the
        visited states (see :func:`symnet.systems.strogatz_systems` and
        :func:`symnet.systems.chaotic_systems`). Tasks with :attr:`samplers` (SRSD) draw
        each column from its sampler and redraw rows where the target is not a valid
        float32 (see :meth:`_sampler_inputs`). The noise
        :math:`\\varepsilon` is :func:`add_noise` with :math:`\\gamma` = ``noise``.

        The result depends only on ``(name, n, noise, seed, extrapolate)``: the
        generators are seeded from ``seed`` and ``zlib.crc32`` of the task name (of the
        system's key for the simulated inputs of a :attr:`source`, which the tasks of one
        system share), and the inputs are drawn from a stream independent of the noise,
        so ``X`` does not change with ``noise``.

        Args:
            n: number of rows, ``>= 1``; ``None`` means :attr:`n_default`.
            noise: relative noise level :math:`\\gamma \\ge 0` (see :data:`NOISE_LEVELS`).
            seed: non-negative integer seed.
            extrapolate: sample the wider box :math:`[l, h + \\tfrac12(h - l)]` (for
                Strogatz: draw the initial conditions from it; chaotic tasks start from
                a box 1.5 times the attractor's and keep the transient). Points of the wider box
                where :math:`f` is undefined are rejected and redrawn: often for
                ``feynman/I.26.2``, :math:`\\arcsin(n \\sin\\theta_2)` with :math:`n > 1`,
                and rarely for ``bonus/test_4`` and ``bonus/test_7``, whose square-root
                arguments can turn negative in the corner of the wider box.

        Returns:
            ``X``, a float64 DataFrame with columns :attr:`variables`, and ``y``, a
            float64 array of shape ``(n,)``.

        Raises:
            ValueError: for a bad ``n``, ``noise`` or ``seed``, or if the formula is not
                finite on the drawn inputs.
            RuntimeError: for a Strogatz or chaotic task, if no trajectory is accepted
                in 100 initial conditions.
        """
        count = self.n_default if n is None else _check_count(n)
        gamma = check_gamma(noise, "noise")
        seed = _check_seed(seed)
        extrapolate = bool(extrapolate)
        if self.source is not None:
            states = self._source_inputs(self.source, count, seed, extrapolate)
        elif self.samplers:
            states = self._sampler_inputs(count, seed, extrapolate)
        else:
            states = self._uniform_inputs(count, seed, extrapolate)
        X = pd.DataFrame(states, columns=list(self.variables), dtype=np.float64)
        y = self.evaluate(states)
        if not np.all(np.isfinite(y)):
            bad = int(np.sum(~np.isfinite(y)))
            raise ValueError(
                f"task {self.name!r}: formula is not finite on {bad} of {count} sampled "
                f"points (extrapolate={extrapolate})"
            )
        y = add_noise(y, gamma, make_rng(self.name, seed, _NOISE_STREAM, extrapolate))
        return X, y

"""``distill``: fit a formula to a trained model (the *teacher*) by querying it.

The teacher ``t: R^d -> R^k`` is an oracle: any number of input points can be labelled.
Distillation fits a :class:`~symnet.SymbolicRegressor` to ``(x_i, t(x_i))`` and then runs
active-querying rounds: the teacher is evaluated on a fresh candidate pool, the candidates
where formula and teacher disagree most (:func:`~symnet.distill.most_disagreeing`) join
the training set, and the regressor is fitted again. Of all rounds, the formula with the
best worst-output R^2 against the teacher on a separate selection sample is kept, and its
fidelity is measured on yet another fresh sample (:class:`~symnet.distill.Fidelity`).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from sklearn.base import clone

from symnet._estimator import SymbolicRegressor
from symnet._seeding import seed_from
from symnet.distill._active import disagreement, most_disagreeing
from symnet.distill._fidelity import Fidelity, agreement
from symnet.distill._sampling import PointSource, make_source, uniform, widen_box
from symnet.distill._teacher import as_numpy_teacher, query
from symnet.search import Budget

__all__ = ["distill"]

#: Disagreement (in teacher standard deviations) under which no active round is needed.
AGREES = 1e-6
N_SELECT = 500


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}.")
    return int(value)


def _split(total: int, parts: int) -> list[int]:
    per = [total // parts] * parts
    per[-1] += total - sum(per)
    return per


def _budget(n_queries: int, rounds: int) -> list[int]:
    """Queries per round: about half up front, the rest split over the active rounds."""
    if rounds == 1:
        return [n_queries]
    first = max(3, n_queries // 2)
    return [first, *_split(n_queries - first, rounds - 1)]


def _check_settings(n_queries, rounds, pool_factor, n_eval, widen) -> tuple[int, ...]:
    """``(n_queries, rounds, pool_factor, n_eval)`` as checked ints; ``widen`` checked too."""
    counts = (
        _check_int(n_queries, "n_queries", 3),
        _check_int(rounds, "rounds", 1),
        _check_int(pool_factor, "pool_factor", 1),
        _check_int(n_eval, "n_eval", 3),
    )
    if not (isinstance(widen, numbers.Real) and widen >= 0):
        raise ValueError(f"`widen` must be a non-negative number, got {widen!r}.")
    return counts


def _base_regressor(regressor, regressor_kwargs: dict) -> SymbolicRegressor:
    """The unfitted regressor every round clones: ``regressor`` (or the default) with
    ``regressor_kwargs`` applied."""
    if regressor is not None and not isinstance(regressor, SymbolicRegressor):
        raise ValueError(
            f"`regressor` must be a SymbolicRegressor, got {type(regressor).__name__}."
        )
    base = clone(regressor) if regressor is not None else SymbolicRegressor()
    base.set_params(**regressor_kwargs)  # unknown settings raise ValueError here
    return base


@dataclasses.dataclass
class _Teacher:
    """The teacher as a checked NumPy function (see :func:`query`) that counts the points
    it is evaluated at; ``n_out`` is fixed by its first answer."""

    fn: Callable[[np.ndarray], np.ndarray]
    n_out: int | None = None
    calls: int = 0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        Y = query(self.fn, X, self.n_out)
        self.n_out = Y.shape[1]
        self.calls += len(X)
        return Y


@dataclasses.dataclass
class _SpareRows:
    """Fresh points from the given rows not used yet; rows of ``X`` jittered (``jitter``)
    once too few are left."""

    spare: np.ndarray
    jitter: PointSource
    rng: np.random.Generator

    def __call__(self, n: int) -> np.ndarray:
        if len(self.spare) >= n:
            out, self.spare = self.spare[:n], self.spare[n:]
            return out
        return self.jitter.draw(n, self.rng)


def _first_points(source: PointSource, n_queries: int, rounds: int, rng: np.random.Generator):
    """The first round's points, the queries per round, and ``fresh(n)`` drawing points
    disjoint from them (for selection and the fidelity report).

    With ``X``, the first round labels a random subset of its rows and ``fresh`` hands out
    the others; when ``X`` has fewer rows than the first round's budget, the rest of the
    queries goes to the active rounds.
    """
    budget = _budget(n_queries, rounds)
    if source.X is None:
        return source.draw(budget[0], rng), budget, lambda n: source.draw(n, rng)
    order = rng.permutation(source.X.shape[0])
    X0 = source.X[order[: budget[0]]]
    spare = source.X[order[budget[0] :]]
    if len(X0) < budget[0] and rounds > 1:  # fewer rows than planned: rest goes active
        budget = [len(X0), *_split(n_queries - len(X0), rounds - 1)]
    jitter = dataclasses.replace(source, box=None, sampler=None)
    return X0, budget, _SpareRows(spare, jitter, rng)


@dataclasses.dataclass(frozen=True)
class _Run:
    """What the rounds of one distillation share: the teacher, where to query it, the
    regressor to clone, and the random generator of all sampling and seeds."""

    teacher: _Teacher
    source: PointSource
    base: SymbolicRegressor
    variable_names: list | None
    rng: np.random.Generator
    clock: Budget
    units: tuple = (None, None)  # X_units, y_units

    def fit(self, X: np.ndarray, Y: np.ndarray, rounds_left: int = 1) -> SymbolicRegressor:
        """A clone of the base regressor, seeded from ``rng``, fitted to ``(X, Y)`` within
        an even share of the time left for the ``rounds_left`` fits still to come."""
        est = clone(self.base).set_params(random_state=int(self.rng.integers(2**31 - 1)))
        if self.clock.deadline is not None:
            est.set_params(max_time=max(self.clock.split(rounds_left).total, 1e-3))
        y = Y[:, 0] if self.teacher.n_out == 1 else Y
        X_units, y_units = self.units
        return est.fit(X, y, variable_names=self.variable_names, X_units=X_units, y_units=y_units)

    def predict(self, est: SymbolicRegressor, X: np.ndarray) -> np.ndarray:
        """``est``'s predictions as float64, shape (n, n_out)."""
        return np.asarray(est.predict(X), np.float64).reshape(len(X), self.teacher.n_out)

    def labelled(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(X, teacher(X))``."""
        return X, self.teacher(X)

    def active_queries(self, est: SymbolicRegressor, n: int, pool_factor: int):
        """One round of active querying: of a fresh pool of ``pool_factor * n`` candidates
        labelled by the teacher, the ``n`` where ``est`` disagrees most, with their labels;
        None when ``est`` agrees with the teacher on the whole pool."""
        pool = self.source.draw(pool_factor * n, self.rng)
        T_pool = self.teacher(pool)
        F_pool = self.predict(est, pool)
        if disagreement(T_pool, F_pool).max() <= AGREES:
            return None
        pick = most_disagreeing(T_pool, F_pool, n)
        return pool[pick], T_pool[pick]


def _start(
    teacher, X, domain, sampler, variable_names, regressor, regressor_kwargs, random_state
) -> _Run:
    """Checks the regressor settings, then the teacher, then the ways of querying it; the
    clock of the regressor's ``max_time`` starts here."""
    base = _base_regressor(regressor, regressor_kwargs)
    clock = Budget.of(base.max_time)
    if variable_names is None and hasattr(X, "columns"):
        variable_names = [str(c) for c in X.columns]
    fn = as_numpy_teacher(teacher)
    source = make_source(X, domain, sampler)
    rng = np.random.default_rng(seed_from(random_state))
    return _Run(_Teacher(fn), source, base, variable_names, rng, clock)


def _samples(run: _Run, n_queries: int, rounds: int, n_eval: int):
    """The queries per round, and three disjoint labelled samples ``(X, teacher(X))``: the
    first round's, the selection sample, and the ``n_eval`` points of the fidelity report."""
    X0, budget, fresh = _first_points(run.source, n_queries, rounds, run.rng)
    first = run.labelled(X0)
    selection = run.labelled(fresh(min(N_SELECT, n_eval)))
    return budget, first, selection, run.labelled(fresh(n_eval))


class _Rounds(NamedTuple):
    """Outcome of the rounds: the ``best`` fit, its (0-based) round, the points added in
    each round run (``queries``), and the number of rounds run."""

    best: SymbolicRegressor
    best_round: int
    queries: list[np.ndarray]
    n_run: int


def _fit_rounds(run: _Run, first, selection, budget: list[int], pool_factor: int) -> _Rounds:
    """Fits the first round's points, then, round by round, adds the active queries
    (``budget[r]`` of them in round ``r``) and fits again. The best fit has the best
    worst-output R^2 on ``selection``; ties go to the later round, which saw more data."""
    (X_fit, Y_fit), (X_sel, Y_sel) = first, selection
    queries = [X_fit]
    best, best_r2, best_round = None, -np.inf, 0
    for r, n_next in enumerate([*budget[1:], 0]):
        est = run.fit(X_fit, Y_fit, rounds_left=len(budget) - r)
        r2 = min(agreement(Y_sel, run.predict(est, X_sel))[0])
        if r2 >= best_r2:
            best, best_r2, best_round = est, r2, r
        added = run.active_queries(est, n_next, pool_factor) if n_next else None
        if added is None or run.clock.late():
            break
        queries.append(added[0])
        X_fit, Y_fit = np.vstack([X_fit, added[0]]), np.vstack([Y_fit, added[1]])
    return _Rounds(best, best_round, queries, r + 1)


def _report(run: _Run, rounds: _Rounds, evaluation, widen: float) -> SymbolicRegressor:
    """The best fit, with ``queries_`` and its ``fidelity_`` measured on ``evaluation`` and,
    with a box, on fresh points of the widened box (counted in ``n_teacher_calls`` too)."""
    best, (X_eval, Y_eval) = rounds.best, evaluation
    r2, max_err = agreement(Y_eval, run.predict(best, X_eval))
    r2_wide = max_err_wide = None
    if run.source.box is not None:
        X_wide = uniform(widen_box(run.source.box, float(widen)), len(X_eval), run.rng)
        r2_wide, max_err_wide = agreement(run.teacher(X_wide), run.predict(best, X_wide))
    n_out = run.teacher.n_out
    best.fidelity_ = Fidelity(
        formulas=tuple(best.sympy(output=None if n_out == 1 else k) for k in range(n_out)),
        r2=r2,
        max_abs_error=max_err,
        r2_wide=r2_wide,
        max_abs_error_wide=max_err_wide,
        widen=float(widen),
        n_eval=len(X_eval),
        n_queries=sum(len(q) for q in rounds.queries[: rounds.best_round + 1]),
        n_teacher_calls=run.teacher.calls,
        rounds=rounds.n_run,
        best_round=rounds.best_round,
    )
    best.queries_ = rounds.queries
    return best


def distill(
    teacher,
    X=None,
    *,
    domain=None,
    sampler: Callable[[int, np.random.Generator], np.ndarray] | None = None,
    n_queries: int = 500,
    rounds: int = 2,
    pool_factor: int = 10,
    n_eval: int = 2000,
    widen: float = 0.5,
    variable_names=None,
    regressor: SymbolicRegressor | None = None,
    random_state=None,
    X_units=None,
    y_units=None,
    **regressor_kwargs,
) -> SymbolicRegressor:
    """Distils ``teacher`` into a closed-form formula (one per output).

    Args:
      teacher: the model to explain: a callable on NumPy arrays (n, d) -> (n,) or (n, k), a
        Flax NNX module, or a PyTorch module (optional dependency; float32 tensors under
        ``torch.no_grad()``).
      X: query points (n, d). Up to the first round's budget of them (a seeded random
        subset) is labelled by the teacher; rows left over measure fidelity. Without
        ``domain``/``sampler``, active rounds draw candidates by jittering rows of ``X``.
      domain: one ``(lo, hi)`` per input: the teacher is queried uniformly on this box,
        and extrapolation is measured on the box widened by ``widen`` on each side.
      sampler: ``sampler(n, rng) -> (n, d)`` drawing query points with the given
        :class:`numpy.random.Generator` (takes precedence over ``domain`` for drawing).
      n_queries: total teacher answers the formula is fitted on (at least 3): about half
        in the first round, the rest split evenly over the active rounds.
      rounds: fits in all; 1 disables active querying. Each round fits anew, with an even
        share of the time left of the regressor's ``max_time`` (which bounds the whole
        call); rounds stop early when the formula agrees with the teacher on the pool.
      pool_factor: candidate pool per active round, in multiples of the queries it adds
        (the teacher answers the whole pool; the most disagreeing count as queries).
      n_eval: fresh points for the fidelity report. widen: each side of ``domain`` grows
        by this fraction of its width for the extrapolation check.
      variable_names: names of the inputs (default: DataFrame columns or ``x0, x1, ...``).
      regressor: an unfitted :class:`~symnet.SymbolicRegressor` whose settings are used
        (cloned, ``random_state`` replaced); needed for its own ``rounds`` (shadowed).
      random_state: seed of all sampling and of the regressor's fits.
      X_units, y_units: units of the inputs and outputs, as ``SymbolicRegressor.fit``.
      **regressor_kwargs: settings of :class:`~symnet.SymbolicRegressor` (``max_time``,
        ``preset``, ``steps``, ...), applied on top of ``regressor``.

    Returns:
      The fitted :class:`~symnet.SymbolicRegressor` of the best round, with
      ``fidelity_`` (a :class:`~symnet.distill.Fidelity`) and ``queries_`` (the points
      added to the training set, one array per round run: the first round's points, then
      each active round's; the returned formula was fitted on the first
      ``fidelity_.best_round + 1`` of them).

    Raises:
      ValueError: none of ``X``/``domain``/``sampler``; malformed ``domain`` (not one
        ``(lo, hi)`` with ``lo < hi`` per input); a teacher answer with the wrong number
        of rows or non-finite values; ``n_queries < 3`` and other bad settings.

    Example:
      >>> model = distill(lambda X: 3 * X[:, 0] + X[:, 1], domain=[(0, 1), (0, 1)],
      ...                 n_queries=100, rounds=1, preset="default", steps=300,
      ...                 n_restarts=2, sparsity=(1e-2,), max_candidates=4,
      ...                 views=("raw",), random_state=0)
      >>> model.sympy()
      3*x0 + x1
      >>> model.fidelity_.r2[0] > 0.9999
      True
    """
    n_queries, rounds, pool_factor, n_eval = _check_settings(
        n_queries, rounds, pool_factor, n_eval, widen
    )
    run = _start(
        teacher, X, domain, sampler, variable_names, regressor, regressor_kwargs, random_state
    )
    run = dataclasses.replace(run, units=(X_units, y_units))
    budget, first, selection, evaluation = _samples(run, n_queries, rounds, n_eval)
    rounds_run = _fit_rounds(run, first, selection, budget, pool_factor)
    return _report(run, rounds_run, evaluation, widen)

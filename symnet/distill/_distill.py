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

import numbers
from collections.abc import Callable

import numpy as np
from sklearn.base import clone

from symnet._estimator import SymbolicRegressor, _seed
from symnet.distill._active import disagreement, most_disagreeing
from symnet.distill._fidelity import Fidelity, agreement
from symnet.distill._sampling import make_source, uniform, widen_box
from symnet.distill._teacher import as_numpy_teacher, query

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
      rounds: fits in all; 1 disables active querying. Each round fits the regressor
        anew, so the wall time is about ``rounds`` times the regressor's ``max_time``.
        Rounds stop early when the formula agrees with the teacher on the whole pool.
      pool_factor: candidate pool size per active round, in multiples of the queries the
        round adds (the teacher is evaluated on the whole pool; only the most
        disagreeing candidates count as queries).
      n_eval: fresh points for the fidelity report.
      widen: widening of each side of ``domain`` for the extrapolation check, as a
        fraction of its width.
      variable_names: names of the inputs (default: DataFrame columns or ``x0, x1, ...``).
      regressor: an unfitted :class:`~symnet.SymbolicRegressor` whose settings are used
        (cloned; its ``random_state`` is replaced). Needed for the regressor's own
        ``rounds``, which ``distill``'s ``rounds`` shadows.
      random_state: seed of all sampling and of the regressor's fits.
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
    n_queries = _check_int(n_queries, "n_queries", 3)
    rounds = _check_int(rounds, "rounds", 1)
    pool_factor = _check_int(pool_factor, "pool_factor", 1)
    n_eval = _check_int(n_eval, "n_eval", 3)
    if not (isinstance(widen, numbers.Real) and widen >= 0):
        raise ValueError(f"`widen` must be a non-negative number, got {widen!r}.")
    if regressor is not None and not isinstance(regressor, SymbolicRegressor):
        raise ValueError(
            f"`regressor` must be a SymbolicRegressor, got {type(regressor).__name__}."
        )
    base = clone(regressor) if regressor is not None else SymbolicRegressor()
    base.set_params(**regressor_kwargs)  # unknown settings raise ValueError here
    if variable_names is None and hasattr(X, "columns"):
        variable_names = [str(c) for c in X.columns]
    fn = as_numpy_teacher(teacher)
    source = make_source(X, domain, sampler)
    rng = np.random.default_rng(_seed(random_state))

    # -- first round's points, then disjoint fresh samples for selection and the report ---
    budget = _budget(n_queries, rounds)
    if source.X is not None:
        order = rng.permutation(source.X.shape[0])
        X0 = source.X[order[: budget[0]]]
        spare = source.X[order[budget[0] :]]
        if len(X0) < budget[0] and rounds > 1:  # fewer rows than planned: rest goes active
            budget = [len(X0), *_split(n_queries - len(X0), rounds - 1)]
        jitter = type(source)(source.X, None, None, source.n_features)

        def fresh(n):
            nonlocal spare
            if len(spare) >= n:
                out, spare = spare[:n], spare[n:]
                return out
            return jitter.draw(n, rng)
    else:
        X0 = source.draw(budget[0], rng)

        def fresh(n):
            return source.draw(n, rng)

    Y = query(fn, X0)
    n_out = Y.shape[1]
    X_sel = fresh(min(N_SELECT, n_eval))
    Y_sel = query(fn, X_sel, n_out)
    X_eval = fresh(n_eval)
    Y_eval = query(fn, X_eval, n_out)
    calls = len(X0) + len(X_sel) + len(X_eval)

    def fit(Xf, Yf):
        est = clone(base).set_params(random_state=int(rng.integers(2**31 - 1)))
        return est.fit(Xf, Yf[:, 0] if n_out == 1 else Yf, variable_names=variable_names)

    def predict(est, Xp):
        return np.asarray(est.predict(Xp), np.float64).reshape(len(Xp), n_out)

    queries = [X0]
    X_fit, Y_fit = X0, Y
    best, best_r2, best_round, done = None, -np.inf, 0, 0
    for r in range(rounds):
        est = fit(X_fit, Y_fit)
        done += 1
        r2 = min(agreement(Y_sel, predict(est, X_sel))[0])
        if r2 >= best_r2:  # ties go to the later round (more data)
            best, best_r2, best_round = est, r2, r
        if r == rounds - 1 or budget[r + 1] == 0:
            break
        pool = source.draw(pool_factor * budget[r + 1], rng)
        T_pool = query(fn, pool, n_out)
        calls += len(pool)
        F_pool = predict(est, pool)
        if disagreement(T_pool, F_pool).max() <= AGREES:
            break
        pick = most_disagreeing(T_pool, F_pool, budget[r + 1])
        queries.append(pool[pick])
        X_fit = np.vstack([X_fit, pool[pick]])
        Y_fit = np.vstack([Y_fit, T_pool[pick]])

    r2, max_err = agreement(Y_eval, predict(best, X_eval))
    r2_wide = max_err_wide = None
    if source.box is not None:
        X_wide = uniform(widen_box(source.box, float(widen)), n_eval, rng)
        r2_wide, max_err_wide = agreement(query(fn, X_wide, n_out), predict(best, X_wide))
        calls += n_eval
    formulas = tuple(best.sympy(output=None if n_out == 1 else k) for k in range(n_out))
    best.fidelity_ = Fidelity(
        formulas=formulas,
        r2=r2,
        max_abs_error=max_err,
        r2_wide=r2_wide,
        max_abs_error_wide=max_err_wide,
        widen=float(widen),
        n_eval=n_eval,
        n_queries=sum(len(q) for q in queries[: best_round + 1]),
        n_teacher_calls=calls,
        rounds=done,
        best_round=best_round,
    )
    best.queries_ = queries
    return best

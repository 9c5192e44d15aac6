r"""Corrections: a small term the surrogate left out, found in its residual.

A network often fits the dominant part of a law exactly and absorbs a small additive term
into its constants (``m*omega**2*x**2*(1.0006*alpha*x + y)/(2*y)`` where the law adds
``p**2/(2*m)``, of a few parts in a thousand on the data). The term is a short sum of
library terms (:func:`symnet.search.library`) of the residual

    r = y - f(x),    r ~ c_0 + sum_k c_k * t_k(x),   at most ``MAX_TERMS`` terms,

fitted sparsely (:func:`symnet.search.sparse_fits`) for each of the ``BASES`` most accurate
candidates ``f`` that are not exact (validation loss above decomposition's
``EXACT_NMSE``) but within
``MAX_BASE_NMSE``. Every support that explains at least ``MIN_EXPLAINED`` of the
residual's variance gives the candidate ``f + sum_k c_k t_k + c_0``, whose constants are
all refit together on the raw training data and which is scored like any other
(:func:`symnet.search.library_stage`'s :func:`~symnet.search._library.add_formula`): it is
on the front only if it earns its extra complexity.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from symnet._refit import evaluate
from symnet.search._library import (
    MAX_COLUMNS_PER_ROW,
    add_formula,
    library,
    linear_formula,
)
from symnet.search._select import EXACT_NMSE
from symnet.search._sparse import (
    SparseFitter,
    fit_support,
)

__all__ = ["BASES", "MAX_BASE_NMSE", "MAX_TERMS", "residual_stage"]

#: Candidates whose residuals are fitted, the most accurate first.
BASES = 3
#: Above it, a candidate is too far from the law for a small term to complete it.
MAX_BASE_NMSE = 1e-2
#: Library terms in one correction at most.
MAX_TERMS = 2
#: A correction must explain at least this share of the residual's variance.
MIN_EXPLAINED = 0.5


def residual_stage(state, data, config, budget):
    """Corrections (module doc) of the ``BASES`` most accurate inexact candidates not
    corrected yet, added to ``state``'s candidates; BLAS on one thread as in
    :func:`symnet.search.library_stage`."""
    if not config.library or budget.late():
        return state
    with threadpool_limits(limits=1, user_api="blas"):
        return _corrections(state, data, budget)


def _corrections(state, data, budget):
    done = state.memo.setdefault("residual", {})
    bases = sorted(
        (c for c in state.candidates if EXACT_NMSE < c.val_nmse <= MAX_BASE_NMSE),
        key=lambda c: c.val_nmse,
    )[:BASES]
    X, y, w = data.train
    exprs = A = fitter = None
    for base in bases:
        key = str(base.expr)
        if key in done:
            continue
        done[key] = True
        with np.errstate(all="ignore"):
            r = y - np.broadcast_to(evaluate(base.expr, data.symbols, X), y.shape)
        if not np.all(np.isfinite(r)) or np.std(r) == 0:
            continue
        if A is None:
            exprs, A = library(X, data.symbols, int(MAX_COLUMNS_PER_ROW * len(y)))
            fitter = SparseFitter(A, w)
        for i, support in enumerate(fitter.supports(r)):
            if len(support) > MAX_TERMS:
                continue
            if not budget.refits_open(state.n_refit, state.reserve(budget)):
                return state
            c, nmse = fit_support(A, support, r, w)
            if nmse > 1 - MIN_EXPLAINED:
                continue
            expr = base.expr + linear_formula(c, exprs, support)
            add_formula(state, data, budget, expr, -500_000 - 100 * len(done) - i)
    return state

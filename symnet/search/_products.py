r"""Products of powers, exponentials and sines: sparse fits of the target's logarithm.

A law that is a product of factors of one input each,

    y = C * prod_k t_k(x)**a_k,    t_k in {|x_i|, exp(x_i), |sin(x_i)|, |cos(x_i)|},

is linear in the logarithm of its magnitude (``y`` of one sign ``s``):

    log(s*y) = log C + sum_k a_k * log t_k(x),

so a sparse least-squares fit over the columns ``log|x_i|`` (inputs of one sign),
``x_i``, ``log|sin x_i|`` and ``log|cos x_i|`` (where the sine or cosine keeps one sign on
the data: ``x_i`` is an angle) finds it (:func:`symnet.search.sparse_fits`, with its
exhaustive pairs and triples). ``sin(theta1)/sin(theta2)`` (SRSD's I.26.2) and
``lambda/(n*sin(theta))`` (I.30.5) grow without bound as an angle nears 0; networks and the
additive library (:mod:`symnet.search._library`) fit them by polynomial surrogates, here
they are fits of two and three terms. Each support leaving at most ``MAX_LOG_NMSE`` of the
logarithm's variance gives ``s * exp(c_0) * prod_k t_k**c_k``, refit on the raw training
data and scored like any candidate (its exponents are rounded by the polish).
"""

from __future__ import annotations

import numpy as np
import sympy
from threadpoolctl import threadpool_limits

from symnet.search._library import add_formula, fit_support, one_sign, sparse_fits

__all__ = ["MAX_LOG_NMSE", "log_terms", "product_stage"]

#: A support is kept when it leaves at most this share of ``log|y|``'s variance.
MAX_LOG_NMSE = 1e-2


def log_terms(X: np.ndarray, symbols) -> tuple[list[sympy.Expr], np.ndarray]:
    """``(bases, columns)``: each column is ``log t(x)`` for the factor ``t`` (module doc)
    given by its base expression; a formula's factor is ``base**a``."""
    bases, cols = [], []
    with np.errstate(all="ignore"):
        for i, x in enumerate(symbols):
            u = X[:, i]
            if np.std(u) == 0:
                continue
            bases.append(sympy.exp(x))
            cols.append(u)
            for t, v in ((x, u), (sympy.sin(x), np.sin(u)), (sympy.cos(x), np.cos(u))):
                s = one_sign(v)
                col = np.log(s * v) if s else None
                if col is not None and np.all(np.isfinite(col)) and np.std(col) > 0:
                    bases.append(int(s) * t)
                    cols.append(col)
    return bases, (np.column_stack(cols) if cols else np.zeros((len(X), 0)))


def product_stage(state, data, config, budget):
    """Sparse fits of ``log|y|`` (module doc) on the search's data, once per search, each
    support's product refit and added to ``state``'s candidates."""
    done = state.memo.setdefault("products", {})
    if not config.library or done or budget.late():
        return state
    done[0] = True
    X, y, w = data.train
    s = one_sign(y)
    if not s:
        return state
    bases, A = log_terms(X, data.symbols)
    if A.shape[1] == 0:
        return state
    ly = np.log(s * y)
    with threadpool_limits(limits=1, user_api="blas"):
        for i, support in enumerate(sparse_fits(A, ly, w, exhaustive=True)):
            if not budget.refits_open(state.n_refit, state.reserve(budget)):
                break
            c, nmse = fit_support(A, support, ly, w)
            if nmse > MAX_LOG_NMSE or not np.all(np.isfinite(c)):
                continue
            factors = [bases[k] ** sympy.Float(ck) for ck, k in zip(c[:-1], support, strict=True)]
            expr = s * sympy.Float(np.exp(c[-1])) * sympy.Mul(*factors)
            add_formula(state, data, budget, expr, -600_000 - i)
    return state

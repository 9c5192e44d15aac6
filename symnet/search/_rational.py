r"""Rational functions of a few inputs, fitted linearly: the linearised Padé fit.

Laws such as ``d*(1 - alpha**2)/(1 + alpha*cos(theta1 - theta2))`` (an orbit's radius),
``(cos(theta) - v/c)/(1 - v/c*cos(theta))`` (the relativistic aberration of an angle, whose
``acos`` is the angle itself) are quotients of short sums of terms, one of them a power of
one input times a sine or cosine of another (or of an angle difference). Neither the
library (sums, :mod:`symnet.search._library`) nor a two-layer network reaches them. But

    y = (a_0 + sum_k a_k t_k) / (1 + sum_k b_k t_k)
    <=>  y = a_0 + sum_k a_k t_k + sum_k b_k (-y t_k)

is *linear* in the columns ``t_k`` and ``-y*t_k``: one sparse least-squares fit
(:class:`symnet.search.SparseFitter`) over both gives the numerator's and the
denominator's supports at once. The linearisation weights each row's residual by the
denominator, so the coefficients are refit on the raw data afterwards (Levenberg-Marquardt,
as every candidate); on noise-free data the linear fit is already exact. Where the target
lies in ``[0, pi]`` its cosine is fitted too and the formula is ``acos`` of the quotient
(likewise ``sin``/``asin`` on ``[-pi/2, pi/2]``). A fit without denominator terms is a
plain sum of terms, kept too: the library has no sines of differences (coupled phases,
``sin(x - y) - sin(y)/2``).

The terms (:func:`rational_terms`), for problems of at most ``MAX_UNARY_INPUTS`` inputs:
each input's powers ``RATIONAL_POWERS``, products and quotients of two inputs, the sine
and cosine of each input and of each difference of two, and the products of a power
``MIXED_POWERS`` of one input (or of a product or quotient of two) with the sine or cosine
of another input or of a difference of two others.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import sympy
from threadpoolctl import threadpool_limits

from symnet.search._library import (
    MAX_UNARY_INPUTS,
    MAX_VIEW_NMSE,
    add_formula,
    power_defined,
)
from symnet.search._select import EXACT_NMSE
from symnet.search._sparse import (
    BEST_SUPPORTS,
    THRESHOLDS,
    SparseFitter,
    fit_support,
)
from symnet.search._views import view_symbols

__all__ = [
    "MAX_RATIONAL",
    "MIN_DENOMINATOR",
    "MIXED_POWERS",
    "RATIONAL_POWERS",
    "rational_fits",
    "rational_quotients",
    "rational_stage",
    "rational_terms",
]

#: Powers of one input among the terms.
RATIONAL_POWERS = (1, 2, -1, -2, sympy.Rational(1, 2))
#: Powers of one input multiplying a sine or cosine.
MIXED_POWERS = (1, -1, 2)
#: The most accurate linearised fits of a view refit and scored.
MAX_RATIONAL = 4
#: A fit is dropped where its denominator changes sign on the data or comes nearer to 0
#: than this fraction of its largest magnitude there: a pole inside the data's box, or a
#: zero of the numerator cancelling one (``(5*sin(v) - 5*v)/(cos(v) - 1 - v**2/3)`` for
#: ``v``), is no law.
MIN_DENOMINATOR = 1e-3


def _power(u: np.ndarray, p) -> np.ndarray | None:
    """``u**p``, or None where the library leaves that power out (not defined on the data)."""
    return u ** float(p) if power_defined(u, p) else None


def rational_terms(U: np.ndarray, symbols: Sequence[sympy.Symbol]):
    """``(exprs, columns (n, m))``: the terms of the module doc over inputs ``U`` (n, d);
    columns that are not finite or constant are left out."""
    d = U.shape[1]
    exprs, cols = [], []

    def add(e, c):
        if c is not None and np.all(np.isfinite(c)) and np.std(c) > 0:
            exprs.append(e)
            cols.append(c)

    trig = []  # (expr, values, inputs used): sines and cosines of inputs and differences
    for i in range(d):
        for f, g in ((sympy.sin, np.sin), (sympy.cos, np.cos)):
            trig.append((f(symbols[i]), g(U[:, i]), {i}))
    for i, j in itertools.combinations(range(d), 2):
        for f, g in ((sympy.sin, np.sin), (sympy.cos, np.cos)):
            trig.append((f(symbols[i] - symbols[j]), g(U[:, i] - U[:, j]), {i, j}))
    powers = []  # (expr, values, inputs used)
    with np.errstate(all="ignore"):
        for i in range(d):
            for p in RATIONAL_POWERS:
                v = _power(U[:, i], p)
                add(symbols[i] ** p, v)
                if p in MIXED_POWERS and v is not None:
                    powers.append((symbols[i] ** p, v, {i}))
        for i, j in itertools.combinations(range(d), 2):
            for a, b in ((1, 1), (1, -1), (-1, 1)):
                vi, vj = _power(U[:, i], a), _power(U[:, j], b)
                v = None if vi is None or vj is None else vi * vj
                e = symbols[i] ** a * symbols[j] ** b
                add(e, v)
                if v is not None:
                    powers.append((e, v, {i, j}))
        for e, v, _ in trig:
            add(e, v)
        for (pe, pv, pi), (te, tv, ti) in itertools.product(powers, trig):
            if not pi & ti:
                add(pe * te, pv * tv)
    return exprs, (np.column_stack(cols) if cols else np.zeros((len(U), 0)))


def _targets(y: np.ndarray):
    """``[(target, to_y)]``: ``y``, and its cosine (sine) where it lies in ``[0, pi]``
    (``[-pi/2, pi/2]``), with the map of a formula of that target to one of ``y``."""
    out = [(y, lambda g: g)]
    if np.all((y >= 0) & (y <= np.pi)) and np.ptp(y) > 0.1:
        out.append((np.cos(y), sympy.acos))
    if np.all(np.abs(y) <= np.pi / 2) and np.ptp(y) > 0.1:
        out.append((np.sin(y), sympy.asin))
    return out


def _quotient(c, exprs, support, m) -> sympy.Expr:
    """The rational function of a fit ``y ~ sum_k c_k col_k + c_last`` over the columns
    ``[t, y*t]`` (``m`` terms each): ``(c_last + sum_num c_k t_k) / (1 - sum_den c_k t_k)``."""
    num, den = [sympy.Float(c[-1])], [sympy.Integer(1)]
    for ck, k in zip(c[:-1], support, strict=True):
        if k < m:
            num.append(sympy.Float(ck) * exprs[k])
        else:
            den.append(-sympy.Float(ck) * exprs[k - m])
    return sympy.Add(*num) / sympy.Add(*den)


def _pole_free(T, c, support) -> bool:
    """Whether the denominator ``1 - sum_den c_k t_k`` of a fit over the columns
    ``[T, y*T]`` keeps its sign on the rows of the terms ``T`` and stays above
    ``MIN_DENOMINATOR`` of its largest magnitude there."""
    m = T.shape[1]
    den = [k for k, s in enumerate(support) if s >= m]
    D = 1.0 - T[:, [support[k] - m for k in den]] @ c[den]
    lo, hi = np.min(D), np.max(D)
    return bool(lo * hi > 0 and min(abs(lo), abs(hi)) >= MIN_DENOMINATOR * max(abs(lo), abs(hi)))


def rational_quotients(T, exprs, y, w, targets=True, sums=False) -> list[tuple[float, sympy.Expr]]:
    """``[(nmse, formula)]``: the linearised rational fits (module doc) of ``y`` (and, with
    ``targets``, of its cosine or sine) over the terms ``T`` (columns, with ``exprs``)
    that have at least one denominator term (with ``sums``, plain sums of the terms too:
    ``sin(x - y)`` and ``x*cos(y)`` are not among the library's), no pole on the data
    (:data:`MIN_DENOMINATOR`) and leave at most ``MAX_VIEW_NMSE`` of the fitted target's
    variance, formulas of ``y`` over the terms' symbols."""
    m = T.shape[1]
    out = []
    for yv, to_y in _targets(y) if targets else [(y, lambda g: g)]:
        A = np.column_stack([T, yv[:, None] * T])
        for support in SparseFitter(A, w).supports(yv, THRESHOLDS[::2], pairs=BEST_SUPPORTS):
            if max(support) < m and not sums:
                continue  # no denominator: a plain sum
            c, nmse = fit_support(A, support, yv, w)
            ok = nmse <= MAX_VIEW_NMSE and np.all(np.isfinite(c))
            if ok and _pole_free(T, c, support):
                out.append((nmse, to_y(_quotient(c, exprs, support, m))))
    return out


def rational_fits(state, data, budget, view, v: int) -> None:
    """:func:`rational_quotients` of ``view``'s target over :func:`rational_terms` of its
    inputs: the ``MAX_RATIONAL`` that leave least of the target's variance are mapped
    back by the view, refit on the raw training data and added to ``state``'s candidates
    (members numbered from ``-800_000 - 1000 * v`` down)."""
    tr, w = data.tr, data.w[data.tr]
    U = view.X[tr]
    exprs, T = rational_terms(U, view_symbols(U.shape[1]))
    if T.shape[1] == 0:
        return
    found = sorted(rational_quotients(T, exprs, view.y[tr], w, sums=True), key=lambda f: f[0])
    for i, (_, expr) in enumerate(found[:MAX_RATIONAL]):
        if not budget.refits_open(state.n_refit, state.reserve(budget)):
            return
        add_formula(state, data, budget, view.back(expr), -800_000 - 1000 * v - i)


def rational_stage(state, data, config, budget):
    """:func:`rational_fits` of every view of at most ``MAX_UNARY_INPUTS`` inputs not
    fitted yet but the log views (BLAS on one thread, as
    :func:`symnet.search.library_stage`); nothing once the best candidate is exact
    (validation loss at most ``EXACT_NMSE``)."""
    if not config.library or (state.candidates and state.best().val_nmse <= EXACT_NMSE):
        return state
    done = state.memo.setdefault("rational", {})
    with threadpool_limits(limits=1, user_api="blas"):
        for v, view in enumerate(state.views):
            if v in done or budget.late() or "log" in view.name:
                continue
            done[v] = True
            if view.X.shape[1] <= MAX_UNARY_INPUTS:
                rational_fits(state, data, budget, view, v)
    return state

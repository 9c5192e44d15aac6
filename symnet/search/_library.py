r"""Sparse regression over a library of terms: sums of products a network cannot reach.

A two-layer network expresses a sum of a few products, and its sparsity penalty rarely
finds ``omega_0**2 - omega**2`` or ``x*y + y*z + z*x`` among the functions that fit as well.
A linear model over a generated *library* of candidate terms does, when the law (in one
of the data views: the reciprocal of ``1/(omega_0**2 - omega**2)``, the square of a
distance) is a short sum of them (pysindy's recipe):

    y ~ c_0 + sum_k c_k * t_k(u),   few c_k != 0,

with terms ``t_k``: every input ``u_i**p`` (``p`` in ``POWERS``, fractional and negative
powers only where they are defined on the data), and the products ``u_i**a * u_j**b`` of
two inputs (``(a, b)`` in ``PAIR_POWERS``, simplest first, as many as the rows allow);
over one to three inputs also ``sin``, ``cos``, ``exp`` and ``log`` terms of each, and over
two the products of those of different inputs (``sin(x)*sin(y)**2``).
Sparse solutions come from two paths, each giving one candidate per support:

* the greedy L0 path of orthogonal matching pursuit (scikit-learn's ``orthogonal_mp``,
  columns scaled to unit norm), ``1..MAX_TERMS`` terms;
* sequentially thresholded least squares (STLSQ): least squares, terms whose share of the
  target's spread ``|c_k| * std(t_k) / std(y)`` is below a threshold dropped, refit,
  repeated until the support is stable, for thresholds ``THRESHOLDS``.
* for a library of at most ``MAX_EXHAUSTIVE_COLUMNS`` terms (a problem of two or three
  inputs) and each view's target itself (not its powers), the ``BEST_SUPPORTS`` best
  pairs and triples of terms over all of them (0.4 s for the 120 terms of three inputs): on a
  single trajectory of a dynamical system the terms are nearly collinear and the greedy
  and thresholded paths both miss ``x*(3 - x - 2*y)``.

Each candidate is mapped back to the user's variables by its view and refit and scored
like a network's formula (:func:`library_stage`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import sympy
from threadpoolctl import threadpool_limits

from symnet._refit import refit
from symnet._rounding import round_constants
from symnet.search._sparse import (
    SparseFitter,
    fit_support,
)
from symnet.search._views import view_symbols

__all__ = [
    "add_formula",
    "library",
    "library_stage",
    "linear_formula",
    "one_sign",
    "power_defined",
    "signed_powers",
]

#: Powers of one input in the library.
POWERS = (1, 2, 3, 4, 5, -1, -2, -3, -4, -5, sympy.Rational(1, 2), sympy.Rational(-1, 2))
#: Powers of a one-signed view target fitted besides the target itself.
TARGET_POWERS = (-1, 2, -2, sympy.Rational(1, 2), sympy.Rational(-1, 2))
#: A sparse fit is kept when it leaves at most this share of the target's variance.
MAX_VIEW_NMSE = 1e-2
#: Libraries over at most this many inputs also take ``UNARY`` terms of each input.
MAX_UNARY_INPUTS = 3
#: Libraries over at most this many inputs also take the products of two inputs' ``UNARY``
#: terms, and of one input with the other's (``sin(x)*sin(y)**2``, ``x*cos(y)``: a
#: right-hand side of a two-state system).
MAX_CROSS_INPUTS = 2
#: Largest ``|u|`` for which ``exp(u)`` and ``exp(-u)`` are terms.
MAX_EXP_ARGUMENT = 20.0
#: Powers ``(a, b)`` of the products ``u_i**a * u_j**b`` of two inputs, in the order the
#: library takes them (all pairs of inputs for one, then the next, until it is full).
PAIR_POWERS = (
    (1, 1),
    (1, -1),
    (-1, 1),
    (-1, -1),
    (2, 1),
    (1, 2),
    (2, -1),
    (-1, 2),
    (2, -2),
    (-2, 2),
    (2, 2),
    (-2, -2),
    (1, -2),
    (-2, 1),
    (3, 1),
    (1, 3),
    (3, 2),
    (2, 3),
    (3, -1),
    (-1, 3),
    (3, -2),
    (-2, 3),
)
#: The library is cut to this fraction of the training rows (pairs dropped first).
MAX_COLUMNS_PER_ROW = 0.5


def power_defined(u: np.ndarray, p) -> bool:
    """Whether ``u**p`` is a library term: roots only of positive values, negative powers
    only of values that stay away from 0 (more than 1e-12 of the largest)."""
    p = sympy.Rational(p)
    if p.q != 1 and not np.all(u > 0):
        return False
    if p < 0 and not np.all(np.abs(u) > 1e-12 * np.max(np.abs(u))):
        return False
    return True


def _unary(u: np.ndarray, x: sympy.Symbol) -> list[tuple[sympy.Expr, np.ndarray]]:
    """The transcendental terms of one input ``x`` (values ``u``) defined on the data
    (``sin(x)**2``: ``omega/omega_0 + omega_0/omega - sin(beta)**2`` in Klein-Nishina's
    cross-section)."""
    terms = [(sympy.sin(x), np.sin(u)), (sympy.cos(x), np.cos(u))]
    terms += [(sympy.sin(x) ** 2, np.sin(u) ** 2)]
    if np.max(np.abs(u)) <= MAX_EXP_ARGUMENT:
        terms += [(sympy.exp(x), np.exp(u)), (sympy.exp(-x), np.exp(-u))]
    if np.all(u > 0):
        terms += [(sympy.log(x), np.log(u)), (x * sympy.log(x), u * np.log(u))]
    return terms


def library(U: np.ndarray, symbols: Sequence[sympy.Symbol], max_columns: int):
    """The library's terms over inputs ``U`` (n, d): ``(exprs, columns (n, m))``, singles
    first (with at most ``MAX_UNARY_INPUTS`` inputs, also ``sin``, ``cos``, ``exp(+-u)``,
    ``log`` and ``u*log(u)`` of each: a sub-problem of one or two inputs is often a
    function of an angle, an ODE's right-hand side a logistic or a Gompertz term), then
    pairs, then (at most ``MAX_CROSS_INPUTS`` inputs) products of the two inputs' unary
    terms and of an input with the other's, at most ``max_columns``; columns that are
    not finite or constant are left out."""
    d = U.shape[1]
    exprs, cols = [], []

    def add(e, c):
        if len(cols) < max_columns and np.all(np.isfinite(c)) and np.std(c) > 0:
            exprs.append(e)
            cols.append(c)

    with np.errstate(all="ignore"):
        for i in range(d):
            for p in POWERS:
                if power_defined(U[:, i], p):
                    add(symbols[i] ** p, U[:, i] ** float(p))
        if d <= MAX_UNARY_INPUTS:
            for i in range(d):
                for e, c in _unary(U[:, i], symbols[i]):
                    add(e, c)
        for a, b in PAIR_POWERS:
            for i, j in itertools.combinations(range(d), 2):
                if power_defined(U[:, i], a) and power_defined(U[:, j], b):
                    add(symbols[i] ** a * symbols[j] ** b, U[:, i] ** a * U[:, j] ** b)
        if d <= MAX_CROSS_INPUTS:
            for i, j in itertools.combinations(range(d), 2):
                ui, uj = _unary(U[:, i], symbols[i]), _unary(U[:, j], symbols[j])
                xi, xj = [(symbols[i], U[:, i])], [(symbols[j], U[:, j])]
                products = itertools.chain(
                    itertools.product(ui, uj), itertools.product(xi, uj), itertools.product(ui, xj)
                )
                for (ei, ci), (ej, cj) in products:
                    add(ei * ej, ci * cj)
    return exprs, (np.column_stack(cols) if cols else np.zeros((len(U), 0)))


def one_sign(v: np.ndarray) -> float:
    """The sign ``v`` keeps everywhere (1.0 or -1.0), or 0.0 if it changes sign or
    touches 0."""
    s = float(np.sign(v[0]))
    return s if s != 0 and np.all(s * v > 0) else 0.0


def signed_powers(y: np.ndarray, powers, log: bool = False):
    """``[(target, to_y)]``: ``y`` and, where it keeps one sign ``s``, ``(s*y)**p`` for
    ``p`` in ``powers`` and (``log``) ``log(s*y)``, each with the map ``to_y`` of a
    formula ``g`` of that target to one of ``y`` (``s*g**(1/p)``, ``s*exp(g)``)."""
    out = [(y, lambda g: g)]
    s = one_sign(y)
    if s:
        for p in powers:
            inv = sympy.Rational(1) / p
            out.append(((s * y) ** float(p), lambda g, inv=inv, s=s: s * g**inv))
        if log:
            out.append((np.log(s * y), lambda g, s=s: s * sympy.exp(g)))
    return out


def linear_formula(c, exprs, support) -> sympy.Expr:
    """``sum_k c_k * exprs[support_k] + c_last``, coefficients as floats."""
    terms = (sympy.Float(ck) * exprs[k] for ck, k in zip(c[:-1], support, strict=True))
    return sympy.Add(*terms, sympy.Float(c[-1]))


def add_formula(state, data, budget, expr: sympy.Expr, member: int, rounded=False) -> None:
    """A sparse fit's formula (in the user's variables) refit on the raw training data,
    scored as member ``member`` and added to ``state``'s candidates; one not finite
    everywhere (``nan``, ``zoo``) is dropped. ``rounded``: its constants rounded to the
    simpler values the data cannot tell apart (:func:`symnet._rounding.round_constants`)
    are added too, when that changes it: on noisy data the refit form of a law
    (``0.9999*gamma(u) + 0.0001``) is dominated by the overfitting surrogates and never
    reaches the polish stage, which rounds only the front."""
    if expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return
    expr, _ = refit(expr, data.symbols, *data.train)
    state.n_refit += 1
    cand = data.score(expr, member, budget.elapsed())
    if cand is None:
        return
    state.candidates.append(cand)
    if rounded:
        simple = round_constants(expr, data.symbols, *data.train, deadline=budget.deadline)
        if simple != expr and (cand := data.score(simple, member, budget.elapsed())):
            state.candidates.append(cand)


def library_stage(state, data, config, budget):
    """:func:`library_fits` with BLAS limited to one thread: its least-squares problems are
    small, and a BLAS that starts a thread per core oversubscribes a process that shares
    the machine (two fits pinned to one core each ran 200 times slower)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return library_fits(state, data, config, budget)


def library_fits(state, data, config, budget):
    """Sparse fits over the library (:func:`library`) of every view not fitted yet but the
    log views (of its target, and of its powers where it keeps one sign): each support
    whose least-squares fit leaves at most ``MAX_VIEW_NMSE`` of the target's variance is a
    formula, mapped back by its view, refit on the raw training data and added to
    ``state``'s candidates."""
    if not config.library:
        return state
    done = state.memo.setdefault("library", {})
    tr, w = data.tr, data.w[data.tr]
    for v, view in enumerate(state.views):
        if v in done or budget.late() or "log" in view.name:
            continue  # over logs of the inputs, library terms are not laws
        done[v] = True
        U = view.X[tr]
        u = view_symbols(U.shape[1])
        exprs, A = library(U, u, int(MAX_COLUMNS_PER_ROW * len(tr)))
        fitter = SparseFitter(A, w)
        # the reciprocal of 1/(omega_0**2 - omega**2), the root of
        # omega**4/(omega**2 - omega_0**2)**2 are short sums
        for t, (yv, to_y) in enumerate(signed_powers(view.y[tr], TARGET_POWERS)):
            for i, support in enumerate(fitter.supports(yv, exhaustive=t == 0)):
                if not budget.refits_open(state.n_refit, state.reserve(budget)):
                    return state
                c, nmse = fit_support(A, support, yv, w)
                if nmse > MAX_VIEW_NMSE:
                    continue
                expr = view.back(to_y(linear_formula(c, exprs, support)))
                add_formula(state, data, budget, expr, -1000 * (v + 1) - 100 * t - i)
    return state

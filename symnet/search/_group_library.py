r"""Sparse fits over dimensionless groups: the transcendental terms units allow.

Over the groups ``pi_j`` of a unit reduction (:func:`symnet.search.unit_views`), the
target ``y / prefactor`` is dimensionless and so is every argument of a transcendental
function in a consistent law: ``exp(pi)``, ``cos(pi)``, ``tanh(pi)``, ``1/sqrt(1 - pi**2)``
are legal terms here and nowhere else. Without units, the groups of an accurate
surrogate's scaling symmetries (:func:`symnet.search.scaling_groups`) play the same part
(:func:`symmetry_fits`). The library of :mod:`symnet.search._library` (powers, products
of two) is extended by

* ``t(pi_j)`` and, for a positive group, ``t(1/pi_j)`` (a group is one up to its
  orientation), for ``t`` in ``TERMS`` where defined on the data (``log`` of positive
  groups, ``asin``, ``sqrt(1 - pi**2)`` of groups inside (-1, 1), ...);
* products ``pi_i**a * t(pi_j)`` of a power of a group and a term of a group
  (``a`` in ``MIXED_POWERS``, ``t`` in ``MIXED_TERMS``): ``1 + pi_1*cos(pi_2)``,
  ``(1 - pi_1) / sqrt(1 - pi_2**2)``, ``pi*exp(pi)``;
* damped oscillations ``exp(-pi_i) * cos(pi_j)``, ``exp(-pi_i) * sin(pi_j)`` (``i != j``);
* the terms that take a rate at the rates ``RATES`` (``exp(h*omega/(2*pi*kb*T))``);

and fitted to the target, its powers and its logarithm (a Gaussian of a group is a line
in ``pi**2`` there), for every *shift* of the prefactor by a group power,
``y / (prefactor * prod pi_j**k_j)`` with ``k_j`` in {-1, 0, 1}: the prefactors of
minimal support differ by such powers (``kb*T`` or ``h*omega`` for
``h*omega/(exp(h*omega/(kb*T)) - 1)``), and a sum of library terms is a law for one of
them only. The sparse fits are OMP's path and the best pairs of terms (STLSQ's least
squares over a library this wide cost seconds a target; OMP's greedy first step picks a
wrong term among correlated ones that a search over all pairs does not). Of all sparse
fits, the ``KEEP`` most accurate of each size are refit on the raw data and scored; the
others are not (a library this wide fits many supports loosely).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import sympy
from threadpoolctl import threadpool_limits

from symnet.search._library import (
    MAX_VIEW_NMSE,
    TARGET_POWERS,
    add_formula,
    library,
    linear_formula,
    signed_powers,
)
from symnet.search._reduce import GROUPS, propose
from symnet.search._sparse import SparseFitter, fit_support
from symnet.search._units import is_group_view
from symnet.search._views import reduced_views, view_symbols

__all__ = [
    "MIXED_POWERS",
    "MIXED_TERMS",
    "TERMS",
    "group_fits",
    "group_library_stage",
    "group_terms",
    "shifts",
    "symmetry_fits",
]


def _inside(u):
    return np.all(np.abs(u) < 1)


def _positive(u):
    return np.all(u > 0)


def _any(u):
    return np.all(np.abs(u) < 50)


#: ``(name, formula of u, its numpy function, defined on these values?, takes a rate)``:
#: transcendental terms of one group ``u``; those that take a rate ``r`` are also tried
#: as ``t(r*u)``.
TERMS = (
    ("exp", sympy.exp, np.exp, _any, True),
    ("exp-", lambda u: sympy.exp(-u), lambda u: np.exp(-u), _any, True),
    ("sin", sympy.sin, np.sin, _any, True),
    ("cos", sympy.cos, np.cos, _any, True),
    ("cos2", lambda u: sympy.cos(u) ** 2, lambda u: np.cos(u) ** 2, _any, True),
    ("tanh", sympy.tanh, np.tanh, _any, True),
    ("log", sympy.log, np.log, _positive, False),
    ("asin", sympy.asin, np.arcsin, _inside, False),
    ("root", lambda u: sympy.sqrt(1 - u**2), lambda u: np.sqrt(1 - u**2), _inside, False),
    ("gamma", lambda u: 1 / sympy.sqrt(1 - u**2), lambda u: 1 / np.sqrt(1 - u**2), _inside, False),
)
#: Rates ``r`` besides 1 (angular frequencies and ``hbar = h/(2*pi)`` put multiples of
#: ``pi`` inside the functions of a group).
RATES = (2, sympy.Rational(1, 2), sympy.pi, 1 / sympy.pi, 2 * sympy.pi, 1 / (2 * sympy.pi))
#: Terms of the products ``pi_i**a * t(pi_j)`` (rate 1; ``i == j`` too).
MIXED_TERMS = ("exp", "exp-", "sin", "cos", "cos2", "gamma")
#: Powers ``a`` of the products ``pi_i**a * t(pi_j)``.
MIXED_POWERS = (1, -1, sympy.Rational(1, 2))
#: Best pairs of terms (an exhaustive search) fitted to each target, besides OMP's path.
PAIRS = 3
#: Sparse fits of each size refit and scored.
KEEP = 2
#: A fit this close is exact to float64 precision; above it, a series can still be a
#: surrogate (four terms of ``u/(exp(u) - 1)`` validate at 1e-14 on Feynman's box).
SURROGATE_NMSE = 1e-20
#: Groups at most for all shifts in {-1, 0, 1}**p; with more, one group at a time.
MAX_JOINT_SHIFT = 2


def _singles(U, u, rated: bool):
    """``{(name, j): (expr, column)}``: the terms of each group and of its reciprocal
    (positive groups), at rate 1, or (``rated``) at the other ``RATES``."""
    out = {}
    for j in range(U.shape[1]):
        args = [(u[j], U[:, j])]
        if np.all(U[:, j] > 0):
            args.append((1 / u[j], 1 / U[:, j]))
        for name, term, f, ok, takes_rate in TERMS:
            for arg, col in args:
                for r in RATES if rated else (1,):
                    if (rated and not takes_rate) or not ok(float(r) * col):
                        continue
                    out[name, j, arg, r] = (term(r * arg), f(float(r) * col))
    return out


def _columns(U, u, max_columns):
    """``(exprs, columns)``: the terms at rate 1, their products with a power of a group,
    damped oscillations, then the terms at the other rates (module doc), at most
    ``max_columns``."""
    exprs, cols = [], []

    def add(e, c):
        c = np.broadcast_to(c, (len(U),))
        if len(cols) < max_columns and np.all(np.isfinite(c)) and np.std(c) > 0:
            exprs.append(e)
            cols.append(c)

    with np.errstate(all="ignore"):
        singles = _singles(U, u, rated=False)
        for e, c in singles.values():
            add(e, c)
        for a in MIXED_POWERS:
            for (name, _, _, _), (e, c) in singles.items():
                if name not in MIXED_TERMS:
                    continue
                for i in range(U.shape[1]):
                    if sympy.Rational(a).q == 1 or np.all(U[:, i] > 0):
                        add(u[i] ** a * e, U[:, i] ** float(a) * c)
        for (name, i, _, _), (e, c) in singles.items():
            for (other, j, _, _), (f, g) in singles.items():
                if name == "exp-" and other in ("sin", "cos") and i != j:
                    add(e * f, c * g)
        for e, c in _singles(U, u, rated=True).values():
            add(e, c)
    return exprs, cols


def group_terms(U: np.ndarray, u, max_columns: int):
    """The library of :func:`symnet.search._library.library` over the groups ``U``
    (placeholders ``u``) and, after it, the terms of the module doc:
    ``(exprs, columns (n, m))``, at most ``max_columns``."""
    exprs, A = library(U, u, max_columns)
    more, cols = _columns(U, u, max_columns - len(exprs))
    if cols:
        A = np.column_stack([A, *cols])
    return exprs + more, A


def shifts(p: int) -> list[tuple[int, ...]]:
    """Exponents ``k`` of the prefactor shifts ``prod pi_j**k_j`` tried (module doc):
    no shift first."""
    if p <= MAX_JOINT_SHIFT:
        out = list(itertools.product((0, -1, 1), repeat=p))
    else:
        out = [(0,) * p] + [
            tuple(s if i == j else 0 for i in range(p)) for j in range(p) for s in (-1, 1)
        ]
    return out


def group_fits(state, data, budget, view, n_groups: int, member: int, until: float | None):
    """The sparse fits of the module doc on ``view`` (the raw view of a reduction whose
    first ``n_groups`` inputs are groups), until ``time.monotonic()`` passes ``until``:
    the best of each size mapped back by the view, refit on the raw training data and
    added to ``state``'s candidates (members numbered from ``member`` down)."""
    tr, w = data.tr, data.w[data.tr]
    U, yv0 = view.X[tr], view.y[tr]
    u = view_symbols(U.shape[1])
    exprs, A = group_terms(U, u, int(0.5 * len(tr)))
    fitter = SparseFitter(A, w)
    found = []  # (nmse, size, build)
    for k in shifts(n_groups):
        with np.errstate(all="ignore"):
            scale = np.prod([U[:, j] ** kj for j, kj in enumerate(k)], axis=0)
        shift = sympy.Mul(*(u[j] ** kj for j, kj in enumerate(k)))
        # a Gaussian of a group is a line in pi**2 in the log of the target
        for yv, to_y in signed_powers(yv0 / scale, TARGET_POWERS, log=True):
            if until is not None and time.monotonic() > until:
                break
            if not np.all(np.isfinite(yv)):
                continue
            for support in fitter.supports(yv, thresholds=(), pairs=PAIRS):
                c, nmse = fit_support(A, support, yv, w)
                if nmse <= MAX_VIEW_NMSE:
                    found.append((nmse, len(support), support, c, to_y, shift))
    found.sort(key=lambda f: f[0])
    kept = {}
    for f in found:
        kept.setdefault(f[1], []).append(f)
    for i, (_, _, support, c, to_y, shift) in enumerate(
        f for size in sorted(kept) for f in kept[size][:KEEP]
    ):
        if not budget.refits_open(state.n_refit, state.reserve(budget)):
            break
        expr = view.back(shift * to_y(linear_formula(c, exprs, support)))
        add_formula(state, data, budget, expr, member - i, rounded=True)
    return state


def group_library_stage(state, data, config, budget):
    """:func:`group_fits` on every raw view of a unit reduction not fitted yet (BLAS on
    one thread, as :func:`symnet.search.library_stage`), within one round of the budget's
    :meth:`~symnet.search.Budget.group_fits_until`; the view counts as fitted for the
    library stage too, whose terms these fits include."""
    if not config.library:
        return state
    done = state.memo.setdefault("library", {})
    until = budget.group_fits_until()
    with threadpool_limits(limits=1, user_api="blas"):
        for v, view in enumerate(state.views):
            if v in done or not is_group_view(view.name, data):
                continue
            done[v] = True
            d = view.X.shape[1]
            state = group_fits(state, data, budget, view, d, -1000 * (v + 1), until)
    return state


def symmetry_fits(state, data, config, budget):
    """Without units too: once a formula fits well (validation loss at most
    ``config.factor_below``) but not to float64 precision (``SURROGATE_NMSE``), the
    dimensionless groups of the most accurate surrogates' scaling symmetries
    (``reduce``'s ``"group"`` analysis, :func:`~symnet.search.scaling_groups`; a new set,
    ``MAX_GROUP_SETS`` at most) get :func:`group_fits` on their raw view (BLAS on one
    thread), within one round of the budget's
    :meth:`~symnet.search.Budget.group_fits_until`. Only these fits: the views train no
    network unless ``config.groups``."""
    best = state.best()
    below = config.factor_below
    if not config.library or below <= 0 or not SURROGATE_NMSE < best.val_nmse <= below:
        return state
    tried = state.tried.setdefault("symmetry", [])
    memo = state.memo.setdefault(GROUPS.name, {})
    X_tr = data.train[0]
    groups = propose(GROUPS, state.candidates, data.symbols, X_tr, below, tried, memo)
    if groups is None or budget.late():
        return state
    tried.append(groups.key())
    views = reduced_views(data.X, data.y, data.symbols, ("raw",), groups, "symmetry")
    until = budget.group_fits_until()
    with threadpool_limits(limits=1, user_api="blas"):
        for view in views:
            member = -(10**6) * len(tried)
            state = group_fits(state, data, budget, view, len(groups.groups), member, until)
    return state

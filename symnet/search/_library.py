r"""Sparse regression over a library of terms: sums of products a network cannot reach.

A two-layer network expresses a sum of a few products, and its sparsity penalty rarely
finds ``omega_0**2 - omega**2`` or ``x*y + y*z + z*x`` among the functions that fit as well.
A linear model over a generated *library* of candidate terms does, when the law (in one
of the data views: the reciprocal of ``1/(omega_0**2 - omega**2)``, the square of a
distance) is a short sum of them (pysindy's recipe):

    y ~ c_0 + sum_k c_k * t_k(u),   few c_k != 0,

with terms ``t_k``: every input ``u_i**p`` (``p`` in ``POWERS``, fractional and negative
powers only where they are defined on the data), and the products ``u_i**a * u_j**b`` of
two inputs (``(a, b)`` in ``PAIR_POWERS``, simplest first, as many as the rows allow).
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
import warnings
from collections.abc import Sequence

import numpy as np
import sympy
from sklearn.linear_model import orthogonal_mp
from threadpoolctl import threadpool_limits

from symnet._refit import refit
from symnet.search._views import view_symbols

__all__ = [
    "MAX_TERMS",
    "SparseFitter",
    "add_formula",
    "fit_support",
    "library",
    "library_stage",
    "linear_formula",
    "one_sign",
    "signed_powers",
    "sparse_fits",
]

#: Powers of one input in the library.
POWERS = (1, 2, 3, 4, 5, -1, -2, -3, -4, -5, sympy.Rational(1, 2), sympy.Rational(-1, 2))
#: Powers of a one-signed view target fitted besides the target itself.
TARGET_POWERS = (-1, 2, -2, sympy.Rational(1, 2), sympy.Rational(-1, 2))
#: A sparse fit is kept when it leaves at most this share of the target's variance.
MAX_VIEW_NMSE = 1e-2
#: Libraries over at most this many inputs also take ``UNARY`` terms of each input.
MAX_UNARY_INPUTS = 3
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
#: Terms of one sparse model at most (the constant not counted).
MAX_TERMS = 6
#: Libraries of at most this many terms are searched for their best pairs and triples.
MAX_EXHAUSTIVE_COLUMNS = 130
#: Best supports of each size kept by that exhaustive search.
BEST_SUPPORTS = 3
#: STLSQ thresholds (shares of the target's spread).
THRESHOLDS = tuple(float(t) for t in np.logspace(-5, -1, 9))
#: The library is cut to this fraction of the training rows (pairs dropped first).
MAX_COLUMNS_PER_ROW = 0.5


def _defined(u: np.ndarray, p) -> bool:
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
    pairs, at most ``max_columns``; columns that are not finite or constant are left
    out."""
    d = U.shape[1]
    exprs, cols = [], []

    def add(e, c):
        if len(cols) < max_columns and np.all(np.isfinite(c)) and np.std(c) > 0:
            exprs.append(e)
            cols.append(c)

    with np.errstate(all="ignore"):
        for i in range(d):
            for p in POWERS:
                if _defined(U[:, i], p):
                    add(symbols[i] ** p, U[:, i] ** float(p))
        if d <= MAX_UNARY_INPUTS:
            for i in range(d):
                for e, c in _unary(U[:, i], symbols[i]):
                    add(e, c)
        for a, b in PAIR_POWERS:
            for i, j in itertools.combinations(range(d), 2):
                if _defined(U[:, i], a) and _defined(U[:, j], b):
                    add(symbols[i] ** a * symbols[j] ** b, U[:, i] ** a * U[:, j] ** b)
    return exprs, (np.column_stack(cols) if cols else np.zeros((len(U), 0)))


def _lstsq(A, y):
    return np.linalg.lstsq(A, y, rcond=None)[0]


def _top(score: np.ndarray, top: int) -> np.ndarray:
    """Indices of the ``top`` largest entries of ``score``, largest first (a partial sort:
    a full one of the 10^5 pairs of a large library took 0.1 s per target)."""
    if len(score) <= top:
        return np.argsort(score)[::-1]
    part = np.argpartition(score, len(score) - top)[-top:]
    return part[np.argsort(score[part])[::-1]]


class SparseFitter:
    """The sparse fits of :func:`sparse_fits` of many targets over one matrix ``A`` of
    columns and weights ``w``: the weighted, centred, unit-norm columns ``An``, their Gram
    matrix ``G = An^T An``, the pseudo-inverse of the full least squares and (for the
    exhaustive triples) the inverses of all 3x3 blocks ``G_SS`` depend on ``A`` and ``w``
    only, and are computed once (the library of a view is fitted to each power of its
    target, a factored sum's to each rounding's quotient).

    Example:
      >>> A = np.column_stack([np.arange(8.0), np.arange(8.0) ** 2, np.cos(np.arange(8.0))])
      >>> fitter = SparseFitter(A, np.ones(8))
      >>> (1,) in fitter.supports(3 * A[:, 1] + 1), (0, 2) in fitter.supports(A[:, 0] - A[:, 2])
      (True, True)
    """

    def __init__(self, A: np.ndarray, w: np.ndarray):
        self.w = w
        sw = np.sqrt(w / w.sum())
        mu = (w[:, None] * A).sum(0) / w.sum()
        Ac = (A - mu) * sw[:, None]
        norms = np.linalg.norm(Ac, axis=0)
        self.ok = norms > 0
        self.sw = sw
        self.An = np.where(self.ok, Ac / np.where(self.ok, norms, 1.0), 0.0)
        self.full = np.flatnonzero(self.ok)
        self._gram = self._pinv = self._triples = None

    @property
    def gram(self) -> np.ndarray:
        if self._gram is None:
            self._gram = self.An.T @ self.An
        return self._gram

    def _full_solution(self, yc: np.ndarray) -> np.ndarray:
        """The minimum-norm least-squares coefficients of ``yc`` over the full support."""
        if self._pinv is None:
            Af = self.An[:, self.full]
            self._pinv = np.linalg.pinv(Af, rtol=np.finfo(float).eps * max(Af.shape))
        return self._pinv @ yc

    def _best_pairs(self, b: np.ndarray, top: int) -> list[tuple[int, int]]:
        """The ``top`` pairs of columns whose least-squares fit explains most of the target
        (``b = An^T yc``), over all pairs: the pair ``(i, j)`` explains
        ``(b_i**2 + b_j**2 - 2*b_i*b_j*G_ij) / (1 - G_ij**2)``."""
        G = self.gram
        with np.errstate(all="ignore"):
            score = (b[:, None] ** 2 + b[None, :] ** 2 - 2 * np.outer(b, b) * G) / (1 - G**2)
        score[~np.isfinite(score) | (1 - G**2 < 1e-10)] = -np.inf
        score[np.tril_indices(len(b))] = -np.inf
        i, j = np.unravel_index(_top(score.ravel(), top), score.shape)
        return [(int(a), int(c)) for a, c in zip(i, j, strict=True) if np.isfinite(score[a, c])]

    def _best_triples(self, b: np.ndarray, top: int) -> list[tuple[int, ...]]:
        """The ``top`` triples of columns whose least-squares fit explains most of the
        target, over all triples: ``b_S^T G_SS^-1 b_S``. With unit diagonals, the block of
        ``S = (i, j, k)`` has off-diagonals ``p = G_ij``, ``q = G_ik``, ``r = G_jk``, its
        determinant is ``1 + 2pqr - p**2 - q**2 - r**2`` and its adjugate has entries
        ``1 - r**2``, ``1 - q**2``, ``1 - p**2`` on the diagonal and ``qr - p``, ``pr - q``,
        ``pq - r`` off it: computed once per fitter, elementwise over all triples (blocks
        with determinant below 1e-10 skipped)."""
        if self._triples is None:
            live = self.full
            m = len(live)
            i, j, k = (a.ravel() for a in np.meshgrid(*[np.arange(m)] * 3, indexing="ij"))
            keep = (i < j) & (j < k)
            i, j, k = live[i[keep]], live[j[keep]], live[k[keep]]
            G = self.gram
            p, q, r = G[i, j], G[i, k], G[j, k]
            det = 1 + 2 * p * q * r - p**2 - q**2 - r**2
            ok = det > 1e-10
            i, j, k, p, q, r, det = (v[ok] for v in (i, j, k, p, q, r, det))
            adj = (1 - r**2, 1 - q**2, 1 - p**2, 2 * (q * r - p), 2 * (p * r - q), 2 * (p * q - r))
            self._triples = (i, j, k), tuple(v / det for v in adj)
        (i, j, k), (aii, ajj, akk, aij, aik, ajk) = self._triples
        if len(i) == 0:
            return []
        bi, bj, bk = b[i], b[j], b[k]
        score = bi * (aii * bi + aij * bj + aik * bk) + bj * (ajj * bj + ajk * bk) + akk * bk**2
        best = _top(score, top)
        return [(int(i[t]), int(j[t]), int(k[t])) for t in best if np.isfinite(score[t])]

    def supports(
        self,
        y: np.ndarray,
        thresholds: Sequence[float] = THRESHOLDS,
        pairs: int = 0,
        exhaustive: bool = False,
    ) -> list[tuple[int, ...]]:
        """:func:`sparse_fits` of ``y`` over this fitter's columns."""
        w, An, ok = self.w, self.An, self.ok
        yc = (y - np.average(y, weights=w)) * self.sw
        if not ok.any() or np.linalg.norm(yc) == 0:
            return []
        supports = set()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            k = min(MAX_TERMS, int(ok.sum()))
            path = orthogonal_mp(An, yc, n_nonzero_coefs=k, return_path=True)
        path = path.reshape(An.shape[1], -1)
        for step in range(path.shape[1]):
            supports.add(tuple(int(i) for i in np.flatnonzero(path[:, step])))
        b = An.T @ yc
        if exhaustive and An.shape[1] <= MAX_EXHAUSTIVE_COLUMNS:
            pairs = max(pairs, BEST_SUPPORTS)
            supports.update(self._best_triples(b, BEST_SUPPORTS))
        if pairs:
            supports.update(self._best_pairs(b, pairs))
        spread = np.linalg.norm(yc)
        c_full = self._full_solution(yc) if len(thresholds) else None  # every path's first
        for tau in thresholds:
            support = self.full
            for step in range(10):
                c = c_full if step == 0 else _lstsq(An[:, support], yc)
                share = np.abs(c) / spread  # unit-norm columns: |c_k| is the term's share
                new = support[share >= tau]
                if len(new) == len(support) or len(new) == 0:
                    break
                support = new
            if 0 < len(support) <= MAX_TERMS:
                supports.add(tuple(int(i) for i in support))
        return sorted(s for s in supports if s)


def sparse_fits(
    A: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    thresholds: Sequence[float] = THRESHOLDS,
    pairs: int = 0,
    exhaustive: bool = False,
) -> list[tuple[int, ...]]:
    """Distinct supports (column indices) of sparse weighted least-squares fits of ``y``
    by the columns of ``A`` plus a constant, from the OMP path, the STLSQ paths of
    ``thresholds`` and the ``pairs`` best pairs of columns (an exhaustive search, where
    a greedy path picks a wrong first term among correlated ones), each of at most
    ``MAX_TERMS`` columns; with ``exhaustive`` and at most ``MAX_EXHAUSTIVE_COLUMNS``
    columns, also the ``BEST_SUPPORTS`` best pairs and triples. For many targets over one
    ``A``, :class:`SparseFitter` does the work that depends on ``A`` once."""
    return SparseFitter(A, w).supports(y, thresholds, pairs, exhaustive)


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


def fit_support(A: np.ndarray, support, y: np.ndarray, w: np.ndarray):
    """``(c, nmse)``: the weighted least-squares fit ``y ~ A[:, support] @ c[:-1] + c[-1]``
    and the share of ``y``'s weighted variance it leaves."""
    X1 = np.column_stack([A[:, list(support)], np.ones(len(y))])
    sw = np.sqrt(w)
    c = _lstsq(X1 * sw[:, None], y * sw)
    var = np.average((y - np.average(y, weights=w)) ** 2, weights=w)
    return c, np.average((X1 @ c - y) ** 2, weights=w) / var


def linear_formula(c, exprs, support) -> sympy.Expr:
    """``sum_k c_k * exprs[support_k] + c_last``, coefficients as floats."""
    terms = (sympy.Float(ck) * exprs[k] for ck, k in zip(c[:-1], support, strict=True))
    return sympy.Add(*terms, sympy.Float(c[-1]))


def add_formula(state, data, budget, expr: sympy.Expr, member: int) -> None:
    """A sparse fit's formula (in the user's variables) refit on the raw training data,
    scored as member ``member`` and added to ``state``'s candidates; one not finite
    everywhere (``nan``, ``zoo``) is dropped."""
    if expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return
    expr, _ = refit(expr, data.symbols, *data.train)
    state.n_refit += 1
    cand = data.score(expr, member, budget.elapsed())
    if cand is not None:
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

"""Sparse least squares over the columns of a library: the supports of the few terms
that explain a target (orthogonal matching pursuit, sequentially thresholded least
squares, exhaustive best pairs and triples), with the work that depends only on the
columns done once per library (:class:`SparseFitter`). The module doc of
:mod:`symnet.search._library` states the paths."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import orthogonal_mp

__all__ = [
    "BEST_SUPPORTS",
    "MAX_EXHAUSTIVE_COLUMNS",
    "MAX_TERMS",
    "THRESHOLDS",
    "SparseFitter",
    "fit_support",
    "sparse_fits",
]

#: Terms of one sparse model at most (the constant not counted).
MAX_TERMS = 6
#: Libraries of at most this many terms are searched for their best pairs and triples.
MAX_EXHAUSTIVE_COLUMNS = 130
#: Best supports of each size kept by that exhaustive search.
BEST_SUPPORTS = 3
#: STLSQ thresholds (shares of the target's spread).
THRESHOLDS = tuple(float(t) for t in np.logspace(-5, -1, 9))


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


def fit_support(A: np.ndarray, support, y: np.ndarray, w: np.ndarray):
    """``(c, nmse)``: the weighted least-squares fit ``y ~ A[:, support] @ c[:-1] + c[-1]``
    and the share of ``y``'s weighted variance it leaves."""
    X1 = np.column_stack([A[:, list(support)], np.ones(len(y))])
    sw = np.sqrt(w)
    c = _lstsq(X1 * sw[:, None], y * sw)
    var = np.average((y - np.average(y, weights=w)) ** 2, weights=w)
    return c, np.average((X1 @ c - y) ** 2, weights=w) / var

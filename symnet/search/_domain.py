r"""Where a formula must be finite: the data's box, or the data's own domain.

A formula is checked on points between the samples, not only at them (a root or a log of
a fitted expression can cross its domain there), and, for stability, just outside the
data's box (:mod:`symnet.search._data`). Both assume that the data *fill* their box. Data
drawn under a constraint do not: SRSD's ``sqrt(omega**2/c**2 - pi**2/d**2)`` is sampled
where ``omega*d >= pi*c`` only, and the law itself is not real on the rest of the box,
so a box probe rejects the law and keeps a surrogate (a fourth root of a square) that
happens to be real everywhere.

:func:`fills_box` tells the two apart from the data alone. In rank space (each column
replaced by its empirical CDF, ``r_i = rank(x_i)/n``) independent inputs are uniform on
the unit square of every pair, whatever their marginals (log-uniform, signed); a
constraint leaves part of some pair's square empty. With a ``g x g`` grid holding
``n/g**2 >= MIN_PER_CELL`` expected samples per cell, an empty cell has probability
``exp(-MIN_PER_CELL)`` under independence; a pair with at least
``max(2, EMPTY_SHARE * g**2)`` empty cells is a constraint. Inputs with at most
``MAX_LEVELS`` distinct values (integers such as a sign or a quantum number) are not
gridded but condition the test: the rows of each of their levels are gridded too (on the
ranks of all rows: under independence a level's rows are uniform there as well).

Where the data do not fill their box, :func:`domain_probe` draws the points between
samples as random points on segments from a sample to one of its ``NEIGHBOURS`` nearest
neighbours (discrete inputs keep the sample's value): a law defined on a convex or
smooth domain is finite there, and a formula crossing its domain between samples is not.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["MAX_LEVELS", "discrete_columns", "domain_probe", "fills_box"]

#: Inputs with at most this many distinct values are discrete.
MAX_LEVELS = 10
#: Expected samples per grid cell of a pair (an empty cell: probability exp(-10)).
MIN_PER_CELL = 10
#: A pair of inputs is constrained when this share of its cells (and at least 2) is empty.
EMPTY_SHARE = 0.03
#: Fewest rows for the test; with fewer the data are taken to fill their box.
MIN_ROWS = 200
#: Nearest neighbours a domain probe's segments may end at.
NEIGHBOURS = 5


def discrete_columns(X: np.ndarray) -> np.ndarray:
    """Boolean mask of the columns of ``X`` with at most ``MAX_LEVELS`` distinct values."""
    return np.array([len(np.unique(X[:, j])) <= MAX_LEVELS for j in range(X.shape[1])])


def _ranks(v: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(v, kind="stable"), kind="stable") / len(v)


def _constrained(R: np.ndarray) -> bool:
    """Whether some pair of the rank columns ``R`` leaves cells of its grid empty."""
    n = len(R)
    g = min(10, int(np.sqrt(n / MIN_PER_CELL)))
    if g < 3:
        return False
    cells = np.minimum((R * g).astype(int), g - 1)
    for i, j in itertools.combinations(range(R.shape[1]), 2):
        counts = np.bincount(cells[:, i] * g + cells[:, j], minlength=g * g)
        if np.sum(counts == 0) >= max(2, EMPTY_SHARE * g * g):
            return True
    return False


def fills_box(X: np.ndarray) -> bool:
    """Whether the rows of ``X`` fill the box they span (module doc): False when a pair
    of continuous inputs, within some level of the discrete ones, leaves part of its
    rank square empty."""
    n = len(X)
    if n < MIN_ROWS:
        return True
    discrete = discrete_columns(X)
    cont = np.flatnonzero(~discrete)
    if len(cont) < 2:
        return True
    R = np.column_stack([_ranks(X[:, j]) for j in cont])
    groups = [np.arange(n)]
    if discrete.any():
        _, level = np.unique(X[:, discrete], axis=0, return_inverse=True)
        level = level.ravel()
        groups += [np.flatnonzero(level == k) for k in np.unique(level)]
    return not any(_constrained(R[rows]) for rows in groups)


def domain_probe(X: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` random points on segments from a random row of ``X`` to one of its
    ``NEIGHBOURS`` nearest rows (distances in units of each column's range); discrete
    columns keep the row's value."""
    n = len(X)
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    k = min(NEIGHBOURS + 1, n)
    _, nbr = cKDTree((X - lo) / span).query((X - lo) / span, k=k)
    nbr = np.asarray(nbr).reshape(n, k)
    i = rng.integers(0, n, size)
    j = nbr[i, rng.integers(min(1, k - 1), k, size)]
    t = rng.uniform(0.0, 1.0, (size, 1))
    t = np.where(discrete_columns(X)[None, :], 0.0, t)
    return X[i] + t * (X[j] - X[i])

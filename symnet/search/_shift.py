r"""Translation symmetry of a surrogate: ``f`` depends on ``x_i - x_j`` (or ``x_i + x_j``) only.

If ``f(x) = F(..., x_i - x_j, ...)``, shifting both inputs by the same amount leaves ``f``
unchanged, so its gradient (:func:`~symnet.search.derivatives`) satisfies
``g_i + g_j = 0`` everywhere; for ``x_i + x_j``, ``g_i - g_j = 0``. With ``s`` the mean
spread of the two inputs and ``s_f`` that of ``f``, the pair is *shift-symmetric* when

    T_ij = rms(g_i -/+ g_j) * s / s_f

is within the tolerance of :func:`~symnet.search.tolerance` (measured against the
surrogate's own loss) while both inputs matter (influence above it), and the global check
holds, as AI Feynman's: ``f`` at the samples with ``x_i`` and ``x_j`` moved by ``+a`` and
``+/-a`` (``a = SHIFT * s``) differs from ``f`` at the samples by at most the tolerance,
in RMS relative to ``s_f``. ``cos(theta1 - theta2)`` then becomes a function of one input
(the difference) instead of two — a problem a population and the group library reach.

Without units every pair is tried; with units only pairs of one dimension (a difference
of a length and a time is not a law).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import sympy

from symnet._refit import evaluate
from symnet.search._separate import POINTS, derivatives, tolerance

__all__ = ["SHIFT", "Shift", "translations"]

#: The global check moves the two inputs by this fraction of their mean spread.
SHIFT = 0.25


class Shift(NamedTuple):
    """``f`` depends on the inputs of each pair ``(i, j, sign)`` through
    ``x_i + sign * x_j`` only (``sign`` -1: the difference, +1: the sum); the sub-problem
    replaces ``x_i`` by that combination and drops ``x_j``; ``n_inputs``: the inputs of
    ``f``."""

    pairs: tuple[tuple[int, int, int], ...]
    n_inputs: int

    def key(self) -> tuple:
        return ("shift", self.pairs)

    def columns(self, X: np.ndarray) -> np.ndarray:
        """The sub-problem's inputs: ``X`` with ``x_i`` replaced by ``x_i + sign * x_j``
        and ``x_j`` dropped, for each pair."""
        X = np.array(X, np.float64)
        for i, j, sign in self.pairs:
            X[:, i] = X[:, i] + sign * X[:, j]
        return X[:, self.kept()]

    def kept(self) -> list[int]:
        """The inputs left (the first of each pair stands for the combination)."""
        gone = {j for _, j, _ in self.pairs}
        return [k for k in range(self.n_inputs) if k not in gone]

    def exprs(self, symbols: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
        """What each of the sub-problem's inputs stands for, over ``symbols``."""
        out = list(symbols)
        for i, j, sign in self.pairs:
            out[i] = symbols[i] + sign * symbols[j]
        return [out[k] for k in self.kept()]


def translations(
    expr: sympy.Expr,
    symbols: Sequence[sympy.Symbol],
    X: np.ndarray,
    nmse: float,
    kinds: Sequence[object] | None = None,
) -> Shift | None:
    """The shift symmetries of the surrogate ``expr`` (normalised loss ``nmse``) on the
    inputs ``X``: disjoint pairs, the smallest statistic first, of inputs of one ``kind``
    (their dimensions; None: any pair); None when there is none or ``expr`` is not finite
    there."""
    X = np.asarray(X, np.float64)
    if len(X) > POINTS:
        X = X[np.linspace(0, len(X) - 1, POINTS).astype(int)]
    d = X.shape[1]
    if d < 2:
        return None
    tol = tolerance(nmse)
    with np.errstate(all="ignore"):
        f, g, _ = derivatives(expr, symbols, X)
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(g))):
        return None
    s, sf = X.std(axis=0), f.std()
    if sf <= 0:
        return None
    matters = _rms(g) * s / sf > tol
    found = []
    for i in range(d):
        for j in range(i + 1, d):
            if not (matters[i] and matters[j]) or (kinds is not None and kinds[i] != kinds[j]):
                continue
            mean_s = 0.5 * (s[i] + s[j])
            for sign in (-1, 1):
                # f(x_i + sign*x_j): g_j = sign * g_i
                t = float(_rms(g[:, j] - sign * g[:, i]) * mean_s / sf)
                if t <= tol:
                    found.append((t, i, j, sign))
    pairs, used = [], set()
    for _, i, j, sign in sorted(found):
        if i in used or j in used:
            continue
        if _moved(expr, symbols, X, f, i, j, sign, s) <= tol:
            pairs.append((i, j, sign))
            used |= {i, j}
    return Shift(tuple(sorted(pairs)), d) if pairs else None


def _rms(a: np.ndarray, axis=0) -> np.ndarray:
    return np.sqrt(np.mean(a * a, axis=axis))


def _moved(expr, symbols, X, f, i, j, sign, s) -> float:
    """The global check: RMS of ``f(x moved along the symmetry) - f(x)`` relative to the
    spread of ``f``, both ways (inf where not finite)."""
    a = SHIFT * 0.5 * (s[i] + s[j])
    worst = 0.0
    for step in (a, -a):
        moved = X.copy()
        moved[:, i] += step
        moved[:, j] -= sign * step
        with np.errstate(all="ignore"):
            v = np.broadcast_to(evaluate(expr, symbols, moved), f.shape)
        r = v - f
        if not np.all(np.isfinite(r)):
            return math.inf
        worst = max(worst, float(_rms(r) / f.std()))
    return worst

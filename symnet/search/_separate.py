r"""Separability of a surrogate, read off its derivatives.

An accurate formula the search already found (a *surrogate* of the law) is a smooth
function ``f`` of the inputs; its gradient ``g`` and mixed second derivatives ``H`` at the
samples come from central differences in float64, one vectorised evaluation of the
formula (:func:`derivatives`). (``jax.hessian`` under ``vmap`` gives them exactly, but on a
CPU its eager primitives compile on first use, seconds of a fit's budget, and ``jit``
compiles each formula anew: tens of seconds for a surrogate of 600 nodes.) With ``s_i``
the spread (standard deviation) of input ``i`` on the data and ``s_f`` that of ``f``:

* input ``i`` does not matter (SRSD's dummy variables) when its *influence*
  ``D_i = rms(g_i) * s_i / s_f`` is within tolerance;
* inputs ``i`` and ``j`` are *additively coupled* when ``C_ij = rms(H_ij) * s_i * s_j / s_f``
  exceeds it: the parts of an additively separable ``f = g(x_A) + h(x_B)`` are the
  connected components of the graph of coupled inputs;
* *multiplicative* separability ``f = g(x_A) * h(x_B)`` is the same test on ``log|f|``
  (``f`` of one sign), whose Hessian is ``H / f - g g^T / f**2``, normalised by the spread
  of ``log|f|``.

A partition found locally is then checked globally, as AI Feynman does, on the samples
themselves: with ``x*`` the median sample (the *anchor*) and ``f_k(x)`` the surrogate with
every input outside part ``k`` held at the anchor, ``f(x) - sum_k f_k(x) + (K - 1) f(x*)``
(or the same on ``log|f|``) must be within tolerance of 0, in RMS relative to the spread.

The tolerance is measured against the surrogate's own error: a surrogate of normalised
loss ``e`` (MSE / var(y)) is off by about ``sqrt(e) * s_f``, and so, if its error varies
on the data's own scale, are its normalised derivatives; a statistic below
``TOL_FACTOR * sqrt(e)`` (at least ``MIN_TOL``) cannot be told from 0.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import sympy

from symnet._refit import evaluate

__all__ = ["Split", "derivatives", "separate", "tolerance"]

#: A statistic below ``TOL_FACTOR * sqrt(surrogate loss)`` is taken for 0 ...
TOL_FACTOR = 3.0
#: ... and so is one below this, whatever the loss.
MIN_TOL = 1e-3
#: The largest tolerance: a surrogate worse than this cannot be decomposed.
MAX_TOL = 0.1
#: Samples the derivatives are taken at.
POINTS = 256
#: Step of the central differences, relative to each input's spread.
REL_STEP = 1e-4
#: ``log|f|`` is used only where ``min |f| >= LOG_FLOOR * max |f|`` on the samples.
LOG_FLOOR = 1e-6


class Split(NamedTuple):
    """A decomposition of ``f``: ``kind`` ``"add"`` (``f = sum_k f_k(x_parts[k])``), ``"mul"``
    (``f = prod_k f_k(x_parts[k])``) or ``"drop"`` (one part: ``f`` depends on it only);
    ``dropped``: the inputs ``f`` does not depend on; ``anchor``: the point inputs outside a
    part are held at (one value per input)."""

    kind: str
    parts: tuple[tuple[int, ...], ...]
    dropped: tuple[int, ...]
    anchor: np.ndarray

    def key(self) -> tuple:
        return (self.kind, self.parts, self.dropped)

    def held(self, X: np.ndarray, k: int) -> np.ndarray:
        """``X`` with every input outside part ``k`` set to the anchor."""
        out = np.broadcast_to(self.anchor, X.shape).copy()
        cols = list(self.parts[k])
        out[:, cols] = X[:, cols]
        return out


def tolerance(nmse: float) -> float:
    """The tolerance of the tests for a surrogate of normalised loss ``nmse``."""
    return min(max(TOL_FACTOR * math.sqrt(max(nmse, 0.0)), MIN_TOL), MAX_TOL)


def derivatives(
    expr: sympy.Expr, symbols: Sequence[sympy.Symbol], X: np.ndarray, rel_step: float = REL_STEP
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(f, g, H)`` of ``expr`` at the rows of ``X``: values (n,), gradients (n, d) and the
    mixed second derivatives (n, d, d; the diagonal is left 0), by central differences of
    step ``h_i = rel_step * std(x_i)`` in float64 — all points in one evaluation:

        g_i  = (f(x + h_i) - f(x - h_i)) / (2 h_i)
        H_ij = (f(x + h_i + h_j) - f(x + h_i - h_j) - f(x - h_i + h_j) + f(x - h_i - h_j))
               / (4 h_i h_j)

    (errors ``O(h**2)`` and ``O(eps |f| / (h_i h_j))``, both far below the tests'
    tolerances). Entries are NaN where ``f`` is not defined."""
    X = np.asarray(X, np.float64)
    n, d = X.shape
    h = rel_step * np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    shifts = [np.zeros(d)]
    for i in range(d):
        e = np.zeros(d)
        e[i] = h[i]
        shifts += [e, -e]
    pairs = list(itertools.combinations(range(d), 2))
    for i, j in pairs:
        for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            e = np.zeros(d)
            e[i], e[j] = si * h[i], sj * h[j]
            shifts.append(e)
    pts = (X[None, :, :] + np.asarray(shifts)[:, None, :]).reshape(-1, d)
    with np.errstate(all="ignore"):
        v = np.broadcast_to(evaluate(expr, symbols, pts), (len(pts),)).reshape(len(shifts), n)
        f = v[0]
        g = np.stack([(v[1 + 2 * i] - v[2 + 2 * i]) / (2 * h[i]) for i in range(d)], axis=1)
        H = np.zeros((n, d, d))
        base = 1 + 2 * d
        for k, (i, j) in enumerate(pairs):
            pp, pm, mp, mm = v[base + 4 * k : base + 4 * k + 4]
            H[:, i, j] = H[:, j, i] = (pp - pm - mp + mm) / (4 * h[i] * h[j])
    return f, g, H


def _components(coupled: np.ndarray, keep: list[int]) -> tuple[tuple[int, ...], ...]:
    """Connected components of the graph ``coupled`` (boolean, d x d) over ``keep``."""
    left, parts = list(keep), []
    while left:
        stack, part = [left.pop(0)], set()
        while stack:
            i = stack.pop()
            part.add(i)
            for j in list(left):
                if coupled[i, j]:
                    left.remove(j)
                    stack.append(j)
        parts.append(tuple(sorted(part)))
    return tuple(sorted(parts))


def _rms(a: np.ndarray, axis=0) -> np.ndarray:
    return np.sqrt(np.mean(a * a, axis=axis))


def separate(
    expr: sympy.Expr,
    symbols: Sequence[sympy.Symbol],
    X: np.ndarray,
    nmse: float,
) -> Split | None:
    """The finest decomposition of the surrogate ``expr`` (normalised loss ``nmse``) on the
    inputs ``X``, or None when there is none (one part, no dummy input) or the surrogate is
    not finite there. When a sum and a product split the inputs as finely (a rough
    surrogate of ``x + y`` is nearly a product too), the one with the smaller global
    residual wins."""
    X = np.asarray(X, np.float64)
    if len(X) > POINTS:
        X = X[np.linspace(0, len(X) - 1, POINTS).astype(int)]
    d = X.shape[1]
    tol = tolerance(nmse)
    with np.errstate(all="ignore"):
        f, g, H = derivatives(expr, symbols, X)
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
        return None
    s = X.std(axis=0)
    sf = f.std()
    if sf <= 0:
        return None
    influence = _rms(g) * s / sf
    keep = [i for i in range(d) if influence[i] > tol]
    dropped = tuple(i for i in range(d) if i not in keep)
    if not keep:
        return None
    anchor = np.median(X, axis=0)
    best, best_rank = None, None
    for kind in ("mul", "add"):
        coupled = _coupling(kind, f, g, H, s)
        if coupled is None:
            continue
        parts = _components(coupled > tol, keep)
        if len(parts) < 2:
            continue
        split = Split(kind, parts, dropped, anchor)
        residual = _residual(split, expr, symbols, X)
        rank = (-len(parts), residual)
        if residual <= tol and (best_rank is None or rank < best_rank):
            best, best_rank = split, rank
    if best is None and dropped:
        best = Split("drop", (tuple(keep),), dropped, anchor)
    return best


def _coupling(kind, f, g, H, s) -> np.ndarray | None:
    """The normalised mixed derivatives ``C_ij`` of ``f`` (add) or ``log|f|`` (mul)."""
    scale = np.outer(s, s)
    if kind == "add":
        return _rms(H) * scale / f.std()
    a = np.abs(f)
    if not (np.all(np.sign(f) == np.sign(f[0])) and a.min() >= LOG_FLOOR * a.max()):
        return None
    L = np.log(a)
    if L.std() <= 0:
        return None
    HL = H / f[:, None, None] - g[:, :, None] * g[:, None, :] / (f * f)[:, None, None]
    return _rms(HL) * scale / L.std()


def _residual(split: Split, expr, symbols, X) -> float:
    """The global check: the RMS of ``f - sum_k f_k + (K - 1) f(x*)`` (on ``log|f|`` for
    ``mul``) relative to the spread of ``f`` (``log|f|``) on the samples ``X``; inf where
    it is not defined."""
    with np.errstate(all="ignore"):
        f = evaluate(expr, symbols, X)
        parts = [evaluate(expr, symbols, split.held(X, k)) for k in range(len(split.parts))]
        f0 = evaluate(expr, symbols, split.anchor[None, :])
        f, f0 = np.broadcast_to(f, (len(X),)), float(np.ravel(f0)[0])
        parts = [np.broadcast_to(p, (len(X),)) for p in parts]
        if split.kind == "mul":
            if f0 == 0 or any(np.any(p * f0 <= 0) for p in parts):
                return math.inf
            f, parts, f0 = np.log(np.abs(f)), [np.log(np.abs(p)) for p in parts], np.log(abs(f0))
        r = f - sum(parts) + (len(parts) - 1) * f0
    spread = f.std()
    if not (np.all(np.isfinite(r)) and spread > 0):
        return math.inf
    return float(_rms(r) / spread)

"""Constant refitting of a formula's constants, in float64 (rounding them:
:mod:`symnet._rounding`).

A formula ``f(x; c)`` is *parametrised* by replacing each float in it with a symbol
``c_k``. Refitting solves ``min_c sum_i w_i (f(x_i; c) - y_i)**2`` with Levenberg–Marquardt
(scipy's MINPACK ``lm``; ``trf`` when there are fewer samples than constants).
:func:`drop_terms` removes groups of small terms with an F-test on the group.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence

import numpy as np
import scipy.optimize
import sympy

__all__ = [
    "MAX_FREE_CONSTANTS",
    "curvature",
    "drop_terms",
    "evaluate",
    "loo_residuals",
    "noise_variance",
    "Parametrized",
    "parametrize",
    "prepare_fit",
    "refit",
    "refit_operator",
    "rss_at",
    "solve_constants",
    "weighted_rss",
]

#: A refit of more free constants than this is not run: each
#: finite-difference Jacobian costs one evaluation per constant, and a network's raw
#: export with hundreds of them (far past any front's ``maxsize``) took a minute.
MAX_FREE_CONSTANTS = 64


@dataclasses.dataclass(frozen=True)
class Parametrized:
    """An expression whose floats became symbols ``consts`` with values ``values``."""

    expr: sympy.Expr
    consts: tuple[sympy.Symbol, ...]
    values: np.ndarray

    def substitute(self, values: Sequence[float] | None = None) -> sympy.Expr:
        values = self.values if values is None else values
        return self.expr.xreplace(
            {c: sympy.Float(float(v)) for c, v in zip(self.consts, values, strict=True)}
        )


def parametrize(expr: sympy.Expr) -> Parametrized:
    """Replaces every float *occurrence* of ``expr`` by a fresh symbol ``_c{k}``.

    Equal floats in different places get different symbols (``2.0*sin(1.0*x) + 1.0*y`` has
    three constants), so refitting never ties constants that merely start out equal.
    """
    consts: list[sympy.Symbol] = []
    values: list[float] = []

    def walk(e):
        if isinstance(e, sympy.Float):
            c = sympy.Symbol(f"_c{len(consts)}")
            consts.append(c)
            values.append(float(e))
            return c
        if not e.args:
            return e
        return e.func(*(walk(a) for a in e.args))

    return Parametrized(walk(expr), tuple(consts), np.array(values, dtype=np.float64))


def _lambdify(expr, symbols, consts):
    fn = sympy.lambdify([*symbols, *consts], expr, modules="numpy")

    def f(X, c):
        with np.errstate(all="ignore"):
            out = fn(*X.T, *c)
        out = np.asarray(out, dtype=np.complex128 if np.iscomplexobj(out) else np.float64)
        if np.iscomplexobj(out):
            out = np.where(np.abs(out.imag) > 1e-12, np.nan, out.real)
        return np.broadcast_to(out, (X.shape[0],)).astype(np.float64)

    return f


def evaluate(expr: sympy.Expr, symbols: Sequence[sympy.Symbol], X: np.ndarray) -> np.ndarray:
    """``expr`` evaluated on the rows of ``X`` in float64 (NaN where undefined)."""
    return _lambdify(expr, symbols, ())(np.asarray(X, np.float64), ())


def weighted_rss(pred, y, w):
    """``sum w * (pred - y)**2``; ``inf`` where ``pred`` is not finite or the sum
    overflows (finite residuals past ~1e154 square to inf)."""
    r = pred - y
    if not np.all(np.isfinite(r)):
        return math.inf
    with np.errstate(over="ignore"):
        return float(np.sum(w * r * r))


def solve_constants(f, X, y, w, c0, free, iters: int = 50):
    """Least squares over the ``free`` entries of ``c0``; returns ``(c, rss)``.

    ``iters`` caps MINPACK's residual evaluations (each finite-difference Jacobian costs
    ``len(free)`` more): refits start near the optimum, so a few dozen suffice.

    Never returns a worse point than ``c0``; returns it as it is when there are no free
    constants or more than ``MAX_FREE_CONSTANTS``.
    """
    c0 = np.asarray(c0, dtype=np.float64)
    rss0 = weighted_rss(f(X, c0), y, w)
    if not 0 < len(free) <= MAX_FREE_CONSTANTS:
        return c0, rss0
    sw = np.sqrt(w)
    big = 1e6 * (np.abs(y).max() + 1.0)

    def resid(cf):
        cc = c0.copy()
        cc[free] = cf
        r = (f(X, cc) - y) * sw
        return np.where(np.isfinite(r), r, big)

    method = "lm" if X.shape[0] >= len(free) else "trf"
    try:  # huge finite residuals overflow the solver's cost (inf): a rejected step
        with np.errstate(over="ignore", invalid="ignore"):
            sol = scipy.optimize.least_squares(resid, c0[free], method=method, max_nfev=iters)
    except (ValueError, FloatingPointError):
        return c0, rss0
    c = c0.copy()
    c[free] = sol.x
    rss = weighted_rss(f(X, c), y, w)
    return (c, rss) if rss <= rss0 else (c0, rss0)


def curvature(f, X, w, c):
    """Per constant, the RSS cost of moving it by ``delta`` once the others are refit:
    about ``delta**2 * cost[k]`` with ``cost[k] = ||J_k - P_{-k} J_k||**2``, the part of
    its (weighted) Jacobian column the other columns cannot absorb (a Schur complement).
    Redundant constants (``a * sqrt(b * x)``) cost 0; a non-finite Jacobian gives 0 too
    (no prediction: every rounding is then tried by a refit)."""
    cols = []
    for k in range(len(c)):
        h = 1e-5 * max(1.0, abs(c[k]))
        hi, lo = c.copy(), c.copy()
        hi[k] += h
        lo[k] -= h
        cols.append((f(X, hi) - f(X, lo)) / (2 * h))  # central: O(h**2) error
    J = np.stack(cols, axis=1) * np.sqrt(w)[:, None]
    if not np.all(np.isfinite(J)):
        return np.zeros(len(c))
    scale = np.linalg.norm(J, axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Js = J / scale
    cost = np.zeros(len(c))
    for k in range(len(c)):
        others = np.delete(Js, k, axis=1)
        if others.shape[1] == 0:
            cost[k] = scale[k] ** 2
            continue
        beta, *_ = np.linalg.lstsq(others, Js[:, k], rcond=1e-10)
        unexplained = float(np.sum((Js[:, k] - others @ beta) ** 2))
        # Below 1e-8 of the column's norm is differencing error: numerically redundant.
        cost[k] = unexplained * scale[k] ** 2 if unexplained > 1e-8 else 0.0
    return cost


def rss_at(rel: float, y, w) -> float:
    """The weighted RSS of an error of ``rel`` x rms(y) at every sample."""
    return rel**2 * float(np.average(y * y, weights=w)) * float(np.sum(w))


def noise_variance(rss: float, n: int, p: int, floor: float) -> float:
    """Noise variance estimate ``rss / (n - p)``, floored at ``floor / n``."""
    return max(rss / max(n - p, 1), floor / max(n, 1))


def _weights(w, n):
    return np.ones(n) if w is None else np.asarray(w, np.float64)


def prepare_fit(expr, symbols, X, y, sample_weight):
    """float64 data and weights, ``expr`` parametrised, and its lambdified ``f(X, c)``."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    w = _weights(sample_weight, len(y))
    par = parametrize(expr)
    return X, y, w, par, _lambdify(par.expr, symbols, par.consts)


def refit(expr, symbols, X, y, sample_weight=None) -> tuple[sympy.Expr, float]:
    """Refits every float in ``expr`` (a sympy expression over ``symbols``) on ``(X, y)``
    (arrays (n, d) and (n,), weights (n,) or None); returns ``(expr, rss)``."""
    X, y, w, par, f = prepare_fit(expr, symbols, X, y, sample_weight)
    c, rss = solve_constants(f, X, y, w, par.values, np.arange(len(par.consts)))
    return par.substitute(c), rss


def refit_operator(expr, symbols, X, A, b) -> tuple[sympy.Expr, float]:
    """Refits every float in ``expr`` so that ``A @ expr(X)`` matches ``b`` in least
    squares (``A`` a dense or sparse ``(m, n)`` matrix, ``X`` (n, d), ``b`` (m,)): a
    linear functional of the formula, such as its integrals over windows (the weak form of
    an ODE). Returns ``(expr, rss)``."""
    X, b, w, par, f = prepare_fit(expr, symbols, X, b, None)

    def g(X, c):
        return np.asarray(A @ f(X, c), np.float64)

    c, rss = solve_constants(g, X, b, w, par.values, np.arange(len(par.consts)))
    return par.substitute(c), rss


def loo_residuals(expr, symbols, X, y, sample_weight=None) -> np.ndarray:
    """Leave-one-out residuals: ``expr`` refit without sample ``i``, minus ``y[i]``
    (arguments as :func:`refit`'s).

    For tiny datasets (a handful of planets), where a held-out split would leave too
    little to fit or to judge. NaN everywhere when ``expr`` has ``n - 1`` constants or more.
    """
    X, y, w, par, f = prepare_fit(expr, symbols, X, y, sample_weight)
    free = np.arange(len(par.consts))
    if len(free) >= len(y) - 1:  # it can interpolate the n - 1 points: nothing to judge by
        return np.full(len(y), np.nan)
    out = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        c, _ = solve_constants(f, X[keep], y[keep], w[keep], par.values, free)
        out[i] = f(X[i : i + 1], c)[0] - y[i]
    return out


def drop_terms(
    expr, symbols, X, y, sample_weight=None, *, z=4.0, rel_floor=1e-7, below=0.1, deadline=None
) -> sympy.Expr:
    """Removes groups of small terms the data cannot tell apart from zero.

    Noise leaves spurious small terms (``q*(Ef + B*v*sin(theta) + 0.008*theta - 0.04)``)
    that :func:`round_constants` cannot remove one at a time: the refit of the others
    compensates each. Here, for every sum in ``expr``, the terms whose removal changes the
    formula by less than ``below`` x rms(y) are dropped *together* -- the k smallest, for
    the largest k that passes -- with the remaining constants refit, when
    ``RSS_new <= RSS + z * k * sigma2`` (``sigma2 = RSS / (n - p)``, floored as in
    :func:`round_constants`): an F-test on the group. Returns the formula with the accepted
    removals, refit; unchanged when none passes.
    Arguments as :func:`round_constants`'s (``z``, ``rel_floor``, ``deadline``).
    """
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    w = _weights(sample_weight, len(y))
    n = len(y)
    ms_y = float(np.average(y * y, weights=w))
    floor = rss_at(rel_floor, y, w)

    def fit(e):
        e, rss = refit(e, symbols, X, y, w)
        return e, rss, len(e.atoms(sympy.Float))

    with np.errstate(all="ignore"):
        expr, rss, p = fit(expr)
        if not math.isfinite(rss):
            return expr
        changed = True
        while changed:
            changed = False
            base = evaluate(expr, symbols, X)
            for node in [a for a in sympy.preorder_traversal(expr) if a.is_Add]:
                if deadline is not None and time.monotonic() > deadline:
                    return expr
                sizes = []
                for t in node.args:
                    rest = expr.xreplace({node: node - t})
                    d = np.broadcast_to(evaluate(rest, symbols, X) - base, (n,))
                    size = math.sqrt(float(np.average(d * d, weights=w)) / ms_y)
                    if math.isfinite(size) and size < below:
                        sizes.append((size, t))
                sizes.sort(key=lambda st: st[0])
                small = [t for _, t in sizes][: len(node.args) - 1]  # never the whole sum
                sigma2 = noise_variance(rss, n, p, floor)
                for k in range(len(small), 0, -1):
                    kept = [t for t in node.args if t not in small[:k]]
                    new, rss_new, p_new = fit(expr.xreplace({node: node.func(*kept)}))
                    # each dropped term frees at least its coefficient
                    if math.isfinite(rss_new) and rss_new <= rss + z * max(p - p_new, k) * sigma2:
                        expr, rss, p, changed = new, rss_new, p_new, True
                        break
                if changed:
                    break  # the tree changed: walk the new one
    return expr

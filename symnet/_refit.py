"""Constant refitting and gradient-checked rounding of a formula's constants, in float64.

A formula ``f(x; c)`` is *parametrised* by replacing each float in it with a symbol
``c_k``. Refitting solves ``min_c sum_i w_i (f(x_i; c) - y_i)**2`` with Levenberg–Marquardt
(scipy's MINPACK ``lm``; ``trf`` when there are fewer samples than constants). Rounding tries,
constant by constant, simpler values (0, integers, simple fractions, rational multiples of
pi), refits the remaining constants and accepts the simpler value when the residual sum of
squares grows by no more than a chi-square-style margin,
``RSS_new <= RSS_old + z * sigma2`` with ``sigma2 = RSS_old / (n - p)`` floored at
``(rel_floor * rms(y))**2``: a rounding is accepted when the data cannot tell it apart.
It is also accepted when it is *practically* negligible, moving the fit's RMS error by
less than ``rel_tol * rms(y)`` in all (``RSS_new <= RSS_0 + (rel_tol * rms(y))**2 * sum(w)``
with ``RSS_0`` the RSS before any rounding):
real data carry small systematic effects (Kepler's planets are not massless) that a
purely statistical test would keep as an exponent of 1.50036 instead of 3/2.
Fractions with denominators 5 to 12 (``20/7``) are tried last and only where the fit has
pinned the constant to them (relative distance <= ``FRACTION_RTOL``, statistical margin
only): among so many fractions a noisy constant would otherwise often find a wrong one.
A first pass over all constants takes only pinned values, so a redundant parametrisation
(``k*sqrt(a*u - b*v)``) cannot trade a pinned ``8*pi/3`` for a nearby simple ``8``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import scipy.optimize
import sympy

__all__ = [
    "drop_terms",
    "evaluate",
    "loo_residuals",
    "Parametrized",
    "parametrize",
    "refit",
    "round_constants",
    "simpler_values",
]


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


def _rss(pred, y, w):
    r = pred - y
    if not np.all(np.isfinite(r)):
        return math.inf
    return float(np.sum(w * r * r))


def _solve(f, X, y, w, c0, free, iters: int = 50):
    """Least squares over the ``free`` entries of ``c0``; returns ``(c, rss)``.

    ``iters`` caps MINPACK's residual evaluations (each finite-difference Jacobian costs
    ``len(free)`` more): refits start near the optimum, so a few dozen suffice.

    Never returns a worse point than ``c0``.
    """
    c0 = np.asarray(c0, dtype=np.float64)
    rss0 = _rss(f(X, c0), y, w)
    if len(free) == 0:
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
    rss = _rss(f(X, c), y, w)
    return (c, rss) if rss <= rss0 else (c0, rss0)


def _curvature(f, X, w, c):
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


def _rss_of(rel: float, y, w) -> float:
    """The weighted RSS of an error of ``rel`` x rms(y) at every sample."""
    return rel**2 * float(np.average(y * y, weights=w)) * float(np.sum(w))


def _sigma2(rss: float, n: int, p: int, floor: float) -> float:
    """Noise variance estimate ``rss / (n - p)``, floored at ``floor / n``."""
    return max(rss / max(n - p, 1), floor / max(n, 1))


def _weights(w, n):
    return np.ones(n) if w is None else np.asarray(w, np.float64)


def _prepare(expr, symbols, X, y, sample_weight):
    """float64 data and weights, ``expr`` parametrised, and its lambdified ``f(X, c)``."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    w = _weights(sample_weight, len(y))
    par = parametrize(expr)
    return X, y, w, par, _lambdify(par.expr, symbols, par.consts)


def refit(expr, symbols, X, y, sample_weight=None) -> tuple[sympy.Expr, float]:
    """Refits every float in ``expr`` (a sympy expression over ``symbols``) on ``(X, y)``
    (arrays (n, d) and (n,), weights (n,) or None); returns ``(expr, rss)``."""
    X, y, w, par, f = _prepare(expr, symbols, X, y, sample_weight)
    c, rss = _solve(f, X, y, w, par.values, np.arange(len(par.consts)))
    return par.substitute(c), rss


def refit_operator(expr, symbols, X, A, b) -> tuple[sympy.Expr, float]:
    """Refits every float in ``expr`` so that ``A @ expr(X)`` matches ``b`` in least
    squares (``A`` a dense or sparse ``(m, n)`` matrix, ``X`` (n, d), ``b`` (m,)): a
    linear functional of the formula, such as its integrals over windows (the weak form of
    an ODE). Returns ``(expr, rss)``."""
    X, b, w, par, f = _prepare(expr, symbols, X, b, None)

    def g(X, c):
        return np.asarray(A @ f(X, c), np.float64)

    c, rss = _solve(g, X, b, w, par.values, np.arange(len(par.consts)))
    return par.substitute(c), rss


def loo_residuals(expr, symbols, X, y, sample_weight=None) -> np.ndarray:
    """Leave-one-out residuals: ``expr`` refit without sample ``i``, minus ``y[i]``
    (arguments as :func:`refit`'s).

    For tiny datasets (a handful of planets), where a held-out split would leave too
    little to fit or to judge. NaN everywhere when ``expr`` has ``n - 1`` constants or more.
    """
    X, y, w, par, f = _prepare(expr, symbols, X, y, sample_weight)
    free = np.arange(len(par.consts))
    if len(free) >= len(y) - 1:  # it can interpolate the n - 1 points: nothing to judge by
        return np.full(len(y), np.nan)
    out = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        c, _ = _solve(f, X[keep], y[keep], w[keep], par.values, free)
        out[i] = f(X[i : i + 1], c)[0] - y[i]
    return out


def simpler_values(v: float) -> list[tuple[sympy.Expr, bool]]:
    """Simpler values near ``v``, simplest first, each with whether it is *simple*.

    Simple: 0, fractions with denominators up to 4, ``pi`` and ``pi**2`` times such
    fractions, unit fractions ``1/n`` (n <= 12). Fractions with denominators 5 to 12
    (``20/7``, ``8/3`` is simple already) and the multiples of :data:`PINNED_MULTIPLES`
    (``4*pi/3``, ``1/(2*pi)``, ``3/(8*pi)``, ``1/pi**2``) are not simple: they are only
    taken where the fit pins the constant to them (see :func:`round_constants`). A value
    the fit pins (within ``FRACTION_RTOL``) comes first: ``9.8696044`` is ``pi**2``, not
    ``10`` with the other constants refit around it.
    """
    out: list[tuple[sympy.Expr, bool]] = [(sympy.Integer(0), True)]
    scale = max(1.0, abs(v))
    for den in (1, 2, 3, 4):
        fr = Fraction(round(v * den), den)
        out.append((sympy.Rational(fr.numerator, fr.denominator), True))
    for const in (sympy.pi, sympy.pi**2):
        for den in (1, 2, 4):
            fr = Fraction(round(v / float(const) * den), den)
            if fr != 0:
                out.append((sympy.Rational(fr.numerator, fr.denominator) * const, True))
    if v != 0 and 1 <= abs(1 / v) <= 12:
        out.append((sympy.Rational(1, int(round(1 / v))), True))
    # Only where pinned: 4*pi/3, 1/(8*pi), 3/(8*pi), 1/pi**2.
    for const, dens in PINNED_MULTIPLES:
        for den in dens:
            fr = Fraction(round(v / float(const) * den), den)
            if fr != 0:
                out.append((sympy.Rational(fr.numerator, fr.denominator) * const, False))
    for den in range(5, 13):
        fr = Fraction(round(v * den), den)
        out.append((sympy.Rational(fr.numerator, fr.denominator), False))
    seen, uniq = set(), []
    for cand, simple in out:
        cv = float(cand)
        if cv in seen or (cv != 0 and abs(cv - v) > 0.25 * scale):
            continue
        seen.add(cv)
        uniq.append((cand, simple))
    pinned = [c for c in uniq if abs(float(c[0]) - v) <= FRACTION_RTOL * abs(v)]
    return pinned + [c for c in uniq if c not in pinned]


#: Multiples ``(k/den) * const`` of these tried only where the fit pins them.
PINNED_MULTIPLES = (
    (sympy.pi, (3, 6, 8)),
    (1 / sympy.pi, (1, 2, 3, 4, 8, 16)),
    (sympy.pi**2, (3, 8)),
    (1 / sympy.pi**2, (1, 2, 4)),
)

#: A non-simple fraction replaces a constant only within this relative distance of it.
FRACTION_RTOL = 1e-6


def round_constants(
    expr: sympy.Expr,
    symbols: Sequence[sympy.Symbol],
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    z: float = 4.0,
    rel_floor: float = 1e-7,
    rel_tol: float = 5e-4,
    deadline: float | None = None,
) -> sympy.Expr:
    """Rounds constants to simpler values the data cannot distinguish (see module doc).

    ``deadline`` (a ``time.monotonic()`` value) stops the search early; constants not yet
    tried keep their fitted values.
    """
    if not expr.atoms(sympy.Float):
        return expr
    X, y, w, par, f = _prepare(expr, symbols, X, y, sample_weight)
    p = len(par.consts)
    values = par.values.copy()
    rss = _rss(f(X, values), y, w)
    if not math.isfinite(rss):
        return expr
    n = len(y)
    floor, negligible = _rss_of(rel_floor, y, w), _rss_of(rel_tol, y, w)
    rss0 = rss
    fixed: dict[int, sympy.Expr] = {}
    cost = _curvature(f, X, w, values)
    # Constants with the largest magnitude first: rounding them rarely needs the others.
    # A first pass takes only the values the fit pins (``8.37758 = 8*pi/3``), so that a
    # redundant parametrisation cannot trade a pinned value for a nearby simple one
    # (``8``, the other constants refit around it).
    order = sorted(range(p), key=lambda k: -abs(values[k]))
    for pinned_only, k in [(True, k) for k in order] + [(False, k) for k in order]:
        sigma2 = _sigma2(rss, n, p - len(fixed), floor)
        if deadline is not None and time.monotonic() > deadline:
            break
        if k in fixed:
            continue
        for cand, simple in simpler_values(values[k]):
            delta = float(cand) - values[k]
            if pinned_only and abs(delta) > FRACTION_RTOL * abs(values[k]):
                continue
            if not simple and abs(delta) > FRACTION_RTOL * max(1.0, abs(values[k])):
                continue
            # Linearised RSS increase; only plausible roundings pay for a refit.
            # Statistical margin per rounding; the practical one is a total budget.
            margin = max(z * sigma2, rss0 + negligible - rss) if simple else z * sigma2
            if delta**2 * cost[k] > 100 * margin:
                continue
            trial = values.copy()
            trial[k] = float(cand)
            free = np.array([j for j in range(p) if j not in fixed and j != k], dtype=int)
            c, rss_new = _solve(f, X, y, w, trial, free, iters=20)
            if rss_new <= rss + margin:
                fixed[k] = cand
                values, rss = c, rss_new
                cost = _curvature(f, X, w, values)
                break
    reps = {}
    for k, cst in enumerate(par.consts):
        reps[cst] = fixed.get(k, sympy.Float(float(values[k])))
    return par.expr.xreplace(reps)


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
    floor = _rss_of(rel_floor, y, w)

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
                sigma2 = _sigma2(rss, n, p, floor)
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

"""Gradient-checked rounding of a formula's constants, in float64.

Rounding tries, constant by constant, simpler values (0, integers, simple fractions,
rational multiples of pi), refits the remaining constants (:mod:`symnet._refit`) and
accepts the simpler value when the residual sum of squares grows by no more than a
chi-square-style margin,
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

import math
import time
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import sympy

from symnet._refit import (
    curvature,
    noise_variance,
    prepare_fit,
    rss_at,
    solve_constants,
    weighted_rss,
)

__all__ = ["FRACTION_RTOL", "PINNED_MULTIPLES", "round_constants", "simpler_values"]


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
    X, y, w, par, f = prepare_fit(expr, symbols, X, y, sample_weight)
    p = len(par.consts)
    values = par.values.copy()
    rss = weighted_rss(f(X, values), y, w)
    if not math.isfinite(rss):
        return expr
    n = len(y)
    floor, negligible = rss_at(rel_floor, y, w), rss_at(rel_tol, y, w)
    rss0 = rss
    fixed: dict[int, sympy.Expr] = {}
    cost = curvature(f, X, w, values)
    # Constants with the largest magnitude first: rounding them rarely needs the others.
    # A first pass takes only the values the fit pins (``8.37758 = 8*pi/3``), so that a
    # redundant parametrisation cannot trade a pinned value for a nearby simple one
    # (``8``, the other constants refit around it).
    order = sorted(range(p), key=lambda k: -abs(values[k]))
    for pinned_only, k in [(True, k) for k in order] + [(False, k) for k in order]:
        sigma2 = noise_variance(rss, n, p - len(fixed), floor)
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
            c, rss_new = solve_constants(f, X, y, w, trial, free, iters=20)
            if rss_new <= rss + margin:
                fixed[k] = cand
                values, rss = c, rss_new
                cost = curvature(f, X, w, values)
                break
    reps = {}
    for k, cst in enumerate(par.consts):
        reps[cst] = fixed.get(k, sympy.Float(float(values[k])))
    return par.expr.xreplace(reps)

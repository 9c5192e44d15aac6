"""Polishing a refit formula: canonical form, refit, rounding, until it stops changing."""

from __future__ import annotations

import math
import time

import numpy as np
import sympy

from symnet._refit import refit, round_constants
from symnet._sympy_utils import SYMPY_FAILURES, bounded_simplify

__all__ = ["polish"]


def _normalise_quotient(expr: sympy.Expr) -> sympy.Expr:
    """``N / D`` with ``D``'s largest numeric coefficient divided out of both.

    A quotient's scale is redundant (``(c*a + c*b) / (c*m1 + c*m2)`` for any ``c``); the
    read-out of a rational network leaves it arbitrary, often tiny, and rounding then sees
    near-zero constants instead of the simple ones the formula has.
    """
    if not expr.is_Mul:
        return expr
    num, den = expr.as_numer_denom()
    if not den.is_Add:
        return expr
    coeffs = [t.as_coeff_Mul()[0] for t in den.args]
    c = max(coeffs, key=lambda v: abs(float(v)))
    if not c.is_Float or c == 0:
        return expr
    return sympy.expand(num / c) / sympy.expand(den / c)


def polish(expr, symbols, X, y, w, seconds, deadline=None, rounds: int = 3):
    """Canonicalise, refit, round; repeated until the formula stops changing.

    Rounding one of two redundant constants (``a * (b * x)``) changes nothing, so each
    round first merges constants (``expand_mul`` + bounded ``simplify``) and refits. Stops
    early at ``deadline`` (a ``time.monotonic()`` value), keeping the last complete form;
    a round that sympy itself fails on (see :data:`SYMPY_FAILURES`) also keeps it.
    Simplification treats inputs that are positive at every sample as positive
    (``sqrt(c**2) = c`` there), so the formula is unchanged on the data.
    """
    pos = {
        s: sympy.Symbol(s.name, positive=True)
        for i, s in enumerate(symbols)
        if np.all(np.asarray(X)[:, i] > 0)
    }
    unpos = {p: s for s, p in pos.items()}
    for _ in range(rounds):
        left = math.inf if deadline is None else deadline - time.monotonic()
        if left <= 0:
            break
        before = expr
        try:
            simple = bounded_simplify(sympy.expand_mul(expr).xreplace(pos), min(seconds, left))
            trial = _normalise_quotient(simple.xreplace(unpos))
            trial, _ = refit(trial, symbols, X, y, w)
            expr = round_constants(trial, symbols, X, y, w, deadline=deadline)
        except SYMPY_FAILURES:
            break
        if expr == before:
            break
    return expr

"""Exact rationals: sympy <-> fractions, and the integer form of exponent vectors."""

from __future__ import annotations

import math
from fractions import Fraction

import sympy

__all__ = ["fraction", "integral", "rational"]


def rational(q: Fraction) -> sympy.Rational:
    """``q`` as a sympy rational."""
    return sympy.Rational(q.numerator, q.denominator)


def fraction(r) -> Fraction:
    """A sympy rational (or anything ``sympy.Rational`` takes exactly) as a fraction."""
    r = sympy.Rational(r)
    return Fraction(int(r.p), int(r.q))


def integral(v: list[Fraction]) -> list[Fraction]:
    """``v`` scaled to coprime integers, its first non-zero entry positive.

    >>> integral([Fraction(1, 2), Fraction(-1, 3)])
    [Fraction(3, 1), Fraction(-2, 1)]
    """
    lcm = 1
    for q in v:
        lcm = lcm * q.denominator // math.gcd(lcm, q.denominator)
    ints = [int(q * lcm) for q in v]
    g = math.gcd(*[abs(i) for i in ints if i]) or 1
    sign = 1 if next(i for i in ints if i) > 0 else -1
    return [Fraction(sign * i, g) for i in ints]

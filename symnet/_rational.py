"""Exact rational vectors: the integer form of exponent vectors (groups of variables)."""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["integral"]


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

r"""Extreme magnitudes brought to order 1 by exact powers of two.

Training runs in float32 (largest finite value about :math:`3.4 \\cdot 10^{38}`, smallest
normal :math:`1.2 \\cdot 10^{-38}`): inputs near :math:`10^{300}` or :math:`10^{-300}`
become ``inf`` or 0 there. Well before that, a network cannot learn from an input: a
charge of order :math:`10^{-10}` times a mobility of order :math:`10^{-5}` (SRSD's
``I.43.16``) needs weights near :math:`10^{15}`, and the search returned a constant; an
area near :math:`10^{-2}` and temperatures near :math:`10^3` (``II.2.42``) were no better. An
input column whose largest magnitude :math:`m` lies outside ``X_BAND`` (the target: outside
``Y_BAND``; its scale matters to float32's range only, losses being normalised) is divided by
:math:`s = 2^{\\mathrm{round}(\\log_2 m)}`, so its values are of order 1; every other column
keeps :math:`s = 1` (the data of ordinary problems, and the constants their formulas are
rounded to, are left as they are). The whole search (training, float64 refits, polishing)
then runs on the scaled data, and a formula :math:`\\tilde f(\\tilde x)` found there is the
formula :math:`f(x) = s_y \\tilde f(x_1 / s_1, \\dots, x_d / s_d)` of the data: multiplying
by a power of two is exact in floating point, so the translation changes no digit.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import sympy

__all__ = ["X_BAND", "Y_BAND", "Scaling"]

#: Input columns whose largest magnitude lies in this range are not scaled (1/16 to 64):
#: SRSD's areas near 1e-2 and temperatures near 1e3 (``II.2.42``) trained to a constant.
X_BAND = (2.0**-4, 2.0**6)
#: The target is not scaled when its largest magnitude lies in this range.
Y_BAND = (2.0**-30, 2.0**30)
#: Floats ``m * 2**k`` with odd ``|m|`` at most this are rationals after translation.
MAX_ODD = 15


def _power_of_two(values: np.ndarray, band: tuple[float, float]) -> int:
    """``k`` with ``values / 2**k`` of order 1, or 0 when no scaling is needed."""
    m = float(np.max(np.abs(values))) if values.size else 0.0
    if m == 0.0 or band[0] <= m <= band[1]:
        return 0
    return round(math.log2(m))


class Scaling(NamedTuple):
    """Powers of two dividing each input column (``x``) and the target (``y``)."""

    x: tuple[int, ...]
    y: int

    @classmethod
    def of(cls, X: np.ndarray, y: np.ndarray) -> Scaling:
        """The scaling of ``(X, y)`` (all exponents 0 for data of ordinary magnitude)."""
        x = tuple(_power_of_two(X[:, j], X_BAND) for j in range(X.shape[1]))
        return cls(x, _power_of_two(y, Y_BAND))

    @property
    def identity(self) -> bool:
        return self.y == 0 and not any(self.x)

    def apply(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(X / 2**x, y / 2**y)``, exactly (``np.ldexp``)."""
        if self.identity:
            return X, y
        return np.ldexp(X, -np.asarray(self.x, dtype=int)), np.ldexp(y, -self.y)

    def forward(self, expr: sympy.Expr, symbols) -> sympy.Expr:
        """The inverse of :meth:`back`: a formula over the data as one over the scaled
        data, :math:`2^{-k_y} f(\\tilde x_1 2^{k_1}, \\dots)` (to evaluate a formula whose
        constants float64 cannot hold, e.g. :math:`10^{600} x_1 x_2` at
        :math:`x \\approx 10^{-300}`, in the scaled units where they cancel)."""
        if self.identity:
            return expr
        sub = {s: s * _two(k) for s, k in zip(symbols, self.x, strict=True) if k}
        return expr.xreplace(sub) * _two(-self.y)

    def predict(self, expr: sympy.Expr, symbols, X: np.ndarray, evaluate) -> np.ndarray:
        """``expr`` (over the data) at ``X``, evaluated in the scaled units with
        ``evaluate(expr, symbols, X)`` and scaled back exactly."""
        if self.identity:
            return evaluate(expr, symbols, X)
        scaled = np.ldexp(X, -np.asarray(self.x, dtype=int))
        return np.ldexp(evaluate(self.forward(expr, symbols), symbols, scaled), self.y)

    def back(self, expr: sympy.Expr, symbols) -> sympy.Expr:
        """A formula over the scaled data as a formula over the data:
        :math:`2^{k_y} \\tilde f(x_1 / 2^{k_1}, \\dots)`.

        Example:
          >>> import sympy
          >>> x = sympy.Symbol("x")
          >>> Scaling(x=(100,), y=-3).back(3 * x, [x])
          2.95822839457879e-31*x
        """
        if self.identity:
            return expr
        return _dyadic_rationals(self.back_inputs(expr, symbols) * _two(self.y))

    def back_inputs(self, expr: sympy.Expr, symbols) -> sympy.Expr:
        """An expression of the scaled inputs as one of the inputs, :math:`\tilde x_j =
        x_j / 2^{k_j}` substituted (the target's scale left alone)."""
        sub = {s: s * _two(-k) for s, k in zip(symbols, self.x, strict=True) if k}
        return expr.xreplace(sub)


def _dyadic_rationals(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with every float that is exactly a small odd integer times a moderate power
    of two (``1.0``, ``0.5``, ``0.0009765625``: a simple constant of the scaled search
    translated back) made a rational, and common factors collected
    (``1024*(T2/1024 - T1/1024)`` is ``T2 - T1``); other floats are left as they are."""
    sub = {}
    for f in expr.atoms(sympy.Float):
        if not math.isfinite(float(f)):
            continue  # beyond float64 (1e600 over inputs near 1e-300): kept
        q = Fraction(float(f))
        n = abs(q.numerator)
        odd = n >> ((n & -n).bit_length() - 1) if n else 0
        if odd <= MAX_ODD and q.denominator <= 2**30 and abs(q) <= 2**40:
            sub[f] = sympy.Rational(q.numerator, q.denominator)
    return sympy.factor_terms(expr.xreplace(sub)) if sub else expr


def _two(k: int) -> sympy.Expr:
    """:math:`2^k` as a (binary-exact) sympy Float; 1 for ``k = 0``."""
    return sympy.Integer(1) if k == 0 else sympy.Float(math.ldexp(1.0, k))

"""Is a distilled formula a linear transform of a known law? (Cranmer et al. 2020's check)

A graph network's message component need not equal the force: any invertible linear map
of it (plus a constant the next layer absorbs) serves the network as well. So a formula
``f`` distilled from a message recovers a law with components ``B_1, ..., B_m`` (e.g. the
force ``(Fx, Fy)``) if

    f = c_1 B_1 + ... + c_m B_m + c_0                                            (*)

for constants ``c``. Two checks:

* numeric: the R^2 of the least-squares map ``(B, 1) -> f`` on sample points;
* symbolic: the formula, scaled so that its largest fitted ``|c_k|`` is 1 and written as
  an expanded numerator over an expanded denominator whose largest coefficient is 1 (each
  term with its own coefficient, on a common scale), has its floats rounded (SRBench: 3 decimals,
  ``|c| < 1e-4`` dropped) and made exact rationals; the map
  is fitted again on the *rounded* formula and its coefficients made rationals (they are
  short fractions when (*) holds); then ``f_rounded - sum_k c_k B_k`` must simplify to a
  constant. Only the formula is rounded, never the law. Simplification may use
  ``positive`` symbols and ``substitutions`` (e.g. ``r -> sqrt(dx**2 + dy**2)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import sympy

from symnet._refit import evaluate
from symnet._sympy_utils import SYMPY_FAILURES, round_floats, time_limit

__all__ = ["LinearEquivalence", "linear_equivalence"]

#: Largest denominator of the rational coefficients fitted to the rounded formula.
MAX_DENOMINATOR = 10**6


@dataclasses.dataclass(frozen=True)
class LinearEquivalence:
    """Result of :func:`linear_equivalence`.

    Attributes:
      r2: R^2 of the least-squares map ``(B, 1) -> formula`` on the sample points.
      coef: its coefficients ``(c_1, ..., c_m, c_0)`` (floats, formula's own scale).
      equivalent: the rounded formula minus ``sum_k c_k B_k`` simplified to a constant.
      rounded: the scaled, rounded formula that was compared.
      residual: ``rounded - sum_k c_k B_k`` after simplification (a number if equivalent);
        None when simplification failed or timed out.
    """

    r2: float
    coef: tuple[float, ...]
    equivalent: bool
    rounded: sympy.Expr
    residual: sympy.Expr | None


def _lstsq(B: np.ndarray, y: np.ndarray):
    A = np.column_stack([B, np.ones(len(y))])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum((y - A @ coef) ** 2))
    return coef, (1.0 - ss_res / ss_tot if ss_tot > 0 else -np.inf)


def _rationalize(expr: sympy.Expr) -> sympy.Expr:
    """Floats as exact rationals of their decimal form (0.123 -> 123/1000)."""
    return expr.xreplace({f: sympy.Rational(repr(float(f))) for f in expr.atoms(sympy.Float)})


def _normalized(expr: sympy.Expr, scale: float, seconds: float) -> sympy.Expr:
    """``expr / scale`` as ``numerator / denominator``, both expanded, the denominator's
    largest coefficient 1: every term carries its own coefficient on a common scale, so
    rounding compares like with like (``(2e-3*x + 1e-5)/(1e-3*y + 2e-5)`` would otherwise
    round to ``2*x/y``)."""
    try:
        with time_limit(seconds):
            num, den = sympy.fraction(sympy.together(expr))
            den = sympy.expand(den)
            lead = 1.0
            if den.free_symbols:
                coeffs = [abs(float(t.as_coeff_Mul()[0])) for t in sympy.Add.make_args(den)]
                lead = max(coeffs) or 1.0
            return sympy.expand(num / (lead * scale)) / sympy.expand(den / lead)
    except SYMPY_FAILURES:
        pass
    try:
        with time_limit(seconds):
            return sympy.expand(expr / scale)
    except SYMPY_FAILURES:
        return expr / scale


def linear_equivalence(
    formula: sympy.Expr,
    basis: Sequence[sympy.Expr],
    symbols: Sequence[sympy.Symbol],
    X: np.ndarray,
    *,
    positive: Sequence[str] = (),
    substitutions: dict | None = None,
    digits: int = 3,
    seconds: float = 10.0,
    min_r2: float | None = None,
) -> LinearEquivalence:
    """Whether ``formula`` equals a linear combination of ``basis`` plus a constant.

    Args:
      formula: the distilled formula over ``symbols``.
      basis: the law's components ``B_k`` over the same symbols (never rounded).
      symbols: the inputs, in the column order of ``X``.
      X: sample points (n, d) for the least-squares fits (e.g. the recorded inputs).
      positive: names of symbols positive on the data (simplification may use it).
      substitutions: tried after a plain comparison fails, e.g. ``{r: sqrt(dx**2+dy**2)}``
        when one input is a function of others.
      digits: decimals kept when rounding the scaled formula.
      seconds: time limit of each simplification.
      min_r2: skip the symbolic check (``equivalent=False``) when the numeric R^2 is
        below this: an exact linear combination has R^2 = 1 up to rounding errors.

    Example:
      >>> x, y = sympy.symbols("x y", positive=True)
      >>> X = np.random.default_rng(0).uniform(1, 2, (50, 2))
      >>> res = linear_equivalence(0.3 * x / y - 0.6 * y + 2.0, [x / y, y], [x, y], X)
      >>> res.equivalent, round(res.r2, 6), [round(c, 6) for c in res.coef]
      (True, 1.0, [0.3, -0.6, 2.0])
      >>> linear_equivalence(0.3 * x * y, [x / y, y], [x, y], X).equivalent
      False
    """
    X = np.asarray(X, np.float64)
    symbols = list(symbols)
    B = np.column_stack([np.broadcast_to(evaluate(b, symbols, X), len(X)) for b in basis])
    with np.errstate(all="ignore"):
        f = np.broadcast_to(np.asarray(evaluate(formula, symbols, X), np.float64), len(X))
    if not np.all(np.isfinite(f)) or not np.all(np.isfinite(B)):
        return LinearEquivalence(-np.inf, (), False, sympy.sympify(formula), None)
    coef, r2 = _lstsq(B, f)
    scale = float(np.max(np.abs(coef[:-1])))
    if not scale > 0 or (min_r2 is not None and not r2 >= min_r2):
        return LinearEquivalence(r2, tuple(map(float, coef)), False, formula, None)
    rounded = _rationalize(
        round_floats(_normalized(sympy.sympify(formula), scale, seconds), digits)
    )
    with np.errstate(all="ignore"):
        f_r = np.broadcast_to(np.asarray(evaluate(rounded, symbols, X), np.float64), len(X))
    equivalent, residual = False, None
    if np.all(np.isfinite(f_r)) and np.ptp(f_r) > 0:
        c_r, _ = _lstsq(B, f_r)
        exact = [
            sympy.Rational(Fraction(float(c)).limit_denominator(MAX_DENOMINATOR)) for c in c_r
        ]
        diff = rounded - sum((c * b for c, b in zip(exact, basis, strict=False)), sympy.S.Zero)
        to_pos = {
            s: sympy.Symbol(s.name, positive=True)
            for s in diff.free_symbols
            if s.name in {str(p) for p in positive}
        }
        back = {v: k for k, v in to_pos.items()}
        candidates = [diff]
        if substitutions:
            candidates.append(diff.subs(substitutions))
        for cand in candidates:
            try:
                with time_limit(seconds):
                    res = sympy.simplify(cand.xreplace(to_pos))
            except SYMPY_FAILURES:
                continue
            residual = res.xreplace(back)
            if not residual.free_symbols:
                equivalent = True
                break
    return LinearEquivalence(r2, tuple(map(float, coef)), equivalent, rounded, residual)

"""Scoring a found formula against a ground truth (SRBench's symbolic-solution check)."""

from __future__ import annotations

import numpy as np
import sympy

from symnet._sympy_utils import SYMPY_FAILURES, round_floats, time_limit

__all__ = ["is_symbolic_solution", "r2_score"]


def _is_const(expr: sympy.Expr) -> bool:
    return len(expr.free_symbols) == 0


def _finite_const(expr: sympy.Expr) -> bool:
    return _is_const(expr) and not expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)


def _shows(diff: sympy.Expr, ratio: sympy.Expr | None, seconds: float) -> bool:
    """``diff`` simplifies to a finite constant, or ``ratio`` to a finite non-zero one."""
    try:
        with time_limit(seconds):
            if _finite_const(sympy.simplify(diff)):
                return True
    except SYMPY_FAILURES:
        pass
    if ratio is None:
        return False
    try:
        with time_limit(seconds):
            ratio = sympy.simplify(ratio)
            return _finite_const(ratio) and ratio != 0
    except SYMPY_FAILURES:
        return False


def is_symbolic_solution(
    model: sympy.Expr, truth: sympy.Expr, *, seconds: float = 10.0, positive=()
) -> bool:
    """SRBench: a non-constant ``model`` solves ``truth`` if ``truth - model`` simplifies to
    a constant, or ``model / truth`` to a non-zero constant, with floats rounded to 3
    decimals and ``|c| < 1e-4`` zeroed. Rounding is tried in three orders, and any
    suffices: the model's floats first; (as SRBench's ``assess_symbolic_model.py``)
    the floats of the difference and of the ratio, where the truth's own constants cancel
    the model's (``0.333333333*x`` solves ``x/3``, ``2.6667*z`` solves ``2.6667*z``);
    and the floats of the difference with its products multiplied out, so that a
    constant the truth writes as a product of parameters meets the model's one constant
    (``x*(0.79 - 0.0106325708*x)`` solves ``0.79*x*(1 - 0.0134589502*x)``).
    The rounded model, and the simplified difference or ratio, must be finite (zeroing a
    tiny constant inside ``log`` must not make a surrogate "constant"). Each
    simplification is time-limited; a timeout counts as "not shown equivalent".

    ``positive`` names variables that are positive on the task's domain (sampling ranges
    above 0): simplification may then use it, so ``log(V2) - log(V1)`` solves
    ``log(V2/V1)`` and ``sqrt(x**2)`` solves ``x``, as they do on that domain.

    Example:
      >>> x = sympy.Symbol("x")
      >>> is_symbolic_solution(sympy.sin(x) + 3.0000001, sympy.sin(x))
      True
      >>> is_symbolic_solution(2.0000001 * sympy.sin(x), sympy.sin(x))
      True
      >>> is_symbolic_solution(2 * sympy.sin(x) + 3, sympy.sin(x))
      False
      >>> is_symbolic_solution(x**2, sympy.sin(x))
      False
      >>> is_symbolic_solution(0.333333333 * x + 1, x / 3)
      True
      >>> is_symbolic_solution(x * (0.79 - 0.0106325708 * x), 0.79 * x * (1 - 0.0134589502 * x))
      True
      >>> v, w = sympy.symbols("v w", real=True)
      >>> is_symbolic_solution(sympy.log(v) - sympy.log(w), sympy.log(v / w))
      False
      >>> is_symbolic_solution(sympy.log(v) - sympy.log(w), sympy.log(v / w), positive="vw")
      True
    """
    model = sympy.sympify(model)
    truth = sympy.sympify(truth)
    names = {str(p) for p in positive}
    if names:
        to_pos = {
            s: sympy.Symbol(s.name, positive=True)
            for s in model.free_symbols | truth.free_symbols
            if s.name in names
        }
        model, truth = model.xreplace(to_pos), truth.xreplace(to_pos)
    if _solves(model, truth, seconds):
        return True
    # the same formulas in a normal form: constant factors inside sums and roots, pi a float
    try:
        with time_limit(seconds):
            normal = (
                _fold_constants(model),
                truth.xreplace({c: sympy.Float(c, 30) for c in truth.atoms(sympy.NumberSymbol)}),
            )
    except SYMPY_FAILURES:
        return False
    return normal != (model, truth) and _solves(*normal, seconds)


def _fold_constants(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with each product's denominators scaled to a largest coefficient of 1 and
    its number ``c`` moved into its one sum ``b`` (``c*b*r`` as ``(c*b)*r``) or, for
    ``c > 0``, into its one fractional power of a sum (``c*b**p*r`` as
    ``(c**(1/p)*b)**p*r``), the sum multiplied out: constants that
    rounding to 3 decimals zeroes apart survive together (``458.4*sqrt(5.3e-23*x**2 -
    4.7e-5)`` is ``sqrt(1.1e-17*x**2 - 9.87)``; SRSD B9 as found,
    ``5.3e-51*m1**2*m2**2*(-9.8e-33*m1 - 9.8e-33*m2)/r**5``, has the law's ``-5.2e-83``;
    I.32.17's ``5.0e-29*x/(4.5e-27*w**2 - 9.1e-27*w0**2 + ...)`` has its ``0.0111``)."""

    def fold(m):
        c, rest = m.as_coeff_Mul()
        args = []
        for a in sympy.Mul.make_args(rest):  # denominators with a largest coefficient of 1
            if a.is_Pow and a.exp.is_Integer and a.exp < 0 and a.base.is_Add:
                top = max(abs(t.as_coeff_Mul()[0]) for t in a.base.args)
                if top.is_Float and top != 1:
                    c, a = c * top**a.exp, sympy.Pow(sympy.expand(a.base / top), a.exp)
            args.append(a)
        if not (c.is_Number and c != 1):
            return sympy.Mul(c, *args)
        sums = [a for a in args if a.is_Add]
        roots = [
            a
            for a in args
            if a.is_Pow and a.exp.is_Rational and not a.exp.is_integer and a.base.is_Add
        ]
        if len(sums) == 1:
            (target,) = sums
            new = sympy.expand(c * target)
        elif len(roots) == 1 and c > 0:
            (target,) = roots
            new = sympy.Pow(sympy.expand(c ** (1 / target.exp) * target.base), target.exp)
        else:
            return sympy.Mul(c, *args)
        return sympy.Mul(new, *(a for a in args if a is not target))

    return expr.replace(lambda e: e.is_Mul, fold)


def _solves(model: sympy.Expr, truth: sympy.Expr, seconds: float) -> bool:
    """The checks of :func:`is_symbolic_solution` on one form of ``model`` and ``truth``."""
    rounded = round_floats(model)
    if rounded.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) or _is_const(rounded):
        return False
    if _shows(truth - rounded, rounded / truth, seconds):
        return True
    if _shows(round_floats(truth - model), round_floats(model / truth), seconds):
        return True
    try:
        with time_limit(seconds):
            expanded = sympy.expand_mul(truth - model)
    except SYMPY_FAILURES:
        return False
    return _shows(round_floats(expanded), None, seconds)


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination; ``-inf`` when ``pred`` has non-finite entries."""
    y = np.asarray(y, np.float64).ravel()
    pred = np.asarray(pred, np.float64).ravel()
    if not np.all(np.isfinite(pred)):
        return -np.inf
    ss_res = float(np.sum((y - pred) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else -np.inf)

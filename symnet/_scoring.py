"""Scoring a found formula against a ground truth (SRBench's symbolic-solution check)."""

from __future__ import annotations

import numpy as np
import sympy

from symnet._sympy_utils import SYMPY_FAILURES, round_floats, time_limit

__all__ = ["is_symbolic_solution", "r2_score"]


def _is_const(expr: sympy.Expr) -> bool:
    return len(expr.free_symbols) == 0


def is_symbolic_solution(
    model: sympy.Expr, truth: sympy.Expr, *, seconds: float = 10.0, positive=()
) -> bool:
    """SRBench: a non-constant ``model`` solves ``truth`` if ``truth - model`` simplifies to
    a constant, or ``model / truth`` to a non-zero constant, after rounding the model's
    floats to 3 decimals and zeroing ``|c| < 1e-4``. Each simplification is time-limited;
    a timeout counts as "not shown equivalent".

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
      >>> v, w = sympy.symbols("v w", real=True)
      >>> is_symbolic_solution(sympy.log(v) - sympy.log(w), sympy.log(v / w))
      False
      >>> is_symbolic_solution(sympy.log(v) - sympy.log(w), sympy.log(v / w), positive="vw")
      True
    """
    model = round_floats(sympy.sympify(model))
    truth = sympy.sympify(truth)
    names = {str(p) for p in positive}
    if names:
        to_pos = {
            s: sympy.Symbol(s.name, positive=True)
            for s in model.free_symbols | truth.free_symbols
            if s.name in names
        }
        model, truth = model.xreplace(to_pos), truth.xreplace(to_pos)
    if model.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) or _is_const(model):
        return False
    try:
        with time_limit(seconds):
            if _is_const(sympy.simplify(truth - model)):
                return True
    except SYMPY_FAILURES:
        pass
    try:
        with time_limit(seconds):
            ratio = sympy.simplify(model / truth)
            return _is_const(ratio) and ratio != 0
    except SYMPY_FAILURES:
        return False


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination; ``-inf`` when ``pred`` has non-finite entries."""
    y = np.asarray(y, np.float64).ravel()
    pred = np.asarray(pred, np.float64).ravel()
    if not np.all(np.isfinite(pred)):
        return -np.inf
    ss_res = float(np.sum((y - pred) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else -np.inf)

"""Parse formulas into sympy and compile them to float64 numpy callables.

A formula (a benchmark target or the right-hand side of a :class:`System`) is a string
over a list of variable names. Every variable becomes ``sympy.Symbol(name, real=True)``;
names that shadow sympy objects (``gamma``, ``beta``, ``I``, ``E_n``, ``S`` ...) are safe
because they are passed in the parser's local dictionary. A variable named after a Python
keyword (e.g. ``lambda``) is renamed to a placeholder in the string before parsing and
mapped back to a symbol with its true name.
The numpy-style names ``arcsin``, ``arccos``, ``arctan`` and ``ln`` mean
:math:`\\sin^{-1}`, :math:`\\cos^{-1}`, :math:`\\tan^{-1}` and the natural logarithm, and
``pi`` is the constant :math:`\\pi`.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Callable

import numpy as np
import sympy
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import parse_expr

__all__ = ["compile_formula", "parse_formula"]

# Names used by the benchmark files that sympy spells differently.
_FUNCTION_ALIASES: dict[str, object] = {
    "arcsin": sympy.asin,
    "arccos": sympy.acos,
    "arctan": sympy.atan,
    "ln": sympy.log,
    "pi": sympy.pi,
}


def _placeholder(name: str, taken: set[str]) -> str:
    """A valid identifier for the keyword ``name`` that clashes with nothing in ``taken``."""
    candidate = f"{name}_kw_"
    while candidate in taken:
        candidate += "_"
    return candidate


@functools.cache
def parse_formula(formula: str, variables: tuple[str, ...]) -> sympy.Expr:
    """Parse ``formula`` with each name in ``variables`` bound to a real symbol.

    Args:
        formula: sympy-parsable ground truth, e.g. ``"exp(-theta**2/2)/sqrt(2*pi)"``.
        variables: the variable names, in column order.

    Returns:
        The expression over ``sympy.Symbol(name, real=True)`` for each variable.

    Raises:
        ValueError: if the formula cannot be parsed, mentions a symbol that is not a
            listed variable, or calls an unknown function.
    """
    text = formula
    local: dict[str, object] = dict(_FUNCTION_ALIASES)
    taken = set(variables) | set(re.findall(r"[A-Za-z_]\w*", formula))
    for name in variables:
        symbol = sympy.Symbol(name, real=True)
        if keyword.iskeyword(name):
            alias = _placeholder(name, taken)
            taken.add(alias)
            text = re.sub(rf"\b{re.escape(name)}\b", alias, text)
            local[alias] = symbol
        else:
            local[name] = symbol
    try:
        expr = sympy.sympify(parse_expr(text, local_dict=local))
    except (SyntaxError, TypeError, ValueError, sympy.SympifyError) as exc:
        raise ValueError(f"cannot parse formula {formula!r}: {exc}") from exc
    allowed = {sympy.Symbol(name, real=True) for name in variables}
    extra = expr.free_symbols - allowed
    if extra:
        names = sorted(str(s) for s in extra)
        raise ValueError(
            f"formula {formula!r} uses {names}, which are not among its variables {variables}"
        )
    undefined = expr.atoms(AppliedUndef)
    if undefined:
        names = sorted(str(f.func) for f in undefined)
        raise ValueError(f"formula {formula!r} calls unknown functions {names}")
    return expr


@functools.cache
def compile_formula(formula: str, variables: tuple[str, ...]) -> Callable[..., np.ndarray]:
    """Compile ``formula`` into a float64 numpy function of one array per variable.

    Args:
        formula: as for :func:`parse_formula`.
        variables: the variable names, in argument order.

    Returns:
        ``f(*columns) -> ndarray`` broadcasting to the common shape of the columns (a
        constant expression is broadcast too), computed with ``sympy.lambdify(...,
        "numpy")``. Floating-point warnings are silenced; callers check finiteness.
    """
    expr = parse_formula(formula, variables)
    symbols = [sympy.Symbol(name, real=True) for name in variables]
    raw = sympy.lambdify(symbols, expr, modules="numpy")

    def evaluate(*columns: np.ndarray) -> np.ndarray:
        arrays = [np.asarray(c, dtype=np.float64) for c in columns]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        with np.errstate(all="ignore"):
            out = np.asarray(raw(*arrays), dtype=np.float64)
        return np.array(np.broadcast_to(out, shape), dtype=np.float64)

    return evaluate

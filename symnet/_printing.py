"""Formulas as strings that read back: ``sympy.sympify(formula_str(e))`` is ``e`` again.

A variable name that is not a plain identifier (``x y``), or that sympy reads as one of its
own objects (``N`` is a function, ``E`` Euler's number, ``lambda`` a keyword, ``beta`` a
function), is written ``Symbol('x y')``; every other name is written as it is. So a
printed formula is unambiguous (``N*x y`` would be), and the string saved in a run
directory's ``equations.csv`` parses back to the same formula.
"""

from __future__ import annotations

import functools

import sympy
from sympy.printing.str import StrPrinter

__all__ = ["formula_str"]


@functools.lru_cache(maxsize=4096)
def _plain(name: str) -> bool:
    """Whether ``sympify(name)`` is the symbol ``name``."""
    if not name.isidentifier():
        return False
    try:
        parsed = sympy.sympify(name)
    except (sympy.SympifyError, SyntaxError, TypeError, AttributeError, ValueError):
        return False
    return isinstance(parsed, sympy.Symbol) and parsed.name == name


class _Printer(StrPrinter):
    def _print_Symbol(self, expr):
        return expr.name if _plain(expr.name) else f"Symbol({expr.name!r})"


def formula_str(expr: sympy.Expr) -> str:
    """``expr`` as a string ``sympy.sympify`` reads back (names quoted where needed).

    Example:
      >>> import sympy
      >>> xy, n = sympy.Symbol("x y"), sympy.Symbol("N")
      >>> formula_str(2 * n * xy + 1)
      "2*Symbol('N')*Symbol('x y') + 1"
      >>> sympy.sympify(formula_str(2 * n * xy + 1)) == 2 * n * xy + 1
      True
    """
    return _Printer().doprint(expr)

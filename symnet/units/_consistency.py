r"""The dimension of a formula, or the proof that it has none (it adds metres to seconds).

Rules, applied recursively over the sympy tree:

* a symbol has its variable's dimension; exact numbers (integers, rationals, ``pi``) are
  dimensionless; a fitted constant (a ``Float``) is dimensionless, or, with
  ``free_constants=True`` (PySR's dimensional constants), a *wildcard* that takes whatever
  dimension makes its term consistent;
* ``a*b``: the product of dimensions; ``a**p`` with a number ``p``: the dimension to the
  power ``p`` (a non-rational ``p`` needs a dimensionless base); a symbolic exponent needs a
  dimensionless base and exponent;
* ``a + b``: every term has the same dimension (a wildcard term takes it); terms
  ``c_k*log(u_k)`` may carry dimensions as long as :math:`\sum_k c_k [u_k] = 1`
  (``log(v) - log(c)`` is ``log(v/c)``) and the sum is then dimensionless;
* ``exp``, ``log``, trigonometric and hyperbolic functions and their inverses, and any
  other function: dimensionless arguments, a dimensionless value; ``Abs``, ``Min``,
  ``Max``, ``Piecewise`` keep their arguments' common dimension; ``sign`` is
  dimensionless.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import sympy

from symnet.units._dim import DIMENSIONLESS, Dim

__all__ = ["WILDCARD", "dimension_of", "is_consistent"]


class _Wildcard:
    """The dimension of a free constant: whatever its term needs."""

    def __repr__(self) -> str:
        return "WILDCARD"

    def __str__(self) -> str:
        return "?"


WILDCARD = _Wildcard()


class _Inconsistent(Exception):
    pass


def _frac(r: sympy.Rational) -> Fraction:
    return Fraction(int(r.p), int(r.q))


def _common(dims) -> Dim | _Wildcard:
    """The dimension every one of ``dims`` has (wildcards agree with anything)."""
    fixed = {d for d in dims if d is not WILDCARD}
    if len(fixed) > 1:
        raise _Inconsistent
    return fixed.pop() if fixed else WILDCARD


def _need_dimensionless(d) -> None:
    if d is not WILDCARD and not d.dimensionless:
        raise _Inconsistent


def _dim(e, dims, free) -> Dim | _Wildcard:
    if e.is_Symbol:
        try:
            return dims[e]
        except KeyError:
            raise ValueError(f"the formula's symbol {e} has no units.") from None
    if e.is_Float:
        return WILDCARD if free else DIMENSIONLESS
    if e.is_Number or e.is_NumberSymbol or e in (sympy.I, sympy.E):
        return DIMENSIONLESS
    if e.is_Mul:
        out = DIMENSIONLESS
        for a in e.args:
            d = _dim(a, dims, free)
            if d is WILDCARD:
                return _mul_wild(e, dims, free)
            out = out * d
        return out
    if e.is_Pow:
        base, p = e.args
        db = _dim(base, dims, free)
        if p.is_Rational:
            return db if db is WILDCARD else db ** _frac(p)
        _need_dimensionless(_dim(p, dims, free))
        _need_dimensionless(db)
        return DIMENSIONLESS
    if e.is_Add:
        return _add(e, dims, free)
    if isinstance(e, sympy.exp):
        _need_dimensionless(_dim(e.args[0], dims, free))
        return DIMENSIONLESS
    if isinstance(e, sympy.log):
        _need_dimensionless(_dim(e.args[0], dims, free))
        return DIMENSIONLESS
    if isinstance(e, sympy.Abs):
        return _dim(e.args[0], dims, free)
    if isinstance(e, sympy.sign):
        _dim(e.args[0], dims, free)
        return DIMENSIONLESS
    if isinstance(e, sympy.Min | sympy.Max):
        return _common([_dim(a, dims, free) for a in e.args])
    if isinstance(e, sympy.Piecewise):
        for _, cond in e.args:
            if isinstance(cond, sympy.core.relational.Relational):
                _common([_dim(cond.lhs, dims, free), _dim(cond.rhs, dims, free)])
        return _common([_dim(v, dims, free) for v, _ in e.args])
    if isinstance(e, sympy.Function) or e.args:
        for a in e.args:
            _need_dimensionless(_dim(a, dims, free))
        return DIMENSIONLESS
    raise ValueError(f"cannot tell the dimension of {e!r}.")


def _mul_wild(e, dims, free):
    """A product with a free constant takes any dimension; its other factors must still
    be consistent themselves."""
    for a in e.args:
        _dim(a, dims, free)
    return WILDCARD


def _add(e, dims, free):
    logs: dict[str, Fraction] = {}
    log_wild = False
    other = []
    for term in e.args:
        coeff, rest = term.as_coeff_Mul()
        if isinstance(rest, sympy.log) and coeff.is_Rational:
            d = _dim(rest.args[0], dims, free)
            if d is WILDCARD:
                log_wild = True
                continue
            for b, v in (d ** _frac(coeff)).exponents.items():
                logs[b] = logs.get(b, 0) + v
        else:
            other.append(_dim(term, dims, free))
    if not logs and not log_wild:
        return _common(other)
    if not log_wild and any(v != 0 for v in logs.values()):
        raise _Inconsistent
    for d in other:
        _need_dimensionless(d)
    return DIMENSIONLESS


def dimension_of(
    expr: sympy.Expr, units: Mapping[sympy.Symbol, Dim], *, free_constants: bool = False
) -> Dim | _Wildcard | None:
    """The dimension of ``expr`` whose symbols have the dimensions ``units`` (module doc);
    :data:`WILDCARD` when free constants can give it any, None when it is inconsistent.
    ``ValueError`` if a symbol of ``expr`` has no units.

    >>> v, c = sympy.symbols("v c", positive=True)
    >>> units = {v: Dim({"m": 1, "s": -1}), c: Dim({"m": 1, "s": -1})}
    >>> str(dimension_of(sympy.sqrt(1 - v**2 / c**2) * c, units)), dimension_of(v + 1, units)
    ('m/s', None)
    """
    try:
        return _dim(sympy.sympify(expr), units, free_constants)
    except _Inconsistent:
        return None


def is_consistent(
    expr: sympy.Expr,
    units: Mapping[sympy.Symbol, Dim],
    target: Dim | None = None,
    *,
    free_constants: bool = False,
) -> bool:
    """Whether ``expr`` is dimensionally consistent and, given ``target``, has that
    dimension (a wildcard result matches any target)."""
    d = dimension_of(expr, units, free_constants=free_constants)
    if d is None:
        return False
    return target is None or d is WILDCARD or d == target

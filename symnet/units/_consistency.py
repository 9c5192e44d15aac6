r"""The dimension of a formula, or the proof that it has none (it adds metres to seconds).

Rules, applied recursively over the sympy tree:

* a symbol has its variable's dimension; exact numbers (integers, rationals, ``pi``) are
  dimensionless; a fitted constant (a ``Float``) is dimensionless, or, with
  ``free_constants=True`` (PySR's dimensional constants), a *wildcard* that takes whatever
  dimension makes its term consistent;
* ``a*b``: the product of dimensions; ``a**p`` with a number ``p``: the dimension to the
  power ``p`` (a non-rational ``p`` needs a dimensionless base); a symbolic exponent needs a
  dimensionless base and exponent;
* ``a + b``: every term has the same dimension (a wildcard term takes it); in terms
  ``c_k*F_k*log(u_k)`` the logarithms may take dimensional arguments as long as
  :math:`\sum_k c_k [u_k] = 1` (``n*kb*T*log(V2) - n*kb*T*log(V1)`` is
  ``n*kb*T*log(V2/V1)``), the term's dimension being ``F_k``'s;
* ``exp``, ``log``, trigonometric and hyperbolic functions and their inverses, and any
  other function: dimensionless arguments, a dimensionless value; ``Abs``, ``Min``,
  ``Max``, ``Piecewise`` keep their arguments' common dimension; ``sign`` is
  dimensionless.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from symnet._rational import fraction
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
            return db if db is WILDCARD else db ** fraction(p)
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


def _log_factor(term):
    """``(coefficient, other factors, log argument)`` of a term ``c * F * log(u)`` with a
    single logarithm among its factors, or None."""
    coeff, rest = term.as_coeff_Mul()
    factors = sympy.Mul.make_args(rest)
    logs = [f for f in factors if isinstance(f, sympy.log)]
    if len(logs) != 1:
        return None
    others = sympy.Mul(*[f for f in factors if f is not logs[0]])
    return coeff, others, logs[0].args[0]


def _add(e, dims, free):
    """Terms share one dimension ``D``; terms ``c_k * F_k * log(u_k)`` count with their
    factors' dimension ``[F_k] = D`` as long as ``sum_k c_k [u_k]`` is dimensionless (a
    logarithm of a quotient, expanded)."""
    balance: dict[str, float] = {}
    wild = False
    outer = []
    for term in e.args:
        found = _log_factor(term)
        if found is None:
            outer.append(_dim(term, dims, free))
            continue
        coeff, others, arg = found
        outer.append(_dim(others, dims, free))
        d = _dim(arg, dims, free)
        if d is WILDCARD or (coeff.is_Float and free):
            wild = True
            continue
        for b, v in d.exponents.items():
            balance[b] = balance.get(b, 0.0) + float(coeff) * float(v)
    common = _common(outer)
    scale = max([abs(float(t.as_coeff_Mul()[0])) for t in e.args] + [1.0])
    if not wild and any(abs(v) > 1e-9 * scale for v in balance.values()):
        raise _Inconsistent
    return common


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

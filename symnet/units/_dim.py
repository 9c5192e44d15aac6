r"""Physical dimensions as exponent vectors, and the parsing of unit specifications.

A dimension is a product of powers of named base dimensions,
:math:`[q] = \prod_b b^{e_b}` with rational :math:`e_b`: ``Dim({"m": 1, "s": -1})`` is a
velocity. Unit *strings* are parsed by pint (PySR's spelling: ``"m/s"``,
``"kg*m^2/s^2"``, ``"1"`` for dimensionless, any SI prefix, ``"GHz"``, ``"MeV"``) and
reduced to the SI base dimensions, named by their units:
``m, s, kg, K, A, mol, cd``. A unit's scale (``km`` against ``m``) is a dimensionless
factor the fitted constants absorb, so only the dimension is kept. Exponent mappings
(``{"m": 1, "s": -1}``) may name any base dimensions (the Feynman tables use volts as a
base); one fit must use one system throughout.

pint was chosen over ``sympy.physics.units`` by measurement: of 28 unit strings users
write (prefixed ``GHz``, ``MeV``, ``nF``, ``kPa``, ``degC``, ...) pint parses all,
sympy lacks the prefixed units it does not predefine (``MeV``, ``nF``) and ``degC``.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Mapping
from fractions import Fraction

__all__ = ["Dim", "SI_BASE", "parse_units"]

#: pint's base dimensions, named by their SI units.
SI_BASE = {
    "[length]": "m",
    "[time]": "s",
    "[mass]": "kg",
    "[temperature]": "K",
    "[current]": "A",
    "[substance]": "mol",
    "[luminosity]": "cd",
}

#: Exponents are rationals with at most this denominator.
MAX_DENOMINATOR = 12


def _exponent(v, what: str) -> Fraction:
    if isinstance(v, Fraction):
        return v
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError(f"{what}: exponents must be numbers, got {v!r}.")
    q = Fraction(float(v)).limit_denominator(MAX_DENOMINATOR)
    if abs(float(q) - float(v)) > 1e-9:
        raise ValueError(
            f"{what}: exponent {v!r} is not a ratio of small integers (denominator at most "
            f"{MAX_DENOMINATOR})."
        )
    return q


class Dim:
    r"""A physical dimension :math:`\prod_b b^{e_b}`: immutable, hashable, and closed under
    ``*``, ``/`` and ``**`` (rational powers).

    >>> v = Dim({"m": 1, "s": -1})
    >>> str(Dim({"kg": 1}) * v**2), (v / v).dimensionless
    ('kg*m^2/s^2', True)
    """

    __slots__ = ("_e",)

    def __init__(self, exponents: Mapping[str, object] | None = None):
        e = {}
        for b, v in (exponents or {}).items():
            if not isinstance(b, str) or not b:
                raise ValueError(f"base dimensions are named by strings, got {b!r}.")
            q = _exponent(v, f"dimension {b!r}")
            if q:
                e[b] = q
        self._e = tuple(sorted(e.items()))

    @property
    def exponents(self) -> dict[str, Fraction]:
        """``{base: exponent}``, non-zero exponents only."""
        return dict(self._e)

    @property
    def dimensionless(self) -> bool:
        return not self._e

    def __mul__(self, other: Dim) -> Dim:
        e = self.exponents
        for b, v in other._e:
            e[b] = e.get(b, Fraction(0)) + v
        return Dim(e)

    def __truediv__(self, other: Dim) -> Dim:
        return self * other**-1

    def __pow__(self, p) -> Dim:
        p = Fraction(p) if isinstance(p, int | Fraction) else _exponent(p, "power")
        return Dim({b: v * p for b, v in self._e})

    def __eq__(self, other) -> bool:
        return isinstance(other, Dim) and self._e == other._e

    def __hash__(self) -> int:
        return hash(self._e)

    def __repr__(self) -> str:
        return f"Dim({str(self)!r})"

    def __str__(self) -> str:
        if not self._e:
            return "1"

        def power(b, v):
            return b if v == 1 else f"{b}^{v}" if v.denominator == 1 else f"{b}^({v})"

        num = [power(b, v) for b, v in self._e if v > 0]
        den = [power(b, -v) for b, v in self._e if v < 0]
        top = "*".join(num) or "1"
        if not den:
            return top
        return f"{top}/{den[0]}" if len(den) == 1 else f"{top}/({'*'.join(den)})"


DIMENSIONLESS = Dim()


@functools.cache
def _registry():
    import pint

    return pint.UnitRegistry()


def parse_units(spec, *, what: str = "units") -> Dim:
    """The dimension of ``spec``: a unit string (pint's parser, ``^`` or ``**`` for powers,
    ``"1"`` or ``"dimensionless"`` for none), a mapping ``{base: exponent}``, or a
    :class:`Dim`. ``ValueError`` naming ``what`` for anything else.

    >>> str(parse_units("kg*m^2/s^2")), str(parse_units("GHz")), str(parse_units("1"))
    ('kg*m^2/s^2', '1/s', '1')
    """
    if isinstance(spec, Dim):
        return spec
    if isinstance(spec, Mapping):
        return Dim({str(b): v for b, v in spec.items()}) if spec else DIMENSIONLESS
    if not isinstance(spec, str):
        raise ValueError(
            f"`{what}` must be a unit string such as 'm/s', a mapping of base dimensions to "
            f"exponents, or a Dim; got {spec!r}."
        )
    text = spec.strip()
    if text in ("1", "dimensionless"):
        return DIMENSIONLESS
    if not text:
        raise ValueError(f"`{what}` is an empty unit string; write '1' for dimensionless.")
    try:
        dims = _registry().parse_units(text.replace("^", "**")).dimensionality
    except Exception as err:  # pint raises several kinds for unknown or malformed units
        raise ValueError(
            f"`{what}`: {spec!r} is not a unit pint knows ({type(err).__name__}: {err})."
        ) from None
    return Dim({SI_BASE.get(b, b.strip("[]")): v for b, v in dims.items()})

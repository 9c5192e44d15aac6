"""Units and dimensional analysis.

* :class:`Dim` and :func:`parse_units`: a dimension as exponents over base dimensions,
  from a unit string (pint: ``"kg*m^2/s^2"``, ``"GHz"``) or a mapping ``{"m": 1, "s": -1}``.
* :func:`dimension_of`, :func:`is_consistent`: the dimension of a sympy formula, or None
  when it adds quantities of different dimensions.
* :func:`buckingham`: the dimensionless groups of the inputs and the prefactors carrying
  the target's dimension (Buckingham's theorem, exactly), which the search turns into a
  data view of fewer, dimensionless inputs.
* :class:`Units` and :func:`check_units`: the validated ``X_units`` / ``y_units`` of a fit.
"""

from symnet.units._buckingham import Basis as Basis
from symnet.units._buckingham import buckingham as buckingham
from symnet.units._consistency import WILDCARD as WILDCARD
from symnet.units._consistency import dimension_of as dimension_of
from symnet.units._consistency import is_consistent as is_consistent
from symnet.units._dim import Dim as Dim
from symnet.units._dim import parse_units as parse_units
from symnet.units._spec import Units as Units
from symnet.units._spec import check_units as check_units

__all__ = [
    "Basis",
    "Dim",
    "Units",
    "WILDCARD",
    "buckingham",
    "check_units",
    "dimension_of",
    "is_consistent",
    "parse_units",
]

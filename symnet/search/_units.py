"""Units in the search: Buckingham views, the dimensional baseline, consistent fronts.

With :attr:`Data.units <symnet.search.Data>` the search

* trains first on the data of a problem with fewer, dimensionless inputs: the target over
  a prefactor carrying its units, ``y / prod x_i**c_i``, as a function of the groups
  ``pi_j`` (:func:`symnet.units.buckingham`), through the view machinery
  (:func:`~symnet.search.reduced_views`, views named ``units``, ``units+square``, ...).
  Of the prefactors of minimal support, the one leaving the target least spread
  (``std(log|y / prefactor|)``: the prefactor has carried most of the scaling) gets every
  view, the runner-up (``MAX_BASES``) its raw view; every architecture trains on the
  first reduction's raw and inverse views (``LEAD``) before any other view;
* offers ``a * prefactor`` as a baseline, so a consistent formula always exists;
* keeps only dimensionally consistent formulas: before polishing, formulas that could be
  consistent once their constants are rounded (constants as wildcards), and after it,
  those that are (constants dimensionless unless ``Units.free_constants``). If none is
  (no finite prefactor on the data), the front is returned as it is.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import sympy

from symnet.search._groups import Groups
from symnet.search._views import reduced_views
from symnet.units import WILDCARD, dimension_of

__all__ = [
    "LEAD",
    "MAX_BASES",
    "consistent",
    "consistent_front",
    "is_group_view",
    "lead",
    "unit_baselines",
    "unit_groups",
    "unit_views",
]

#: Prefactors (each with the same groups) searched as views at most.
MAX_BASES = 2
#: Views of the first reduction every architecture trains on before any other view (the
#: reduced problem is the smaller one; ``1/(exp(u) - 1)`` is a line in the inverse view).
LEAD = ("raw", "inverse")


def _finite_prefactor(X, powers: dict[int, Fraction]) -> np.ndarray | None:
    with np.errstate(all="ignore"):
        pre = np.prod([X[:, i] ** float(a) for i, a in powers.items()], axis=0)
    pre = np.broadcast_to(pre, (len(X),))
    return pre if np.all(np.isfinite(pre)) and np.all(pre != 0) else None


def unit_groups(data) -> list[Groups]:
    """The :class:`~symnet.search.Groups` of ``data``'s units, most plausible prefactor
    first (module doc); [] without units, without a known target dimension, or when the
    groups are the inputs themselves (nothing to reduce)."""
    units = data.units
    if units is None or units.target is None:
        return []
    basis = data.basis
    d = data.X.shape[1]
    trivial = all(len(g) == 1 and next(iter(g.values())) == 1 for g in basis.groups)
    if trivial and len(basis.groups) == d and all(not p for p in basis.prefactors):
        return []
    X, y, _ = data.train
    ranked = []
    for k, powers in enumerate(basis.prefactors):
        pre = _finite_prefactor(X, powers)
        if pre is None:
            continue
        r = np.abs(y / pre)
        r = r[r > 0]
        if len(r) < 2:
            continue
        ranked.append((float(np.std(np.log(r))), k, powers))
    ranked.sort(key=lambda t: (round(t[0], 6), t[1]))
    out = []
    for _, _, powers in ranked[:MAX_BASES]:
        g = Groups(dict(powers), [dict(b) for b in basis.groups], [])
        with np.errstate(all="ignore"):
            _, U = g.arrays(X)
        if np.all(np.isfinite(U)):
            out.append(g)
    return out


def unit_views(data, config, groups: list[Groups] | None = None) -> list:
    """The views of the most plausible unit reductions: the ``LEAD`` views first, then
    the others of ``config.views``, for the first; the raw view for the others; none
    when the inputs form no group. ``groups``: :func:`unit_groups` of ``data``, when
    computed already."""
    out = []
    for k, g in enumerate(unit_groups(data) if groups is None else groups):
        if not g.groups:
            break  # no group: the law is a constant times the prefactor, a baseline
        names = tuple(dict.fromkeys(LEAD + tuple(config.views))) if k == 0 else ("raw",)
        prefix = "units" if k == 0 else f"units{k + 1}"
        views = reduced_views(data.X, data.y, data.symbols, names, g, prefix)
        views = [v for v in views if np.all(np.isfinite(v.X)) and np.all(np.isfinite(v.y))]
        rank = {f"units+{name}" if name != "raw" else "units": i for i, name in enumerate(LEAD)}
        out += sorted(views, key=lambda v: rank.get(v.name, len(LEAD)))
    return out


def is_group_view(name: str, data) -> bool:
    """Whether the view named ``name`` of a search of ``data`` has dimensionless inputs
    and target, untransformed: the raw view of a unit reduction (:func:`unit_views`:
    the groups and ``y / prefactor``), or the raw view when ``data.units`` makes every
    input and the target dimensionless."""
    if name == "units" or (name.startswith("units") and name[5:].isdigit()):
        return True
    units = data.units
    return (
        name == "raw"
        and units is not None
        and units.target is not None
        and all(d.dimensionless for d in (*units.inputs, units.target))
    )


def lead(views) -> int:
    """How many of ``views`` (:func:`unit_views` first) every architecture trains on
    before the others: the first reduction's ``LEAD`` views."""
    first = {"units"} | {f"units+{name}" for name in LEAD}
    return sum(v.name in first for v in views)


def unit_baselines(data, budget, groups: list[Groups] | None = None) -> list:
    """``a * prefactor`` (``a`` by weighted least squares) for each unit reduction
    (``groups`` as in :func:`unit_views`)."""
    X, y, w = data.train
    out = []
    for g in unit_groups(data) if groups is None else groups:
        pre = _finite_prefactor(X, g.prefactor)
        a = float(np.sum(w * pre * y) / np.sum(w * pre * pre))
        expr = sympy.Float(a) * g.exprs(data.symbols)[0]
        cand = data.score(expr, -1, budget.elapsed())
        if cand is not None:
            out.append(cand)
    return out


def consistent_front(front, candidates, data) -> list:
    """The polished ``front``'s consistent formulas and the consistent ``candidates``
    simpler than all of them (:func:`unit_baselines` is one): polishing can leave a
    lenient candidate's constants where no rounding makes it consistent (fitted
    exponents), so that no consistent formula, or only large ones (beyond the caller's
    ``maxsize``), would be left; the whole front only when nothing is consistent (no
    finite prefactor on the data)."""
    polished = consistent(front, data)
    simplest = min((c.complexity for c in polished), default=math.inf)
    simpler = [c for c in consistent(candidates, data) if c.complexity < simplest]
    return polished + simpler or list(front)


def consistent(candidates, data, *, lenient: bool = False) -> list:
    """The candidates whose formulas are dimensionally consistent with ``data.units``
    (all of them without units). ``lenient``: constants count as wildcards (a formula a
    rounding of its constants could make consistent passes)."""
    units = data.units
    if units is None:
        return list(candidates)
    dims = dict(zip(data.symbols, units.inputs, strict=True))
    free = lenient or units.free_constants

    def ok(c) -> bool:
        d = dimension_of(c.expr, dims, free_constants=free)
        if d is None:
            return False
        return units.target is None or d is WILDCARD or d == units.target

    return [c for c in candidates if ok(c)]

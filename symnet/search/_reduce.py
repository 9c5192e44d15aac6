"""The ``reduce`` stage: shrink the problem with what an accurate surrogate reveals.

Once some candidate fits well (validation loss at most ``config.factor_below``), the five
most accurate such candidates serve as surrogates. Each kind of :class:`Reduction`
analyses them into a :class:`~symnet.search.Groups` (``f = prefactor * g(inputs...)``);
the first kind (in the order of :func:`reductions`) that proposes a reduction not searched
yet wins, and the target divided by the prefactor, over the reduced inputs, gets views of
its own (:func:`~symnet.search.reduced_views`), queued next for every architecture.

One proposal rule serves every kind: among the surrogates, the new proposal of the highest
``rank``, the most accurate surrogate on ties. Kinds today:

* ``"group"`` (with ``config.groups``): dimensionless groups from the surrogate's scaling
  symmetries (:func:`~symnet.search.scaling_groups`); at most ``MAX_GROUP_SETS``.
* ``"factor"``: power factors ``x_i**a`` (:func:`~symnet.search.power_factors`), ranked
  by how many inputs they remove (surrogates are only roughly separable: one shows ``n``,
  another ``n``, ``kb`` and ``T``); a set contained in one already searched is new (the
  larger set can be wrong: a power-law surrogate of ``G**4*(m1*m2)**2*(m1 + m2)/(c*r)**5``
  shows ``m1**(5/2)`` too, bonus test_9); at most ``MAX_FACTOR_SETS``.

A new kind (units, separability) is a :class:`Reduction` added to :func:`reductions`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import sympy

from symnet.search._factors import power_factors
from symnet.search._groups import Groups, scaling_groups
from symnet.search._select import EXACT_NMSE
from symnet.search._views import reduced_views

__all__ = ["Reduction", "reduce", "reductions", "MAX_FACTOR_SETS", "MAX_GROUP_SETS"]

#: Factor sets searched per fit at most (each costs a population per architecture x view).
MAX_FACTOR_SETS = 3
#: Group sets searched per fit at most.
MAX_GROUP_SETS = 2
#: How many of the most accurate surrogates are analysed.
SURROGATES = 5


class Reduction(NamedTuple):
    """One kind of reduction: ``analyse(expr, symbols, X) -> Groups | None``, ``rank``
    (higher is better), ``is_new(groups, tried_keys)``, searched at most ``max_sets``
    times; its views are named after ``name``."""

    name: str
    analyse: Callable[..., Groups | None]
    rank: Callable[[Groups], int]
    is_new: Callable[[Groups, list], bool]
    max_sets: int


def _factor_groups(expr, symbols, X) -> Groups | None:
    factors = power_factors(expr, symbols, X)
    return Groups.of_factors(factors, X.shape[1]) if factors else None


def _scaling_groups(expr, symbols, X) -> Groups | None:
    # looked up at call time, so that tests can replace the analysis
    return scaling_groups(expr, symbols, X)


FACTORS = Reduction(
    "factor",
    _factor_groups,
    rank=lambda g: len(g.prefactor),
    is_new=lambda g, tried: g.key() not in tried,
    max_sets=MAX_FACTOR_SETS,
)
GROUPS = Reduction(
    "group",
    _scaling_groups,
    rank=lambda g: 1,
    is_new=lambda g, tried: g.key() not in tried,
    max_sets=MAX_GROUP_SETS,
)


def reductions(config) -> tuple[Reduction, ...]:
    """The kinds of reduction a search with ``config`` tries, in order."""
    return (GROUPS, FACTORS) if config.groups else (FACTORS,)


def propose(kind: Reduction, candidates, symbols, X, below: float, tried: list, memo: dict):
    """The new reduction of ``kind`` of highest rank among the ``SURROGATES`` most accurate
    candidates with validation loss <= ``below`` (``memo`` caches each formula's analysis
    by ``srepr``); None if there is none or ``kind.max_sets`` were searched."""
    if len(tried) >= kind.max_sets:
        return None
    good = sorted((c for c in candidates if c.val_nmse <= below), key=lambda c: c.val_nmse)
    best, best_rank = None, 0
    for c in good[:SURROGATES]:
        key = sympy.srepr(c.expr)
        if key not in memo:
            memo[key] = kind.analyse(c.expr, symbols, X)
        g = memo[key]
        if g is not None and kind.rank(g) > best_rank and kind.is_new(g, tried):
            best, best_rank = g, kind.rank(g)
    return best


def reduce(state, data, config, budget):
    """Adds the views of a new reduction to ``state`` and queues them next (every
    architecture on each), when the best candidate is accurate but not exact."""
    best = state.best()
    below = config.factor_below
    if below <= 0 or not EXACT_NMSE < best.val_nmse <= below or budget.late():
        return state
    X_tr = data.train[0]
    for kind in reductions(config):
        tried = state.tried.setdefault(kind.name, [])
        memo = state.memo.setdefault(kind.name, {})
        groups = propose(kind, state.candidates, data.symbols, X_tr, below, tried, memo)
        if groups is not None:
            tried.append(groups.key())
            views = reduced_views(data.X, data.y, data.symbols, config.views, groups, kind.name)
            return state.with_views(views) if views else state
    return state

"""The ``decompose`` stage: divide and conquer with an accurate surrogate.

Once some candidate fits well (validation loss at most ``config.factor_below``, not
exact), the ``SURROGATES`` most accurate candidates are analysed for separability
(:func:`~symnet.search.separate`: inputs the target does not depend on, ``f = g(x_A) +
h(x_B)``, ``f = g(x_A) * h(x_B)``); the finest decomposition not searched yet wins (the
most accurate surrogate on ties). Each of its parts becomes a search problem of its own:

* ``"drop"``: the data themselves, over the inputs that matter;
* ``"add"`` and ``"mul"``: part ``k``'s inputs, with the surrogate's values where every
  other input is held at the anchor (the median sample) as the target.

Each part is searched recursively by the same pipeline (``solve``), with an equal share
of ``SHARE`` of the time left (the next part gets its share of what the previous one left),
and may be decomposed again, down to ``MAX_DEPTH``. From each part's front the
``per_part`` simplest formulas that fit it within ``SUB_LOSS`` (and the most accurate) are
recombined, as a sum or a product, over the user's variables, refit on the raw training
data and scored like every other candidate: a wrong decomposition costs time, never a
formula.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np
import sympy

from symnet._refit import evaluate, refit
from symnet.search._budget import Budget
from symnet.search._factors import power_factors
from symnet.search._select import DEFAULT_MAXSIZE, pareto_front
from symnet.search._separate import Split, separate

__all__ = ["MAX_DEPTH", "MAX_SPLITS", "SHARE", "decompose", "propose_split", "sub_problems"]

#: Sub-searches nest at most this deep (a part of a part of the problem).
MAX_DEPTH = 2
#: Decompositions searched per search at most.
MAX_SPLITS = 2
#: Share of the time left (after the polish reserve) the parts of a decomposition take.
SHARE = 0.5
#: A decomposition is not started when each part would get less than this many seconds.
MIN_PART_SECONDS = 5.0
#: How many of the most accurate candidates are analysed.
SURROGATES = 3
#: Below this validation loss a fit is exact already: nothing to decompose.
EXACT_NMSE = 1e-12
#: A part's formula is recombined if its loss on the part is at most this (or the part's
#: best loss).
SUB_LOSS = 1e-3
#: Sub-searches stop once a formula fits their part this well.
SUB_EXACT = 1e-10
#: Recombined formulas per decomposition at most.
MAX_COMBOS = 27
#: Key folded into the search's key for the sub-searches (plus the part's number).
_SUB_KEY = 5_550_000


def propose_split(candidates, symbols, X, below: float, tried: list, memo: dict):
    """``(split, surrogate)``: the new decomposition of the most accurate of the
    ``SURROGATES`` most accurate candidates with validation loss in ``(EXACT_NMSE, below]``
    that has one (``memo`` caches each analysis by ``srepr``), or ``(None, None)``. A less
    accurate surrogate is not asked first: the tests are only as good as the surrogate,
    and a rough one (nearly linear, say) looks separable everywhere."""
    good = sorted(
        (c for c in candidates if EXACT_NMSE < c.val_nmse <= below), key=lambda c: c.val_nmse
    )
    for c in good[:SURROGATES]:
        key = sympy.srepr(c.expr)
        if key not in memo:
            memo[key] = separate(c.expr, symbols, X, c.val_nmse)
        split = memo[key]
        if split is not None and split.key() not in tried:
            return split, c
    return None, None


class Part(NamedTuple):
    """One part of a decomposition: its inputs, and either its formula (``known``: a power
    factor ``x_i**a`` of a product) or the target a sub-search fits over those inputs."""

    inputs: tuple[int, ...]
    known: sympy.Expr | None
    target: np.ndarray | None


def sub_problems(split: Split, expr, data) -> list[Part]:
    """The parts of ``split`` of the surrogate ``expr``, over all rows of ``data``.

    ``"drop"``: the data over the inputs that matter. ``"mul"``: a part of one input that
    multiplies the surrogate as a power (:func:`~symnet.search.power_factors`) is known;
    if one part is left, its target is the data divided by the known factors (the data,
    where they can tell); otherwise, and for ``"add"``, part ``k``'s target is the
    surrogate with the inputs outside it held at the anchor.
    """
    if split.kind == "drop":
        return [Part(split.parts[0], None, data.y)]
    factors = {}
    if split.kind == "mul":
        factors = power_factors(expr, data.symbols, data.train[0])
    parts = []
    for k, cols in enumerate(split.parts):
        if len(cols) == 1 and cols[0] in factors:
            a = factors[cols[0]]
            parts.append(
                Part(
                    cols, data.symbols[cols[0]] ** sympy.Rational(a.numerator, a.denominator), None
                )
            )
            continue
        with np.errstate(all="ignore"):
            t = np.broadcast_to(evaluate(expr, data.symbols, split.held(data.X, k)), data.y.shape)
        parts.append(Part(cols, None, np.array(t, dtype=np.float64)))
    unknown = [p for p in parts if p.known is None]
    if split.kind == "mul" and len(unknown) == 1:
        known = [p.known for p in parts if p.known is not None]
        with np.errstate(all="ignore"):
            scale = np.broadcast_to(
                evaluate(sympy.Mul(*known), data.symbols, data.X), data.y.shape
            )
        parts[parts.index(unknown[0])] = Part(unknown[0].inputs, None, data.y / scale)
    return parts


def _shortlist(front, per_part: int) -> list:
    """The ``per_part`` simplest formulas of a part's front (at most ``DEFAULT_MAXSIZE``
    nodes) within ``SUB_LOSS`` (or its best loss), and the most accurate."""
    front = pareto_front(front, DEFAULT_MAXSIZE)
    if not front:
        return []
    best = min(front, key=lambda c: c.val_nmse)
    ok = [c for c in front if c.val_nmse <= max(SUB_LOSS, best.val_nmse)]
    ok = sorted(ok, key=lambda c: c.complexity)[:per_part]
    return ok + ([best] if best not in ok else [])


def _combine(kind: str, exprs) -> sympy.Expr:
    return sympy.Mul(*exprs) if kind == "mul" else sympy.Add(*exprs)


def _part_budget(budget: Budget, end: float | None, parts_left: int) -> Budget:
    if end is None:
        return Budget.until(None)
    now = time.monotonic()
    return Budget(now, now + max(end - now, 0.0) / parts_left)


def decompose(state, data, config, budget, *, solve: Callable, depth: int = 0):
    """Searches the parts of a new decomposition of the best surrogates (``solve(data,
    config, budget, depth)`` searches one part) and adds their recombinations to ``state``'s
    candidates, when the best candidate is accurate but not exact."""
    below = config.factor_below
    best = state.best()
    if not config.decompose or depth >= MAX_DEPTH or below <= 0 or budget.late():
        return state
    if not EXACT_NMSE < best.val_nmse <= below:
        return state
    tried = state.tried.setdefault("split", [])
    if len(tried) >= MAX_SPLITS:
        return state
    memo = state.memo.setdefault("split", {})
    split, surrogate = propose_split(
        state.candidates, data.symbols, data.train[0], below, tried, memo
    )
    if split is None:
        return state
    parts = sub_problems(split, surrogate.expr, data)
    n_unknown = sum(p.known is None for p in parts)
    end = None
    if budget.deadline is not None:
        room = budget.deadline - time.monotonic() - state.reserve(budget)
        if SHARE * room < MIN_PART_SECONDS * n_unknown:
            return state
        end = time.monotonic() + SHARE * room
    tried.append(split.key())
    per_part = 3 if n_unknown <= 2 else 2
    sub_config = dataclasses.replace(
        config, early_stop_condition=min(config.early_stop_condition or SUB_EXACT, SUB_EXACT)
    )
    shortlists, left = [], n_unknown
    for k, part in enumerate(parts):
        if part.known is not None:
            shortlists.append([part.known])
            continue
        part_budget = _part_budget(budget, end, left)
        left -= 1
        key = jax.random.fold_in(data.key, _SUB_KEY + 100 * depth + k)
        sub = data.subset(part.inputs, part.target, key=key, config=sub_config)
        if sub is None:
            return state
        front = solve(sub, sub_config, part_budget, depth + 1)
        shortlists.append([c.expr for c in _shortlist(front, per_part)])
    combos = itertools.islice(itertools.product(*shortlists), MAX_COMBOS)
    for i, combo in enumerate(combos):
        if not budget.refits_open(state.n_refit, state.reserve(budget)):
            break
        expr = _combine(split.kind, combo)
        if not expr.atoms(sympy.Float):
            expr = (
                sympy.Float(1.0) * expr
                if split.kind == "mul"
                else sympy.Add(expr, sympy.Float(0.0), evaluate=False)
            )
        expr, _ = refit(expr, data.symbols, *data.train)
        state.n_refit += 1
        cand = data.score(expr, -2 - i, budget.elapsed())
        if cand is not None:
            state.candidates.append(cand)
    return state

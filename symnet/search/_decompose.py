"""The ``decompose`` stage: divide and conquer with an accurate surrogate.

Once some candidate fits well (validation loss at most ``config.factor_below``, not
exact), the ``SURROGATES`` most accurate candidates are analysed, the most accurate first,
for separability (:func:`~symnet.search.separate`: inputs the target does not depend on,
``f = g(x_A) + h(x_B)``, ``f = g(x_A) * h(x_B)``), for shift symmetries
(:func:`~symnet.search.translations`: ``f`` depends on ``x_i - x_j`` or ``x_i + x_j``
only, inputs of one dimension with units) and then for scaling symmetries
(:func:`~symnet.search.scaling_groups`: ``f = x**c * F(pi_1(x), ..., z)`` with fewer
arguments than inputs, the generalised symmetry ``F(g(x_A), x_B)`` with ``g`` a product of
powers, which makes ``sqrt(1 - v**2/c**2)`` and ``exp(h*omega/(kb*T))`` functions of one
variable); the first decomposition not searched yet wins. Each unknown part becomes a
search problem of its own (:func:`sub_problems`):

* ``"drop"``: the data themselves, over the inputs that matter (units carry over);
* shifts: the data themselves, over the inputs with each pair replaced by its difference
  (sum) (units carry over);
* ``"mul"``: power factors are known; with one part left, the data divided by them;
* ``"add"``, and ``"mul"`` with several unknown parts: part ``k``'s inputs, with the
  surrogate's values where every other input is held at the anchor (the median sample);
* groups: the data divided by the prefactor, over the groups.

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
from symnet.search._groups import Groups, scaling_groups
from symnet.search._select import DEFAULT_MAXSIZE, EXACT_NMSE, pareto_front
from symnet.search._separate import separate
from symnet.search._shift import Shift, translations
from symnet.units import Units

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
#: A part's formula is recombined if its loss on the part is at most this (or the part's
#: best loss).
SUB_LOSS = 1e-3
#: Views a sub-search trains on besides the search's own, right after the first: its
#: parts are small, so the reciprocal of ``1/(exp(u) - 1)`` gets a population early.
SUB_VIEWS = ("inverse",)
#: Sub-searches stop once a formula fits their part this well.
SUB_EXACT = 1e-20
#: Recombined formulas per decomposition at most.
MAX_COMBOS = 27
#: Key folded into the search's key for the sub-searches (plus the part's number).
_SUB_KEY = 5_550_000


def _analyse(c, symbols, X, memo, kinds=None) -> list:
    """The decompositions of surrogate ``c``: its separability split, its shift symmetries
    (pairs of inputs of one of ``kinds``) and its scaling groups (when they leave fewer
    inputs), the one whose largest sub-problem has fewer inputs first (cached in ``memo``
    by ``srepr``)."""
    key = sympy.srepr(c.expr)
    if key not in memo:
        # a shift first on ties: its part keeps the user's units (a product's part does
        # not) and the part may still split once searched
        found = [
            translations(c.expr, symbols, X, c.val_nmse, kinds),
            separate(c.expr, symbols, X, c.val_nmse),
        ]
        groups = scaling_groups(c.expr, symbols, X)
        if groups is not None and groups.groups:
            if len(groups.groups) + len(groups.passthrough) < X.shape[1]:
                found.append(groups)
        found = [f for f in found if f is not None]
        memo[key] = sorted(found, key=_largest_part)  # stable
    return memo[key]


def _largest_part(found) -> int:
    """The inputs of the largest sub-problem a decomposition leaves."""
    if isinstance(found, Groups):
        return len(found.groups) + len(found.passthrough)
    if isinstance(found, Shift):
        return found.n_inputs - len(found.pairs)
    return max(len(p) for p in found.parts)


def propose_split(candidates, symbols, X, below: float, tried: list, memo: dict, kinds=None):
    """``(decomposition, surrogate)``: the first new decomposition (a :class:`Split`, or
    :class:`~symnet.search.Shift`, or the :class:`~symnet.search.Groups` of its scaling
    symmetries; shifts pair inputs of one of ``kinds`` only) of the most accurate of
    the ``SURROGATES`` most accurate candidates with validation loss in
    ``(EXACT_NMSE, below]`` that has one, or ``(None, None)``. A less accurate surrogate
    is not asked first: the tests are only as good as the surrogate, and a rough one
    (nearly linear, say) looks separable everywhere."""
    good = sorted(
        (c for c in candidates if EXACT_NMSE < c.val_nmse <= below), key=lambda c: c.val_nmse
    )
    for c in good[:SURROGATES]:
        for found in _analyse(c, symbols, X, memo, kinds):
            if found.key() not in tried:
                return found, c
    return None, None


class Part(NamedTuple):
    """One part of a decomposition: either its formula (``known``, over the user's
    variables) or a sub-problem: inputs ``X`` (named ``names``), the ``target`` a sub-search
    fits, and ``inputs``, the formulas over the user's variables the sub-problem's inputs
    stand for; ``units``: the sub-problem's units, where the user's carry over."""

    known: sympy.Expr | None
    X: np.ndarray | None = None
    target: np.ndarray | None = None
    names: tuple[str, ...] = ()
    inputs: tuple[sympy.Expr, ...] = ()
    units: Units | None = None

    def back(self, g: sympy.Expr) -> sympy.Expr:
        """A sub-problem's formula ``g`` over the user's variables."""
        subs = zip(self.names, self.inputs, strict=True)
        return g.xreplace({sympy.Symbol(n, real=True): e for n, e in subs})


def _columns(data, cols, target, same_units: bool = False) -> Part:
    """Part over the inputs ``cols`` of ``data``; ``same_units``: its target has ``y``'s
    units (the user's units carry over)."""
    cols = list(cols)
    names = tuple(data.names[i] for i in cols)
    inputs = tuple(data.symbols[i] for i in cols)
    units = _units_of(data, cols) if same_units else None
    return Part(None, data.X[:, cols], np.asarray(target, np.float64), names, inputs, units)


def _units_of(data, cols) -> Units | None:
    if data.units is None:
        return None
    inputs = tuple(data.units.inputs[i] for i in cols)
    return Units(inputs, data.units.target, data.units.free_constants)


def _fresh(exprs, taken, stem: str) -> tuple[str, ...]:
    """Names of sub-problem inputs standing for ``exprs``: one of the user's symbols keeps
    its name, others are ``stem{k}``, not in ``taken`` (the user's names; updated)."""
    names = []
    for k, e in enumerate(exprs):
        if e.is_Symbol:
            names.append(str(e))
            continue
        name = f"{stem}{k}"
        while name in taken:
            name = "_" + name
        taken.add(name)
        names.append(name)
    return tuple(names)


def sub_problems(split, expr, data) -> list[Part]:
    """The parts of ``split`` (a :class:`Split`, or :class:`~symnet.search.Groups`) of the
    surrogate ``expr``, over all rows of ``data``.

    ``"drop"``: the data over the inputs that matter. ``"mul"``: a part of one input that
    multiplies the surrogate as a power (:func:`~symnet.search.power_factors`) is known;
    if one part is left, its target is the data divided by the known factors (the data,
    where they can tell); otherwise, and for ``"add"``, part ``k``'s target is the
    surrogate with the inputs outside it held at the anchor. Groups: the prefactor is
    known, and the data divided by it are the target over the groups and the inputs
    passed through. Shifts: the data over the inputs with each pair replaced by its
    difference (sum). The user's units carry over to ``"drop"`` and shifts.
    """
    if isinstance(split, Groups):
        scale, U = split.arrays(data.X)
        pre, ins = split.exprs(data.symbols)
        names = _fresh(ins, set(data.names), "pi")
        return [Part(pre), Part(None, U, data.y / scale, names, tuple(ins))]
    if isinstance(split, Shift):
        ins = tuple(split.exprs(data.symbols))
        names = _fresh(ins, set(data.names), "delta")
        units = _units_of(data, split.kept())
        return [Part(None, split.columns(data.X), data.y, names, ins, units)]
    if split.kind == "drop":
        return [_columns(data, split.parts[0], data.y, same_units=True)]
    factors = {}
    if split.kind == "mul":
        factors = power_factors(expr, data.symbols, data.train[0])
    parts = []
    for k, cols in enumerate(split.parts):
        if len(cols) == 1 and cols[0] in factors:
            a = factors[cols[0]]
            parts.append(Part(data.symbols[cols[0]] ** sympy.Rational(a.numerator, a.denominator)))
            continue
        with np.errstate(all="ignore"):
            t = np.broadcast_to(evaluate(expr, data.symbols, split.held(data.X, k)), data.y.shape)
        parts.append(_columns(data, cols, t))
    unknown = [k for k, p in enumerate(parts) if p.known is None]
    if split.kind == "mul" and len(unknown) == 1:
        known = [p.known for p in parts if p.known is not None]
        with np.errstate(all="ignore"):
            scale = evaluate(sympy.Mul(*known), data.symbols, data.X)
        k = unknown[0]
        parts[k] = _columns(data, split.parts[k], data.y / np.broadcast_to(scale, data.y.shape))
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
    kinds = None if data.units is None else data.units.inputs
    split, surrogate = propose_split(
        state.candidates, data.symbols, data.train[0], below, tried, memo, kinds
    )
    if split is None:
        return state
    parts = sub_problems(split, surrogate.expr, data)
    kind = "mul" if isinstance(split, Groups) else getattr(split, "kind", "add")
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
        config,
        early_stop_condition=min(config.early_stop_condition or SUB_EXACT, SUB_EXACT),
        views=tuple(dict.fromkeys(config.views[:1] + SUB_VIEWS + config.views)),
    )
    shortlists, left = [], n_unknown
    for k, part in enumerate(parts):
        if part.known is not None:
            shortlists.append([part.known])
            continue
        part_budget = _part_budget(budget, end, left)
        left -= 1
        key = jax.random.fold_in(data.key, _SUB_KEY + 100 * depth + k)
        sub = data.derived(
            part.X, part.target, part.names, key=key, config=sub_config, units=part.units
        )
        if sub is None:
            return state
        front = solve(sub, sub_config, part_budget, depth + 1)
        shortlists.append([part.back(c.expr) for c in _shortlist(front, per_part)])
    combos = itertools.islice(itertools.product(*shortlists), MAX_COMBOS)
    for i, combo in enumerate(combos):
        if not budget.refits_open(state.n_refit, state.reserve(budget)):
            break
        expr = _combine(kind, combo)
        if not expr.atoms(sympy.Float):
            expr = (
                sympy.Float(1.0) * expr
                if kind == "mul"
                else sympy.Add(expr, sympy.Float(0.0), evaluate=False)
            )
        expr, _ = refit(expr, data.symbols, *data.train)
        state.n_refit += 1
        cand = data.score(expr, -2 - i, budget.elapsed())
        if cand is not None:
            state.candidates.append(cand)
    return state

"""Polishing a refit formula: canonical form, refit, dropping small terms, rounding,
until it stops changing."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import sympy

from symnet._refit import drop_terms, evaluate, refit
from symnet._rounding import round_constants
from symnet._sympy_utils import SYMPY_FAILURES, bounded_simplify, time_limit
from symnet.search._select import pareto_front

__all__ = ["CANCELLATION", "canonical_forms", "cancellation", "polish", "polish_front"]

#: Coefficients below this fraction of a sum's largest are not its scale (see
#: :func:`canonical_forms`): they may be terms about to be dropped.
ROOT_SCALE_RATIO = 1e-3

#: A formula whose sums cancel by more than this factor is a surrogate (not ``stable``).
CANCELLATION = 1e3


def _normalise_quotient(expr: sympy.Expr) -> sympy.Expr:
    """``N / D`` with ``D``'s largest numeric coefficient divided out of both.

    A quotient's scale is redundant (``(c*a + c*b) / (c*m1 + c*m2)`` for any ``c``); the
    read-out of a rational network leaves it arbitrary, often tiny, and rounding then sees
    near-zero constants instead of the simple ones the formula has.
    """
    if not expr.is_Mul:
        return expr
    num, den = expr.as_numer_denom()
    if not den.is_Add:
        return expr
    coeffs = [t.as_coeff_Mul()[0] for t in den.args]
    c = max(coeffs, key=lambda v: abs(float(v)))
    if not c.is_Float or c == 0:
        return expr
    return sympy.expand(num / c) / sympy.expand(den / c)


def _one_signed(e, symbols, X) -> int:
    """+1 or -1 when ``e`` is finite and of that sign at every sample, else 0."""
    with np.errstate(all="ignore"):
        v = np.broadcast_to(evaluate(e, symbols, X), (len(X),))
    if not np.all(np.isfinite(v)):
        return 0
    return 1 if np.all(v > 0) else (-1 if np.all(v < 0) else 0)


def canonical_forms(expr: sympy.Expr, symbols, X) -> sympy.Expr:
    """Rewrites that hold on the data and make equal formulas look equal.

    * a root of a sum with fitted coefficients, ``(a*u + b*v)**e -> a**e *
      (u + (b/a)*v)**e`` with ``|a|`` the smallest fitted coefficient not below
      :data:`ROOT_SCALE_RATIO` times the largest: the sum's scale is redundant with the
      factor outside, and rounding sees the ratios (``2.0000``) instead of an arbitrary
      split (``0.000642*m1**2 + 0.00128*m1*m2 + ...``, Kepler's ``(2*pi)**-4``);
    * a root of a quotient as a quotient of roots, ``(N/D)**e -> (sN)**e * (sD)**(-e)``,
      where ``N`` and ``D`` keep one sign ``s`` at every sample (``c*sqrt(1/(c**2 - v**2))``
      becomes ``c/sqrt(c**2 - v**2)``, which sympy can compare with ``1/sqrt(1 - v**2/c**2)``
      for positive ``c``);
    * ``exp(a*log(u) + b) -> u**a * exp(b)`` where ``u > 0`` at every sample;
    * a root of a polynomial with a perfect-power factor, ``(c*q**m*r)**e ->
      (s*q)**(m*e) * (c*r)**e``, where ``q`` keeps one sign ``s`` at every sample (and ``m``
      is even or ``s = +1``) and ``c*r > 0`` there (``sqrt(chi**2 + 2*chi + 1)`` becomes
      ``chi + 1`` for ``chi > -1``).

    Both are identities wherever the conditions hold, so the formula is unchanged on the
    data; a sub-expression that does not meet them is left as it is.
    """

    def root_scale(e):
        if not (e.is_Pow and e.exp.is_Rational and not e.exp.is_Integer and e.base.is_Add):
            return e
        coeffs = [t.as_coeff_Mul()[0] for t in e.base.args]
        big = max(abs(float(v)) for v in coeffs)
        fitted = [abs(float(v)) for v in coeffs if v.is_Float and abs(v) >= ROOT_SCALE_RATIO * big]
        c = min(fitted, default=0.0)
        if c == 0 or c == 1:
            return e
        return sympy.Float(c) ** e.exp * sympy.Pow(sympy.expand(e.base / c), e.exp)

    def root_of_quotient(e):
        if not (e.is_Pow and e.exp.is_Rational and not e.exp.is_Integer):
            return e
        num, den = sympy.fraction(sympy.together(e.base))
        if den == 1 or den.is_number and num.is_number:
            return e
        sn, sd = _one_signed(num, symbols, X), _one_signed(den, symbols, X)
        if sn == 0 or sn != sd:
            return e
        return (sn * num) ** e.exp * (sd * den) ** (-e.exp)

    def root_of_power(e):
        if not (e.is_Pow and e.exp.is_Rational and not e.exp.is_Integer):
            return e
        if e.base.is_number or not e.base.is_polynomial(*symbols):
            return e
        powers, rest = [], []
        for f in sympy.Mul.make_args(sympy.factor(e.base)):
            q, m = f.as_base_exp()
            s = 0 if q.is_number or not (m.is_Integer and m > 1) else _one_signed(q, symbols, X)
            if s == 1 or (s == -1 and m % 2 == 0):
                powers.append((s * q) ** (m * e.exp))
            else:
                rest.append(f)
        other = sympy.Mul(*rest)
        if not powers or (other != 1 and _one_signed(other, symbols, X) != 1):
            return e
        return sympy.Mul(*powers) * other**e.exp

    def exp_of_logs(e):
        if not isinstance(e, sympy.exp):
            return e
        keep, powers = [], []
        for term in sympy.Add.make_args(sympy.expand(e.args[0])):
            logs = [f for f in sympy.Mul.make_args(term) if isinstance(f, sympy.log)]
            if len(logs) == 1 and _one_signed(logs[0].args[0], symbols, X) == 1:
                powers.append(logs[0].args[0] ** sympy.cancel(term / logs[0]))
            else:
                keep.append(term)
        if not powers:
            return e
        return sympy.Mul(*powers) * sympy.exp(sympy.Add(*keep))

    expr = expr.replace(lambda e: e.is_Pow, root_scale)
    expr = expr.replace(lambda e: e.is_Pow, root_of_quotient)
    expr = expr.replace(lambda e: e.is_Pow, root_of_power)
    return expr.replace(lambda e: isinstance(e, sympy.exp), exp_of_logs)


def polish(expr, symbols, X, y, w, seconds, deadline=None, rounds: int = 3, rel_tol=None):
    """Canonicalise, refit, drop groups of small terms (:func:`symnet._refit.drop_terms`),
    round; repeated until the formula stops changing.

    Rounding one of two redundant constants (``a * (b * x)``) changes nothing, so each
    round first merges constants (``expand_mul`` + bounded ``simplify``) and refits. Stops
    at ``deadline`` (a ``time.monotonic()`` value; a round still running then is
    interrupted, :func:`symnet._sympy_utils.time_limit`), keeping the last complete form;
    a round that sympy itself fails on (see :data:`SYMPY_FAILURES`) also keeps it.
    Simplification treats inputs that are positive at every sample as positive
    (``sqrt(c**2) = c`` there), so the formula is unchanged on the data. ``rel_tol``
    is :func:`symnet._rounding.round_constants`' practical tolerance (its default if None;
    0 rounds only what the data cannot distinguish statistically).
    """
    tol = {} if rel_tol is None else {"rel_tol": rel_tol}
    pos = {
        s: sympy.Symbol(s.name, positive=True)
        for i, s in enumerate(symbols)
        if np.all(np.asarray(X)[:, i] > 0)
    }
    unpos = {p: s for s, p in pos.items()}
    for _ in range(rounds):
        left = math.inf if deadline is None else deadline - time.monotonic()
        if left <= 0:
            break
        before = expr
        try:  # the whole round bounded: expand, factor and cancel can blow up too
            with time_limit(None if deadline is None else left):
                simple = bounded_simplify(sympy.expand_mul(expr).xreplace(pos), min(seconds, left))
                trial = canonical_forms(_normalise_quotient(simple.xreplace(unpos)), symbols, X)
                trial, _ = refit(trial, symbols, X, y, w)
                trial = drop_terms(trial, symbols, X, y, w, deadline=deadline)
                trial = round_constants(trial, symbols, X, y, w, deadline=deadline, **tol)
        except SYMPY_FAILURES:
            break
        expr = trial
        if expr == before:
            break
    return expr


def polish_front(candidates, data, config, budget, memo: dict | None = None) -> list:
    """The ``polish`` stage: simplify and round only what is on the (complexity, loss)
    Pareto front, until the budget's deadline (what is left then stays as it is).

    Rounding passed a statistical test on the training data; a less rounded form is kept
    as well only if the polished one is clearly worse on validation (noise moves the
    validation loss of two near-identical formulas either way by a little). That form is
    polished with statistical rounding only (``1.0*x`` -> ``x`` and ``1e-16`` -> 0, but
    ``2.6667`` stays where ``8/3`` was only practically indistinguishable), or left as it
    was. Returns candidates sorted by complexity, duplicates removed.

    ``memo`` (a dict kept between calls on the same data) holds the forms of candidates
    polished before, so a search that polishes again after more slots pays only for the
    new ones.
    """
    memo = {} if memo is None else memo
    out, seen = [], set()
    for cand in pareto_front(candidates):
        skip = cand.complexity > config.max_polish_complexity or cand.expr.is_number
        if id(cand) not in memo and (skip or budget.late()):
            out.append(cand)
            continue
        if id(cand) not in memo:
            memo[id(cand)] = (cand, _polish_one(cand, data, config, budget))
        for c in memo[id(cand)][1]:
            key = sympy.srepr(c.expr)
            if key not in seen:
                seen.add(key)
                out.append(c)
    return sorted(out, key=lambda c: (c.complexity, c.val_nmse))


def _polish_one(cand, data, config, budget) -> tuple:
    """The polished form of ``cand``, and a less rounded one if that is clearly worse."""
    polished = _polished(cand, data, config, budget)
    if _as_good(polished, cand):
        return (polished,)
    kept = cand
    if not budget.late():
        strict = _polished(cand, data, config, budget, rel_tol=0.0)
        kept = strict if _as_good(strict, cand) else cand
    return (polished, kept)


def _as_good(new, old) -> bool:
    """Not clearly worse: validation loss at most 1.5 x the original's (plus 1e-12 for
    exact fits)."""
    return new.val_nmse <= 1.5 * old.val_nmse + 1e-12


def cancellation(expr: sympy.Expr, symbols, X: np.ndarray) -> float:
    """How much the terms of ``expr``'s sums cancel on the rows of ``X``: the largest, over
    its ``Add`` nodes, of ``rms(sum |t_k|) / rms(sum t_k)`` (1 where nothing cancels; inf
    where a sum vanishes). A formula that reaches its accuracy as a large multiple of the
    difference of two almost equal terms has a large one: it is a surrogate, however small
    its loss."""
    worst = 1.0
    with np.errstate(all="ignore"):
        for node in sympy.preorder_traversal(expr):
            if not node.is_Add or not node.free_symbols:
                continue
            terms = [np.broadcast_to(evaluate(t, symbols, X), (len(X),)) for t in node.args]
            total = np.sqrt(np.mean(np.sum(terms, axis=0) ** 2))
            size = np.sqrt(np.mean(np.sum(np.abs(terms), axis=0) ** 2))
            ratio = size / total if total > 0 else math.inf
            worst = max(worst, ratio if np.isfinite(ratio) else math.inf)
    return worst


def _polished(cand, data, config, budget, rel_tol=None):
    """``cand`` polished (:func:`polish`) and scored; ``cand`` itself when the polished
    form is not finite on the probe box. A polished form whose sums cancel by more than
    ``CANCELLATION`` on the validation rows (:func:`cancellation`) is not ``stable``."""
    X, y, w = data.train
    expr = polish(
        cand.expr, data.symbols, X, y, w, config.simplify_seconds, budget.deadline, rel_tol=rel_tol
    )
    scored = data.score(expr, cand.member, cand.found_at)
    if scored is None:
        return cand
    scored = dataclasses.replace(scored, network=cand.network)
    if scored.stable and cancellation(expr, data.symbols, data.validation[0]) > CANCELLATION:
        scored = dataclasses.replace(scored, stable=False)
    return scored

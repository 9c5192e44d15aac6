r"""Buckingham's :math:`\pi` theorem, exactly: dimensionless groups and a prefactor.

With the dimension matrix :math:`D` (one row per base dimension, one column per input, the
exponents of each input's units) and the target's exponents :math:`t`, every
dimensionally consistent law can be written

.. math::  y = \prod_i x_i^{c_i}\; g(\pi_1, \dots, \pi_{d-r}),
           \qquad D c = t, \qquad \pi_j = \prod_i x_i^{b_{ji}},\ D b_j = 0,

with :math:`r = \operatorname{rank} D`: ``g`` has :math:`d - r` dimensionless inputs
instead of :math:`d` dimensional ones. :func:`buckingham` returns

* the groups: an integer basis of the null space of :math:`D` made of *circuits* (null
  vectors of minimal support: groups of as few variables as possible), smallest support
  first, then smallest exponents; a dimensionless input is a group of its own;
* the prefactors: solutions of :math:`D c = t` of minimal support (each uses as few
  inputs as possible), simplest first. Any two differ by a product of groups, so which
  one leaves the simplest ``g`` is a question for the data (``m*c**2/sqrt(1 - v**2/c**2)``
  over ``m*c**2`` is ``1/sqrt(1 - u**2)``, over ``m*v**2`` it is not).

``ValueError`` when :math:`t` is not in the column space of :math:`D` (no product of the
inputs has the target's units: a dimensional constant is missing).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction
from typing import NamedTuple

import sympy

from symnet._rational import fraction, integral, rational
from symnet.units._dim import Dim

__all__ = ["Basis", "buckingham"]

#: Supports examined at most per search for circuits or prefactors (beyond: sympy's
#: echelon basis, and the first prefactor found).
MAX_SUPPORTS = 5000
#: Prefactors returned at most.
MAX_PREFACTORS = 8


class Basis(NamedTuple):
    """``prefactors``: exponent maps ``{input index: c_i}`` (simplest first; ``[{}]`` for
    a dimensionless target, ``[]`` when the target's units are unknown); ``groups``:
    exponent maps of the dimensionless groups (integers)."""

    prefactors: list[dict[int, Fraction]]
    groups: list[dict[int, Fraction]]


def _matrix(inputs: Sequence[Dim], target: Dim | None):
    names = set()
    for d in [*inputs, *([target] if target is not None else [])]:
        names |= set(d.exponents)
    bases = sorted(names)
    D = sympy.Matrix(
        len(bases),
        len(inputs),
        lambda b, i: rational(inputs[i].exponents.get(bases[b], Fraction(0))),
    )
    t = sympy.Matrix(
        len(bases), 1, lambda b, _: rational((target.exponents if target else {}).get(bases[b], 0))
    )
    return bases, D, t


def _score(v: list[Fraction]) -> tuple:
    nz = [abs(q) for q in v if q]
    return (len(nz), max(nz, default=0), sum(nz))


def _groups(D: sympy.Matrix, rank: int) -> list[list[Fraction]]:
    d = D.shape[1]
    nullity = d - rank
    chosen: list[list[Fraction]] = []
    seen = 0
    for s in range(1, rank + 2):
        found = []
        for support in itertools.combinations(range(d), s):
            seen += 1
            if seen > MAX_SUPPORTS:
                break
            null = D[:, list(support)].nullspace() if D.rows else [sympy.ones(s, 1)]
            if len(null) != 1 or any(x == 0 for x in null[0]):
                continue  # not a circuit: a smaller support holds a null vector
            v = [Fraction(0)] * d
            for i, x in zip(support, null[0], strict=True):
                v[i] = fraction(x)
            found.append(integral(v))
        for v in sorted(found, key=_score):
            M = sympy.Matrix([[rational(q) for q in w] for w in [*chosen, v]])
            if M.rank() > len(chosen):
                chosen.append(v)
            if len(chosen) == nullity:
                return chosen
        if seen > MAX_SUPPORTS:
            break
    # too many inputs to enumerate: complete with the echelon basis
    for b in D.nullspace():
        v = integral([fraction(x) for x in b])
        M = sympy.Matrix([[rational(q) for q in w] for w in [*chosen, v]])
        if M.rank() > len(chosen):
            chosen.append(v)
    return chosen


def _prefactors(D: sympy.Matrix, t: sympy.Matrix, rank: int) -> list[list[Fraction]]:
    d = D.shape[1]
    if all(x == 0 for x in t):
        return [[Fraction(0)] * d]
    found, seen = [], 0
    for s in range(1, rank + 1):
        for support in itertools.combinations(range(d), s):
            seen += 1
            if seen > MAX_SUPPORTS and found:
                break
            sub = D[:, list(support)]
            if sub.rank() != s:
                continue
            try:
                sol, params = sub.gauss_jordan_solve(t)
            except ValueError:  # t is not a combination of these columns
                continue
            if params.shape[0] or any(x == 0 for x in sol):
                continue
            v = [Fraction(0)] * d
            for i, x in zip(support, sol, strict=True):
                v[i] = fraction(x)
            found.append(v)
        if found:
            break  # minimal support reached
    return sorted(found, key=_score)[:MAX_PREFACTORS]


def buckingham(inputs: Sequence[Dim], target: Dim | None = None) -> Basis:
    """The dimensionless groups of ``inputs`` and the prefactors carrying ``target``'s
    dimension (module doc). ``target=None``: the groups only.

    >>> v, c, m = Dim({"m": 1, "s": -1}), Dim({"m": 1, "s": -1}), Dim({"kg": 1})
    >>> b = buckingham([m, v, c], Dim({"kg": 1, "m": 2, "s": -2}))
    >>> [{i: int(q) for i, q in g.items()} for g in b.groups]  # v/c
    [{1: 1, 2: -1}]
    >>> [{i: int(q) for i, q in p.items()} for p in b.prefactors]  # m*v**2, m*c**2
    [{0: 1, 1: 2}, {0: 1, 2: 2}]
    """
    bases, D, t = _matrix(inputs, target)
    rank = D.rank() if D.rows else 0
    groups = [{i: q for i, q in enumerate(v) if q} for v in _groups(D, rank)]
    if target is None:
        return Basis([], groups)
    if D.row_join(t).rank() > rank:
        have = {b for d in inputs for b in d.exponents}
        missing = [b for b in target.exponents if b not in have]
        why = (
            f"no input has the dimension {', '.join(missing)}"
            if missing
            else "no product of powers of the inputs has them"
        )
        raise ValueError(
            f"`y_units`: the target's units {target} cannot be matched: {why}. A dimensional "
            "constant is probably missing: add it as a column of X with its units (c, h, "
            "kb, G, epsilon...)."
        )
    prefactors = [{i: q for i, q in enumerate(v) if q} for v in _prefactors(D, t, rank)]
    return Basis(prefactors, groups)

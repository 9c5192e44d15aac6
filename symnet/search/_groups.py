r"""Scaling symmetries of a surrogate and the dimensionless groups they leave.

Buckingham's theorem without units: if scaling the positive inputs as
``x_i -> lambda**a_i * x_i`` scales the formula as ``f -> lambda**k * f``, then

    sum_i a_i E_i(x) = k   at every x,   with   E_i = x_i * d(log|f|)/d(x_i)

(Euler's relation; ``E_i`` are the elasticities :mod:`symnet.search._factors` uses). The vectors
``(a, k)`` with ``[E, -1] (a, k) = 0`` on all samples form the null space of the
elasticity matrix augmented with a constant column; it is measured on a *surrogate* (an
accurate formula the search already found) by central differences, and its reduced
row-echelon basis is rounded to halves and checked. With the symmetries ``A a = k``
(``s`` rows), the formula is

    f(x) = x**c * g(pi_1(x), ..., pi_{p-s}(x), z)

where ``A c = k`` (the prefactor), ``pi_j = prod_i x_i**b_ji`` with ``A b_j = 0`` (the
groups) and ``z`` the inputs that are not positive. ``h*omega**3/(c**2*(exp(h*omega/(kb*T))
- 1))`` has four symmetries among five inputs: ``g`` is a function of ``h*omega/(kb*T)``
alone, which a two-layer network can express and the raw inputs do not let it.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import sympy

from symnet._rational import fraction, integral, rational
from symnet.search._factors import elasticities

__all__ = ["Groups", "scaling_groups"]

#: Exponents in symmetries and groups are rounded to multiples of 1 / MAX_DENOMINATOR.
MAX_DENOMINATOR = 2
#: Singular values (per sample, RMS) below this mark a symmetry of the surrogate.
SV_TOL = 0.02


class Groups(NamedTuple):
    """``f = prod x_i**prefactor[i] * g(groups..., passthrough inputs...)``."""

    prefactor: dict[int, Fraction]
    groups: list[dict[int, Fraction]]
    passthrough: list[int]

    @classmethod
    def of_factors(cls, factors: dict[int, Fraction], n_inputs: int) -> Groups:
        """Power factors ``{i: a_i}`` (:func:`symnet.search.power_factors`): the prefactor
        ``prod x_i**a_i`` over all ``n_inputs`` inputs, no groups."""
        return cls(dict(factors), [], list(range(n_inputs)))

    def key(self) -> frozenset:
        return frozenset(
            [("c", i, a) for i, a in self.prefactor.items()]
            + [("g", frozenset(g.items())) for g in self.groups]
        )

    def exprs(self, symbols: Sequence[sympy.Symbol]) -> tuple[sympy.Expr, list[sympy.Expr]]:
        """The prefactor and the view's inputs (groups, then passthrough) as formulas."""

        def mono(powers):
            return sympy.Mul(*(symbols[i] ** rational(a) for i, a in powers.items()))

        ins = [mono(g) for g in self.groups] + [symbols[j] for j in self.passthrough]
        return mono(self.prefactor), ins

    def arrays(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The prefactor and the view's inputs evaluated on ``X``."""
        pre = np.prod([X[:, i] ** float(a) for i, a in self.prefactor.items()], axis=0)
        pre = np.broadcast_to(pre, (len(X),))
        cols = [np.prod([X[:, i] ** float(a) for i, a in g.items()], axis=0) for g in self.groups]
        cols += [X[:, j] for j in self.passthrough]
        return pre, np.column_stack(cols) if cols else np.zeros((len(X), 0))


def _rref(M: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Reduced row-echelon form (partial pivoting), pivots scaled to 1."""
    M = M.astype(np.float64).copy()
    rows, cols = M.shape
    r = 0
    for c in range(cols):
        if r == rows:
            break
        piv = r + int(np.argmax(np.abs(M[r:, c])))
        if abs(M[piv, c]) <= tol:
            continue
        M[[r, piv]] = M[[piv, r]]
        M[r] /= M[r, c]
        for i in range(rows):
            if i != r:
                M[i] -= M[i, c] * M[r]
        r += 1
    return M[:r]


def _frac(v: float) -> Fraction:
    return Fraction(float(v)).limit_denominator(MAX_DENOMINATOR)


def scaling_groups(expr, symbols, X, *, tol=0.05, rel_step=1e-5) -> Groups | None:
    """The groups the surrogate ``expr`` (over ``symbols``, evaluated on the rows of ``X``)
    leaves by its scaling symmetries (see module doc); ``tol`` and ``rel_step`` as in
    :func:`symnet.search.power_factors`.

    Only symmetries that scale at least two inputs together count (a symmetry of one input
    alone is a power factor, :func:`symnet.search.power_factors`). Each rounded symmetry
    must hold as ``power_factors``' exponents do: ``|E a - k|`` within ``tol`` at half of
    the points where ``|f|`` exceeds a third of its RMS and within ``3 * tol`` at 90%.

    Returns:
      :class:`Groups`, or None when no such symmetry holds or the surrogate is not finite.
    """
    X = np.asarray(X, np.float64)
    pos = [i for i in range(X.shape[1]) if np.all(X[:, i] > 0)]
    if len(pos) < 2:
        return None
    E = elasticities(expr, symbols, X, pos, rel_step)
    if E is None or not np.all(np.isfinite(E)):
        return None
    M = np.column_stack([E, -np.ones(len(E))])
    _, sv, vt = np.linalg.svd(M / np.sqrt(len(E)), full_matrices=True)
    sv = np.concatenate([sv, np.zeros(M.shape[1] - len(sv))])
    null = vt[sv <= SV_TOL]
    if len(null) == 0:
        return None
    basis = _rref(null)  # rows (a, k), pivots on the inputs first
    sym_a, sym_k = [], []
    for row in basis:
        a = [_frac(v) for v in row[:-1]]
        k = _frac(row[-1])
        if sum(q != 0 for q in a) == 0:
            continue
        dev = np.abs(E @ np.array([float(q) for q in a]) - float(k))
        if np.median(dev) > tol or np.quantile(dev, 0.9) > 3 * tol:
            continue
        sym_a.append(a)
        sym_k.append(k)
    if not any(sum(q != 0 for q in a) >= 2 for a in sym_a):
        return None
    A = sympy.Matrix([[rational(q) for q in a] for a in sym_a])
    K = sympy.Matrix([rational(q) for q in sym_k])
    try:
        sol, params = A.gauss_jordan_solve(K)
    except ValueError:  # inconsistent once rounded
        return None
    c = sol.subs({p: 0 for p in params})
    groups = []
    for b in A.nullspace():
        v = integral([fraction(q) for q in b])
        groups.append({pos[i]: q for i, q in enumerate(v) if q != 0})
    prefactor = {pos[i]: fraction(q) for i, q in enumerate(c) if q != 0}
    passthrough = [j for j in range(X.shape[1]) if j not in pos]
    if not groups and not passthrough:
        return None  # a power law: nothing is left for a network to find
    return Groups(prefactor, groups, passthrough)

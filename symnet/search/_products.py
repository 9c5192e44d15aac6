r"""Products of powers, exponentials and sines: sparse fits of the target's logarithm.

A law that is a product of factors of one input each,

    y = C * prod_k t_k(x)**a_k,    t_k in {|x_i|, exp(x_i), |sin(x_i)|, |cos(x_i)|,
                                           |sin(x_i/2)|, |cos(x_i/2)|},

is linear in the logarithm of its magnitude (``y`` never 0):

    log|y| = log|C| + sum_k a_k * log t_k(x),

so a sparse least-squares fit over the columns ``log|x_i|``, ``x_i``, ``log|sin x_i|``,
``log|cos x_i|`` and those of the half angle (where they are never 0 on the data; SRSD's
B1, Rutherford scattering, goes as ``sin(theta/2)**-4``) finds it
(:func:`symnet.search.sparse_fits`, with its exhaustive pairs and triples).
``sin(theta1)/sin(theta2)`` (SRSD's I.26.2) and ``lambda/(n*sin(theta))`` (I.30.5) grow
without bound as an angle nears 0; networks and the additive library
(:mod:`symnet.search._library`) fit them by polynomial surrogates, here
they are fits of two and three terms. Each support leaving at most ``MAX_LOG_NMSE`` of the
logarithm's variance gives ``s * exp(c_0) * prod_k t_k**c_k``, refit on the raw training
data and scored like any candidate (its exponents are rounded by the polish). Signs: a
factor that changes sign on the data (a signed input such as a field ``Ef``, the cosine
of an angle over ``(0, pi)``) enters with an integer power, and the sign ``s`` must make
the product's sign the target's on every row (SRSD's II.11.20
``n*p_d**2*Ef/(3*kb*T)``, II.6.15b ``3*p_d*cos(theta)*sin(theta)/(4*pi*eps*r**3)``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy
from threadpoolctl import threadpool_limits

from symnet.search._library import (
    MAX_COLUMNS_PER_ROW,
    MAX_UNARY_INPUTS,
    MAX_VIEW_NMSE,
    TARGET_POWERS,
    add_formula,
    library,
    linear_formula,
    one_sign,
    signed_powers,
)
from symnet.search._rational import rational_quotients, rational_terms
from symnet.search._sparse import (
    BEST_SUPPORTS,
    SparseFitter,
    fit_support,
    sparse_fits,
)

__all__ = ["MAX_LOG_NMSE", "factored_sums", "log_terms", "product_stage"]

#: A support is kept when it leaves at most this share of ``log|y|``'s variance.
MAX_LOG_NMSE = 1e-2
#: A sign-changing factor's fitted exponent must lie this close to an integer.
INTEGER_TOLERANCE = 0.1
#: The power law of every input seeds factored sums when its log fit leaves at most this
#: share of the variance.
MAX_ROUGH_NMSE = 0.5
#: Integer exponent sets tried as factors of a factored sum, at most.
MAX_ROUNDINGS = 6
#: A rough exponent this far from an integer marks an input that may sit inside the sum.
LOOSE_EXPONENT = 0.05
#: Inputs with several rounded exponents to try, at most (3**6 sets to rank).
MAX_AMBIGUOUS = 6
#: Factored sums refit and scored, at most (the most accurate sparse fits).
MAX_FACTORED = 8
#: The roundings nearest the rough fit whose quotient is also fitted as a rational function.
RATIONAL_ROUNDINGS = 2


def log_terms(X: np.ndarray, symbols):
    """``(bases, columns, signs)``: each column is ``log|t(x)|`` for the factor ``t``
    (module doc) given by its base expression; a formula's factor is ``base**a``.
    ``signs[k]`` is None where ``t`` keeps one sign (the base is ``|t|``), else the signs
    of ``t`` on the rows (an input, sine or cosine changing sign but never 0: its power
    must be an integer, whose parity carries the sign)."""
    bases, cols, signs = [], [], []
    with np.errstate(all="ignore"):
        for i, x in enumerate(symbols):
            u = X[:, i]
            if np.std(u) == 0:
                continue
            bases.append(sympy.exp(x))
            cols.append(u)
            signs.append(None)
            half = x / 2
            for t, v in (
                (x, u),
                (sympy.sin(x), np.sin(u)),
                (sympy.cos(x), np.cos(u)),
                (sympy.sin(half), np.sin(u / 2)),
                (sympy.cos(half), np.cos(u / 2)),
            ):
                s = one_sign(v)
                col = np.log(np.abs(v))
                if np.all(np.isfinite(col)) and np.std(col) > 0:
                    bases.append(int(s) * t if s else t)
                    cols.append(col)
                    signs.append(None if s else np.sign(v))
    A = np.column_stack(cols) if cols else np.zeros((len(X), 0))
    return bases, A, signs


def _powers(c, support, signs, sy):
    """``(exponents, sign)``: the fitted exponents ``c`` of ``support`` with those of
    sign-changing factors rounded to integers, and the constant sign ``s`` for which
    ``s * prod sign(t_k)**a_k`` is the sign ``sy`` of the target on every row; None where
    a sign-changing factor's exponent is not within ``INTEGER_TOLERANCE`` of an integer
    or no constant sign reproduces ``sy``."""
    powers, parity = [], np.ones_like(sy)
    for ck, k in zip(c, support, strict=True):
        if signs[k] is None:
            powers.append(sympy.Float(ck))
            continue
        a = round(float(ck))
        if abs(ck - a) > INTEGER_TOLERANCE:
            return None
        powers.append(sympy.Integer(a))
        parity = parity * signs[k] ** (a % 2)
    s = float(sy[0] * parity[0])
    return (powers, s) if np.all(s * parity == sy) else None


def product_stage(state, data, config, budget):
    """Sparse fits of ``log|y|`` (module doc) on the search's data, once per search, each
    support's product refit and added to ``state``'s candidates."""
    done = state.memo.setdefault("products", {})
    if not config.library or done or budget.late():
        return state
    done[0] = True
    X, y, w = data.train
    if not np.all(y != 0):
        return state
    bases, A, signs = log_terms(X, data.symbols)
    if A.shape[1] == 0:
        return state
    ly, sy = np.log(np.abs(y)), np.sign(y)
    powers = [k for k, b in enumerate(bases) if b.is_Symbol or (-b).is_Symbol]
    with threadpool_limits(limits=1, user_api="blas"):
        supports = sparse_fits(A, ly, w, exhaustive=True) + _power_laws_and_one(A, ly, w, powers)
        for i, support in enumerate(supports):
            if not budget.refits_open(state.n_refit, state.reserve(budget)):
                return state
            c, nmse = fit_support(A, support, ly, w)
            signed = _powers(c[:-1], support, signs, sy) if nmse <= MAX_LOG_NMSE else None
            if signed is None or not np.all(np.isfinite(c)):
                continue
            exponents, s = signed
            factors = [bases[k] ** a for a, k in zip(exponents, support, strict=True)]
            expr = s * sympy.Float(np.exp(c[-1])) * sympy.Mul(*factors)
            add_formula(state, data, budget, expr, -600_000 - i)
        # the power law of every input, rough: its rounded exponents seed factored sums
        if powers:
            c, nmse = fit_support(A, powers, ly, w)
            if nmse <= MAX_ROUGH_NMSE and np.all(np.isfinite(c)):
                factored_sums(state, data, budget, bases, c[:-1], powers)
    return state


def _power_laws_and_one(A, ly, w, powers) -> list[tuple[int, ...]]:
    """Supports of many factors, which the sparse paths (at most ``MAX_TERMS``) miss:
    the powers of every input with one other column, the ``BEST_SUPPORTS`` that fit best,
    each without the powers whose exponent is within ``INTEGER_TOLERANCE`` of 0 (bonus
    test_1, ``Z1**2*Z2**2*alpha**2*hbar**2*c**2/(16*E**2*sin(theta/2)**4)``, has seven)."""
    if not powers:
        return []
    scored = []
    for k in [None, *(k for k in range(A.shape[1]) if k not in powers)]:
        support = [*powers, k] if k is not None else list(powers)
        c, nmse = fit_support(A, support, ly, w)
        if np.all(np.isfinite(c)):
            kept = [
                j for j, cj in zip(support, c[:-1], strict=True) if abs(cj) > INTEGER_TOLERANCE
            ]
            scored.append((nmse, tuple(sorted(kept))))
    best = sorted(scored)[:BEST_SUPPORTS]
    return list(dict.fromkeys(support for _, support in best if support))


def _roundings(c, support, bases) -> list[dict[int, int]]:
    """Integer exponents ``{k: a_k}`` for the power bases (``x_i``, ``-x_i``) of a rough
    log fit: each fitted ``c_k`` rounded, or, more than 0.15 from an integer, floored and
    ceiled, and 0 besides where it is more than ``LOOSE_EXPONENT`` from an integer (the
    input may sit inside the sum only: ``log(V2/V1)``); the ``MAX_ROUNDINGS`` sets nearest
    the fit, none empty. At most ``MAX_AMBIGUOUS`` inputs (those whose second option is
    nearest) keep several options."""
    options = []
    for ck, k in zip(c, support, strict=True):
        if bases[k].is_Symbol or (-bases[k]).is_Symbol:
            lo = math.floor(ck)
            near = [round(ck)] if min(ck - lo, lo + 1 - ck) <= 0.15 else [lo, lo + 1]
            if abs(ck - round(ck)) > LOOSE_EXPONENT and 0 not in near:
                near.append(0)
            options.append(sorted(((k, a, abs(a - ck)) for a in near), key=lambda o: o[2]))
    ambiguous = sorted((o for o in options if len(o) > 1), key=lambda o: o[1][2])
    keep = {id(o) for o in ambiguous[:MAX_AMBIGUOUS]}
    options = [o if id(o) in keep else o[:1] for o in options]
    sets = sorted(itertools.product(*options), key=lambda o: sum(d for _, _, d in o))
    out = [{k: a for k, a, _ in o if a != 0} for o in sets]
    return [o for o in out if o][:MAX_ROUNDINGS]


def factored_sums(state, data, budget, bases, c, support) -> None:
    """``y = prod_k x_k**a_k * g(x)`` with ``g`` a short sum of library terms
    (:func:`symnet.search._library.library`) or a power of one: the integer exponents
    ``a_k`` near a rough log fit's (:func:`_roundings`) divide ``y``, and sparse fits of
    the quotient (and of its powers ``TARGET_POWERS`` where it keeps one sign) over the
    library give ``g`` (also over the inputs not divided out or with a rough exponent
    more than ``LOOSE_EXPONENT`` from an integer, with their ``log``, ``sin`` ... terms,
    where they are at most ``MAX_UNARY_INPUTS``: ``n*kb*T*log(V2/V1)``, SRSD I.44.4,
    ``omega_0**2/omega**2*(omega/omega_0 + omega_0/omega - sin(beta)**2)``, B20); the
    ``MAX_FACTORED`` most accurate are refit and scored. A power
    law with one sum in it is one: ``(m1*m2)**2*(m1 + m2)/r**5`` (SRSD B9, fitted as
    ``m1**2.43*m2**2.37/r**5.07``), ``mom*sqrt(Bx**2 + By**2 + Bz**2)`` (III.10.19)."""
    X, y, w = data.train
    width = int(MAX_COLUMNS_PER_ROW * len(y))
    exprs, A = library(X, data.symbols, width)
    full = exprs, SparseFitter(A, w), A
    # inputs whose rough exponent is not near an integer may sit inside g
    loose = {
        x
        for ck, k in zip(c, support, strict=True)
        if abs(ck - round(ck)) > LOOSE_EXPONENT
        for x in bases[k].free_symbols
    }
    found = []  # (nmse, member, formula): only the most accurate are refit
    inners = {}  # the library of the inputs inside the sum, by those inputs
    for r, powers in enumerate(_roundings(c, support, bases)):
        if budget.late():
            break
        libraries = [full]
        factors = _factor_symbols(powers, bases)
        inner = [j for j, x in enumerate(data.symbols) if x not in factors or x in loose]
        few = 0 < len(inner) <= MAX_UNARY_INPUTS < X.shape[1]  # g of a few inputs only
        if few and tuple(inner) not in inners:
            syms = [data.symbols[j] for j in inner]
            exprs, A = library(X[:, inner], syms, width)
            inners[tuple(inner)] = (
                (exprs, SparseFitter(A, w), A),
                rational_terms(X[:, inner], syms),
            )
        if few:
            libraries.append(inners[tuple(inner)][0])
        with np.errstate(all="ignore"):
            f = np.prod(
                [evaluate_base(bases[k], X, data.symbols) ** a for k, a in powers.items()], 0
            )
            yr = y / f
        if not np.all(np.isfinite(yr)) or np.std(yr) == 0:
            continue
        prefactor = sympy.Mul(*(bases[k] ** a for k, a in powers.items()))
        if few and r < RATIONAL_ROUNDINGS:  # g a quotient: d*(1 - alpha**2)/(1 + alpha*cos)
            exprs, T = inners[tuple(inner)][1]
            for i, (nmse, g) in enumerate(rational_quotients(T, exprs, yr, w, targets=False)):
                found.append((nmse, -750_000 - 1000 * r - i, prefactor * g))
        for (exprs, fitter, A), (t, (yv, to_y)) in itertools.product(
            libraries, enumerate(signed_powers(yr, TARGET_POWERS))
        ):
            # the best pairs for every power (cheap), the best triples for y itself
            fits = fitter.supports(yv, (), pairs=BEST_SUPPORTS, exhaustive=t == 0)
            for i, sub in enumerate(fits):
                cs, nmse = fit_support(A, sub, yv, w)
                if nmse <= MAX_VIEW_NMSE:
                    expr = prefactor * to_y(linear_formula(cs, exprs, sub))
                    found.append((nmse, -700_000 - 1000 * r - 100 * t - i, expr))
    for _, member, expr in sorted(found, key=lambda f: f[:2])[:MAX_FACTORED]:
        if not budget.refits_open(state.n_refit, state.reserve(budget)):
            return
        add_formula(state, data, budget, expr, member)


def _factor_symbols(powers, bases) -> set:
    return {x for k in powers for x in bases[k].free_symbols}


def evaluate_base(base: sympy.Expr, X: np.ndarray, symbols) -> np.ndarray:
    """The values of a power base ``x_i`` or ``-x_i`` on ``X``."""
    (x,) = base.free_symbols
    col = X[:, list(symbols).index(x)]
    return col if base.is_Symbol else -col

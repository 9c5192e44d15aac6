"""Power factors: inputs that multiply the whole formula as ``x_i ** a``.

If ``y = x_i**a * g(x_rest)``, the elasticity of ``y`` in ``x_i``,

    E_i(x) = x_i * d(log|y|)/d(x_i),

equals ``a`` at every point (AI Feynman's multiplicative separability, restricted to power
factors). It is measured on a *surrogate* — an accurate formula the search already found —
by central differences, so no new data are needed. Dividing the factors out leaves a
simpler target (``q*(Ef + B*v*sin(theta))`` becomes ``Ef + B*v*sin(theta)``), which a
shallow network can express; the found formula is multiplied back.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import sympy

from symnet._refit import evaluate

__all__ = ["elasticities", "power_factors"]

#: Exponents a power factor may have.
MAX_DENOMINATOR = 2
MAX_ABS_EXPONENT = 5


def power_factors(
    expr: sympy.Expr,
    symbols: Sequence[sympy.Symbol],
    X: np.ndarray,
    *,
    tol: float = 0.05,
    rel_step: float = 1e-5,
) -> dict[int, Fraction]:
    """Inputs whose elasticity in ``expr`` is a constant simple exponent.

    Only strictly positive inputs are considered. At the points where ``|expr|`` exceeds
    a third of its RMS (elasticities blow up near zeros of the formula), ``E_i`` must stay
    within ``tol`` of a non-zero multiple of 1/2 no larger than 5 in magnitude at half of
    the points, and within ``3 * tol`` at 90% of them (a surrogate is only approximately
    separable; a false factor costs one population, as every formula is refit and scored
    on the raw data).

    Returns:
      ``{input index: exponent}`` (empty if none qualifies or the surrogate is not finite).
    """
    X = np.asarray(X, np.float64)
    pos = [i for i in range(X.shape[1]) if np.all(X[:, i] > 0)]
    E = elasticities(expr, symbols, X, pos, rel_step)
    if E is None:
        return {}
    out = {}
    for col, i in enumerate(pos):
        if not np.all(np.isfinite(E[:, col])):
            continue
        a = Fraction(float(np.median(E[:, col]))).limit_denominator(MAX_DENOMINATOR)
        if a == 0 or abs(a) > MAX_ABS_EXPONENT:
            continue
        dev = np.abs(E[:, col] - float(a))
        if np.median(dev) <= tol and np.quantile(dev, 0.9) <= 3 * tol:
            out[i] = a
    return out


def elasticities(
    expr: sympy.Expr,
    symbols: Sequence[sympy.Symbol],
    X: np.ndarray,
    cols: Sequence[int],
    rel_step: float = 1e-5,
) -> np.ndarray | None:
    """``E_i = x_i * d(log|f|)/d(x_i)`` for the inputs ``cols`` (central differences of
    relative step ``rel_step``), at the rows where ``|f|`` exceeds a third of its RMS
    (elasticities blow up near zeros of the formula): an array ``(rows, len(cols))``,
    possibly with non-finite entries; None if ``f`` is not finite on ``X`` or fewer than
    10 rows qualify."""
    X = np.asarray(X, np.float64)
    with np.errstate(all="ignore"):
        f = evaluate(expr, symbols, X)
    if not np.all(np.isfinite(f)):
        return None
    big = np.abs(f) > np.sqrt(np.mean(f * f)) / 3
    if big.sum() < 10:
        return None
    E = np.empty((int(big.sum()), len(cols)))
    for col, i in enumerate(cols):
        h = rel_step * X[:, i]
        hi, lo = X.copy(), X.copy()
        hi[:, i] += h
        lo[:, i] -= h
        with np.errstate(all="ignore"):
            d = (evaluate(expr, symbols, hi) - evaluate(expr, symbols, lo)) / (2 * h)
            E[:, col] = (X[:, i] * d / f)[big]
    return E

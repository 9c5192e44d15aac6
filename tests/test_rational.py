"""Rational functions of a few inputs by linearised fits (``symnet/search/_rational.py``)."""

import numpy as np
import pytest
import sympy
from _stages import assert_found, run_stage

from symnet.dynamics import differentiate
from symnet.search import product_stage
from symnet.search._rational import rational_quotients, rational_stage, rational_terms


def test_terms_evaluate_to_their_columns():
    rng = np.random.default_rng(0)
    U = rng.uniform(0.5, 3, (50, 3))
    syms = sympy.symbols("a b c", real=True)
    exprs, T = rational_terms(U, syms)
    assert T.shape == (50, len(exprs)) and len(exprs) > 50
    assert sympy.cos(syms[0] - syms[1]) in exprs
    assert syms[2] ** 2 * sympy.cos(syms[0] - syms[1]) in exprs
    for e, col in zip(exprs, T.T, strict=True):
        np.testing.assert_allclose(sympy.lambdify(syms, e)(*U.T) * np.ones(50), col, rtol=1e-12)


def test_terms_leave_out_powers_undefined_on_the_data():
    """An input that is 0 somewhere (a state of an ODE) has no negative powers or roots."""
    rng = np.random.default_rng(0)
    U = np.column_stack([rng.uniform(-1, 1, 50), rng.uniform(0.5, 3, 50)])
    U[0, 0] = 0.0
    a, b = syms = sympy.symbols("a b", real=True)
    exprs, T = rational_terms(U, syms)
    assert np.all(np.isfinite(T))
    assert all(not e.has(1 / a, sympy.sqrt(a)) for e in exprs)
    assert a / b in exprs and a * sympy.cos(b) in exprs


@pytest.mark.parametrize(
    ("names", "law", "truth"),
    [
        # relativistic aberration (SRSD B10): a power of one input times a cosine
        (
            ["theta", "v"],
            lambda X: (np.cos(X[:, 0]) - X[:, 1] / 3) / (1 - X[:, 1] / 3 * np.cos(X[:, 0])),
            "(cos(theta) - v/3)/(1 - v/3*cos(theta))",
        ),
        # bonus test_10: the angle itself, the acos of such a quotient
        (
            ["c", "v", "theta"],
            lambda X: np.arccos(
                (np.cos(X[:, 2]) - X[:, 1] / X[:, 0]) / (1 - X[:, 1] / X[:, 0] * np.cos(X[:, 2]))
            ),
            "acos((cos(theta) - v/c)/(1 - v/c*cos(theta)))",
        ),
    ],
    ids=["aberration", "acos"],
)
def test_quotients_with_a_mixed_term_are_found_exactly(names, law, truth):
    rng = np.random.default_rng(1)
    lo = {"theta": 0.2, "v": 0.5, "c": 4.0}
    hi = {"theta": 3.0, "v": 2.0, "c": 6.0}
    X = np.column_stack([rng.uniform(lo[n], hi[n], 400) for n in names])
    state, data = run_stage(rational_stage, X, law(X), names)
    assert_found(
        state,
        X,
        data.symbols,
        sympy.sympify(truth, {n: s for n, s in zip(names, data.symbols, strict=True)}),
        rtol=1e-8,
    )


def test_a_quotient_under_a_power_factor_is_found_by_the_product_stage():
    """Bonus test_3, ``d*(1 - alpha**2)/(1 + alpha*cos(theta1 - theta2))``: four inputs,
    the quotient of three once ``d`` is divided out."""
    rng = np.random.default_rng(2)
    X = np.column_stack(
        [rng.uniform(1, 3, 400), rng.uniform(2, 4, 400), rng.uniform(4, 5, (400, 2))]
    )
    y = X[:, 0] * (1 - X[:, 1] ** 2) / (1 + X[:, 1] * np.cos(X[:, 2] - X[:, 3]))
    state, data = run_stage(product_stage, X, y, ["d", "alpha", "theta1", "theta2"])
    d, alpha, t1, t2 = data.symbols
    assert_found(
        state, X, data.symbols, d * (1 - alpha**2) / (1 + alpha * sympy.cos(t1 - t2)), rtol=1e-8
    )


def test_nothing_is_fitted_once_the_best_candidate_is_exact():
    """A linear law is exact among the baselines: the stage adds no candidate."""
    rng = np.random.default_rng(3)
    X = rng.uniform(1, 2, (200, 2))
    state, _ = run_stage(rational_stage, X, 2 * X[:, 0] - X[:, 1], ["a", "b"])
    assert min(c.val_nmse for c in state.candidates) < 1e-20
    assert "rational" not in state.memo


def test_no_fit_has_a_pole_on_the_data():
    """On an estimated derivative (``p' = v`` of a damped oscillator, irregular times) the
    linearised fit offers quotients whose numerator and denominator both cross 0 on the
    data, ``v`` written as 0/0: none is kept."""
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0.0, 6.0, 120))
    t[0] = 0.0
    w = np.sqrt(1 - 0.1**2)
    e = np.exp(-0.1 * t)
    p = e * (np.cos(w * t) + 0.1 / w * np.sin(w * t))
    v = -e * (w + 0.01 / w) * np.sin(w * t)
    X = np.column_stack([p, v])
    syms = sympy.symbols("p v", real=True)
    exprs, T = rational_terms(X, syms)
    found = rational_quotients(T, exprs, differentiate(X, t)[:, 0], np.ones(len(t)))
    assert found
    for _, expr in found:
        den = sympy.fraction(sympy.together(expr))[1]
        D = sympy.lambdify(syms, den)(*X.T) * np.ones(len(t))
        assert D.min() * D.max() > 0, expr


def test_sums_of_sines_of_differences_are_found():
    """Coupled phases (a Kuramoto-type law, not in a benchmark suite): a plain sum of terms
    the library does not have."""
    rng = np.random.default_rng(4)
    X = rng.uniform(-3, 3, (300, 3))
    y = np.sin(X[:, 1] - X[:, 0]) + 0.3 * np.sin(X[:, 2] - X[:, 1]) - 0.5 * np.cos(X[:, 0])
    state, data = run_stage(rational_stage, X, y, ["a", "b", "c"])
    a, b, c = data.symbols
    truth = sympy.sin(b - a) + sympy.Rational(3, 10) * sympy.sin(c - b) - sympy.cos(a) / 2
    assert_found(state, X, data.symbols, truth)

"""Sparse products from the target's logarithm (``product_stage``)."""

import numpy as np
import pytest
import sympy
from _stages import assert_found, run_stage

from symnet.search import product_stage
from symnet.search._products import log_terms

x0, x1, x2 = SYMS = sympy.symbols("x0 x1 x2", real=True)
x3 = sympy.Symbol("x3", real=True)


def _run(X, y, names=None):
    names = names or [s.name for s in SYMS[: X.shape[1]]]
    return run_stage(product_stage, X, y, names)[0]


@pytest.mark.parametrize(
    ("law", "truth"),
    [
        # SRSD I.30.5 and I.26.2: reciprocal sines, unbounded as the angle nears 0
        (lambda X: X[:, 0] / (X[:, 1] * np.sin(X[:, 2])), x0 / (x1 * sympy.sin(x2))),
        (lambda X: np.sin(X[:, 2]) / np.sin(X[:, 1]), sympy.sin(x2) / sympy.sin(x1)),
        (lambda X: -3 * X[:, 0] ** 2 * np.exp(-X[:, 1]), -3 * x0**2 * sympy.exp(-x1)),
    ],
    ids=["lambda/(n*sin)", "sin/sin", "x**2*exp(-y)"],
)
def test_products_are_found_exactly(law, truth):
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(1, 5, 300), rng.uniform(0.02, 1.5, (300, 2))])
    y = law(X)
    state = _run(X, y)
    best = min(state.candidates, key=lambda c: c.val_nmse)
    assert best.val_nmse < 1e-20
    values = sympy.lambdify(SYMS, best.expr)(*X.T)
    np.testing.assert_allclose(values, sympy.lambdify(SYMS, truth)(*X.T), rtol=1e-9)


def _signed(rng, n):
    return rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 3, n)


@pytest.mark.parametrize(
    ("law", "truth"),
    [
        # SRSD II.11.20: n*p_d**2*Ef/(3*kb*T), a dipole moment and a field of both signs
        (lambda X: X[:, 0] * X[:, 1] ** 2 * X[:, 2] / 3, x0 * x1**2 * x2 / 3),
        # SRSD II.6.15b: 3*p_d*cos(theta)*sin(theta)/r**3 over theta in (0, pi)
        (
            lambda X: 3 * X[:, 1] * np.cos(X[:, 2]) * np.sin(X[:, 2]) / X[:, 0] ** 3,
            3 * x1 * sympy.cos(x2) * sympy.sin(x2) / x0**3,
        ),
    ],
    ids=["n*p**2*E/3", "p*cos*sin/r**3"],
)
def test_signed_products_are_found_exactly(law, truth):
    """Both laws changed sign, and the stage was skipped."""
    rng = np.random.default_rng(2)
    angle = rng.uniform(0.05, np.pi - 0.05, 400)
    third = angle if truth.has(sympy.cos) else _signed(rng, 400)
    X = np.column_stack([rng.uniform(1, 5, 400), _signed(rng, 400), third])
    state = _run(X, law(X))
    assert_found(state, X, SYMS, truth)


def test_a_target_that_changes_sign_with_no_factor_gets_no_products():
    X = np.random.default_rng(1).uniform(1, 2, (200, 2))
    state = _run(X, X[:, 0] - X[:, 1])
    assert not [c for c in state.candidates if c.member <= -600_000]


def test_log_terms_are_taken_where_defined():
    X = np.column_stack([np.linspace(0.1, 1.5, 50), np.linspace(-2, 5, 50)])
    bases, A, signs = log_terms(X, SYMS[:2])
    # x0 is positive and an angle: exp, power, sin, cos, and those of x0/2; x1 is 0 at a
    # sample (so are its sines): exp, and its cosines, which change sign but are never 0
    h0, h1 = x0 / 2, x1 / 2
    assert bases == [
        *(sympy.exp(x0), x0, sympy.sin(x0), sympy.cos(x0), sympy.sin(h0), sympy.cos(h0)),
        *(sympy.exp(x1), sympy.cos(x1), sympy.cos(h1)),
    ]
    assert A.shape == (50, 9) and np.all(np.isfinite(A))
    assert [s is None for s in signs] == [True] * 7 + [False] * 2
    np.testing.assert_array_equal(signs[-2], np.sign(np.cos(X[:, 1])))


@pytest.mark.parametrize(
    ("law", "truth", "signed"),
    [
        # SRSD B9, (m1*m2)**2*(m1 + m2)/r**5: fitted as m1**2.43*m2**2.37/r**5.07 before
        (
            lambda X: -3 * (X[:, 0] * X[:, 1]) ** 2 * (X[:, 0] + X[:, 1]) / X[:, 2] ** 5,
            -3 * (x0 * x1) ** 2 * (x0 + x1) / x2**5,
            False,
        ),
        # SRSD III.10.19, mom*sqrt(Bx**2 + By**2) with a moment of both signs
        (
            lambda X: X[:, 1] * np.sqrt(X[:, 0] ** 2 + X[:, 2] ** 2),
            x1 * sympy.sqrt(x0**2 + x2**2),
            True,
        ),
    ],
    ids=["(m1*m2)**2*(m1 + m2)/r**5", "mom*sqrt(Bx**2 + By**2)"],
)
def test_power_laws_with_one_sum_are_found_exactly(law, truth, signed):
    rng = np.random.default_rng(3)
    middle = _signed(rng, 400) if signed else rng.uniform(1, 10, 400)
    X = np.column_stack([rng.uniform(1, 10, 400), middle, rng.uniform(1, 10, 400)])
    state = _run(X, law(X))
    assert_found(state, X, SYMS, truth)


def test_products_of_more_factors_than_a_sparse_path_takes():
    """Bonus test_1, Rutherford scattering: six powers and sin(theta/2)**-4 (seven factors;
    the sparse paths stop at six and fitted sin(Z_1/2) for Z_1)."""
    rng = np.random.default_rng(4)
    X = np.column_stack([rng.uniform(1, 2, (500, 6)), rng.uniform(1, 3, 500)])
    y = np.prod(X[:, :4], 1) ** 2 / (16 * X[:, 4] ** 2 * X[:, 5] * np.sin(X[:, 6] / 2) ** 4)
    state = _run(X, y, [f"v{i}" for i in range(7)])
    best = min(state.candidates, key=lambda c: c.val_nmse)
    assert best.val_nmse < 1e-20, best.expr
    assert best.expr.has(sympy.sin(sympy.Symbol("v6", real=True) / 2))


@pytest.mark.parametrize(
    ("law", "truth"),
    [
        # SRSD I.44.4, n*kb*T*log(V2/V1): the sum is over two inputs the power law skips
        (
            lambda X: 1.5 * X[:, 0] * X[:, 1] * np.log(X[:, 3] / X[:, 2]),
            1.5 * x0 * x1 * (sympy.log(x3) - sympy.log(x2)),
        ),
        # Klein-Nishina (bonus test_20): omega_0**2/omega**2*(omega/omega_0 + omega_0/omega
        # - sin(beta)**2), a sine squared among powers of inputs also in the prefactor
        (
            lambda X: (
                X[:, 0]
                * X[:, 1] ** 2
                / X[:, 2] ** 2
                * (X[:, 2] / X[:, 1] + X[:, 1] / X[:, 2] - np.sin(X[:, 3]) ** 2)
            ),
            x0 * x1**2 / x2**2 * (x2 / x1 + x1 / x2 - sympy.sin(x3) ** 2),
        ),
    ],
    ids=["n*T*log(V2/V1)", "Klein-Nishina"],
)
def test_factored_sums_of_a_few_inputs_take_their_unary_terms(law, truth):
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.uniform(1, 5, (500, 3)), rng.uniform(0, 6, 500)])
    if truth.has(sympy.log):
        X[:, 2:] = rng.uniform([1, 3], [2, 5], (500, 2))  # V1 < V2
    syms = (x0, x1, x2, x3)
    state = _run(X, law(X), [s.name for s in syms])
    assert_found(state, X, syms, truth, rtol=1e-8)

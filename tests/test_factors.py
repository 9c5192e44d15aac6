"""Power factors measured on a surrogate formula, and the views of the reduced target."""

from fractions import Fraction

import numpy as np
import pytest
import sympy

from symnet._refit import evaluate
from symnet.search import Groups, power_factors, reduced_views, view_symbols

q, ef, b, v, th = SYMS = sympy.symbols("q Ef B v theta", real=True)


@pytest.fixture
def X():
    return np.random.default_rng(0).uniform(1, 5, (750, 5))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (q * (ef + b * v * sympy.sin(th)), {0: 1}),  # the target changes sign: still found
        (1.0003 * q * (ef + b * v * sympy.sin(th)) + 0.01 * b, {0: 1}),  # a near surrogate
        (q * ef * b * sympy.log(v / th), {0: 1, 1: 1, 2: 1}),
        (q * (ef**2 + b**2) * v**2 / 4, {0: 1, 3: 2}),
        (sympy.sqrt(q) * ef / b**2 * (v + th), {0: Fraction(1, 2), 1: 1, 2: -2}),
        # bonus test_9's G**4 / (c**5 * r**5) (exponents above 3 were not taken)
        (q**4 * (ef + b) / (v**5 * th**5), {0: 4, 3: -5, 4: -5}),
        ((q * ef + b * v) / (q + b), {}),  # a weighted mean has no power factor
        (sympy.sin(q) * ef, {1: 1}),  # sin(q) is a factor, but not a power
    ],
)
def test_power_factors(X, expr, expected):
    assert power_factors(expr, SYMS, X) == expected


def test_power_factors_skip_inputs_that_are_not_positive(X):
    X = X.copy()
    X[:, 0] -= 3.0  # q now crosses 0
    assert power_factors(q * (ef + b), SYMS, X) == {}  # q is the only factor: skipped
    assert power_factors(q * ef, SYMS, X) == {1: 1}


def test_power_factors_of_a_non_finite_surrogate_are_empty(X):
    assert power_factors(sympy.log(q - 3) * ef, SYMS, X) == {}


def _factors(factors):
    return Groups.of_factors({i: Fraction(a) for i, a in factors.items()}, len(SYMS))


def test_factor_views_divide_out_and_multiply_back(X):
    y = evaluate(q * b**2 * (ef + v * sympy.sin(th)), SYMS, X)
    views = reduced_views(X, y, SYMS, ("raw", "log", "square"), _factors({0: 1, 2: 2}), "factor")
    assert [w.name for w in views] == ["factor"]  # the reduced target changes sign
    (view,) = views
    np.testing.assert_allclose(view.y, X[:, 1] + X[:, 3] * np.sin(X[:, 4]))
    u = view_symbols(5)
    back = view.back(u[1] + u[3] * sympy.sin(u[4]))
    assert sympy.simplify(back - q * b**2 * (ef + v * sympy.sin(th))) == 0


def test_factor_views_of_a_one_signed_reduced_target(X):
    y = evaluate(q / sympy.sqrt(1 - (v / (th + 5)) ** 2), SYMS, X)
    views = reduced_views(X, y, SYMS, ("raw", "log", "square"), _factors({0: 1}), "factor")
    assert [w.name for w in views] == ["factor", "factor+square", "factor+log"]
    for view in views:
        assert np.all(np.isfinite(view.y))
    u = view_symbols(5)
    square = views[1]
    back = square.back(1 / (1 - (u[3] / (u[4] + 5)) ** 2))
    np.testing.assert_allclose(evaluate(back, SYMS, X), y, rtol=1e-12)


def test_the_largest_new_factor_set_among_the_surrogates_is_searched(X):
    from symnet.search import Candidate
    from symnet.search._reduce import FACTORS, MAX_FACTOR_SETS, propose

    def _new_factor_set(raw, symbols, X, below, tried, memo):
        keys = [frozenset(("c", i, a) for i, a in t) for t in tried]
        g = propose(FACTORS, raw, symbols, X, below, keys, memo)
        return {} if g is None else g.prefactor

    def cand(expr, loss):
        return Candidate(expr=expr, complexity=1, val_nmse=loss, train_nmse=loss, member=0)

    raw = [
        cand(q * (ef * b + sympy.sin(v) * th), 1e-6),  # {q}
        cand(q * ef * b * sympy.log(v / th), 1e-4),  # {q, Ef, B}: the largest
        cand(q * ef * b * v, 0.5),  # too inaccurate to serve as a surrogate
    ]
    one = frozenset({(0, Fraction(1))})
    three = frozenset({(0, Fraction(1)), (1, Fraction(1)), (2, Fraction(1))})
    assert _new_factor_set(raw, SYMS, X, 1e-3, [], {}) == dict(three)
    # {q} is contained in it, and still searched: the larger set may be wrong
    assert _new_factor_set(raw, SYMS, X, 1e-3, [three], {}) == dict(one)
    assert _new_factor_set(raw, SYMS, X, 1e-3, [three, one], {}) == {}
    assert _new_factor_set(raw, SYMS, X, 1e-3, [one], {}) == dict(three)
    assert _new_factor_set(raw, SYMS, X, 1e-3, [frozenset()] * MAX_FACTOR_SETS, {}) == {}

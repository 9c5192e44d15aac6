"""Extreme magnitudes (issue 13, item 3): inputs and targets far from 1 are scaled into
float32's range by powers of two for the search, formulas come back exact in the user's
units, and a target whose losses float64 cannot hold is a clear error."""

import numpy as np
import pytest
import sympy

from symnet import SymbolicRegressor
from symnet.search import Scaling

QUICK = dict(preset="default", steps=1000, n_restarts=4, views=("raw",), random_state=0)
A = np.random.default_rng(0).uniform(1, 3, (200, 2))
B = np.random.default_rng(1).uniform(1, 3, (200, 4))
C = B * [1, 300, 300, 3e-3]
x0, x1, x2, x3 = sympy.symbols("x0 x1 x2 x3", real=True)


@pytest.mark.parametrize(
    ("X", "y", "law"),
    [
        (A * 1e300, 3 * A[:, 0] / A[:, 1], 3 * x0 / x1),  # was a linear formula, R^2 0.61
        (A * 1e-300, A[:, 0] * A[:, 1], sympy.Float("1e600") * x0 * x1),  # was a constant
        (A, A[:, 0] * A[:, 1] * 1e-100, sympy.Float(1e-100) * x0 * x1),
        # SRSD's I.43.16: a mobility near 1e-5 times a charge near 1e-10 (both within
        # float32) needs weights near 1e15 (was a constant)
        (B * [1e-5, 1e-10, 1, 1], 1e-15 * np.prod(B[:, :3], 1) / B[:, 3], x0 * x1 * x2 / x3),
        # SRSD's II.2.42: temperatures near 1e3 and an area near 1e-2 (was 5*kappa)
        (C, C[:, 0] * (C[:, 1] - C[:, 2]) * C[:, 3], x0 * (x1 - x2) * x3),
    ],
    ids=["inputs 1e300", "inputs 1e-300", "target 1e-100", "inputs 1e-5 and 1e-10", "1e3, 1e-2"],
)
def test_extreme_magnitudes_are_fitted_and_translated_back(X, y, law):
    model = SymbolicRegressor(**QUICK).fit(X, y)
    found = model.sympy()
    ratio = sympy.nsimplify(sympy.simplify(found / law), tolerance=1e-9, rational=True)
    assert ratio == 1, found
    assert model.score(X, y) > 1 - 1e-12
    loss = model.equations_["loss"]
    assert loss.iloc[model.selection_] <= 1e-20 * np.var(y)
    assert (loss.iloc[:1] > 0).all()  # the constant does not fit: its loss is not 0


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_a_target_whose_losses_float64_cannot_hold_is_a_clear_error(scale):
    """Near 1e300 the search ended in "`front` is empty"; near 1e-300 it returned a
    constant with loss 0 and score 1.0."""
    with pytest.raises(ValueError, match="`y` varies on a scale whose square float64"):
        SymbolicRegressor(**QUICK).fit(A, A[:, 0] * A[:, 1] * scale)


def test_scaling_is_exact_and_leaves_ordinary_data_alone():
    assert Scaling.of(A, A[:, 0]).identity
    assert Scaling.of(A * 20, A[:, 0] * 1e-8).identity  # inputs near 60, a tiny target
    assert Scaling.of(A * 1e-2, A[:, 0]).x == (-5, -5)  # areas near 1e-2 (SRSD II.2.42)
    X = A * 1e300
    s = Scaling.of(X, A[:, 0] * 1e-30)
    assert s.x == (998, 998) and s.y == round(np.log2(np.max(A[:, 0]) * 1e-30)) == -98
    Xs, ys = s.apply(X, A[:, 0] * 1e-30)
    np.testing.assert_array_equal(np.ldexp(Xs, 998), X)  # powers of two: no digit lost
    assert s.forward(s.back(3 * x0 / x1, [x0, x1]), [x0, x1]) == 3.0 * x0 / x1  # exactly 3


def test_simple_constants_come_back_as_rationals():
    """A constant the scaled search found (``2.0`` over inputs scaled by powers of two) is
    a rational in the user's units, not ``0.5*k``; other floats are kept as they are."""
    from symnet.search._scale import _dyadic_rationals

    k, a, b = sympy.symbols("k a b")
    s = Scaling(x=(-5, 3, 3), y=0)
    assert s.back(sympy.Float(2.0) * k * a**2, [k, a, b]) == k * a**2  # 2*(32*k)*(a/8)**2
    back = s.back(sympy.Float(8.0) * k * (a - b), [k, a, b])  # 8*k*(a/8 - b/8)
    assert back == 32 * k * (a - b)
    assert _dyadic_rationals(sympy.Float(9.80665) * k) == sympy.Float(9.80665) * k

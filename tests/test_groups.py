"""Scaling symmetries of a surrogate and the dimensionless groups they leave."""

from fractions import Fraction

import numpy as np
import pytest
import sympy

from symnet.search import reduced_views, scaling_groups

om, T, h, kb, c, m0, v = sympy.symbols("omega T h kb c m_0 v", positive=True)
x, y = sympy.symbols("x y", real=True)


def _sample(ranges, n=400, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(lo, hi, n) for lo, hi in ranges])


PLANCK = h * om**3 / (sympy.pi**2 * c**2 * (sympy.exp(h * om / (kb * T)) - 1))


@pytest.mark.parametrize("wobble", [0.0, 1e-4])
def test_planck_reduces_to_one_group(wobble):
    # A surrogate is only approximately symmetric: a 1e-4 relative wobble keeps the groups.
    syms = [om, T, h, kb, c]
    X = _sample([(1, 5)] * 5)
    g = scaling_groups(PLANCK * (1 + wobble * om), syms, X)
    pre, ins = g.exprs(syms)
    assert pre == h * om**3 / c**2
    assert ins == [h * om / (kb * T)]
    assert g.groups == [{0: Fraction(1), 1: Fraction(-1), 2: Fraction(1), 3: Fraction(-1)}]


def test_relativistic_momentum_and_a_sign_changing_input():
    # v/c is the group; the input x takes both signs, so it is passed through unscaled.
    X = np.column_stack([_sample([(1, 5), (1, 2), (3, 10)]), _sample([(-1, 1)], seed=1)])
    expr = m0 * v / sympy.sqrt(1 - v**2 / c**2) + m0 * x
    g = scaling_groups(m0 * v / sympy.sqrt(1 - v**2 / c**2), [m0, v, c, x], X)
    assert g.exprs([m0, v, c, x]) == (m0 * v, [v / c, x])
    assert scaling_groups(expr, [m0, v, c, x], X) is None  # only m0 alone (a power factor)


def test_no_group_without_a_joint_symmetry():
    X = _sample([(1, 3), (1, 3)])
    assert scaling_groups(x * y + sympy.sin(x), [x, y], X) is None
    assert scaling_groups(x**2 * sympy.sin(y), [x, y], X) is None  # a power factor only
    assert scaling_groups(sympy.Float(1.0) * x / y, [x, y], X) is None  # a power law
    assert scaling_groups(sympy.log(x - 5), [x, y], X) is None  # not finite


def test_group_views_map_back_to_the_formula():
    syms = [om, T, h, kb, c]
    X = _sample([(1, 5)] * 5)
    f = sympy.lambdify(syms, PLANCK)(*X.T)
    g = scaling_groups(PLANCK, syms, X)
    views = reduced_views(X, f, syms, ("raw", "log"), g, "group")
    assert [vw.name for vw in views] == ["group", "group+log"]
    u = sympy.Symbol("_u0", real=True)
    reduced = 1 / (sympy.pi**2 * (sympy.exp(u) - 1))  # the target over the group
    np.testing.assert_allclose(sympy.lambdify(u, reduced)(views[0].X[:, 0]), views[0].y)
    back = views[0].back(reduced)
    assert sympy.simplify(back - PLANCK) == 0

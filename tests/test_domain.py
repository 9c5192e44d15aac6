"""Data that do not fill their box (inputs sampled under a constraint, as SRSD's
``sqrt(omega**2/c**2 - pi**2/d**2)`` where ``omega*d >= pi*c``): the law is kept although
it is not real on the whole box, and data that do fill their box are judged as before."""

import jax
import numpy as np
import sympy

from symnet import SymbolicRegressor
from symnet.search import Data
from symnet.search._domain import domain_probe, fills_box

QUICK = dict(preset="default", steps=1000, n_restarts=4, views=("raw",), random_state=0)
RNG = np.random.default_rng(0)
BOX = RNG.uniform(1, 3, (4000, 2))
KEEP = BOX[:, 0] > BOX[:, 1] + 0.1
X = BOX[KEEP][:600]  # x0 > x1: a triangle of the box
x0, x1 = sympy.symbols("x0 x1", real=True)
LAW = sympy.sqrt(x0**2 - x1**2)


def test_fills_box_tells_a_constraint_from_independent_inputs():
    rng = np.random.default_rng(1)
    signed = rng.choice([-1, 1], 1000) * 10 ** rng.uniform(-3, 3, 1000)
    assert fills_box(np.column_stack([signed, rng.uniform(0, 1, 1000), rng.integers(0, 3, 1000)]))
    assert fills_box(BOX[:1000])
    assert not fills_box(X)
    # a constraint on one level of a discrete input only (SRSD B7: alpha = 1)
    level = rng.integers(-1, 2, 1200)
    Z = rng.uniform(1, 3, (1200, 2))
    ok = (level < 1) | (Z[:, 0] > Z[:, 1])
    assert fills_box(np.column_stack([Z, level]))
    assert not fills_box(np.column_stack([Z, level])[ok])
    assert fills_box(X[:100])  # too few rows to tell: the box, as before


def test_domain_probe_lies_between_neighbouring_samples():
    P = domain_probe(X, np.random.default_rng(0), 500)
    assert P.shape == (500, 2)
    assert np.all(P[:, 0] > P[:, 1])  # a convex domain holds every segment
    lo, hi = X.min(0), X.max(0)
    assert np.all((P >= lo) & (P <= hi))


def test_a_law_undefined_off_the_data_is_scored_where_the_data_are():
    law = sympy.sqrt(sympy.Symbol("x0", real=True) ** 2 - sympy.Symbol("x1", real=True) ** 2)
    y = np.sqrt(X[:, 0] ** 2 - X[:, 1] ** 2)
    data = Data.build(X, y, key=jax.random.key(0))
    assert data.domain is not None and data.score(law, 0, 0.0) is not None
    boxed = Data.build(BOX[:600], BOX[:600, 0] + BOX[:600, 1], key=jax.random.key(0))
    assert boxed.domain is None and boxed.score(law, 0, 0.0) is None  # NaN on its box


def test_the_law_is_found_on_a_constrained_sample():
    y = np.sqrt(X[:, 0] ** 2 - X[:, 1] ** 2)
    found = SymbolicRegressor(**QUICK).fit(X, y).sympy()
    assert sympy.simplify(sympy.nsimplify(found, tolerance=1e-6, rational=True) - LAW) == 0

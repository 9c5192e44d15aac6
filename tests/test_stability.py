"""Formulas that are not finite just outside the data's box lose to stable ones."""

import jax
import numpy as np
import sympy

from symnet._refit import weighted_rss
from symnet.search import Candidate, Data, pareto_front, select
from symnet.search._data import widened_box

x, t = sympy.symbols("x t", real=True)


def test_widened_box_grows_away_from_zero():
    lo, hi = widened_box(np.array([1.0, -4.0, -1.0]), np.array([3.0, -2.0, 1.0]))
    np.testing.assert_allclose(lo, [1.0, -5.0, -1.5])
    np.testing.assert_allclose(hi, [4.0, -2.0, 1.5])


def test_a_formula_that_breaks_outside_the_box_is_not_stable():
    X = np.random.default_rng(0).uniform(1, 2, (200, 2))
    y = X[:, 0] + X[:, 1]
    data = Data.build(X, y, key=jax.random.key(0), names=["x", "t"])
    assert data.score(x + t, 0, 0.0).stable
    # finite on [1, 2] but not beyond 2.2: a root of a fitted expression leaving its domain
    fragile = data.score(x + t + 1e-9 * sympy.sqrt(2.2 - x), 0, 0.0)
    assert fragile is not None and not fragile.stable


def test_selection_prefers_the_stable_formula_of_similar_loss():
    stable = Candidate(x, 3, 1e-6, 1e-6, 0)
    fragile = Candidate(t, 3, 5e-7, 5e-7, 1, stable=False)
    front = pareto_front([stable, fragile])
    assert front == [stable]
    much_better = Candidate(t, 3, 1e-12, 1e-12, 1, stable=False)
    front = pareto_front([stable, much_better])
    assert front[select(front, "accuracy")] is much_better


def test_cancellation_marks_a_difference_of_nearly_equal_terms():
    from symnet.search._polish import cancellation

    X = np.random.default_rng(0).uniform(1, 2, (100, 2))
    assert cancellation(x**2 - t**2 + 5, [x, t], X) < 10
    surrogate = 20000 * (sympy.sin(x + 1e-4) - sympy.sin(x)) + t
    assert cancellation(surrogate, [x, t], X) > 1e3


def test_residuals_whose_squares_overflow_score_inf_without_a_warning():
    """A constant refit trying values where a formula returns ~1e200 (finite, but its
    square is not) gets an infinite RSS, not an overflow warning (errors under the suite's
    ``filterwarnings=error``) or a crash."""
    y = np.ones(3)
    assert weighted_rss(np.array([1e200, 2.0, 3.0]), y, np.ones(3)) == np.inf
    assert weighted_rss(np.array([1.0, 2.0, 3.0]), y, np.ones(3)) == 5.0
    assert weighted_rss(np.array([np.nan, 2.0, 3.0]), y, np.ones(3)) == np.inf

"""Running one search stage on fresh data, and checking what it found (shared by the
stage tests)."""

import jax
import numpy as np
import sympy

from symnet.search import DEFAULT_CONFIG, Budget, Data, SearchState, baselines, make_views


def run_stage(stage, X, y, names):
    """``(state, data)`` after ``stage`` on the raw view of ``X``, ``y`` (no time limit)."""
    key = jax.random.key(0)
    data = Data.build(X, y, key=key, names=names)
    budget = Budget.until(None)
    views = make_views(data.X, data.y, data.symbols, ("raw",))
    state = SearchState.start(key, ("default",), views, baselines(data, budget))
    return stage(state, data, DEFAULT_CONFIG, budget), data


def assert_found(state, X, syms, truth, rtol=1e-9):
    """The stage's most accurate candidate is exact and equals ``truth`` on ``X``."""
    best = min(state.candidates, key=lambda c: c.val_nmse)
    assert best.val_nmse < 1e-20, best.expr
    values = sympy.lambdify(syms, best.expr)(*X.T)
    np.testing.assert_allclose(values, sympy.lambdify(syms, truth)(*X.T), rtol=rtol)

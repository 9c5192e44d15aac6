"""Sparse fits over dimensionless groups (units): transcendental terms, shifts, the stage."""

import time

import jax
import numpy as np
import sympy

from symnet.search import (
    DEFAULT_CONFIG,
    Budget,
    Data,
    SearchState,
    group_library_stage,
    group_terms,
    make_views,
    sparse_fits,
    symmetry_fits,
    unit_groups,
    unit_views,
    view_symbols,
)
from symnet.search._group_library import shifts
from symnet.search._library import signed_powers
from symnet.search._sparse import fit_support
from symnet.search._units import is_group_view, lead
from symnet.units import Dim, Units

KG, M, S, K = (Dim({b: 1}) for b in ("kg", "m", "s", "K"))
ENERGY = KG * M**2 / S**2
ONE = Dim()


def _stage(X, y, units, names):
    data = Data.build(X, y, key=jax.random.key(0), names=names, units=units)
    views = unit_views(data, DEFAULT_CONFIG, unit_groups(data))
    views += make_views(data.X, data.y, data.symbols, DEFAULT_CONFIG.views)
    state = SearchState.start(data.key, DEFAULT_CONFIG.presets, views, [], lead=lead(views))
    return data, group_library_stage(state, data, DEFAULT_CONFIG, Budget.of(60))


def _exact(state, data, truth) -> bool:
    """Whether the most accurate candidate is ``truth`` up to float noise in constants."""
    best = min(state.candidates, key=lambda c: c.val_nmse)
    f = sympy.lambdify(data.symbols, best.expr, "numpy")
    g = sympy.lambdify(data.symbols, truth, "numpy")
    X = data.X
    return best.val_nmse < 1e-20 and np.allclose(f(*X.T), g(*X.T), rtol=1e-9)


def test_group_terms_hold_transcendental_terms_of_each_group_and_its_reciprocal():
    rng = np.random.default_rng(0)
    U = rng.uniform(0.2, 0.9, (200, 2))
    u = view_symbols(2)
    exprs, A = group_terms(U, u, 100_000)
    assert A.shape == (200, len(exprs)) and np.all(np.isfinite(A))
    for term in (
        sympy.exp(u[0]),
        sympy.exp(1 / u[1]),
        sympy.tanh(u[0]),
        sympy.log(u[1]),
        1 / sympy.sqrt(1 - u[0] ** 2),
        u[1] * sympy.cos(u[0]),
        sympy.exp(-u[0]) * sympy.cos(u[1]),
        sympy.exp(u[0] / (2 * sympy.pi)),
    ):
        assert term in exprs, term
    j = exprs.index(sympy.exp(u[0] / (2 * sympy.pi)))
    assert np.allclose(A[:, j], np.exp(U[:, 0] / (2 * np.pi)))
    assert len(group_terms(U, u, 50)[0]) == 50


def test_groups_outside_the_unit_interval_get_no_relativistic_terms():
    U = np.linspace(1.5, 4.0, 50)[:, None]
    (u,) = view_symbols(1)
    exprs, _ = group_terms(U, [u], 1000)
    assert sympy.asin(u) not in exprs and sympy.sqrt(1 - u**2) not in exprs
    assert sympy.asin(1 / u) in exprs and sympy.sqrt(1 - 1 / u**2) in exprs  # reciprocal


def test_shifts_try_every_power_for_few_groups_and_one_at_a_time_for_more():
    assert shifts(1) == [(0,), (-1,), (1,)]
    assert len(shifts(2)) == 9 and shifts(2)[0] == (0, 0)
    assert len(shifts(4)) == 9 and all(sum(map(abs, k)) <= 1 for k in shifts(4))


def test_best_pairs_find_a_two_term_law_among_correlated_terms():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 0.6, 300)
    A = np.column_stack([1 / np.sqrt(1 - x**2), x / np.sqrt(1 - x**2), x, x**2, np.exp(x)])
    y = A[:, 0] + A[:, 1]  # (1 + x) / sqrt(1 - x**2)
    assert (0, 1) in sparse_fits(A, y, np.ones(300), thresholds=(), pairs=3)


def test_stage_finds_a_law_with_hbar_inside_the_exponential():
    rng = np.random.default_rng(2)
    X = rng.uniform(1, 3, (300, 4))  # h, omega, kb, T
    h, w, kb, T = X.T
    y = h * w / (2 * np.pi) / (np.exp(h * w / (2 * np.pi * kb * T)) - 1)
    energy_time, rate, per_kelvin = ENERGY * S, ONE / S, ENERGY / K
    units = Units((energy_time, rate, per_kelvin, K), ENERGY)
    data, state = _stage(X, y, units, ["h", "omega", "kb", "T"])
    hs, ws, kbs, Ts = data.symbols
    truth = hs * ws / (2 * sympy.pi) / (sympy.exp(hs * ws / (2 * sympy.pi * kbs * Ts)) - 1)
    assert _exact(state, data, truth)


def test_stage_finds_a_relativistic_factor_and_a_gaussian_of_dimensionless_inputs():
    rng = np.random.default_rng(3)
    X = rng.uniform([1, 3, 1], [2, 10, 5], (300, 3))  # v, c, omega_0
    v, c, w0 = X.T
    y = w0 * (1 + v / c) / np.sqrt(1 - v**2 / c**2)
    data, state = _stage(X, y, Units((M / S, M / S, ONE / S), ONE / S), ["v", "c", "w0"])
    vs, cs, ws = data.symbols
    assert _exact(state, data, ws * (1 + vs / cs) / sympy.sqrt(1 - vs**2 / cs**2))
    X = rng.uniform(1, 3, (300, 2))  # sigma, theta: dimensionless
    y = np.exp(-((X[:, 1] / X[:, 0]) ** 2) / 2) / (np.sqrt(2 * np.pi) * X[:, 0])
    data, state = _stage(X, y, Units((ONE, ONE), ONE), ["sigma", "theta"])
    sg, th = data.symbols
    truth = sympy.exp(-((th / sg) ** 2) / 2) / (sympy.sqrt(2 * sympy.pi) * sg)
    assert _exact(state, data, truth)


def test_stage_does_nothing_without_units():
    rng = np.random.default_rng(4)
    X = rng.uniform(1, 3, (100, 2))
    data, state = _stage(X, np.exp(X[:, 0] / X[:, 1]), None, ["a", "b"])
    assert state.candidates == [] and not state.memo.get("library")
    assert not is_group_view("raw", data) and is_group_view("units2", data)
    assert not is_group_view("units+inverse", data)


def test_a_round_of_group_fits_gets_its_share_of_the_budget():
    assert Budget.of(None).group_fits_until() is None
    now = time.monotonic()
    assert now + 0.9 < Budget.of(10).group_fits_until() <= time.monotonic() + 1.0
    assert Budget.of(10, start=now - 9.5).group_fits_until() <= now + 0.5  # the deadline


def test_symmetry_fits_find_the_law_of_a_surrogate_without_units():
    rng = np.random.default_rng(5)
    X = rng.uniform(1, 3, (400, 4))  # E, kb, T, n0
    E, kb, T, n0 = X.T
    y = n0 / (np.exp(E / (kb * T)) + 1)
    data = Data.build(X, y, key=jax.random.key(0), names=["E", "kb", "T", "n0"])
    Es, kbs, Ts, ns = data.symbols
    surrogate = ns / (sympy.exp(Es / (kbs * Ts)) + sympy.Float(1.001))  # accurate, not exact
    views = make_views(data.X, data.y, data.symbols, DEFAULT_CONFIG.views)
    start = [data.score(surrogate, 0, 0)]
    state = SearchState.start(data.key, DEFAULT_CONFIG.presets, views, start)
    state = symmetry_fits(state, data, DEFAULT_CONFIG, Budget.of(60))
    assert _exact(state, data, ns / (sympy.exp(Es / (kbs * Ts)) + 1))
    assert state.tried["symmetry"] and not any(v.name.startswith("sym") for v in state.views)
    n = len(state.candidates)
    assert len(symmetry_fits(state, data, DEFAULT_CONFIG, Budget.of(60)).candidates) == n


def test_signed_powers_map_each_target_back_to_y() -> None:
    """Each transformed target's exact formula maps back to ``y``'s: ``-(1 + x)**-1`` is a
    line in the reciprocal target and ``-exp(-x)`` one in the log target; a target that
    changes sign gets no powers."""
    x = sympy.Symbol("x")
    xs = np.linspace(0.5, 2.0, 7)
    y = -1 / (1 + xs)
    targets = signed_powers(y, (-1, 2), log=True)
    assert len(targets) == 4
    (_, same), (inv, to_y), _, (_, from_log) = targets
    np.testing.assert_allclose(inv, 1 + xs)  # (s*y)**-1 with s = -1
    assert sympy.simplify(to_y(1 + x) - (-1 / (1 + x))) == 0
    assert sympy.simplify(from_log(-x) - (-sympy.exp(-x))) == 0
    assert same(x) == x
    assert len(signed_powers(np.array([-1.0, 2.0]), (-1, 2), log=True)) == 1


def test_fit_support_returns_the_fit_and_its_residual_share() -> None:
    """An exact support leaves no variance; a wrong one leaves (almost) all of it."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(50, 3))
    y = 2.0 * A[:, 1] - 0.5
    c, nmse = fit_support(A, (1,), y, np.ones(50))
    np.testing.assert_allclose(c, [2.0, -0.5], atol=1e-12)
    assert nmse < 1e-20
    assert fit_support(A, (0,), y, np.ones(50))[1] > 0.5

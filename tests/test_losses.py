"""Losses and sparsity penalties against numpy references and their analytic properties."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import symnet
from symnet._losses import PENALTIES


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    pred = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.normal(size=(32, 3)).astype(np.float32)
    w = rng.uniform(0.0, 2.0, size=32).astype(np.float32)
    return pred, y, w


# -- weighted_mse -----------------------------------------------------------------------------


def test_weighted_mse_unweighted_matches_numpy(data):
    pred, y, _ = data
    got = symnet.weighted_mse(jnp.asarray(pred), jnp.asarray(y))
    np.testing.assert_allclose(got, np.mean((pred - y) ** 2), rtol=1e-6)


@pytest.mark.parametrize("scale", [1.0, 0.25, 7.0])
def test_weighted_mse_uniform_weights_equal_unweighted(data, scale):
    pred, y, _ = data
    pred, y = jnp.asarray(pred), jnp.asarray(y)
    w = jnp.full((pred.shape[0],), scale, jnp.float32)
    np.testing.assert_allclose(
        symnet.weighted_mse(pred, y, w), symnet.weighted_mse(pred, y), rtol=1e-6
    )


def test_weighted_mse_random_weights_match_numpy_reference(data):
    pred, y, w = data
    p64, y64, w64 = (a.astype(np.float64) for a in (pred, y, w))
    expected = np.sum(w64 * np.mean((p64 - y64) ** 2, axis=-1)) / np.sum(w64)
    got = symnet.weighted_mse(jnp.asarray(pred), jnp.asarray(y), jnp.asarray(w))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_weighted_mse_ignores_zero_weight_samples_and_is_finite_for_all_zero(data):
    pred, y, w = data
    w = w.copy()
    w[::2] = 0.0
    full = symnet.weighted_mse(jnp.asarray(pred), jnp.asarray(y), jnp.asarray(w))
    kept = symnet.weighted_mse(jnp.asarray(pred[1::2]), jnp.asarray(y[1::2]), jnp.asarray(w[1::2]))
    np.testing.assert_allclose(full, kept, rtol=1e-6)

    zero = jnp.zeros_like(jnp.asarray(w))
    value, grad = jax.value_and_grad(symnet.weighted_mse)(jnp.asarray(pred), jnp.asarray(y), zero)
    assert float(value) == 0.0
    assert np.isfinite(np.asarray(grad)).all()


def test_weighted_mse_jit_and_gradient(data):
    pred, y, w = (jnp.asarray(a) for a in data)
    np.testing.assert_allclose(
        jax.jit(symnet.weighted_mse)(pred, y, w), symnet.weighted_mse(pred, y, w), rtol=1e-6
    )
    grad = jax.grad(symnet.weighted_mse)(pred, y, w)
    expected = 2 * w[:, None] * (pred - y) / (pred.shape[1] * jnp.sum(w))
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


# -- l1 -----------------------------------------------------------------------------------------


def test_l1_is_abs_with_sign_gradient():
    w = jnp.asarray([-3.0, -0.5, 0.0, 0.25, 2.0, 1e30])
    np.testing.assert_array_equal(symnet.l1(w), np.abs(np.asarray(w)))
    grad = np.asarray(jax.grad(lambda v: jnp.sum(symnet.l1(v)))(w))
    np.testing.assert_array_equal(grad[[0, 1, 3, 4, 5]], [-1.0, -1.0, 1.0, 1.0, 1.0])
    assert -1.0 <= grad[2] <= 1.0  # a subgradient of |w| at 0


# -- smoothed L0.5 ------------------------------------------------------------------------------


@pytest.mark.parametrize("a", [0.01, 0.05, 0.5])
def test_smoothed_l_half_is_sqrt_abs_outside_radius(a):
    w = np.concatenate([np.geomspace(a, 1e4, 25), -np.geomspace(a, 1e4, 25), [a, -a]])
    got = symnet.smoothed_l_half(jnp.asarray(w, jnp.float32), a)
    np.testing.assert_allclose(got, np.sqrt(np.abs(w)), rtol=1e-6)


def test_smoothed_l_half_doctest_value_and_default_radius():
    assert float(symnet.smoothed_l_half(jnp.asarray(0.25))) == 0.5
    np.testing.assert_allclose(
        symnet.smoothed_l_half(jnp.asarray(0.01)), symnet.smoothed_l_half(jnp.asarray(0.01), 0.05)
    )


@pytest.mark.parametrize("a", [0.01, 0.05, 0.5])
def test_smoothed_l_half_value_and_slope_continuous_at_radius(a):
    with jax.enable_x64(True):
        f = jax.vmap(jax.value_and_grad(lambda v: symnet.smoothed_l_half(v, a)))
        for sign in (1.0, -1.0):
            d = 1e-9 * a
            w = jnp.asarray([sign * (a - d), sign * a, sign * (a + d)], jnp.float64)
            value, slope = f(w)
            np.testing.assert_allclose(value, np.sqrt(a), rtol=1e-8)
            np.testing.assert_allclose(slope, sign * 0.5 / np.sqrt(a), rtol=1e-7)
        # The quartic matches |w| in value and slope at |w| = a (before the square root).
        quartic = lambda v: -(v**4) / (8 * a**3) + 3 * v**2 / (4 * a) + 3 * a / 8  # noqa: E731
        np.testing.assert_allclose(quartic(a), a, rtol=1e-14)
        np.testing.assert_allclose(jax.grad(quartic)(jnp.float64(a)), 1.0, rtol=1e-14)


@pytest.mark.parametrize("a", [0.01, 0.05, 0.5])
def test_smoothed_l_half_smooth_and_symmetric_at_zero(a):
    value, grad = jax.value_and_grad(lambda v: symnet.smoothed_l_half(v, a))(jnp.float32(0.0))
    np.testing.assert_allclose(value, np.sqrt(3 * a / 8), rtol=1e-6)
    assert float(grad) == 0.0
    w = jnp.asarray(np.linspace(-3 * a, 3 * a, 61), jnp.float32)
    values = symnet.smoothed_l_half(w, a)
    grads = jax.vmap(jax.grad(lambda v: symnet.smoothed_l_half(v, a)))(w)
    assert np.isfinite(np.asarray(grads)).all()
    np.testing.assert_array_equal(values, values[::-1])  # even
    np.testing.assert_array_equal(grads, -grads[::-1])  # odd slope
    # Increasing in |w|, so the penalty always rewards shrinking a weight.
    half = np.asarray(values[30:])
    assert (np.diff(half) > 0).all()


def test_smoothed_l_half_gradient_finite_everywhere_and_matches_finite_differences():
    big = [1e10, -1e10, 1e30, -np.finfo(np.float32).max]  # w**4 overflows float32
    w = jnp.asarray([0.0, -0.0, 1e-30, -1e-12, 1e-3, 0.05, -0.05, 1.0, *big], jnp.float32)
    values, grads = jax.vmap(jax.value_and_grad(symnet.smoothed_l_half))(w)
    assert np.isfinite(np.asarray(grads)).all()
    np.testing.assert_allclose(values[-4:], np.sqrt(np.abs(big)), rtol=1e-6)
    np.testing.assert_allclose(grads[-4:], np.sign(big) * 0.5 / np.sqrt(np.abs(big)), rtol=1e-6)
    with jax.enable_x64(True):
        points = jnp.asarray([-0.3, -0.02, 0.001, 0.03, 0.2, 4.0])  # both sides of a = 0.05
        check_grads(symnet.smoothed_l_half, (points,), order=2, eps=1e-6)


# -- sparsity_penalty ---------------------------------------------------------------------------


def _weight_costs():
    rng = np.random.default_rng(1)
    w1 = rng.normal(size=(3, 4)).astype(np.float32)
    w1[0, 0] = 0.0
    w1[1, 2] = 0.01  # inside the L0.5 smoothing radius
    c1 = np.asarray([[1.0, 2.0, 2.0, 3.0]], np.float32)  # per-column costs, broadcast over rows
    b1 = rng.normal(size=4).astype(np.float32)
    c2 = np.asarray([1.0, 2.0, 2.0, 3.0], np.float32)
    return [(w1, c1), (b1, c2)]


@pytest.mark.parametrize("a", [0.05, 0.2])
def test_sparsity_penalty_matches_reference(a):
    wc = _weight_costs()
    jwc = [(jnp.asarray(w), jnp.asarray(c)) for w, c in wc]

    def l05(v):
        v = np.asarray(v, np.float64)
        small = np.abs(v) < a
        q = -(v**4) / (8 * a**3) + 3 * v**2 / (4 * a) + 3 * a / 8
        return np.sqrt(np.where(small, q, np.abs(v)))

    expected_l1 = sum(np.sum(c * np.abs(w)) for w, c in wc)
    expected_l05 = sum(np.sum(c * l05(w)) for w, c in wc)
    np.testing.assert_allclose(symnet.sparsity_penalty(jwc, "l1"), expected_l1, rtol=1e-6)
    np.testing.assert_allclose(symnet.sparsity_penalty(jwc, "l05", a), expected_l05, rtol=1e-6)
    np.testing.assert_allclose(
        symnet.sparsity_penalty(jwc, kind="l05", a=a),
        sum(jnp.sum(c * PENALTIES["l05"](w, a)) for w, c in jwc),
        rtol=1e-6,
    )


def test_sparsity_penalty_costs_scale_linearly_and_default_is_l05():
    jwc = [(jnp.asarray(w), jnp.asarray(c)) for w, c in _weight_costs()]
    doubled = [(w, 2 * c) for w, c in jwc]
    for kind in ("l1", "l05"):
        np.testing.assert_allclose(
            symnet.sparsity_penalty(doubled, kind),
            2 * symnet.sparsity_penalty(jwc, kind),
            rtol=1e-6,
        )
    np.testing.assert_array_equal(
        symnet.sparsity_penalty(jwc), symnet.sparsity_penalty(jwc, "l05", 0.05)
    )
    assert float(symnet.sparsity_penalty([], "l1")) == 0.0


def test_sparsity_penalty_jit_and_finite_gradient_at_zero_weights():
    w = jnp.zeros((3, 4))
    c = jnp.ones((1, 4))
    f = jax.jit(lambda v: symnet.sparsity_penalty([(v, c)], "l05"))
    value, grad = jax.value_and_grad(f)(w)
    np.testing.assert_allclose(value, 12 * np.sqrt(3 * 0.05 / 8), rtol=1e-6)
    np.testing.assert_array_equal(grad, 0.0)


@pytest.mark.parametrize("kind", ["l2", "L1", "", "l0.5"])
def test_sparsity_penalty_bad_kind_raises(kind):
    jwc = [(jnp.asarray(w), jnp.asarray(c)) for w, c in _weight_costs()]
    with pytest.raises(ValueError, match=repr(kind)):
        symnet.sparsity_penalty(jwc, kind)

"""The training step's ``sin`` and ``cos`` (symnet._trig): vectorised series on a CPU."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from symnet import _trig

X = np.concatenate([np.linspace(-50, 50, 20001), np.linspace(-2000, 2000, 20001)])


def test_series_match_float64_sin_and_cos_to_float32_accuracy():
    x32 = jnp.asarray(X, jnp.float32)
    x = np.asarray(x32, np.float64)  # the float32 inputs, exactly
    for f, ref, dref in ((_trig.sin, np.sin, np.cos), (_trig.cos, np.cos, lambda v: -np.sin(v))):
        np.testing.assert_allclose(np.asarray(f(x32), np.float64), ref(x), rtol=0, atol=2e-7)
        grad = jax.jit(jax.vmap(jax.grad(f)))(x32)
        np.testing.assert_allclose(np.asarray(grad, np.float64), dref(x), rtol=0, atol=1e-6)


def test_far_out_inputs_give_zero_with_zero_gradient():
    far = jnp.asarray([1e30, -3e38, 1e10, -2 * _trig.FAR], jnp.float32)
    for f in (_trig.sin, _trig.cos):
        for fn in (f, jax.jit(f)):
            np.testing.assert_array_equal(np.asarray(fn(far)), 0.0)
            np.testing.assert_array_equal(np.asarray(jax.vmap(jax.grad(fn))(far)), 0.0)


def test_float64_inputs_use_the_exact_functions():
    with jax.enable_x64(True):
        x = jnp.asarray(X[:101], jnp.float64)
        np.testing.assert_array_equal(np.asarray(_trig.sin(x)), np.asarray(jnp.sin(x)))
        np.testing.assert_array_equal(np.asarray(_trig.cos(x)), np.asarray(jnp.cos(x)))

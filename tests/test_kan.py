"""KAN-style symbolic layers (:class:`symnet.layers.SymbolicKANLayer`, the ``kan`` preset):
export round trip, masks, the one-primitive-per-edge penalty, training in the population
trainer and the preset in the estimator.

Round trip as in ``test_export_roundtrip.py``: random gates, inner scales and shifts, with
the shift of every live domain-restricted edge (log, sqrt above ``LOG_EPS``; exp below
``EXP_CAP``) set by interval arithmetic so that its argument stays inside the domain on the
whole input box; the network is then evaluated in float64 and compared with the formula.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy
from flax import nnx

from symnet import SymbolicRegressor
from symnet._primitives import LOG_EPS
from symnet._train import TrainConfig, init_population, population_trainer
from symnet.layers import Mask, SymbolicKANLayer, SymbolicNetwork, kan
from symnet.pruning import count_active

BOX = (-2.0, 2.0)


def _edge_interval(name, zl, zh):
    if name == "identity":
        return zl, zh
    if name in ("sin", "cos"):
        return np.full_like(zl, -1.0), np.full_like(zh, 1.0)
    if name == "square":
        lo = np.where((zl <= 0) & (zh >= 0), 0.0, np.minimum(zl**2, zh**2))
        return lo, np.maximum(zl**2, zh**2)
    fn = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt}[name]
    return fn(zl), fn(zh)


def _randomise(net, rng, density):
    """Random weights; live domain-restricted edges shifted into their domain on BOX."""
    lo = np.full(net.in_features, BOX[0])
    hi = np.full(net.in_features, BOX[1])
    for layer in net.layers:
        shape = layer.outer[...].shape
        a = rng.normal(0.0, 1.0, shape) * (rng.random(shape) < density)
        b = rng.normal(0.0, 1.0, shape)
        c = rng.normal(0.0, 0.5, shape)
        zl = np.minimum(b * lo[:, None, None], b * hi[:, None, None])
        zh = np.maximum(b * lo[:, None, None], b * hi[:, None, None])
        for k, prim in enumerate(layer.prims):
            low, high = prim.domain
            if low > -1e6:  # log, sqrt: argument above its lower bound with a margin
                c[..., k] = low - zl[..., k] + rng.uniform(0.1, 1.5, shape[:2])
            if high < 1e6:  # exp: argument below the cap
                c[..., k] = np.minimum(c[..., k], high - 1.0 - zh[..., k])
        d = rng.normal(0.0, 1.0, layer.n_pre) * (rng.random(layer.n_pre) < density)
        for name, v in (("outer", a), ("inner", b), ("shift", c), ("bias", d)):
            getattr(layer, name)[...] = jnp.asarray(v, jnp.float32)
        # intervals of the pre-nodes, from the float32 weights stored
        a, b, c, d = (np.asarray(w, np.float64) for w in layer._weights())
        zl = np.minimum(b * lo[:, None, None], b * hi[:, None, None]) + c
        zh = np.maximum(b * lo[:, None, None], b * hi[:, None, None]) + c
        plo, phi = np.zeros(layer.n_pre) + d, np.zeros(layer.n_pre) + d
        for k, prim in enumerate(layer.prims):
            el, eh = _edge_interval(prim.name, zl[..., k], zh[..., k])
            lo_k, hi_k = (
                np.minimum(a[..., k] * el, a[..., k] * eh),
                np.maximum(a[..., k] * el, a[..., k] * eh),
            )
            plo, phi = plo + lo_k.sum(0), phi + hi_k.sum(0)
        s = layer.n_sum
        pa_l, pa_h, pb_l, pb_h = plo[s::2], phi[s::2], plo[s + 1 :: 2], phi[s + 1 :: 2]
        prods = np.stack([pa_l * pb_l, pa_l * pb_h, pa_h * pb_l, pa_h * pb_h])
        lo = np.concatenate([plo[:s], prods.min(0)])
        hi = np.concatenate([phi[:s], prods.max(0)])
    return net


def _net64(net, x):
    with jax.enable_x64(True):
        graphdef, state = nnx.split(net)
        state = jax.tree.map(lambda v: np.asarray(v, np.float64), state)
        y, _ = nnx.merge(graphdef, state)(jnp.asarray(x, jnp.float64))
        return np.asarray(y, np.float64)


def _formula(exprs, symbols, x):
    fn = sympy.lambdify(symbols, exprs, modules="numpy")
    vals = fn(*x.T)
    return np.stack([np.broadcast_to(np.asarray(v, np.float64), x.shape[:1]) for v in vals], 1)


def _symbols(n):
    return list(sympy.symbols(f"x0:{n}"))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("density", [0.5, 0.2])
def test_kan_export_reproduces_the_network(seed, density):
    rng = np.random.default_rng(seed)
    n_in, n_out = 1 + seed % 3, 1 + seed % 2
    net = _randomise(kan(n_in, n_outputs=n_out, rngs=nnx.Rngs(seed)), rng, density)
    x = rng.uniform(*BOX, (64, n_in))
    symbols = _symbols(n_in)
    exprs = net.to_sympy(symbols)
    assert len(exprs) == n_out
    want = _net64(net, x)
    assert np.isfinite(want).all()
    got = _formula(exprs, symbols, x)
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7 * scale)


def test_kan_drop_dead_units_keeps_the_function_and_masks_unused_edges():
    rng = np.random.default_rng(0)
    net = _randomise(kan(2, rngs=nnx.Rngs(0)), rng, 0.5)
    readout = net.layers[1]
    readout.outer_mask[...] = readout.outer_mask[...].at[1:].set(0.0)  # only node 0 is read
    x = rng.uniform(*BOX, (32, 2))
    before = _net64(net, x)
    net.drop_dead_units()
    np.testing.assert_array_equal(_net64(net, x), before)
    hidden = net.layers[0]
    live_pre = np.asarray(hidden.outer_mask[...]).any(axis=(0, 2))
    assert live_pre.tolist() == [True] + [False] * (hidden.n_pre - 1)
    exprs = net.to_sympy(_symbols(2))
    np.testing.assert_allclose(_formula(exprs, _symbols(2), x), before, rtol=1e-5, atol=1e-7)


def test_kan_needed_inputs_ignores_pruned_gates():
    layer = SymbolicKANLayer(3, n_sum=1, rngs=nnx.Rngs(0))
    layer.outer_mask[...] = layer.outer_mask[...].at[1].set(0.0)  # input 1 feeds nothing
    assert layer.needed_inputs(np.array([True])).tolist() == [True, False, True]
    assert layer.needed_inputs(np.array([False])).tolist() == [False, False, False]


def test_kan_product_node_multiplies_two_sums():
    layer = SymbolicKANLayer(
        2, n_sum=0, n_mult=1, primitives=("identity", "sin"), rngs=nnx.Rngs(0)
    )
    a = np.zeros((2, 2, 2))
    a[0, 0, 1] = 1.0  # first factor: sin(x0)
    a[1, 1, 0] = 2.0  # second factor: 2 * x1
    layer.outer[...] = jnp.asarray(a, jnp.float32)
    layer.inner[...] = jnp.ones((2, 2, 2))
    layer.shift[...] = jnp.zeros((2, 2, 2))
    x0, x1 = sympy.symbols("x0 x1")
    (expr,) = layer.to_sympy([x0, x1])
    assert sympy.simplify(expr - 2 * x1 * sympy.sin(x0)) == 0
    y, hinge = layer(jnp.asarray([[0.5, 3.0]]))
    np.testing.assert_allclose(float(y[0, 0]), 6.0 * math.sin(0.5), rtol=1e-6)
    assert float(hinge) == 0.0


def test_kan_pruned_gate_exports_nothing_and_constant_edges_fold():
    layer = SymbolicKANLayer(1, n_sum=1, primitives=("log", "identity"), rngs=nnx.Rngs(0))
    layer.outer[...] = jnp.ones((1, 1, 2))
    layer.inner[...] = jnp.zeros((1, 1, 2))  # log of a constant below its domain
    layer.shift[...] = jnp.full((1, 1, 2), -1.0)
    layer.outer_mask[...] = jnp.asarray([[[1.0, 0.0]]])
    (expr,) = layer.to_sympy([sympy.Symbol("x")])
    assert expr.is_number
    np.testing.assert_allclose(float(expr), math.log(LOG_EPS), rtol=1e-6)
    y, _ = layer(jnp.asarray([[2.0]]))
    np.testing.assert_allclose(float(y[0, 0]), float(expr), rtol=1e-6)


def test_structure_penalty_is_zero_for_one_primitive_per_edge():
    layer = SymbolicKANLayer(2, n_sum=2, rngs=nnx.Rngs(0))
    a = np.zeros(layer.outer[...].shape)
    a[0, 0, 1] = 0.7
    a[1, 1, 3] = -2.0
    layer.outer[...] = jnp.asarray(a, jnp.float32)
    assert float(layer.structure_penalty()) == 0.0
    a[0, 0, 2] = 0.7  # the edge mixes two primitives equally: mass 1.4 times log 2
    layer.outer[...] = jnp.asarray(a, jnp.float32)
    np.testing.assert_allclose(float(layer.structure_penalty()), 1.4 * math.log(2), rtol=1e-5)
    # finite gradients, also at exact zeros and on dead edges
    _, params, masks = nnx.split(layer, nnx.Param, Mask)
    graphdef = nnx.graphdef(layer)

    def pen(p):
        return nnx.merge(graphdef, p, masks).structure_penalty()

    grads = jax.grad(pen)(params)
    assert all(np.isfinite(np.asarray(g)).all() for g in jax.tree.leaves(grads))
    assert float(SymbolicNetwork([layer]).structure_penalty()) == float(layer.structure_penalty())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"primitives": ("mul",)}, "unary"),
        ({"primitives": ()}, "at least one"),
        ({"n_sum": 0, "n_mult": 0}, "output node"),
        ({"n_sum": -1}, "n_sum"),
        ({"primitives": ("sinn",)}, "Unknown primitive"),
    ],
)
def test_kan_layer_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SymbolicKANLayer(2, rngs=nnx.Rngs(0), **kwargs)


def test_kan_preset_units_choose_edges_and_product_nodes():
    net = kan(2, units=("sin", "exp", "mul", "div"), rngs=nnx.Rngs(0))
    hidden = net.layers[0]
    assert [p.name for p in hidden.prims] == ["sin", "exp"] and hidden.n_mult == 2
    assert kan(2, units=("sin",), rngs=nnx.Rngs(0)).layers[0].n_mult == 0
    with pytest.raises(ValueError, match="unary"):
        kan(2, units=("mul",), rngs=nnx.Rngs(0))


def test_kan_population_trains_one_program_and_sparsifies():
    """A population of kan networks fits y = sin(x0) + x1**2 in one compiled program; the
    penalised members end with fewer live gates than they started with."""
    rng = np.random.default_rng(100)
    x = rng.uniform(0.5, 2.5, (256, 2)).astype(np.float32)
    y = np.sin(x[:, 0]) + x[:, 1] ** 2
    y = ((y - y.mean()) / y.std())[:, None].astype(np.float32)
    graphdef, params, masks = init_population(lambda rngs: kan(2, rngs=rngs), jax.random.key(0), 8)
    start = np.asarray(count_active(params, masks, axis0=True))
    config = TrainConfig(steps=600)
    trainer = population_trainer(graphdef, config)
    state = trainer.init(params, masks, np.full(8, 3e-3, np.float32), jax.random.key(1))
    traces = trainer.n_traces
    for _ in range(3):  # the phases switch inside one compiled program
        state = trainer.run(state, x, y, config.schedule(), 200)
    assert trainer.n_traces - traces == 1
    state = trainer.finalize(state)
    pred = np.asarray(trainer.predict(state, x))[..., 0]
    mse = ((pred - y[:, 0]) ** 2).mean(1)
    assert np.isfinite(mse).all() and mse.min() < 1e-2
    end = np.asarray(count_active(state.params, state.masks, axis0=True))
    assert (end < start).all()


def test_estimator_searches_with_kan_beside_the_default():
    rng = np.random.default_rng(101)
    X = rng.uniform(0.5, 2.0, (120, 2))
    y = np.sin(X[:, 0]) * X[:, 1]
    model = SymbolicRegressor(preset=("default", "kan"), max_time=10, random_state=0)
    model.fit(X, y)
    assert model.score(X, y) > 0.99
    table = model.equations_
    assert len(table) > 0

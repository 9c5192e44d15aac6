"""Pruning: magnitude and saliency (LIES) rules, dead units, prune-and-retrain."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from symnet import PopulationTrainer, TrainConfig, init_population
from symnet.layers import Mask, SymbolicLayer, SymbolicNetwork, eql
from symnet.pruning import (
    count_active,
    dead_unit_masks,
    lies_masks,
    magnitude_masks,
    pairs,
    prune_and_retrain,
    prune_population,
    saliency,
    saliency_masks,
)

POP = 4


def _flat(state):
    return {path: np.asarray(v[...]) for path, v in nnx.to_flat_state(state)}


def _split(module):
    return nnx.split(module, nnx.Param, Mask)


def _stacked_eql(seeds):
    """A small population without init_population's compile: stacked eql(2) networks."""
    splits = [_split(eql(2, rngs=nnx.Rngs(s))) for s in seeds]
    stack = lambda *a: jnp.stack(a)  # noqa: E731
    return splits[0][0], *(jax.tree.map(stack, *(sp[k] for sp in splits)) for k in (1, 2))


def _member(state, i):
    return jax.tree.map(lambda a: a[i], state)


# -- magnitude -------------------------------------------------------------------------------


def test_magnitude_threshold_semantics_and_no_revival():
    layer = SymbolicLayer(1, [("identity", 4)], rngs=nnx.Rngs(0))
    layer.kernel[...] = jnp.array([[0.05, -0.1, 0.1000001, 5.0]])
    layer.kernel_mask[...] = jnp.array([[1.0, 1.0, 1.0, 0.0]])  # the big weight is dead
    _, p, m = _split(layer)
    new = _flat(magnitude_masks(p, m, 0.1))
    # |w| <= threshold goes, |w| > threshold stays, a dead weight stays dead.
    np.testing.assert_array_equal(new[("kernel_mask",)], [[0.0, 0.0, 1.0, 0.0]])
    # Zero biases (|b| = 0 <= 0.1) are dropped too.
    np.testing.assert_array_equal(new[("bias_mask",)], np.zeros(4))
    assert new[("kernel_mask",)].dtype == np.float32


def test_magnitude_vmaps_over_population():
    _, p, m = _stacked_eql(range(3))
    pop = jax.vmap(magnitude_masks, in_axes=(0, 0, None))(p, m, 0.3)
    for i in range(3):
        one = magnitude_masks(_member(p, i), _member(m, i), 0.3)
        for path, v in _flat(one).items():
            np.testing.assert_array_equal(_flat(pop)[path][i], v)


def test_prune_population_prunes_each_member_and_counts_its_live_weights():
    _, p, m = _stacked_eql(range(3))
    masks, active = prune_population(p, m, jnp.float32(0.3))
    for i in range(3):
        one = magnitude_masks(_member(p, i), _member(m, i), 0.3)
        for path, v in _flat(one).items():
            np.testing.assert_array_equal(_flat(masks)[path][i], v)
        assert int(active[i]) == int(count_active(_member(p, i), one))
    _, looser = prune_population(p, m, jnp.float32(0.0))
    assert np.all(np.asarray(looser) >= np.asarray(active))


# -- saliency values -------------------------------------------------------------------------


def test_saliency_matches_hand_computation_on_a_layer():
    # y = [sin(z0), z1 * z2], z = x @ W + b: d(sum y)/dW[i, j] = x_i * (cos z0, z2, z1)_j.
    layer = SymbolicLayer(2, [("sin", 1), ("mul", 1)], rngs=nnx.Rngs(0))
    W = np.array([[0.7, -1.2, 0.4], [0.3, 0.5, -0.9]], np.float32)
    b = np.array([0.1, -0.2, 0.3], np.float32)
    layer.kernel[...] = jnp.asarray(W)
    layer.bias[...] = jnp.asarray(b)
    layer.kernel_mask[...] = jnp.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    g, p, m = _split(layer)
    x = np.asarray(jax.random.normal(jax.random.key(1), (7, 2)), np.float64)
    v = np.arange(1.0, 8.0)

    M = np.asarray(layer.kernel_mask[...])
    z = x @ (W * M) + b
    dz = np.stack([np.cos(z[:, 0]), z[:, 2], z[:, 1]], axis=1)  # (n, 3): d(sum y)/dz
    sal_W = np.einsum("n,nij->ij", v / v.sum(), np.abs(W * M * x[:, :, None] * dz[:, None, :]))
    sal_b = (v / v.sum()) @ np.abs(b * dz)

    s = _flat(saliency(g, p, m, jnp.asarray(x, jnp.float32), jnp.asarray(v, jnp.float32)))
    assert set(s) == {("kernel",), ("bias",)}
    np.testing.assert_allclose(s[("kernel",)], sal_W, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s[("bias",)], sal_b, rtol=1e-5, atol=1e-7)
    assert s[("kernel",)][1, 2] == 0.0  # masked -> exactly 0


def test_saliency_on_a_network_sums_outputs_in_absolute_value():
    # h = w x; y = (a h, -a h). |w * d(y0 + y1)/dw| would be 0; symnet sums per output.
    w, a = 1.5, -2.0
    hidden = SymbolicLayer(1, [("identity", 1)], use_bias=False, rngs=nnx.Rngs(0))
    readout = SymbolicLayer(1, [("identity", 2)], use_bias=False, rngs=nnx.Rngs(0))
    hidden.kernel[...] = jnp.array([[w]])
    readout.kernel[...] = jnp.array([[a, -a]])
    g, p, m = _split(SymbolicNetwork([hidden, readout]))
    x = jnp.array([[1.0], [-2.0], [0.5]])
    s = _flat(saliency(g, p, m, x))
    mean_abs_x = float(jnp.abs(x).mean())
    np.testing.assert_allclose(
        s[("layers", 0, "kernel")], [[2 * abs(a * w) * mean_abs_x]], rtol=1e-6
    )
    np.testing.assert_allclose(
        s[("layers", 1, "kernel")], [[abs(a * w) * mean_abs_x] * 2], rtol=1e-6
    )


# -- the LIES quantile rule ------------------------------------------------------------------


def _lies_reference(W, M, S, small):
    live = M != 0
    if not live.any():
        return M
    q = (live & (np.abs(W) < small)).sum() / live.sum()
    t = np.quantile(S[live].astype(np.float64), q)
    return np.where(live & (S < t), 0.0, M)


@pytest.mark.parametrize("seed", range(4))
def test_lies_masks_follow_the_quantile_rule_per_matrix(seed):
    rng = np.random.default_rng(seed)
    net = eql(2, rngs=nnx.Rngs(seed))
    _, p, m = _split(net)
    for _, var in nnx.to_flat_state(p):
        shape = var[...].shape
        var[...] = jnp.asarray(rng.normal(0, 0.02, shape) * rng.choice([1, 100], shape))
    for _, var in nnx.to_flat_state(m):
        var[...] = jnp.asarray(rng.random(var[...].shape) < 0.8, jnp.float32)
    scores = jax.tree.map(lambda a: jnp.asarray(rng.random(a.shape), jnp.float32), p)
    new, pf, mf, sf = (
        _flat(lies_masks(p, m, scores, small=0.01)),
        _flat(p),
        _flat(m),
        _flat(scores),
    )
    n_dropped = 0
    for mpath, ppath in pairs(p, m):
        ref = _lies_reference(pf[ppath], mf[mpath], sf[ppath], 0.01)
        np.testing.assert_array_equal(new[mpath], ref, err_msg=str(mpath))
        assert np.all(new[mpath] <= mf[mpath])  # never revives
        # Distinct scores: exactly as many drops as live small weights, except that the
        # most salient live weight always survives (the 1-quantile is the maximum).
        live = mf[mpath] != 0
        n_small = int((live & (np.abs(pf[ppath]) < 0.01)).sum())
        expect = n_small - int(n_small == live.sum() > 0)
        assert int((mf[mpath] - new[mpath]).sum()) == expect
        n_dropped += expect
    assert n_dropped > 0


def test_lies_masks_drop_the_least_salient_not_the_smallest():
    layer = SymbolicLayer(5, [("identity", 1)], use_bias=False, rngs=nnx.Rngs(0))
    layer.kernel[...] = jnp.array([[0.001], [0.002], [1.0], [2.0], [-50.0]])
    layer.kernel_mask[...] = jnp.array([[1.0], [1.0], [1.0], [1.0], [0.0]])
    _, p, m = _split(layer)
    # The dead weight has the lowest score: it must count neither in q nor in the quantile.
    s = nnx.State({"kernel": nnx.Param(jnp.array([[9.0], [0.5], [0.1], [3.0], [-1.0]]))})
    new = lies_masks(p, m, s)["kernel_mask"][...].ravel()
    np.testing.assert_array_equal(new, [1.0, 0.0, 0.0, 1.0, 0.0])
    # No small weight -> q = 0 -> nothing dropped.
    new = lies_masks(p, m, s, small=1e-4)["kernel_mask"][...].ravel()
    np.testing.assert_array_equal(new, [1.0, 1.0, 1.0, 1.0, 0.0])


def test_saliency_masks_vmap_agrees_with_one_member_at_a_time():
    g, p, m = _stacked_eql([3, 4])
    x = jax.random.uniform(jax.random.key(4), (16, 2), minval=-1, maxval=1)
    one = jax.jit(lambda p, m, x: saliency_masks(g, p, m, x, small=0.2))
    pop = _flat(jax.jit(jax.vmap(one, in_axes=(0, 0, None)))(p, m, x))
    for i in range(2):
        single = _flat(one(_member(p, i), _member(m, i), x))
        for path, v in single.items():
            np.testing.assert_array_equal(pop[path][i], v)
    assert sum(v.sum() for v in pop.values()) < sum(v.sum() for v in _flat(m).values())


# -- dead units ------------------------------------------------------------------------------


def test_dead_unit_masks_cut_incoming_weights_recursively_and_keep_outputs():
    net = eql(2, rngs=nnx.Rngs(5))  # 2 hidden layers: id x2, sin x2, cos x2, mul x2
    g, p, m = _split(net)
    x = jax.random.uniform(jax.random.key(6), (32, 2), minval=-2, maxval=2)
    # Read-out reads only hidden-2 units 0 (identity) and 6 (mul); hidden 2 reads only
    # hidden-1 unit 0, except its mul unit that also reads hidden-1 unit 4 (cos).
    m["layers"][2]["kernel_mask"][...] = jnp.zeros((8, 1)).at[jnp.array([0, 6])].set(1.0)
    k1 = jnp.zeros((8, 10)).at[0, :].set(1.0).at[4, jnp.array([6, 8])].set(1.0)
    m["layers"][1]["kernel_mask"][...] = k1
    before = _flat(m)
    y0, _ = nnx.merge(g, p, m)(x)

    new = dead_unit_masks(g, p, m)
    after = _flat(new)
    for path, v in before.items():  # input state untouched
        np.testing.assert_array_equal(_flat(m)[path], v)
    # Hidden 2: columns of live units 0 (col 0) and 6 (cols 6, 8) survive.
    live_cols = np.zeros(10, bool)
    live_cols[[0, 6, 8]] = True
    np.testing.assert_array_equal(
        after[("layers", 1, "kernel_mask")], np.asarray(k1) * live_cols[None, :]
    )
    np.testing.assert_array_equal(after[("layers", 1, "bias_mask")], live_cols.astype(float))
    # Hidden 1: only units 0 (col 0) and 4 (cos, col 4) are needed.
    live_cols = np.zeros(10, bool)
    live_cols[[0, 4]] = True
    np.testing.assert_array_equal(
        after[("layers", 0, "kernel_mask")], np.broadcast_to(live_cols, (2, 10)).astype(float)
    )
    np.testing.assert_array_equal(
        after[("layers", 2, "kernel_mask")], before[("layers", 2, "kernel_mask")]
    )

    y1, _ = nnx.merge(g, p, new)(x)
    np.testing.assert_allclose(y1, y0, rtol=1e-6, atol=1e-6)
    assert count_active(p, new) < count_active(p, m)


def test_dead_unit_masks_needs_a_network():
    g, p, m = _split(SymbolicLayer(1, [("sin", 1)], rngs=nnx.Rngs(0)))
    with pytest.raises(TypeError, match="SymbolicNetwork"):
        dead_unit_masks(g, p, m)


# -- prune and retrain -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained():
    x = jax.random.uniform(jax.random.key(0), (128, 2), minval=-1, maxval=1)
    y = (x[:, 0] * x[:, 1])[:, None]
    g, p, m = init_population(lambda rngs: eql(2, rngs=rngs), jax.random.key(1), POP)
    cfg = TrainConfig(steps=300)
    trainer = PopulationTrainer(g, cfg)
    state = trainer.init(p, m, jnp.full(POP, 1e-3), jax.random.key(2))
    state = trainer.run(state, x, y, cfg.schedule(), cfg.steps)
    assert trainer.n_traces == 1
    return trainer, state, x, y


def _shapes(state):
    return jax.tree.map(lambda a: (a.shape, a.dtype), state)


@pytest.mark.parametrize("rule", ["magnitude", "saliency"])
def test_prune_and_retrain_shrinks_keeps_shapes_and_never_retraces(trained, rule):
    trainer, state, x, y = trained
    counts = [np.asarray(count_active(state.params, state.masks, axis0=True))]
    masks = [_flat(state.masks)]
    s = state
    for _ in range(3):
        s = prune_and_retrain(trainer, s, x, y, rounds=1, steps=100, rule=rule, threshold=0.05)
        counts.append(np.asarray(count_active(s.params, s.masks, axis0=True)))
        masks.append(_flat(s.masks))
        assert _shapes(s) == _shapes(state)
    assert trainer.n_traces == 1  # the fixture's trace serves every round
    counts = np.stack(counts)
    assert np.all(np.diff(counts, axis=0) <= 0), counts
    assert np.all(counts[-1] < counts[0]), counts
    for a, b in zip(masks[:-1], masks[1:], strict=True):
        for path in a:
            assert np.all(b[path] <= a[path])
    assert int(s.step) == int(state.step) + 300
    assert np.all(np.isfinite(np.asarray(s.loss)))

    final = trainer.finalize(s)
    pf, mf = _flat(final.params), _flat(final.masks)
    for mpath, ppath in pairs(final.params, final.masks):
        assert np.all(pf[ppath][mf[mpath] == 0] == 0.0)
    pred = trainer.predict(final, x)
    np.testing.assert_allclose(pred, trainer.predict(s, x), rtol=1e-5, atol=1e-6)


def test_prune_and_retrain_only_the_rule_changes_masks(trained):
    trainer, state, x, y = trained
    s = prune_and_retrain(trainer, state, x, y, rounds=1, steps=20, threshold=0.1, drop_dead=False)
    expect = jax.vmap(magnitude_masks, in_axes=(0, 0, None))(state.params, state.masks, 0.1)
    for path, v in _flat(expect).items():
        np.testing.assert_array_equal(_flat(s.masks)[path], v)
    assert prune_and_retrain(trainer, state, x, y, rounds=0) is state
    v = jnp.linspace(0.5, 1.5, x.shape[0])
    s = prune_and_retrain(trainer, state, x, y, rounds=1, steps=5, rule="saliency", w=v)
    assert np.all(np.isfinite(np.asarray(s.loss)))
    assert trainer.n_traces == 1
    with pytest.raises(ValueError, match="did you mean 'saliency'"):
        prune_and_retrain(trainer, state, x, y, rule="salency")
    with pytest.raises(ValueError, match="`steps`"):
        prune_and_retrain(trainer, state, x, y, steps=0)

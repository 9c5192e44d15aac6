"""The population trainer: one trace per shape, determinism, non-finite guard, freezing."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from symnet import PopulationTrainer, Schedule, TrainConfig, init_population
from symnet._devices import CPU_MEMBER_CHUNK, member_chunk
from symnet.layers import eql
from symnet.pruning import count_active, pairs

SMALL = functools.partial(eql, 2, depth=1, width=2)
MEDIUM = functools.partial(eql, 2, depth=2, width=2)


def _data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] + 0.5 * np.sin(2.0 * x[:, 1]))[:, None].astype(np.float32)
    return x, y


def _flat(state):
    return {path: np.asarray(v[...]) for path, v in nnx.to_flat_state(state)}


def _leaves(tree):
    return [np.asarray(a) for a in jax.tree.leaves(tree)]


def _all_finite(tree):
    return all(np.all(np.isfinite(a)) for a in _leaves(tree))


def _kept(state):
    """Number of unmasked weights per member."""
    return sum(m.reshape(m.shape[0], -1).sum(1) for m in _leaves(state.masks))


def _mse(trainer, state, x, y):
    pred = np.asarray(trainer.predict(state, x), np.float64)
    return np.mean((pred - y[None]) ** 2, axis=(1, 2))


def _setup(model_fn, size, config, *, lam=1e-3, seed=0):
    graphdef, params, masks = init_population(model_fn, jax.random.key(seed), size)
    trainer = PopulationTrainer(graphdef, config)
    state = trainer.init(params, masks, jnp.full((size,), lam), jax.random.key(seed + 1))
    return trainer, state


# -- (a) one trace per shape -----------------------------------------------------------------


def test_one_trace_across_phases_chunks_and_schedules():
    config = TrainConfig(steps=40, warmup=0.25, finetune=0.25, threshold=0.05)
    schedule = config.schedule()
    assert (int(schedule.warmup_end), int(schedule.freeze_at)) == (10, 30)
    trainer, state0 = _setup(SMALL, 4, config, lam=1e-2)
    x, y = _data()

    # Warm-up | warm-up -> sparsify | sparsify -> freeze -> fine-tune | fine-tune.
    state, steps = state0, 0
    for n in (7, 9, 14, 10):
        state = trainer.run(state, x, y, schedule, n)
        steps += n
        assert int(state.step) == steps
    assert trainer.n_traces == 1
    # The freeze really happened inside the traced program.
    assert np.all(_kept(state) < _kept(state0))

    # A different schedule: other phase weights, threshold and boundaries, other n_steps,
    # other strengths, explicit sample weights.
    other = Schedule.make(
        warmup_end=3,
        freeze_at=12,
        sparsity=(0.0, 2.0, 0.5),
        lr=(1e-3, 5e-3, 1e-4),
        domain=(0.0, 1.0, 2.0),
        threshold=0.3,
    )
    s2 = trainer.init(state0.params, state0.masks, jnp.full((4,), 0.1), jax.random.key(9))
    s2 = trainer.run(s2, x, y, other, 17, w=np.linspace(0.5, 1.5, len(x)))
    cfg2 = TrainConfig(steps=100, warmup=0.1, finetune=0.5, threshold=0.01, learning_rate=3e-3)
    s2 = trainer.run(s2, x, y, cfg2.schedule(), 5)
    assert int(s2.step) == 22
    assert trainer.n_traces == 1

    # Another data shape may retrace, once.
    trainer.run(state, x[:32], y[:32], schedule, 3)
    trainer.run(state, x[:32], y[:32], other, 4)
    assert trainer.n_traces <= 2


# -- (b) determinism -------------------------------------------------------------------------


def _train_minibatch(seed):
    config = TrainConfig(steps=60, batch_size=16)
    trainer, state = _setup(SMALL, 3, config, seed=seed)
    x, y = _data()
    state = trainer.run(state, x, y, config.schedule(), 35)
    state = trainer.run(state, x, y, config.schedule(), 25)
    return trainer.finalize(state)


def test_same_seeds_give_bitwise_identical_results():
    a, b = _train_minibatch(0), _train_minibatch(0)
    for field in ("params", "masks", "loss", "skipped", "step"):
        for u, v in zip(_leaves(getattr(a, field)), _leaves(getattr(b, field)), strict=True):
            np.testing.assert_array_equal(u, v)
    c = _train_minibatch(5)
    assert any(
        not np.array_equal(u, v) for u, v in zip(_leaves(a.params), _leaves(c.params), strict=True)
    )


# -- (c) non-finite guard --------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_targets_skip_updates_and_keep_params_finite(bad):
    config = TrainConfig(steps=30, threshold=0.05)
    trainer, state0 = _setup(SMALL, 3, config)
    x, y = _data()
    y[[0, 5, 17]] = bad
    state = state0
    for n in (10, 12, 8):  # through every phase, freeze included
        state = trainer.run(state, x, y, config.schedule(), n)
        assert _all_finite(state.params) and _all_finite(state.opt_state)
        # Full batch: every step sees the bad rows, so every update is skipped.
        np.testing.assert_array_equal(state.skipped, np.full(3, int(state.step)))
    for u, v in zip(_leaves(state.params), _leaves(state0.params), strict=True):
        np.testing.assert_array_equal(u, v)
    assert _all_finite(trainer.finalize(state).params)


def test_non_finite_rows_with_minibatches_skip_only_the_bad_steps():
    config = TrainConfig(steps=80, batch_size=8)
    trainer, state0 = _setup(SMALL, 3, config)
    x, y = _data()
    y[3] = np.nan
    state = state0
    for n in (40, 40):
        state = trainer.run(state, x, y, config.schedule(), n)
        assert _all_finite(state.params)
    skipped = np.asarray(state.skipped)
    assert np.all(skipped > 0) and np.all(skipped < 80), skipped
    good = np.arange(len(x)) != 3
    assert np.all(_mse(trainer, state, x[good], y[good]) < _mse(trainer, state0, x[good], y[good]))


# -- (d) a population in one compiled call ---------------------------------------------------


def test_population_of_64_trains_in_one_call():
    config = TrainConfig(steps=150)
    trainer, state0 = _setup(MEDIUM, 64, config)
    x, y = _data()
    state = trainer.run(state0, x, y, config.schedule(), config.steps)
    assert trainer.n_traces == 1
    assert int(state.step) == config.steps
    assert state.loss.shape == (64,)
    loss = np.asarray(state.loss)
    assert np.all(np.isfinite(loss))
    assert len(np.unique(loss)) > 32  # independent members, not one network 64 times
    assert np.median(_mse(trainer, state, x, y)) < np.median(_mse(trainer, state0, x, y))
    assert trainer.predict(state, x).shape == (64, len(x), 1)


# -- (e) freezing ----------------------------------------------------------------------------


def test_freeze_masks_small_weights_for_good():
    config = TrainConfig(steps=60, warmup=0.25, finetune=0.25, threshold=0.1)
    freeze_at = int(config.schedule().freeze_at)
    assert freeze_at == 45
    trainer, state = _setup(MEDIUM, 4, config, lam=1e-2)
    x, y = _data()
    history = [_flat(state.masks)]

    state = trainer.run(state, x, y, config.schedule(), freeze_at)  # last step before freeze
    before_params, before_masks = _flat(state.params), _flat(state.masks)
    history.append(before_masks)
    state = trainer.run(state, x, y, config.schedule(), 1)  # the freeze step
    frozen = _flat(state.masks)
    history.append(frozen)
    n_masked = 0
    for mpath, ppath in pairs(state.params, state.masks):
        keep = np.abs(before_params[ppath]) > config.threshold
        np.testing.assert_array_equal(frozen[mpath], before_masks[mpath] * keep)
        n_masked += int((before_masks[mpath] * ~keep).sum())
    assert n_masked > 0

    for n in (6, 8):  # fine-tune
        state = trainer.run(state, x, y, config.schedule(), n)
        history.append(_flat(state.masks))
        for path, m in frozen.items():
            np.testing.assert_array_equal(history[-1][path], m)  # nothing more, nothing back
    for older, newer in zip(history[:-1], history[1:], strict=True):
        for path in older:
            assert np.all(newer[path] <= older[path])  # never revived

    final = trainer.finalize(state)
    params, masks = _flat(final.params), _flat(final.masks)
    for mpath, ppath in pairs(final.params, final.masks):
        assert np.all(params[ppath][masks[mpath] == 0] == 0.0)
    np.testing.assert_array_equal(trainer.predict(final, x), trainer.predict(state, x))
    assert np.array_equal(
        count_active(final.params, final.masks, axis0=True),
        count_active(state.params, state.masks, axis0=True),
    )


# -- (f) sparsity strengths ------------------------------------------------------------------


def test_stronger_sparsity_leaves_fewer_active_weights():
    lams = np.array([0.0, 3e-3, 3e-2, 3e-1], np.float32)
    restarts = 8
    graphdef, params, masks = init_population(MEDIUM, jax.random.key(0), restarts)
    # The same initialisations for every strength, so only the strength differs.
    tile = functools.partial(jax.tree.map, lambda a: jnp.concatenate([a] * len(lams)))
    config = TrainConfig(steps=300)
    trainer = PopulationTrainer(graphdef, config)
    state = trainer.init(tile(params), tile(masks), np.repeat(lams, restarts), jax.random.key(1))
    x, y = _data(256)
    state = trainer.finalize(trainer.run(state, x, y, config.schedule(), config.steps))
    active = np.asarray(count_active(state.params, state.masks, axis0=True), np.float64)
    mean = active.reshape(len(lams), restarts).mean(axis=1)
    assert np.all(np.diff(mean) <= 0), mean
    assert mean[-1] < mean[0], mean


# -- (g) minibatches -------------------------------------------------------------------------


def test_minibatch_mode_reduces_the_loss():
    config = TrainConfig(steps=300, batch_size=32)
    trainer, state0 = _setup(SMALL, 4, config, lam=1e-4)
    x, y = _data(256)
    state = trainer.run(state0, x, y, config.schedule(), config.steps)
    assert trainer.n_traces == 1
    before, after = _mse(trainer, state0, x, y), _mse(trainer, state, x, y)
    assert np.all(after < before), (before, after)
    assert after.mean() < 0.5 * before.mean(), (before, after)
    assert np.all(np.asarray(state.skipped) == 0)


# -- (h) validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": -5}, "steps"),
        ({"warmup": -0.1}, "warmup"),
        ({"finetune": -0.1}, "finetune"),
        ({"warmup": 0.7, "finetune": 0.5}, "warmup"),
        ({"warmup": math.nan}, "warmup"),
        ({"penalty": "l2"}, "penalty"),
        ({"penalty": "L1"}, "penalty"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -32}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -1e-3}, "learning_rate"),
        ({"member_chunk": 0}, "member_chunk"),
        ({"member_chunk": 2.5}, "member_chunk"),
        ({"member_chunk": True}, "member_chunk"),
        ({"member_chunk": "all"}, "member_chunk"),
    ],
)
def test_config_validation(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        TrainConfig(**kwargs)


def test_member_chunk_auto_chunks_on_a_cpu_only_past_the_chunk():
    """``member_chunk="auto"`` (the default) trains ``CPU_MEMBER_CHUNK`` members at a time on
    a CPU, and a population no larger than a chunk as one ``vmap``; None is one ``vmap``."""
    assert TrainConfig().member_chunk == "auto"
    big, small = jnp.zeros(3 * CPU_MEMBER_CHUNK), jnp.zeros(CPU_MEMBER_CHUNK)
    assert jax.devices()[0].platform == "cpu"
    assert member_chunk("auto", big) == CPU_MEMBER_CHUNK
    assert member_chunk("auto", small) is None
    assert member_chunk(None, big) is None
    assert member_chunk(3, small) == 3


def test_member_chunks_train_the_same_members_as_one_vmap():
    """``member_chunk``: chunks of members (the last one short) run their steps one chunk
    after another instead of one ``vmap``; each member's updates are the same up to float32
    rounding, and the chunked program is still traced once (over two ``run`` calls)."""
    x, y = _data()
    lam = jnp.asarray(np.geomspace(1e-3, 3e-2, 7), jnp.float32)
    states = {}
    for chunk in (None, 3):
        config = TrainConfig(steps=40, threshold=0.05, member_chunk=chunk)
        graphdef, params, masks = init_population(MEDIUM, jax.random.key(0), 7)
        trainer = PopulationTrainer(graphdef, config)
        state = trainer.init(params, masks, lam, jax.random.key(1))
        assert trainer._chunk(state) == chunk  # one device: the chunks are used
        state = trainer.run(state, x, y, config.schedule(), 25)
        state = trainer.run(state, x, y, config.schedule(), 15)
        assert trainer.n_traces == 1
        states[chunk] = trainer.finalize(state)
    a, b = states[None], states[3]
    for u, v in zip(_leaves(a.masks), _leaves(b.masks), strict=True):
        np.testing.assert_array_equal(u, v)
    for u, v in zip(_leaves(a.params), _leaves(b.params), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-4)


def test_config_rejects_nan_learning_rate():
    with pytest.raises(ValueError, match="`learning_rate`"):
        TrainConfig(learning_rate=math.nan)


def test_valid_config_edges_are_accepted():
    TrainConfig(steps=1, warmup=0.0, finetune=0.0, batch_size=1, penalty="l1")
    TrainConfig(warmup=0.5, finetune=0.5, batch_size=None)


def test_checkpoints_restore_bitwise_and_refuse_other_shapes(tmp_path):
    from symnet._checkpoint import StateCheckpoints

    x, y = _data()
    config = TrainConfig(steps=40)
    trainer, state = _setup(SMALL, 4, config)
    state = trainer.run(state, x, y, config.schedule(), 20)
    StateCheckpoints(tmp_path).save(state)
    _, fresh = _setup(SMALL, 4, config, seed=5)
    restored = StateCheckpoints(tmp_path).restore(fresh)
    assert int(restored.step) == 20
    raw = lambda s: s._replace(key=jax.random.key_data(s.key))  # noqa: E731
    for a, b in zip(_leaves(raw(restored)), _leaves(raw(state)), strict=True):
        np.testing.assert_array_equal(a, b)
    # Continuing from the restored state is the same as never stopping.
    a = trainer.run(restored, x, y, config.schedule(), 20)
    b = trainer.run(state, x, y, config.schedule(), 20)
    for u, v in zip(_leaves(a.params), _leaves(b.params), strict=True):
        np.testing.assert_array_equal(u, v)
    _, other = _setup(SMALL, 8, config)
    with pytest.raises(ValueError, match="other settings"):
        StateCheckpoints(tmp_path).restore(other)
    assert StateCheckpoints(tmp_path / "empty").restore(fresh) is None


def test_populations_of_one_architecture_share_a_trainer():
    """A search's views and rounds train populations of one architecture on data of one
    shape: one trainer (one compiled program) serves them all, whatever their steps."""
    from symnet._train import population_trainer

    config = TrainConfig(steps=40)
    graphdef, params, masks = init_population(SMALL, jax.random.key(0), 4)
    trainer = population_trainer(graphdef, config)
    assert population_trainer(graphdef, TrainConfig(steps=900)) is trainer
    assert population_trainer(graphdef, TrainConfig(steps=40, batch_size=8)) is not trainer
    x, y = _data()
    traces = trainer.n_traces
    for seed, steps in ((1, 40), (2, 15)):
        g2, p2, m2 = init_population(SMALL, jax.random.key(seed), 4)
        assert g2 == graphdef
        t2 = population_trainer(g2, TrainConfig(steps=steps))
        state = t2.init(p2, m2, jnp.full((4,), 1e-2), jax.random.key(seed))
        t2.run(state, x, y, TrainConfig(steps=steps).schedule(), steps)
    assert trainer.n_traces <= traces + 1

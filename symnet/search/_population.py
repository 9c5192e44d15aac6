"""One population of a search: train it on a data view, export its shortlisted members.

:func:`train_population` trains a population (one compiled program per architecture and data
shape, :func:`symnet._train.population_trainer`), prunes every member at a few extra
magnitude thresholds, and exports the (active weights, validation loss) Pareto-front
members as sympy formulas over the view's placeholder inputs.
"""

from __future__ import annotations

import dataclasses
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from symnet._checkpoint import StateCheckpoints
from symnet._devices import agree, auto_restarts, check_same
from symnet._export import member_networks, population_formulas
from symnet._train import init_population, population_trainer
from symnet.pruning import prune_population
from symnet.search._config import DEFAULT_RESTARTS
from symnet.search._select import loss_front
from symnet.search._views import View, view_symbols

__all__ = ["PROBE_STEPS", "Trained", "probe_rate", "resolve_restarts", "train_population"]

#: Training rows a spline KAN's edges are snapped on.
SNAP_ROWS = 128
#: Training steps timed by :func:`probe_rate`.
PROBE_STEPS = 100


class Trained(NamedTuple):
    """What one slot's population gave: member formulas over the view's placeholder inputs
    (in the view's target units), the seconds training took, the steps it ran, the
    seconds compiling (or loading) its training program took before, and the members'
    networks (one :class:`~symnet._export.MemberNetwork` per formula)."""

    exprs: list[sympy.Expr]
    seconds: float
    steps: int
    warmup: float = 0.0
    networks: tuple = ()


def train_population(view, data, *, keys, config, preset: str, plan, report, ckpt_dir=None):
    """Trains a population of ``preset`` networks on ``view`` (its ``X``, ``y``) with the
    rows and weights of ``data`` (:class:`~symnet.search.Data`) for ``plan``'s seconds from
    when its program is compiled, but not past its deadline (a
    :class:`~symnet.search.SlotPlan`; ``plan.steps`` sets the schedule's length), then
    exports its shortlisted members. With ``ckpt_dir``, training state is saved after every
    chunk and resumed from there. Returns :class:`Trained`."""
    X, tr, w = view.X, data.tr, data.w
    mu, sd = float(np.mean(view.y[tr])), float(np.std(view.y[tr]))
    sd = sd if sd > 0 else 1.0
    ys = ((view.y - mu) / sd)[:, None]
    size = config.population_size
    # Half the members keep their full architecture, half sample sub-architectures.
    keep = np.where(np.arange(size) % 2 == 0, 1.0, config.group_keep_prob)
    build = config.model_fn(X.shape[1], preset)
    graphdef, params, masks = init_population(build, keys[0], size, group_keep_prob=keep)
    trainer = population_trainer(graphdef, config.train)
    lam = np.repeat(np.asarray(config.sparsity, np.float32), config.n_restarts)
    state = trainer.init(params, masks, lam, keys[1])
    train = (
        config.train if plan.steps is None else dataclasses.replace(config.train, steps=plan.steps)
    )
    ckpt = None if ckpt_dir is None else StateCheckpoints(ckpt_dir)
    # several processes: each must be about to train this same population
    check_same(X[tr], ys[tr], w[tr], np.int64([size, train.steps]), label=f"{preset} population")
    # Zero steps compile (or load) the training program before the clock of the step rate
    # starts, so the budget plans later slots from what training costs, not compiling.
    t_warm = time.monotonic()
    jax.block_until_ready(trainer.run(state, X[tr], ys[tr], train.schedule(), 0, w[tr]))
    plan = plan.started()
    t0 = time.monotonic()
    state, n_run = _run_schedule(
        trainer, state, X[tr], ys[tr], w[tr], train, config, plan, report, ckpt
    )
    state = trainer.finalize(state)
    jax.block_until_ready(state.params)
    seconds = time.monotonic() - t0
    late = plan.deadline is not None and agree(time.monotonic() > plan.deadline)
    picks, variants = _shortlist_members(
        trainer, state, X[data.val], ys[data.val, 0], config, late
    )
    exprs = population_formulas(
        graphdef,
        state.params,
        variants,
        picks,
        view_symbols(X.shape[1]),
        mu,
        sd,
        X[tr[:SNAP_ROWS]],
    )
    nets = member_networks(build, state.params, variants, picks, X[tr[:SNAP_ROWS]])
    return Trained(exprs, seconds, n_run, t0 - t_warm, tuple(nets))


def probe_rate(view, data, *, key, config, preset: str) -> float:
    """Seconds per training step of a ``preset`` population on ``view``: its training
    program is compiled (or loaded from the persistent cache), then ``PROBE_STEPS`` steps
    are timed on a throw-away population (initialised from ``key``)."""
    X, tr = view.X[data.tr], data.tr
    ys = np.zeros((len(tr), 1), np.float32)
    graphdef, params, masks = init_population(
        config.model_fn(X.shape[1], preset), key, config.population_size
    )
    trainer = population_trainer(graphdef, config.train)
    lam = np.repeat(np.asarray(config.sparsity, np.float32), config.n_restarts)
    state = trainer.init(params, masks, lam, key)
    schedule = config.train.schedule()
    jax.block_until_ready(trainer.run(state, X, ys, schedule, 0, data.w[tr]))
    t0 = time.monotonic()
    jax.block_until_ready(trainer.run(state, X, ys, schedule, PROBE_STEPS, data.w[tr]))
    return (time.monotonic() - t0) / PROBE_STEPS


def resolve_restarts(config, data, *, key, timed: bool):
    """``config`` with ``n_restarts="auto"`` replaced by a number
    (:func:`symnet._devices.auto_restarts`): on an accelerator and with a deadline
    (``timed``), probed on ``data``'s raw inputs with the first architecture
    (:func:`probe_rate`, each size compiled once); otherwise the default rounded up to
    the device count, so a deterministic search does the same work on every machine with
    as many devices."""
    if config.n_restarts != "auto":
        return config
    probe = None
    if timed and jax.default_backend() != "cpu":
        raw = View("raw", data.X, data.y, lambda g: g)

        def probe(n):
            sized = dataclasses.replace(config, n_restarts=n)
            return probe_rate(raw, data, key=key, config=sized, preset=config.presets[0])

    return dataclasses.replace(config, n_restarts=auto_restarts(DEFAULT_RESTARTS, probe))


def _run_schedule(trainer, state, X, ys, w, train, config, plan, report, ckpt):
    """Runs ``train``'s schedule in chunks of ``config.chunk_steps`` (one compiled program)
    until it ends or, after the first chunk, ``plan.deadline`` passes, checkpointing after
    each chunk; then LIES' worst-region oversampling if asked for. Returns the state and
    the steps run."""
    schedule, total = train.schedule(), train.steps
    n_run = 0
    if ckpt is not None:
        state = ckpt.restore(state) or state
    done = min(int(state.step), total)
    while done < total and not (
        n_run > 0 and plan.deadline is not None and agree(time.monotonic() > plan.deadline)
    ):  # at least one chunk: a slot that has paid for compiling trains (process 0's clock)
        n_steps = min(config.chunk_steps, total - done)  # same compiled program per chunk
        # waits for the chunk: JAX dispatches asynchronously, and the deadline is checked
        # against finished work, not queued work
        state = jax.block_until_ready(trainer.run(state, X, ys, schedule, n_steps, w))
        done += n_steps
        n_run += n_steps
        if ckpt is not None:
            ckpt.save(state)
        report(done / total)
    resumed_past_end = int(state.step) > total  # oversampling already ran before a kill
    late = plan.deadline is not None and agree(time.monotonic() > plan.deadline)
    if config.oversample_worst > 0 and not late and not resumed_past_end:
        # LIES' worst-region oversampling, as sample weights (same compiled program): the
        # points the population fits worst weigh 1 + oversample_worst in extra fine-tuning.
        pred = np.asarray(trainer.predict(state, X))[..., 0]
        r2 = (pred - ys[:, 0]) ** 2
        r2 = np.where(np.isfinite(r2), r2, np.nan) / np.nanmean(r2, axis=1, keepdims=True)
        score = np.nan_to_num(np.nanmean(r2, axis=0), nan=0.0)
        worst = score >= np.quantile(score, 0.9)
        w_os = w * (1.0 + config.oversample_worst * worst)
        extra = min(max(1, total // 4), config.chunk_steps)
        state = trainer.run(state, X, ys, schedule, extra, w_os)
        n_run += extra
        if ckpt is not None:
            ckpt.save(state)
    return state, n_run


def _shortlist_members(trainer, state, X_val, y_val, config, late: bool):
    """Every member at every extra pruning threshold is a variant (the float64 refit of
    the exported formula does the retraining, so variants cost only a forward pass); the
    (active weights, validation loss) Pareto front of the variants, then the best by loss,
    up to ``config.max_candidates`` (2 when past the slot's deadline). Returns the
    ``(variant, member)`` picks and the variants' masks."""
    variants, losses, actives = [], [], []
    for t in (0.0, *config.prune_thresholds):
        masks_t, active = prune_population(state.params, state.masks, jnp.float32(t))
        pred = np.asarray(trainer.predict(state._replace(masks=masks_t), X_val))[..., 0]
        loss = np.mean((pred - y_val) ** 2, axis=1)
        losses.append(np.where(np.isfinite(loss), loss, np.inf))
        actives.append(np.asarray(active))
        variants.append(masks_t)
    k = 2 if late else config.max_candidates
    order = loss_front(np.concatenate(losses), np.concatenate(actives), k)
    return [divmod(int(v), config.population_size) for v in order], variants

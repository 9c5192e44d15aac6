"""One population of a search: train it on a data view, export its shortlisted members.

:func:`structures` trains a population (one compiled program per architecture and data
shape, :func:`symnet._train.population_trainer`), prunes every member at a few extra
magnitude thresholds, and exports the (active weights, validation loss) Pareto-front
members as sympy formulas over the view's placeholder inputs.
"""

from __future__ import annotations

import dataclasses
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from flax import nnx

from symnet._checkpoint import StateCheckpoints
from symnet._train import init_population, population_trainer
from symnet._views import view_symbols
from symnet.pruning._masks import count_active, magnitude_masks

__all__ = ["export_member", "structures"]


def export_member(graphdef, params, masks, i: int, symbols) -> sympy.Expr:
    """Member ``i`` of a population as a sympy expression, dead units removed."""
    p = jax.tree.map(lambda a: a[i], params)
    m = jax.tree.map(lambda a: a[i], masks)
    net = nnx.merge(graphdef, p, m)
    net.drop_dead_units()
    return net.to_sympy(symbols)[0]


def structures(
    X, y, w, tr, val, keys, config, preset, deadline, report, ckpt_dir=None, steps=None
):
    """Trains a population on one data view; returns shortlisted member formulas
    over :func:`symnet._views.view_symbols`, in the view's target units, the seconds
    training took and the number of steps it ran. With ``ckpt_dir``, training state is
    saved after every chunk and resumed from there; ``steps`` shortens the schedule
    (default ``config.train.steps``)."""
    k_init, k_train = keys
    d = X.shape[1]
    mu, sd = float(np.mean(y[tr])), float(np.std(y[tr]))
    sd = sd if sd > 0 else 1.0
    ys = ((y - mu) / sd)[:, None]
    size = config.population_size
    # Half the members keep their full architecture, half sample sub-architectures.
    keep = np.where(np.arange(size) % 2 == 0, 1.0, config.group_keep_prob)
    graphdef, params, masks = init_population(
        config.model_fn(d, preset), k_init, size, group_keep_prob=keep
    )
    trainer = population_trainer(graphdef, config.train)
    lam = np.repeat(np.asarray(config.sparsity, np.float32), config.n_restarts)
    state = trainer.init(params, masks, lam, k_train)
    train = config.train if steps is None else dataclasses.replace(config.train, steps=steps)
    schedule, total = train.schedule(), train.steps
    t_train, n_run = time.monotonic(), 0
    ckpt = None if ckpt_dir is None else StateCheckpoints(ckpt_dir)
    if ckpt is not None:
        state = ckpt.restore(state) or state
    done = min(int(state.step), total)
    while done < total and not (deadline is not None and time.monotonic() > deadline):
        n_steps = min(config.chunk_steps, total - done)  # same compiled program per chunk
        state = trainer.run(state, X[tr], ys[tr], schedule, n_steps, w[tr])
        done += n_steps
        n_run += n_steps
        if ckpt is not None:
            ckpt.save(state)
        report(done / total)
    resumed_past_end = int(state.step) > total  # oversampling already ran before a kill
    late = deadline is not None and time.monotonic() > deadline
    if config.oversample_worst > 0 and not late and not resumed_past_end:
        # LIES' worst-region oversampling, as sample weights (same compiled program): the
        # points the population fits worst weigh 1 + oversample_worst in extra fine-tuning.
        pred = np.asarray(trainer.predict(state, X[tr]))[..., 0]
        r2 = (pred - ys[tr, 0]) ** 2
        r2 = np.where(np.isfinite(r2), r2, np.nan) / np.nanmean(r2, axis=1, keepdims=True)
        score = np.nan_to_num(np.nanmean(r2, axis=0), nan=0.0)
        worst = score >= np.quantile(score, 0.9)
        w_os = w[tr] * (1.0 + config.oversample_worst * worst)
        extra = max(1, total // 4)
        state = trainer.run(state, X[tr], ys[tr], schedule, min(extra, config.chunk_steps), w_os)
        n_run += min(extra, config.chunk_steps)
        if ckpt is not None:
            ckpt.save(state)
    state = trainer.finalize(state)
    jax.block_until_ready(state.params)
    t_train = time.monotonic() - t_train

    # Every member at every extra pruning threshold is a variant; the float64 refit of the
    # exported formula does the retraining, so variants cost only a forward pass here.
    variants, losses, actives = [], [], []
    for t in (0.0, *config.prune_thresholds):
        masks_t, active = _prune_population(state.params, state.masks, jnp.float32(t))
        st = state._replace(masks=masks_t)
        pred = np.asarray(trainer.predict(st, X[val]))[..., 0]
        loss = np.mean((pred - ys[val, 0]) ** 2, axis=1)
        losses.append(np.where(np.isfinite(loss), loss, np.inf))
        actives.append(np.asarray(active))
        variants.append(masks_t)
    late = deadline is not None and time.monotonic() > deadline
    k = 2 if late else config.max_candidates  # past the budget: export the best few only
    order = _shortlist(np.concatenate(losses), np.concatenate(actives), k)
    symbols = view_symbols(d)
    out = []
    for v in order:
        t_idx, i = divmod(int(v), size)
        out.append(sd * export_member(graphdef, state.params, variants[t_idx], i, symbols) + mu)
    return out, t_train, n_run


@jax.jit
def _prune_population(params, masks, threshold):
    """Magnitude-pruned masks of every member and each member's count of live weights."""
    masks_t = jax.vmap(magnitude_masks, in_axes=(0, 0, None))(params, masks, threshold)
    return masks_t, count_active(params, masks_t, axis0=True)


def _shortlist(loss: np.ndarray, active: np.ndarray, k: int) -> list[int]:
    """Members on the (active weights, loss) Pareto front, then the best by loss, up to k."""
    finite = [i for i in np.argsort(loss) if np.isfinite(loss[i])]
    front, best = [], math.inf
    for i in sorted(finite, key=lambda i: (active[i], loss[i])):
        if loss[i] < best:
            front.append(int(i))
            best = loss[i]
    rest = [int(i) for i in finite if i not in front]
    return (front + rest)[:k]

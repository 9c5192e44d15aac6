"""Iterative pruning with fine-tuning in between, on a whole population at once.

Each round masks weights by a pruning rule (vmapped over the population axis), optionally
masks the units no output depends on, then fine-tunes the survivors with plain MSE (plus the
domain hinge) through the trainer's compiled program. Shapes never change, so every round
reuses that program: the trainer is traced at most once (none at all if it has already run).
"""

from __future__ import annotations

import difflib
import functools
from typing import Any, Protocol, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from symnet.layers import Mask, SymbolicNetwork
from symnet.pruning._masks import magnitude_masks
from symnet.pruning._saliency import saliency_masks

__all__ = ["RULES", "dead_unit_masks", "prune_and_retrain"]

#: Pruning rules understood by :func:`prune_and_retrain`.
RULES = ("magnitude", "saliency")

# A freeze step the int32 step counter never reaches.
_NEVER = int(np.iinfo(np.int32).max)


class StateLike(Protocol):
    """What :func:`prune_and_retrain` uses of a population state (a ``symnet._train``
    ``TrainState``): its parameters and masks, and a copy with some fields replaced."""

    @property
    def params(self) -> nnx.State: ...

    @property
    def masks(self) -> nnx.State: ...

    def _replace(self, **fields): ...


State = TypeVar("State", bound=StateLike)


class TrainerLike(Protocol):
    """What :func:`prune_and_retrain` uses of a population trainer (``symnet._train``'s
    ``PopulationTrainer``): its architecture, its settings (``config``: a ``TrainConfig``
    with ``learning_rate``, ``finetune_lr_scale``, ``domain_weight`` and ``schedule()``)
    and its compiled ``run``.

    symnet.pruning never imports ``symnet._train`` (which imports symnet.pruning): the
    trainer passed in supplies everything, even its schedule class.
    """

    graphdef: nnx.GraphDef
    config: Any

    def run(self, state, x, y, schedule, n_steps: int, w=None): ...


def dead_unit_masks(graphdef: nnx.GraphDef, params: nnx.State, masks: nnx.State) -> nnx.State:
    """Masks after :meth:`~symnet.layers.SymbolicNetwork.drop_dead_units`, for ONE network.

    A unit is dead when no network output depends on it through live weights (every
    outgoing weight masked or exactly 0, recursively from the read-out back). Its incoming
    weights and bias are masked. This is not redundant with weight pruning: the output
    ignores a dead unit, so output-driven rules (saliency) score its incoming weights 0 and
    the LIES rule keeps zero scores when they fill the quantile, the domain hinge keeps
    pushing them, and :func:`~symnet.pruning.count_active` still counts them.

    Not traceable (the layers decide on concrete arrays): call it on concrete states, one
    member at a time. ``params`` and ``masks`` are not modified.

    Args:
      graphdef: architecture of a :class:`~symnet.layers.SymbolicNetwork`.
      params, masks: states of one network (no population axis).

    Returns:
      New masks, same structure as ``masks``; every mask entry is <= the old one.

    Example:
      >>> from symnet.layers import eql, Mask
      >>> g, p, m = nnx.split(eql(2, rngs=nnx.Rngs(0)), nnx.Param, Mask)
      >>> m["layers"][2]["kernel_mask"][...] = jnp.zeros((8, 1))  # read-out cut off
      >>> new = dead_unit_masks(g, p, m)
      >>> float(new["layers"][0]["kernel_mask"][...].sum())
      0.0
    """
    net = nnx.merge(graphdef, params, masks, copy=True)  # copy: the call mutates masks
    if not isinstance(net, SymbolicNetwork):
        raise TypeError(f"`graphdef` must describe a SymbolicNetwork, got {type(net).__name__}.")
    net.drop_dead_units()
    _, _, new = nnx.split(net, nnx.Param, Mask)
    return new


def _population_dead_unit_masks(graphdef, params, masks):
    size = jax.tree.leaves(masks)[0].shape[0]
    outs = []
    for i in range(size):
        p_i = jax.tree.map(lambda a, i=i: a[i], params)
        m_i = jax.tree.map(lambda a, i=i: a[i], masks)
        outs.append(dead_unit_masks(graphdef, p_i, m_i))
    return jax.tree.map(lambda *a: jnp.stack(a), *outs)


@functools.lru_cache(maxsize=32)
def _pruner(graphdef: nnx.GraphDef, rule: str):
    """A jitted ``(params, masks, x, w, threshold) -> masks`` over a population axis."""
    if rule == "magnitude":

        def one(p, m, x, w, t):
            return magnitude_masks(p, m, t)
    else:

        def one(p, m, x, w, t):
            return saliency_masks(graphdef, p, m, x, small=t, w=w)

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None, None, None)))


def _check_settings(rule: str, rounds: int, steps: int, threshold: float) -> None:
    """Raises ValueError for an unknown ``rule`` or an out-of-range number."""
    if rule not in RULES:
        near = difflib.get_close_matches(str(rule), RULES, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else "."
        raise ValueError(f"`rule` must be one of {RULES}, got {rule!r}{hint}")
    if not isinstance(rounds, int | np.integer) or rounds < 0:
        raise ValueError(f"`rounds` must be an integer >= 0, got {rounds!r}.")
    if not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"`steps` must be an integer >= 1, got {steps!r}.")
    if not threshold >= 0:
        raise ValueError(f"`threshold` must be >= 0, got {threshold!r}.")


def _finetune_schedule(config, lr: float | None):
    """The fine-tuning schedule, the same at every step: step size ``lr`` (default
    ``learning_rate * finetune_lr_scale`` of ``config``), no sparsity penalty, no freeze,
    the domain hinge at ``config.domain_weight``.

    It has the class of ``config.schedule()`` (``symnet._train.Schedule``), so the trainer's
    compiled program takes it without retracing, and without this module importing
    ``symnet._train``.
    """
    lr = config.learning_rate * config.finetune_lr_scale if lr is None else lr
    if not lr > 0:
        raise ValueError(f"`lr` must be > 0, got {lr!r}.")
    return type(config.schedule()).make(
        warmup_end=0,
        freeze_at=_NEVER,
        sparsity=(0.0, 0.0, 0.0),
        lr=(lr, lr, lr),
        domain=(config.domain_weight,) * 3,
        threshold=0.0,
    )


def prune_and_retrain(
    trainer: TrainerLike,
    state: State,
    x,
    y,
    *,
    rounds: int = 3,
    steps: int = 500,
    rule: str = "magnitude",
    threshold: float = 0.01,
    lr: float | None = None,
    w=None,
    drop_dead: bool = True,
) -> State:
    """Prunes every member, then fine-tunes it without sparsity penalty, ``rounds`` times.

    Per round::

        M <- rule(W, M)                       (vmapped over the population)
        M <- dead_unit_masks(W, M)            (if drop_dead)
        `steps` steps of  mse(net(x), y; w) + domain_weight * hinge  at step size `lr`

    Rules:
      ``"magnitude"``: keep ``|w| > threshold`` (:func:`~symnet.pruning.magnitude_masks`).
      ``"saliency"``: the LIES rule with ``small = threshold``
      (:func:`~symnet.pruning.saliency_masks` on all of ``x``; memory
      ``population * n * n_outputs * n_params`` floats).

    Fine-tuning uses a :class:`~symnet._train.Schedule` that is the same at every step
    (sparsity 0, no freeze), because ``state.step`` keeps counting across calls. The Adam
    moments carry over between rounds. Masks only ever shrink; masked weights keep their raw
    values until ``trainer.finalize`` zeroes them.

    Args:
      trainer: the population trainer that produced ``state``.
      state: population state (leading population axis on every leaf).
      x: inputs (n, n_in); y: targets (n, n_outputs); w: sample weights (n,) or None.
      rounds: number of prune-then-fine-tune rounds (0 returns ``state``).
      steps: fine-tuning steps per round.
      rule: ``"magnitude"`` or ``"saliency"``.
      threshold: magnitude threshold, or LIES's "small" magnitude for ``"saliency"``.
      lr: fine-tuning step size; default ``learning_rate * finetune_lr_scale`` of the
        trainer's config.
      drop_dead: also mask the units no output depends on after each prune.

    Returns:
      The state after the last fine-tuning round, same shapes as ``state``.
    """
    _check_settings(rule, rounds, steps, threshold)
    schedule = _finetune_schedule(trainer.config, lr)
    xs = jnp.asarray(x, jnp.float32)
    ws = None if w is None else jnp.asarray(w, jnp.float32)
    prune = _pruner(trainer.graphdef, rule)
    t = jnp.asarray(threshold, jnp.float32)
    for _ in range(rounds):
        masks = prune(state.params, state.masks, xs, ws, t)
        if drop_dead:
            masks = _population_dead_unit_masks(trainer.graphdef, state.params, masks)
        state = trainer.run(state._replace(masks=masks), x, y, schedule, steps, w)
    return state

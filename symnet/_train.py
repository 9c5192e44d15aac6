"""The population trainer: restarts x sparsity strengths trained by one compiled program.

A population is a stack of independent networks sharing one architecture (one
``nnx.GraphDef``); their parameters carry a leading population axis and training is
``vmap``-ed over it (on a CPU a chunk of members at a time: :func:`symnet._devices.
member_chunk`). The whole schedule (warm-up, sparsify, threshold-and-freeze, fine-tune) is
data: a :class:`Schedule` of arrays indexed by the step counter, so moving from one phase
to the next — or changing the schedule — never recompiles. Training runs inside
``lax.while_loop`` with a traced number of steps: one compiled call can train the whole
schedule, or any chunk of it (for time budgets and checkpoints).

Per step and member ``m`` with sparsity strength ``lam_m``, in phase ``k``::

    loss = mse(net(x), y; w) + s_k * lam_m * (sum_W c_W * pen(W) + structure(net))
           + d_k * hinge(net, x)
    params <- params - lr_k * adam(clip(grad loss))          (skipped if non-finite)

and at step ``freeze_at`` every weight with ``|w| <= threshold`` is masked for good.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from symnet._devices import member_chunk, replicate, shard_population, to_host
from symnet._losses import PENALTIES, sparsity_penalty, weighted_mse
from symnet.layers import Mask, SymbolicNetwork
from symnet.pruning import apply_masks, magnitude_masks

__all__ = [
    "TrainConfig",
    "Schedule",
    "TrainState",
    "PopulationTrainer",
    "init_population",
    "population_trainer",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Settings of the population trainer.

    Attributes:
      steps: total optimisation steps.
      warmup: fraction of steps without sparsity penalty (EQL's t1).
      finetune: fraction of steps after the freeze, without penalty (EQL: the last 1/20;
        Kim et al.: half).
      learning_rate: Adam step size in warm-up and sparsify phases.
      finetune_lr_scale: step size multiplier after the freeze.
      batch_size: minibatch size; ``None`` for full batch.
      penalty: ``"l05"`` (smoothed L0.5) or ``"l1"``.
      l05_a: smoothing radius of the L0.5 penalty.
      threshold: weights with ``|w| <= threshold`` are frozen at 0 at the freeze.
      domain_weight: weight of the domain hinge penalty.
      clip_norm: global gradient-norm clip.
      member_chunk: train chunks of this many members one after another, each chunk all
        its steps (``lax.map`` with ``batch_size``, ``vmap`` inside), keeping a chunk's
        parameters and activations in the CPU's cache;
        None, or a population split over several devices: one ``vmap`` (accelerators);
        ``"auto"`` (default): ``CPU_MEMBER_CHUNK`` members on a CPU, else None.
    """

    steps: int = 3000
    warmup: float = 0.25
    finetune: float = 0.25
    learning_rate: float = 1e-2
    finetune_lr_scale: float = 0.3
    batch_size: int | None = None
    penalty: str = "l05"
    l05_a: float = 0.05
    threshold: float = 0.02
    domain_weight: float = 1.0
    clip_norm: float = 1.0
    member_chunk: int | str | None = "auto"

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"`steps` must be >= 1, got {self.steps!r}.")
        if not (0 <= self.warmup and 0 <= self.finetune and self.warmup + self.finetune <= 1):
            raise ValueError(
                "`warmup` and `finetune` must be >= 0 with warmup + finetune <= 1, got "
                f"{self.warmup!r} and {self.finetune!r}."
            )
        if self.penalty not in PENALTIES:
            raise ValueError(
                f"`penalty` must be one of {sorted(PENALTIES)}, got {self.penalty!r}."
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"`batch_size` must be None or >= 1, got {self.batch_size!r}.")
        chunk = self.member_chunk
        if chunk not in (None, "auto") and (type(chunk) is not int or chunk < 1):
            raise ValueError(
                f"`member_chunk` must be None, 'auto' or an integer >= 1, got {chunk!r}."
            )
        for name in ("learning_rate", "clip_norm", "l05_a"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"`{name}` must be finite and > 0, got {v!r}.")
        for name in ("threshold", "domain_weight", "finetune_lr_scale"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"`{name}` must be finite and >= 0, got {v!r}.")

    def schedule(self) -> Schedule:
        """The phase schedule implied by these settings."""
        warm = int(round(self.warmup * self.steps))
        freeze = int(round((1 - self.finetune) * self.steps))
        lr = self.learning_rate
        return Schedule.make(
            warmup_end=warm,
            freeze_at=freeze,
            sparsity=(0.0, 1.0, 0.0),
            lr=(lr, lr, lr * self.finetune_lr_scale),
            domain=(self.domain_weight,) * 3,
            threshold=self.threshold,
        )


class Schedule(NamedTuple):
    """Phase weights as arrays; phase k of step t is ``(t >= warmup_end) + (t >= freeze_at)``.

    Attributes:
      warmup_end, freeze_at: int32 scalars.
      sparsity, lr, domain: float32 arrays of shape (3,), one entry per phase.
      threshold: float32 scalar used at ``freeze_at``.
    """

    warmup_end: jax.Array
    freeze_at: jax.Array
    sparsity: jax.Array
    lr: jax.Array
    domain: jax.Array
    threshold: jax.Array

    @classmethod
    def make(cls, *, warmup_end, freeze_at, sparsity, lr, domain, threshold) -> Schedule:
        f32 = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
        return cls(
            jnp.asarray(warmup_end, jnp.int32),
            jnp.asarray(freeze_at, jnp.int32),
            f32(sparsity),
            f32(lr),
            f32(domain),
            f32(threshold),
        )


class TrainState(NamedTuple):
    """Population training state; every leaf has a leading population axis.

    ``skipped`` counts the steps whose gradient was non-finite and was therefore not applied.
    """

    params: nnx.State
    masks: nnx.State
    opt_state: optax.OptState
    key: jax.Array
    lam: jax.Array
    step: jax.Array
    loss: jax.Array
    skipped: jax.Array


#: Compiled member initialisers, keyed by graphdef (a cache, like jax's own).
_MEMBER_INIT: dict[nnx.GraphDef, Callable] = {}


def init_population(
    model_fn: Callable[[nnx.Rngs], SymbolicNetwork],
    key: jax.Array,
    size: int,
    *,
    group_keep_prob: float | jax.Array = 1.0,
) -> tuple[nnx.GraphDef, nnx.State, nnx.State]:
    """Builds ``size`` independently initialised networks, stacked on a leading axis.

    Args:
      model_fn: called as ``model_fn(rngs=...)``, returns a SymbolicNetwork.
      key: PRNG key; member ``i`` uses ``split(key, size)[i]``.
      group_keep_prob: probability that a hidden unit group is kept in a member
        (:meth:`SymbolicNetwork.sample_architecture`); a scalar, or one value per member.
        1.0 keeps every member's full architecture.
    Returns:
      ``(graphdef, params, masks)``.
    """
    abstract = nnx.eval_shape(lambda: model_fn(rngs=nnx.Rngs(0)))
    graphdef, _, _ = nnx.split(abstract, nnx.Param, Mask)
    keep = jnp.broadcast_to(jnp.asarray(group_keep_prob, jnp.float32), (size,))
    init = _MEMBER_INIT.get(graphdef)
    if init is None:

        def one(k, p_keep):
            k_params, k_arch = jax.random.split(k)
            model = model_fn(rngs=nnx.Rngs(params=k_params))
            model.sample_architecture(k_arch, p_keep)
            _, p, m = nnx.split(model, nnx.Param, Mask)
            return p, m

        # Equal graphdefs mean equal modules (classes and static settings), hence equal
        # initialisers: one compiled initialiser serves every population of that shape.
        init = _MEMBER_INIT[graphdef] = jax.jit(one)
    # One compiled member initialiser, called per member: no recompilation per population size.
    members = [init(k, p) for k, p in zip(jax.random.split(key, size), keep, strict=True)]
    params, masks = jax.tree.map(lambda *a: jnp.asarray(np.stack(a)), *members)
    return graphdef, params, masks


class PopulationTrainer:
    """Trains a population of networks with one compiled program.

    Args:
      graphdef: the shared architecture, from :func:`init_population`.
      config: trainer settings.

    Attributes:
      n_traces: how many times the training program was traced (a test guards that phase
        switches and schedule changes do not retrace).
    """

    def __init__(self, graphdef: nnx.GraphDef, config: TrainConfig = TrainConfig()):
        self.graphdef = graphdef
        self.config = config
        self.tx = optax.apply_if_finite(
            optax.chain(optax.clip_by_global_norm(config.clip_norm), optax.scale_by_adam()),
            max_consecutive_errors=np.iinfo(np.int32).max,
        )
        self.n_traces = 0
        self._run = jax.jit(self._run_impl, static_argnames="chunk")
        self._predict = jax.jit(jax.vmap(self._forward, in_axes=(0, 0, None)))

    # -- state -------------------------------------------------------------------------------
    def init(self, params, masks, lam, key: jax.Array) -> TrainState:
        """Initial state for stacked ``params``/``masks`` and per-member strengths ``lam``."""
        lam = jnp.asarray(lam, jnp.float32)
        size = lam.shape[0]
        opt_state = jax.vmap(self.tx.init)(params)
        zeros = jnp.zeros((size,), jnp.int32)
        state = TrainState(
            params=params,
            masks=masks,
            opt_state=opt_state,
            key=jax.random.split(key, size),
            lam=lam,
            step=jnp.zeros((), jnp.int32),
            loss=jnp.full((size,), jnp.inf, jnp.float32),
            skipped=zeros,
        )
        return shard_population(state, size)  # split over the local devices, if several

    # -- forward -------------------------------------------------------------------------------
    def _forward(self, params, masks, x):
        model = nnx.merge(self.graphdef, params, masks)
        return model(x)

    def predict(self, state: TrainState, x: jax.Array) -> jax.Array:
        """Outputs of every member, shape (population, batch, n_outputs)."""
        x = replicate(jnp.asarray(x, jnp.float32), like=state.lam)
        return to_host(self._predict(state.params, state.masks, x)[0])

    # -- training ------------------------------------------------------------------------------
    def _member_loss(self, params, masks, x, y, w, lam, sparsity, domain):
        model = nnx.merge(self.graphdef, params, masks)
        pred, hinge = model(x)
        mse = weighted_mse(pred, y, w)
        pen = sparsity_penalty(model.weight_costs(), self.config.penalty, self.config.l05_a)
        pen = pen + model.structure_penalty()
        return mse + sparsity * lam * pen + domain * hinge, mse

    def _member_step(self, params, masks, opt_state, key, lam, x, y, w, phase):
        sparsity, lr, domain = phase
        key, sub = jax.random.split(key)
        bs = self.config.batch_size
        if bs is not None and bs < x.shape[0]:
            idx = jax.random.randint(sub, (bs,), 0, x.shape[0])
            x, y, w = x[idx], y[idx], w[idx]
        grad_fn = jax.value_and_grad(self._member_loss, has_aux=True)
        (_, mse), grads = grad_fn(params, masks, x, y, w, lam, sparsity, domain)
        updates, opt_state = self.tx.update(grads, opt_state, params)
        params = jax.tree.map(lambda p, u: p - lr * u, params, updates)
        return params, opt_state, key, mse

    def _run_impl(self, state: TrainState, x, y, w, schedule: Schedule, n_steps, chunk=None):
        self.n_traces += 1  # Python side effect: runs once per trace only.
        start, end = state.step, state.step + n_steps

        def member_run(params, masks, opt_state, key, lam):
            # one member's steps start..end-1; vmapped, the loop stays one loop (its
            # condition reads only the shared step counter)
            def body(c):
                step, params, masks, opt_state, key, _ = c
                k = (step >= schedule.warmup_end).astype(jnp.int32) + (step >= schedule.freeze_at)
                phase = (schedule.sparsity[k], schedule.lr[k], schedule.domain[k])
                masks = jax.lax.cond(
                    step == schedule.freeze_at,
                    lambda: magnitude_masks(params, masks, schedule.threshold),
                    lambda: masks,
                )
                params, opt_state, key, mse = self._member_step(
                    params, masks, opt_state, key, lam, x, y, w, phase
                )
                return step + 1, params, masks, opt_state, key, mse

            carry = (start, params, masks, opt_state, key, jnp.full((), jnp.inf, jnp.float32))
            _, *out = jax.lax.while_loop(lambda c: c[0] < end, body, carry)
            return tuple(out)

        members = (state.params, state.masks, state.opt_state, state.key, state.lam)
        if chunk is None:
            out = jax.vmap(member_run)(*members)
        else:
            # a chunk of members runs all its steps before the next chunk starts: its
            # parameters and activations stay in the CPU's cache for the whole run
            out = jax.lax.map(lambda m: member_run(*m), members, batch_size=chunk)
        params, masks, opt_state, key, loss = out
        return state._replace(
            params=params,
            masks=masks,
            opt_state=opt_state,
            key=key,
            step=end,
            loss=jnp.where(n_steps > 0, loss, state.loss),
            skipped=_notfinite(opt_state),
        )

    def run(self, state: TrainState, x, y, schedule: Schedule, n_steps: int, w=None):
        """Advances every member by ``n_steps`` steps of ``schedule``.

        Args:
          x: inputs (n, n_in); y: targets (n, n_outputs); w: sample weights (n,) or None.
        """
        x = jnp.asarray(x, jnp.float32)
        y = jnp.asarray(y, jnp.float32)
        w = jnp.ones(x.shape[0], jnp.float32) if w is None else jnp.asarray(w, jnp.float32)
        n_steps = jnp.asarray(n_steps, jnp.int32)
        # several processes: the data replicated over the population's mesh
        x, y, w, schedule, n_steps = replicate((x, y, w, schedule, n_steps), like=state.lam)
        return self._run(state, x, y, w, schedule, n_steps, chunk=self._chunk(state))

    def _chunk(self, state: TrainState) -> int | None:
        """The chunk a step maps over (:func:`symnet._devices.member_chunk`)."""
        return member_chunk(self.config.member_chunk, state.lam)

    def step_cost(self, state: TrainState, x, y, w=None) -> dict[str, float]:
        """XLA's cost estimate of one training step of the whole population, as compiled
        for these shapes (the phase's weights are inputs: every phase costs the same):
        ``{"flops": ..., "transcendentals": ..., "bytes accessed": ...}``, operation
        counts (XLA counts a ``sin`` or ``exp`` as one transcendental, not as flops) and
        the bytes its fused operations read and write. Compiles a one-step program."""
        x = jnp.asarray(x, jnp.float32)
        y = jnp.asarray(y, jnp.float32)
        w = jnp.ones(x.shape[0], jnp.float32) if w is None else jnp.asarray(w, jnp.float32)
        # the one-vmap program: the same arithmetic as a chunked step, whose loop XLA's
        # analysis would count once instead of once per chunk
        step_all = jax.vmap(self._member_step, in_axes=(0,) * 5 + (None,) * 4)
        phase = (jnp.float32(1.0), jnp.float32(1e-3), jnp.float32(1.0))
        args = (state.params, state.masks, state.opt_state, state.key, state.lam, x, y, w, phase)
        cost = jax.jit(step_all).lower(*args).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost
        keys = ("flops", "transcendentals", "bytes accessed")
        return {k: float(cost.get(k, 0.0)) for k in keys}

    def finalize(self, state: TrainState) -> TrainState:
        """Masked weights set to exactly 0 (for export); a population split over several
        processes is gathered whole into each."""
        params = jax.vmap(apply_masks)(state.params, state.masks)
        return to_host(state._replace(params=params))


@functools.lru_cache(maxsize=16)
def _trainer(graphdef: nnx.GraphDef, config: TrainConfig) -> PopulationTrainer:
    return PopulationTrainer(graphdef, config)


def population_trainer(graphdef: nnx.GraphDef, config: TrainConfig) -> PopulationTrainer:
    """A shared :class:`PopulationTrainer` for ``(graphdef, config)``.

    The compiled programs belong to a trainer, so populations of one architecture on data
    of one shape (the views and rounds of a search) reuse them instead of compiling again
    (about 3 s per population on one CPU core). ``config.steps`` only sets the schedule,
    which is an argument of the program, so trainers differing in it are shared too:
    pass ``dataclasses.replace(config, steps=...).schedule()`` to ``run``.
    """
    return _trainer(graphdef, dataclasses.replace(config, steps=1))


def _notfinite(opt_state) -> jax.Array:
    # optax.apply_if_finite's state keeps the running count of skipped updates.
    return opt_state.total_notfinite.astype(jnp.int32)

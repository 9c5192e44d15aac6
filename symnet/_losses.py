"""Pure loss and penalty functions.

All functions are elementwise or reductions over arrays: they trace once and vmap freely.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

__all__ = ["weighted_mse", "l1", "smoothed_l_half", "sparsity_penalty", "PENALTIES"]


def weighted_mse(pred: jax.Array, y: jax.Array, w: jax.Array | None = None) -> jax.Array:
    """Mean squared error, ``sum_i w_i * mean_k (pred_ik - y_ik)**2 / sum_i w_i``.

    Args:
      pred, y: shape (batch, n_outputs).
      w: sample weights, shape (batch,); uniform when None.
    """
    err = jnp.mean(jnp.square(pred - y), axis=-1)
    if w is None:
        return jnp.mean(err)
    return jnp.sum(w * err) / jnp.maximum(jnp.sum(w), jnp.finfo(err.dtype).tiny)


def l1(w: jax.Array) -> jax.Array:
    """Elementwise ``|w|``."""
    return jnp.abs(w)


def smoothed_l_half(w: jax.Array, a: float = 0.05) -> jax.Array:
    """Elementwise smoothed L0.5 (Kim et al. 2021): ``sqrt(|w|)``, quartic below ``a``.

    Below ``a``, ``|w|`` is replaced by ``-w**4/(8a**3) + 3w**2/(4a) + 3a/8``, which matches
    ``|w|`` in value and slope at ``|w| = a`` and is smooth at 0, so the gradient is finite.
    The quartic only sees ``w`` below ``a`` (double ``where``), so large weights, whose
    ``w**4`` would overflow, keep a finite gradient too.

    Example:
      >>> float(smoothed_l_half(jnp.array(0.25)))
      0.5
    """
    aw = jnp.abs(w)
    small = aw < a
    ws = jnp.where(small, w, 0.0)
    quartic = -(ws**4) / (8 * a**3) + 3 * ws**2 / (4 * a) + 3 * a / 8
    return jnp.sqrt(jnp.where(small, quartic, aw))


PENALTIES = {"l1": l1, "l05": smoothed_l_half}


def sparsity_penalty(
    weight_costs: Sequence[tuple[jax.Array, jax.Array]], kind: str = "l05", a: float = 0.05
) -> jax.Array:
    """``sum over (w, c) of sum(c * penalty(w))``: complexity-weighted sparsity."""
    if kind == "l1":
        terms = [jnp.sum(c * l1(w)) for w, c in weight_costs]
    elif kind == "l05":
        terms = [jnp.sum(c * smoothed_l_half(w, a)) for w, c in weight_costs]
    else:
        raise ValueError(
            f"`kind` (TrainConfig.penalty) must be one of {sorted(PENALTIES)}, got {kind!r}."
        )
    return sum(terms, jnp.zeros(()))

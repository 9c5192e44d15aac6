"""Masks as pure functions of ``nnx.State``: pairing, applying, counting, thresholding.

A parameter ``name`` is masked by the :class:`~symnet.layers.Mask` ``name_mask`` beside it
(see :mod:`symnet.layers._base`). All functions here are pure and work on single networks
and on populations (states with a leading population axis) alike.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from symnet.layers import MASK_SUFFIX

__all__ = [
    "pairs",
    "apply_masks",
    "map_masks",
    "count_active",
    "magnitude_masks",
    "prune_population",
]


def pairs(params: nnx.State, masks: nnx.State) -> list[tuple[tuple, tuple]]:
    """``[(mask_path, param_path), ...]`` for every mask and the parameter it masks."""
    pflat = dict(nnx.to_flat_state(params))
    out = []
    for mpath, _ in nnx.to_flat_state(masks):
        name = mpath[-1]
        if not (isinstance(name, str) and name.endswith(MASK_SUFFIX)):
            raise ValueError(f"Mask variable {mpath} does not end in {MASK_SUFFIX!r}.")
        ppath = (*mpath[:-1], name[: -len(MASK_SUFFIX)])
        if ppath not in pflat:
            raise ValueError(f"Mask {mpath} has no parameter {ppath} to mask.")
        out.append((mpath, ppath))
    return out


def map_masks(
    params: nnx.State,
    masks: nnx.State,
    fn: Callable[[jax.Array, jax.Array], jax.Array],
) -> nnx.State:
    """New masks ``fn(param, mask)`` for every masked parameter."""
    pflat = dict(nnx.to_flat_state(params))
    mflat = dict(nnx.to_flat_state(masks))
    new = []
    for mpath, ppath in pairs(params, masks):
        m = mflat[mpath]
        new.append((mpath, m.replace(fn(pflat[ppath][...], m[...]).astype(m[...].dtype))))
    return nnx.from_flat_state(new)


def apply_masks(params: nnx.State, masks: nnx.State) -> nnx.State:
    """Params with every masked entry set to exactly 0."""
    pflat = nnx.to_flat_state(params)
    mflat = dict(nnx.to_flat_state(masks))
    by_param = {ppath: mflat[mpath] for mpath, ppath in pairs(params, masks)}
    new = []
    for path, v in pflat:
        if path in by_param:
            v = v.replace(v[...] * by_param[path][...])
        new.append((path, v))
    return nnx.from_flat_state(new)


def count_active(params: nnx.State, masks: nnx.State, *, axis0: bool = False) -> jax.Array:
    """Number of live masked weights (nonzero and unmasked).

    With ``axis0=True`` the states carry a leading population axis and the result has one
    count per member.
    """
    pflat = dict(nnx.to_flat_state(params))
    mflat = dict(nnx.to_flat_state(masks))
    total = 0
    for mpath, ppath in pairs(params, masks):
        live = (pflat[ppath][...] * mflat[mpath][...]) != 0
        if axis0:
            total = total + live.reshape(live.shape[0], -1).sum(-1)
        else:
            total = total + live.sum()
    return jnp.asarray(total)


def magnitude_masks(params: nnx.State, masks: nnx.State, threshold: float | jax.Array):
    """Keeps a weight iff it is already kept and ``|w| > threshold``.

    Example:
      >>> from symnet.layers import SymbolicLayer, Mask
      >>> layer = SymbolicLayer(2, [("sin", 1)], rngs=nnx.Rngs(0))
      >>> _, p, m = nnx.split(layer, nnx.Param, Mask)
      >>> int(count_active(p, magnitude_masks(p, m, 1e9)))
      0
    """
    return map_masks(params, masks, lambda w, m: m * (jnp.abs(w) > threshold))


@jax.jit
def prune_population(params: nnx.State, masks: nnx.State, threshold: jax.Array):
    """Magnitude pruning of a whole population (a leading member axis on every leaf).

    Returns ``(masks_t, active)``: each member's :func:`magnitude_masks` at ``threshold``
    and its count of live weights (shape ``(members,)``). One compiled program per
    population shape; ``threshold`` is traced, so every threshold reuses it.
    """
    masks_t = jax.vmap(magnitude_masks, in_axes=(0, 0, None))(params, masks, threshold)
    return masks_t, count_active(params, masks_t, axis0=True)

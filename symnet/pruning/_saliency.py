"""Saliency pruning (LIES, Montazerin et al. 2025): drop the weights the output ignores.

The saliency of a weight ``w`` of a network ``f`` on data ``x_1..x_N`` (sample weights
``v_n``, uniform by default) is::

    S(w) = sum_k  sum_n v_n |w * d f_k(x_n) / d w|  /  sum_n v_n

the first-order change of output ``k`` if ``w`` were set to 0, taken in absolute value *per
sample and per output* before averaging. LIES writes ``|w * d y / d w|`` for a single
output; averaging the absolute values (instead of taking ``|w * d(sum_n f(x_n))/dw|``)
keeps a weight whose effect changes sign across the data (``sin`` of a centred input) from
looking irrelevant, and summing over outputs keeps opposite outputs from cancelling.

The LIES rule then works on each masked parameter array ``W`` separately: with ``q`` the
fraction of its live weights with ``|w| < small``, the live weights whose saliency is below
the ``q``-quantile of the live saliencies are masked. Linear interpolation in the quantile
means that, for distinct saliencies, exactly as many weights are dropped as there are small
ones (but the *least salient* ones, not the smallest), except that when every live weight
is small the most salient one survives (the 1-quantile is the maximum).

Everything here is pure, jit-able and works on one network (no population axis): use
``jax.vmap(..., in_axes=(None, 0, 0, None))`` for populations. Shapes never change.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from symnet.pruning._masks import pairs

__all__ = ["saliency", "lies_masks", "saliency_masks"]


def saliency(
    graphdef: nnx.GraphDef,
    params: nnx.State,
    masks: nnx.State,
    x: jax.Array,
    w: jax.Array | None = None,
) -> nnx.State:
    """Saliency ``sum_k mean_n |w * d f_k(x_n) / d w|`` of every masked parameter.

    The gradient is taken with respect to the raw parameter; the forward pass multiplies by
    the mask, so masked weights have saliency exactly 0. Memory is
    ``batch * n_outputs * n_params`` floats (per-sample Jacobians): pass a subsample of a
    large data set.

    Args:
      graphdef: architecture of a module whose call maps ``x`` to ``(y, hinge)`` with ``y``
        of shape (batch, n_outputs): a :class:`~symnet.layers.SymbolicNetwork` or a layer.
      params, masks: ``nnx.State`` of ``nnx.Param`` and :class:`~symnet.layers.Mask`
        variables of ONE network (no population axis).
      x: inputs, shape (batch, in_features).
      w: sample weights, shape (batch,); uniform when None.

    Returns:
      An ``nnx.State`` holding, for every masked parameter (and only those), an array of its
      shape with the saliencies, at the parameter's path.

    Example:
      ``y = 2 x + 0.5`` on ``x = 1, -3``: the kernel's saliency is ``(|2 * 1| + |2 * -3|) / 2``
      and the bias's ``|0.5 * 1|``.

      >>> from symnet.layers import SymbolicLayer, Mask
      >>> layer = SymbolicLayer(1, [("identity", 1)], rngs=nnx.Rngs(0))
      >>> layer.kernel[...] = jnp.array([[2.0]])
      >>> layer.bias[...] = jnp.array([0.5])
      >>> g, p, m = nnx.split(layer, nnx.Param, Mask)
      >>> s = saliency(g, p, m, jnp.array([[1.0], [-3.0]]))
      >>> float(s["kernel"][...][0, 0]), float(s["bias"][...][0])
      (4.0, 0.5)
    """
    x = jnp.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"`x` must have shape (batch, in_features), got {tuple(x.shape)}.")

    def outputs(p, xn):
        y, _ = nnx.merge(graphdef, p, masks)(xn[None])
        return y[0]

    # Per sample: Jacobian of the outputs, leaves of shape (batch, n_outputs, *w.shape).
    jac = jax.vmap(jax.jacrev(outputs), in_axes=(None, 0))(params, x)
    if w is None:
        v = jnp.full((x.shape[0],), 1.0 / x.shape[0], x.dtype)
    else:
        w = jnp.asarray(w, x.dtype)
        if w.shape != (x.shape[0],):
            raise ValueError(f"`w` must have shape ({x.shape[0]},), got {tuple(w.shape)}.")
        v = w / jnp.maximum(w.sum(), jnp.finfo(x.dtype).tiny)

    pflat = dict(nnx.to_flat_state(params))
    jflat = dict(nnx.to_flat_state(jac))
    out = []
    for _, ppath in pairs(params, masks):
        wp = pflat[ppath][...]
        per = jnp.abs(wp * jflat[ppath][...])  # (batch, n_outputs, *w.shape)
        s = jnp.tensordot(v.astype(per.dtype), per, axes=1).sum(0)
        out.append((ppath, pflat[ppath].replace(s)))
    return nnx.from_flat_state(out)


def lies_masks(
    params: nnx.State,
    masks: nnx.State,
    scores: nnx.State,
    *,
    small: float | jax.Array = 0.01,
) -> nnx.State:
    """The LIES quantile rule, per masked parameter array, given importance ``scores``.

    For each masked array ``W`` with mask ``M`` and scores ``S`` (same shape), live meaning
    ``M != 0``::

        q   = #{live, |w| < small} / #{live}
        t   = quantile_q({S_ij : live})          (linear interpolation)
        M'  = M * not(S < t)

    A weight is never revived; with no small weight (``q = 0``) nothing is dropped; with
    only small weights (``q = 1``) all but the most salient go; a NaN score never drops a
    weight (NaN scores are left out of the quantile). Weights tied at the quantile stay, so
    when zero scores fill the quantile (e.g. the inputs of dead units, see
    :func:`~symnet.pruning.dead_unit_masks`) they are all kept.

    Args:
      params, masks: states of ONE network (no population axis: vmap for populations).
      scores: a state with an array at the path of every masked parameter, e.g.
        :func:`saliency`.
      small: the magnitude below which a weight counts as small (LIES: 0.01).

    Returns:
      New masks, same structure and dtypes as ``masks``.

    Example:
      One of four weights is small, so the least salient one goes (not the small one):

      >>> from symnet.layers import SymbolicLayer, Mask
      >>> layer = SymbolicLayer(4, [("identity", 1)], use_bias=False, rngs=nnx.Rngs(0))
      >>> layer.kernel[...] = jnp.array([[0.001], [1.0], [2.0], [3.0]])
      >>> _, p, m = nnx.split(layer, nnx.Param, Mask)
      >>> s = nnx.State({"kernel": nnx.Param(jnp.array([[5.0], [0.1], [6.0], [7.0]]))})
      >>> lies_masks(p, m, s)["kernel_mask"][...].ravel()
      Array([1., 0., 1., 1.], dtype=float32)
    """
    pflat = dict(nnx.to_flat_state(params))
    mflat = dict(nnx.to_flat_state(masks))
    sflat = dict(nnx.to_flat_state(scores))
    new = []
    for mpath, ppath in pairs(params, masks):
        if ppath not in sflat:
            raise ValueError(f"`scores` has no entry for the masked parameter {ppath}.")
        wp, mv, s = pflat[ppath][...], mflat[mpath], sflat[ppath][...]
        m = mv[...]
        if s.shape != wp.shape:
            raise ValueError(
                f"`scores` at {ppath} has shape {tuple(s.shape)}, the parameter {tuple(wp.shape)}."
            )
        live = m != 0
        n_live = live.sum()
        n_small = (live & (jnp.abs(wp) < small)).sum()
        dt = s.dtype if jnp.issubdtype(s.dtype, jnp.floating) else jnp.float32
        q = n_small.astype(dt) / jnp.maximum(n_live, 1).astype(dt)
        t = jnp.nanquantile(jnp.where(live, s.astype(dt), jnp.nan).ravel(), q)
        # No live weight -> t is NaN -> nothing changes (all already masked).
        drop = live & (s < t)
        new.append((mpath, mv.replace(jnp.where(drop, jnp.zeros_like(m), m))))
    return nnx.from_flat_state(new)


def saliency_masks(
    graphdef: nnx.GraphDef,
    params: nnx.State,
    masks: nnx.State,
    x: jax.Array,
    *,
    small: float | jax.Array = 0.01,
    w: jax.Array | None = None,
) -> nnx.State:
    """LIES saliency pruning of one network: ``lies_masks(params, masks, saliency(...))``.

    Args:
      graphdef, params, masks, x, w: as in :func:`saliency`.
      small: as in :func:`lies_masks`.

    Returns:
      New masks, same structure and dtypes as ``masks``; masked weights stay masked.

    Example:
      >>> from symnet.layers import eql, Mask
      >>> g, p, m = nnx.split(eql(2, rngs=nnx.Rngs(0)), nnx.Param, Mask)
      >>> new = saliency_masks(g, p, m, jnp.ones((8, 2)), small=0.5)
      >>> jax.tree.map(jnp.shape, new) == jax.tree.map(jnp.shape, m)
      True
    """
    return lies_masks(params, masks, saliency(graphdef, params, masks, x, w), small=small)

"""KAN-style symbolic layer: the primitive sits on the edge, the node sums.

For input ``x`` (batch, n_in), edge ``(i, j)`` applies a gated mixture of registry primitives
to its input, each with an affine inner and an outer weight::

    phi_ij(x_i) = sum_k a_ijk * p_k(b_ijk * x_i + c_ijk)
    s_j         = sum_i phi_ij(x_i) + d_j                 (one pre-node per sum node)

The first ``n_sum`` outputs are the sums ``s_j``; each of the ``n_mult`` multiplication
nodes (pykan 2's MultKAN) multiplies two further pre-nodes, so a product of functions of
different inputs needs no log/exp detour. The outer weights ``a`` are the gates: the
sparsity penalty charges each ``a_ijk`` the complexity of ``p_k`` and
:meth:`SymbolicKANLayer.structure_penalty` pushes every edge towards one primitive. Masks
follow the ``name`` / ``name_mask`` rule of :mod:`symnet.layers._base`, so pruning, the
trainer and the exporter treat this layer as they treat :class:`SymbolicLayer`.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from flax import nnx

from symnet._primitives import Primitive, get_primitive
from symnet.layers._base import AbstractSymbolicLayer, Mask
from symnet.layers._fold import apply_primitive, sympy_float

__all__ = ["KAN_UNITS", "SymbolicKANLayer"]

#: The edge primitives of the ``kan`` preset.
KAN_UNITS = ("identity", "sin", "exp", "log", "sqrt", "square")

#: Edges whose gates sum to less than this have no primitive to prefer (entropy skipped).
_MASS_EPS = 1e-8


def _scaled(w: float, expr: sympy.Expr) -> sympy.Expr:
    """``w * expr``, without a factor ``1.0`` (an inner or outer weight of exactly 1)."""
    return expr if w == 1.0 else sympy_float(w) * expr


class SymbolicKANLayer(AbstractSymbolicLayer):
    """Edges that are sparse mixtures of unary primitives; sum and product nodes.

    Args:
      in_features: input width.
      n_sum: sum nodes (outputs ``0 .. n_sum - 1``).
      n_mult: multiplication nodes (outputs ``n_sum ..``), each the product of two sums.
      primitives: unary registry primitives (names or records) every edge mixes.
      init_scale: outer weights start as ``N(0, init_scale**2 / (in_features * K))``.
      rngs: ``nnx.Rngs`` with a ``params`` stream.

    Example:
      >>> layer = SymbolicKANLayer(2, n_sum=1, n_mult=1, rngs=nnx.Rngs(0))
      >>> y, hinge = layer(jnp.ones((5, 2)))
      >>> y.shape
      (5, 2)
    """

    def __init__(
        self,
        in_features: int,
        *,
        n_sum: int = 1,
        n_mult: int = 0,
        primitives: Sequence[str | Primitive] = KAN_UNITS,
        init_scale: float = 1.0,
        rngs: nnx.Rngs,
    ):
        if not isinstance(in_features, int) or in_features < 1:
            raise ValueError(f"`in_features` must be an integer >= 1, got {in_features!r}.")
        for name, v in (("n_sum", n_sum), ("n_mult", n_mult)):
            if not isinstance(v, int) or v < 0:
                raise ValueError(f"`{name}` must be an integer >= 0, got {v!r}.")
        if n_sum + n_mult < 1:
            raise ValueError("`n_sum + n_mult` must be >= 1: the layer needs an output node.")
        prims = tuple(get_primitive(p) for p in primitives)
        if not prims:
            raise ValueError("`primitives` must name at least one unary primitive, got none.")
        if binary := [p.name for p in prims if p.arity != 1]:
            raise ValueError(
                f"`primitives` of a KAN edge must be unary; got the binary {binary} "
                "(use `n_mult` for products)."
            )
        self.prims = nnx.static(prims)
        self.in_features = in_features
        self.n_sum, self.n_mult = n_sum, n_mult
        self.n_units = self.out_features = n_sum + n_mult
        self.n_pre = n_sum + 2 * n_mult
        shape = (in_features, self.n_pre, len(prims))
        k_out, k_in, k_shift = jax.random.split(rngs.params(), 3)
        scale = init_scale / np.sqrt(in_features * len(prims))
        self.outer = nnx.Param(scale * jax.random.normal(k_out, shape))
        self.inner = nnx.Param(1.0 + 0.3 * jax.random.normal(k_in, shape))
        self.shift = nnx.Param(0.1 * jax.random.normal(k_shift, shape))
        self.bias = nnx.Param(jnp.zeros((self.n_pre,)))
        # Only gates and biases are masked: an edge's weight count is its gates, and its
        # inner scale and shift go with the gate.
        self.outer_mask = Mask(jnp.ones(shape))
        self.bias_mask = Mask(jnp.ones((self.n_pre,)))
        # pre-node -> output node (a product node reads two pre-nodes), fixed at construction
        self.pre_out = nnx.static(
            tuple(range(n_sum)) + tuple(n_sum + m // 2 for m in range(2 * n_mult))
        )
        self.costs = nnx.static(tuple(p.complexity for p in prims))

    # -- weights ---------------------------------------------------------------------------
    def _weights(self):
        """``(a, b, c, d)`` with the masks applied (a pruned gate's ``b``, ``c`` are moot)."""
        a = self.outer[...] * self.outer_mask[...]
        return a, self.inner[...], self.shift[...], self.bias[...] * self.bias_mask[...]

    def weight_costs(self):
        a, b, c, d = self._weights()
        cost = jnp.asarray(self.costs, a.dtype)[None, None, :]
        # The edge is charged through its gate ``a``; the inner scale ``b`` is free (a
        # primitive needs its argument's scale), a shift ``c`` costs like the gate.
        return [(a, cost), (c, cost), (d, jnp.ones_like(d))]

    def structure_penalty(self):
        """``sum_ij m_ij * H(|a_ij.| / m_ij)``, ``m_ij = sum_k |a_ijk|``: the entropy of each
        edge's gates, weighted by the edge's mass. Zero when every edge uses one primitive
        (or none), so it pushes edges towards a single primitive without reviving dead ones.
        """
        a = jnp.abs(self._weights()[0])
        mass = a.sum(-1, keepdims=True)
        live = mass > _MASS_EPS
        p = a / jnp.where(live, mass, 1.0)
        plogp = jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)
        return jnp.sum(jnp.where(live[..., 0], -mass[..., 0] * plogp.sum(-1), 0.0))

    # -- forward ---------------------------------------------------------------------------
    def __call__(self, x):
        a, b, c, d = self._weights()
        live = (a != 0).astype(x.dtype)  # only live edges are pulled into their domain
        s = jnp.broadcast_to(d[None, :], (x.shape[0], self.n_pre))
        hinge = jnp.zeros((), x.dtype)
        for k, prim in enumerate(self.prims):  # one primitive at a time: no (.., K) stack
            z = x[:, :, None] * b[None, :, :, k] + c[None, :, :, k]  # (batch, in, pre)
            s = s + jnp.einsum("bip,ip->bp", prim.jax_fn(z), a[:, :, k])
            hinge = hinge + (prim.hinge(z).mean(0) * live[..., k]).sum()
        if not self.n_mult:
            return s, hinge
        mul = get_primitive("mul").jax_fn
        prod = mul(s[:, self.n_sum :: 2], s[:, self.n_sum + 1 :: 2])
        return jnp.concatenate([s[:, : self.n_sum], prod], axis=-1), hinge

    # -- export ----------------------------------------------------------------------------
    def to_sympy(self, inputs):
        if len(inputs) != self.in_features:
            raise ValueError(
                f"`inputs` must have {self.in_features} expressions, got {len(inputs)}."
            )
        a, b, c, d = (np.asarray(w, np.float64) for w in self._weights())
        pre = []
        for j in range(self.n_pre):
            terms = []
            for i, k in zip(*np.nonzero(a[:, j, :]), strict=True):
                arg = _scaled(b[i, j, k], inputs[i]) + sympy_float(c[i, j, k])
                terms.append(_scaled(a[i, j, k], apply_primitive(self.prims[k], [arg])))
            if d[j]:
                terms.append(sympy_float(d[j]))
            pre.append(sympy.Add(*terms))
        mul = get_primitive("mul")
        prods = [apply_primitive(mul, pre[j : j + 2]) for j in range(self.n_sum, self.n_pre, 2)]
        return pre[: self.n_sum] + prods

    # -- dead-unit bookkeeping -------------------------------------------------------------
    def needed_inputs(self, needed_outputs):
        pre_needed = np.asarray(needed_outputs, bool)[np.asarray(self.pre_out)]
        a, b, _, _ = (np.asarray(w) for w in self._weights())
        live = (a != 0) & (b != 0)  # an edge with b = 0 is a constant, not a use of x_i
        return (live & pre_needed[None, :, None]).any(axis=(1, 2))

    def drop_unneeded(self, needed_outputs):
        keep = jnp.asarray(needed_outputs)[np.asarray(self.pre_out)].astype(self.outer.dtype)
        self.outer_mask[...] = self.outer_mask[...] * keep[None, :, None]
        self.bias_mask[...] = self.bias_mask[...] * keep

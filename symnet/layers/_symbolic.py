"""EQL-style symbolic layer: an affine map, then groups of primitive units.

For input ``x`` (batch, n_in) the layer computes pre-activations ``z = x @ (W * M) + b * m``
and splits ``z`` into one group per primitive: a unary group of ``k`` units reads ``k``
columns, a binary group reads ``2k`` (first arguments, then second arguments). Unit ``u`` of
a group with primitive ``f`` outputs ``g_u * f(z_u)`` (``g`` the optional per-unit gain, as in
LIES). With ``skip=True`` the input is appended to the output (DenseNet-style skips, so every
later layer sees every earlier output). Units are evaluated per primitive *type*: the Python
loop runs over groups, never over units. Inside a :class:`~symnet.layers.SymbolicNetwork` the
layer runs feature-major (:meth:`forward_blocks`): one matrix product per input block with
the batch as the long axis, ``z = (W M).T @ x.T``, split by rows into the groups.
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

__all__ = ["SymbolicLayer", "UnitSpec"]

#: A group of units: (primitive or its name, number of units).
UnitSpec = tuple[str | Primitive, int]


class SymbolicLayer(AbstractSymbolicLayer):
    """Affine map followed by groups of unary and binary primitive units.

    Args:
      in_features: input width.
      units: ``[(primitive, count), ...]``; e.g. ``[("identity", 2), ("sin", 2), ("mul", 2)]``.
      use_bias: learn a bias per pre-activation.
      unit_gain: learn a scalar gain per unit (LIES).
      skip: append the input to the output (DenseNet skip connection).
      init_scale: kernel entries start as ``N(0, init_scale**2 / in_features)``.
      rngs: ``nnx.Rngs`` with a ``params`` stream.

    Example:
      >>> layer = SymbolicLayer(2, [("sin", 1), ("mul", 1)], rngs=nnx.Rngs(0))
      >>> y, hinge = layer(jnp.ones((5, 2)))
      >>> y.shape
      (5, 2)
    """

    def __init__(
        self,
        in_features: int,
        units: Sequence[UnitSpec],
        *,
        use_bias: bool = True,
        unit_gain: bool = False,
        skip: bool = False,
        init_scale: float = 1.0,
        rngs: nnx.Rngs,
    ):
        if in_features < 1:
            raise ValueError(f"`in_features` must be >= 1, got {in_features!r}.")
        groups = []
        for spec in units:
            prim, count = spec
            prim = get_primitive(prim)
            if not isinstance(count, int) or count < 1:
                raise ValueError(
                    f"`units` counts must be positive integers, got {count!r} for {prim.name!r}."
                )
            groups.append((prim, count))
        if not groups:
            raise ValueError("`units` must name at least one primitive group, got none.")
        self.groups = nnx.static(tuple(groups))
        self.in_features = in_features
        self.n_units = sum(c for _, c in groups)
        self.n_pre = sum(c * p.arity for p, c in groups)
        self.skip = skip
        self.out_features = self.n_units + (in_features if skip else 0)
        self.use_bias = use_bias
        self.unit_gain = unit_gain

        scale = init_scale / np.sqrt(in_features)
        self.kernel = nnx.Param(
            scale * jax.random.normal(rngs.params(), (in_features, self.n_pre))
        )
        self.kernel_mask = Mask(jnp.ones((in_features, self.n_pre)))
        if use_bias:
            self.bias = nnx.Param(jnp.zeros((self.n_pre,)))
            self.bias_mask = Mask(jnp.ones((self.n_pre,)))
        if unit_gain:
            self.gain = nnx.Param(jnp.ones((self.n_units,)))
        # Column -> unit and column -> complexity maps, fixed at construction.
        col_unit, col_cost = [], []
        unit = 0
        for prim, count in groups:
            for _ in range(prim.arity):
                col_unit.extend(range(unit, unit + count))
                col_cost.extend([prim.complexity] * count)
            unit += count
        self.col_unit = nnx.static(tuple(col_unit))
        self.col_cost = nnx.static(tuple(col_cost))

    # -- weights ---------------------------------------------------------------------------
    def _weights(self) -> tuple[jax.Array, jax.Array | None]:
        w = self.kernel[...] * self.kernel_mask[...]
        b = self.bias[...] * self.bias_mask[...] if self.use_bias else None
        return w, b

    def weight_costs(self):
        w, b = self._weights()
        cost = jnp.asarray(self.col_cost, dtype=w.dtype)
        out = [(w, cost[None, :])]
        if b is not None:
            out.append((b, cost))
        return out

    # -- forward ---------------------------------------------------------------------------
    def __call__(self, x):
        blocks, hinge = self.forward_blocks([x.T])
        return jnp.concatenate(blocks, axis=0).T, hinge

    def forward_blocks(self, blocks):
        # Feature-major: every array is (features, batch). One product per input block for
        # the whole layer, z = sum_b W[rows_b].T @ block_b (+ b), then z split by rows into
        # the groups' arguments with lax.split, whose gradient is one concatenation (a row
        # slice's would be a pad per group). The skip hands the input blocks on uncopied.
        w, b = self._weights()
        starts = np.cumsum([0] + [block.shape[0] for block in blocks])
        z = sum(w[starts[i] : starts[i + 1]].T @ block for i, block in enumerate(blocks))
        if b is not None:
            z = z + b[:, None]
        sizes = [count for prim, count in self.groups for _ in range(prim.arity)]
        parts = iter(jax.lax.split(z, sizes, axis=0))
        outs, hinge = [], jnp.zeros((), blocks[0].dtype)
        for prim, _ in self.groups:
            args = [next(parts) for _ in range(prim.arity)]
            outs.append(prim.jax_fn(*args))
            hinge = hinge + prim.hinge(args[-1]).mean(1).sum()  # the domain is the last's
        y = jnp.concatenate(outs, axis=0)
        if self.unit_gain:
            y = y * self.gain[...][:, None]
        return ([y, *blocks] if self.skip else [y]), hinge

    # -- export ----------------------------------------------------------------------------
    def to_sympy(self, inputs):
        if len(inputs) != self.in_features:
            raise ValueError(
                f"`inputs` must have {self.in_features} expressions, got {len(inputs)}."
            )
        w, b = (np.asarray(a, np.float64) if a is not None else None for a in self._weights())
        pre = []
        for j in range(self.n_pre):
            terms = [sympy_float(w[i, j]) * inputs[i] for i in range(self.in_features) if w[i, j]]
            if b is not None and b[j]:
                terms.append(sympy_float(b[j]))
            pre.append(sympy.Add(*terms))
        gain = np.asarray(self.gain[...], np.float64) if self.unit_gain else None
        outs, col, unit = [], 0, 0
        for prim, count in self.groups:
            for k in range(count):
                args = [pre[col + k + a * count] for a in range(prim.arity)]
                expr = apply_primitive(prim, args)
                if gain is not None:
                    expr = sympy_float(gain[unit + k]) * expr
                outs.append(expr)
            col += count * prim.arity
            unit += count
        if self.skip:
            outs.extend(inputs)
        return outs

    def unit_groups(self):
        return np.repeat(np.arange(len(self.groups)), [c for _, c in self.groups])

    # -- dead-unit bookkeeping -------------------------------------------------------------
    def needed_inputs(self, needed_outputs):
        needed_outputs = np.asarray(needed_outputs, bool)
        units_needed = needed_outputs[: self.n_units]
        cols = units_needed[np.asarray(self.col_unit)]
        live = np.asarray(self.kernel_mask[...] * self.kernel[...]) != 0
        need = (live[:, cols]).any(axis=1)
        if self.skip:
            need = need | needed_outputs[self.n_units :]
        return need

    def drop_unneeded(self, needed_outputs):
        # jnp indexing with a static index array: works for traced `needed_outputs` too.
        units_needed = jnp.asarray(needed_outputs)[: self.n_units]
        keep_cols = units_needed[np.asarray(self.col_unit)].astype(self.kernel.dtype)
        self.kernel_mask[...] = self.kernel_mask[...] * keep_cols[None, :]
        if self.use_bias:
            self.bias_mask[...] = self.bias_mask[...] * keep_cols

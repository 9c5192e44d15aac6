"""The layer interface shared by the trainer, the pruning tools and the exporter.

A layer maps ``(batch, in_features)`` to ``(batch, out_features)`` and also returns a scalar
domain penalty. Everything the rest of symnet needs from a layer goes through the abstract
methods below, so a new layer type (e.g. a KAN-style layer whose edges are sparse mixtures of
primitives) plugs in without touching the trainer or the exporter.

Maskable weights follow one naming rule: a parameter ``name`` is masked by a :class:`Mask`
variable ``name_mask`` of the same shape on the same module. The forward pass multiplies by
the mask, so masked weights have zero gradient and shapes never change while training.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from flax import nnx

__all__ = ["Mask", "AbstractSymbolicLayer", "MASK_SUFFIX"]

MASK_SUFFIX = "_mask"


class Mask(nnx.Variable):
    """1 keeps a weight, 0 removes it. Not an ``nnx.Param``, so never trained."""


class AbstractSymbolicLayer(nnx.Module, abc.ABC):
    """Interface of a symbolic layer.

    Attributes:
      in_features: width of the input.
      out_features: width of the output.
      n_units: number of units; outputs ``n_units:`` (if any) are skip connections.
    """

    in_features: int
    out_features: int
    n_units: int

    @abc.abstractmethod
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Maps ``x`` of shape (batch, in_features) to ``(y, hinge)``.

        ``y`` has shape (batch, out_features); ``hinge`` is the scalar domain penalty
        (sum over units of the mean over the batch of the distance to the domain).
        """

    def forward_blocks(self, blocks: Sequence[jax.Array]) -> tuple[list[jax.Array], jax.Array]:
        """The layer in the feature-major form :class:`~symnet.layers.SymbolicNetwork` runs.

        The input is a list of *blocks* of shape (features, batch) whose rows, stacked in
        order, are the ``in_features`` inputs; the output is a list of such blocks stacking
        to ``out_features`` rows, and the hinge. Equal to ``__call__`` on
        ``concatenate(blocks).T``; this default does exactly that. Layers whose outputs
        include their inputs (skips) override it to hand the input blocks on without
        copying them, and to read their pre-activations block by block (small dots with
        the batch as the long, contiguous axis, in place of slices and concatenations of
        narrow columns, which XLA's CPU backend runs far slower).
        """
        x = jnp.concatenate(blocks, axis=0).T
        y, hinge = self(x)
        return [y.T], hinge

    @abc.abstractmethod
    def weight_costs(self) -> list[tuple[jax.Array, jax.Array]]:
        """Pairs ``(masked_weight, cost)`` with ``cost`` broadcastable to the weight.

        Sparsity penalties are ``sum(cost * penalty(masked_weight))``: each weight is charged
        the complexity of the unit it feeds.
        """

    @abc.abstractmethod
    def to_sympy(self, inputs: Sequence[sympy.Expr]) -> list[sympy.Expr]:
        """Exports the layer applied to symbolic ``inputs``; returns ``out_features`` exprs."""

    @abc.abstractmethod
    def needed_inputs(self, needed_outputs: np.ndarray) -> np.ndarray:
        """Boolean (in_features,): inputs that reach a needed output through live weights."""

    @abc.abstractmethod
    def drop_unneeded(self, needed_outputs: np.ndarray) -> None:
        """Masks every weight that only feeds outputs not in ``needed_outputs``.

        Must accept traced boolean arrays (it runs inside ``vmap`` at initialisation).
        """

    def structure_penalty(self) -> jax.Array:
        """A scalar penalty on the layer's structure, charged like the sparsity penalty
        (``s_k * lam_m * structure``). Defaults to 0; a KAN layer uses it to push each edge
        towards a single primitive."""
        return jnp.zeros(())

    def unit_groups(self) -> np.ndarray:
        """Group id of every unit (units of one group are switched on and off together).

        Defaults to one group per unit.
        """
        return np.arange(self.n_units)

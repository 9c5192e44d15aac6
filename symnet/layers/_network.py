"""A stack of symbolic layers; the last layer is the read-out (one unit per output)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from flax import nnx

from symnet.layers._base import AbstractSymbolicLayer

__all__ = ["SymbolicNetwork"]


class SymbolicNetwork(nnx.Module):
    """Symbolic layers applied in sequence.

    ``y = L_k(... L_1([x, 1]))``: the optional constant-1 input column (LIES) joins the
    inputs; the last layer's outputs are the network outputs, so a linear read-out is a
    :class:`~symnet.layers.SymbolicLayer` of identity units and an EQL÷ read-out one of
    division units.

    Args:
      layers: the layers; ``layers[i + 1].in_features == layers[i].out_features``.
      constant_input: append a column of ones to the input.

    Example:
      >>> from symnet.layers import eql
      >>> net = eql(2, rngs=nnx.Rngs(0))
      >>> y, hinge = net(jnp.ones((4, 2)))
      >>> y.shape
      (4, 1)
    """

    def __init__(self, layers: Sequence[AbstractSymbolicLayer], *, constant_input: bool = False):
        layers = list(layers)
        if not layers:
            raise ValueError("`layers` must hold at least one layer, got none.")
        for i, (a, b) in enumerate(zip(layers[:-1], layers[1:], strict=False)):
            if a.out_features != b.in_features:
                raise ValueError(
                    f"`layers[{i + 1}]` expects {b.in_features} inputs but `layers[{i}]` "
                    f"gives {a.out_features}."
                )
        self.layers = nnx.List(layers)
        self.constant_input = constant_input
        self.in_features = layers[0].in_features - int(constant_input)
        self.out_features = layers[-1].out_features
        if self.in_features < 1:
            raise ValueError("The first layer leaves no room for the user's inputs.")

    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Maps ``x`` (batch, in_features) to ``(y, hinge)``; y is (batch, out_features)."""
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"`x` must have shape (batch, {self.in_features}), got {tuple(x.shape)}."
            )
        if self.constant_input:
            x = jnp.concatenate([x, jnp.ones((x.shape[0], 1), x.dtype)], axis=-1)
        hinge = jnp.zeros((), x.dtype)
        blocks = [x.T]  # feature-major blocks (AbstractSymbolicLayer.forward_blocks)
        for layer in self.layers:
            blocks, h = layer.forward_blocks(blocks)
            hinge = hinge + h
        return jnp.concatenate(blocks, axis=0).T, hinge

    def weight_costs(self):
        return [pair for layer in self.layers for pair in layer.weight_costs()]

    def structure_penalty(self) -> jax.Array:
        """The layers' structure penalties, summed."""
        return sum((layer.structure_penalty() for layer in self.layers), jnp.zeros(()))

    def to_sympy(self, symbols: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
        """Exports the network as one sympy expression per output over ``symbols``."""
        if len(symbols) != self.in_features:
            raise ValueError(
                f"`symbols` must hold {self.in_features} symbols, got {len(symbols)}."
            )
        h = list(symbols) + ([sympy.Integer(1)] if self.constant_input else [])
        for layer in self.layers:
            h = layer.to_sympy(h)
        return h

    def sample_architecture(self, key: jax.Array, keep_prob: float) -> None:
        """Masks whole unit groups of the hidden layers at random (static shapes).

        Each group except the first of every hidden layer is kept with probability
        ``keep_prob``; the read-out is untouched. A population whose members sample
        different sub-architectures explores, inside one compiled program, what DySymNet
        explores by sampling architectures one at a time.
        """
        for layer in list(self.layers)[:-1]:
            key, sub = jax.random.split(key)
            groups = layer.unit_groups()
            n_groups = int(groups.max()) + 1
            keep = jax.random.bernoulli(sub, keep_prob, (n_groups,)).at[0].set(True)
            skip = jnp.ones(layer.out_features - layer.n_units, bool)
            layer.drop_unneeded(jnp.concatenate([keep[groups], skip]))

    def drop_dead_units(self) -> None:
        """Masks every unit that no output depends on (through live weights)."""
        needed = np.ones(self.out_features, bool)
        for layer in reversed(self.layers):
            layer.drop_unneeded(needed)
            needed = layer.needed_inputs(needed)

"""Primitives applied to sympy arguments as the network computes them: constant
arguments folded with the protected JAX function (shared by every layer's exporter)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from symnet._primitives import Primitive

__all__ = ["apply_primitive", "sympy_float"]


def sympy_float(v) -> sympy.Float:
    """``v`` as a sympy Float (from its float value)."""
    return sympy.Float(float(v))


@functools.cache
def _folder(prim: Primitive):
    """``prim.jax_fn`` compiled once per primitive for scalar constant folding."""
    return jax.jit(prim.jax_fn)


def apply_primitive(prim: Primitive, args: list[sympy.Expr]) -> sympy.Expr:
    """``prim`` on symbolic ``args``, reproducing the *protected* JAX function.

    Constant arguments are folded with ``jax_fn``, so a unit whose inputs were pruned
    exports the value the network computes (``log`` of a pre-activation stuck below its
    domain gives ``log(eps)``, not ``zoo``). A binary unit whose second argument is a
    constant outside the domain exports 0 when ``jax_fn`` is 0 there whatever the first
    argument (protected division), else the formula at the clamped constant.
    """
    if all(a.is_number for a in args):
        return sympy_float(_folder(prim)(*(np.float32(float(a)) for a in args)))
    if prim.arity == 2 and args[1].is_number:
        b = float(args[1])
        low, high = prim.domain
        if not low < b < high:
            probe = jnp.asarray([-2.0, -0.5, 0.5, 3.0], jnp.float32)
            if not np.any(np.asarray(prim.jax_fn(probe, jnp.full_like(probe, b)))):
                return sympy.Integer(0)
            return prim.sympy_fn(args[0], sympy_float(min(max(b, low), high)))
    return prim.sympy_fn(*args)

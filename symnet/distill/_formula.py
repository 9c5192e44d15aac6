"""``FormulaModule``: sympy formulas as a trainable Flax NNX module.

Every numeric constant of the formulas that can move without changing the formula's
structure becomes an entry of one ``nnx.Param`` vector ``c``: floats anywhere, and
rational coefficients and offsets other than 0 and +-1. Exponents that are integers or
fractions stay fixed (``x**2`` must not become ``x**2.0001``, which is NaN for ``x < 0``), as
do named numbers such as ``pi``. The module computes

    y[..., k] = f_k(x[..., 0], ..., x[..., d-1]; c),

so a component that maps (..., d) to (..., k) can be swapped for its distilled formula and
the whole model fine-tuned with gradients flowing into ``c``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from flax import nnx

from symnet._export import jax_functions, lift_constants

__all__ = ["FormulaModule", "lift_constants"]


class FormulaModule(nnx.Module):
    """Formulas ``f_k(x; c)`` as a module mapping (..., d) inputs to (..., k) outputs.

    Args:
      exprs: one sympy expression per output (a single expression gives k = 1).
      symbols: the input symbols, in the order of the last axis of the input.
      squeeze: return (...,) instead of (..., 1) for a single formula.
      dtype: dtype of the constants (float32, as Flax modules default to).

    Attributes:
      constants: ``nnx.Param`` vector of the lifted constants.

    Example:
      >>> x, y = sympy.symbols("x y")
      >>> f = FormulaModule([1.5 * x * y, x - 2], [x, y])
      >>> f(jnp.array([[2.0, 3.0]]))
      Array([[9., 0.]], dtype=float32)
      >>> f.sympy()
      [1.5*x*y, x - 2.0]
    """

    def __init__(
        self,
        exprs: Sequence[sympy.Expr] | sympy.Expr,
        symbols: Sequence[sympy.Symbol],
        *,
        squeeze: bool = False,
        dtype=jnp.float32,
    ):
        if isinstance(exprs, (sympy.Basic, int, float)):
            exprs = [exprs]
        exprs = [sympy.sympify(e) for e in exprs]
        if not exprs:
            raise ValueError("`exprs` must hold at least one formula, got none.")
        symbols = tuple(symbols)
        if extra := sorted(set().union(*(e.free_symbols for e in exprs)) - set(symbols), key=str):
            raise ValueError(
                f"`exprs` use symbols {extra} that are not in `symbols` {list(symbols)}."
            )
        if squeeze and len(exprs) != 1:
            raise ValueError(f"`squeeze` needs exactly one formula, got {len(exprs)}.")
        lifted, consts, values = lift_constants(exprs)
        self.symbols = symbols
        self.lifted = tuple(lifted)
        self.const_symbols = consts
        self.squeeze = squeeze
        self.constants = nnx.Param(jnp.asarray(values, dtype=dtype))
        self._fns = jax_functions(lifted, symbols, consts)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        if x.shape[-1] != len(self.symbols):
            raise ValueError(
                f"FormulaModule expects inputs with {len(self.symbols)} features on the last "
                f"axis ({[str(s) for s in self.symbols]}), got shape {x.shape}."
            )
        c = self.constants[...]
        cols = [x[..., i] for i in range(x.shape[-1])]
        consts = [c[k] for k in range(c.shape[0])]
        outs = [jnp.broadcast_to(f(*cols, *consts), x.shape[:-1]) for f in self._fns]
        out = jnp.stack(outs, axis=-1).astype(jnp.result_type(x.dtype, c.dtype))
        return out[..., 0] if self.squeeze else out

    def sympy(self) -> list[sympy.Expr]:
        """The formulas with the current constant values (floats)."""
        values = np.asarray(self.constants[...], np.float64)
        sub = {s: sympy.Float(float(v)) for s, v in zip(self.const_symbols, values, strict=True)}
        return [e.xreplace(sub) for e in self.lifted]

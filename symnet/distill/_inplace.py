"""Putting a distilled formula back into its model and refitting it there.

A formula distilled from a component fits the *component's* outputs; inside the model its
small errors pass through the rest of the network. Refitting in place fits the formula's
constants (and any other trainable parameters chosen) to the *model's* training targets:
the data, not the component, then set the constants. With parameters ``p`` (flattened),
model inputs ``a`` and targets ``t`` it solves

    min_p  sum_i (model(a; p)_i - t_i)^2

by a trust-region least-squares solver (SciPy's ``least_squares``, Jacobian from
``jax.jacfwd``, scaled by its columns, as constants of very different sizes need), in
float64. A refit that does not lower the loss keeps the starting parameters.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.flatten_util import ravel_pytree

from symnet.distill._capture import get_submodule, parent_and_key, resolve_path, set_child

__all__ = ["InPlaceFit", "put_back", "refit_in_place"]


@dataclasses.dataclass(frozen=True)
class InPlaceFit:
    """Result of :func:`refit_in_place`.

    Attributes:
      model: the refit copy of the model (the model passed in is left unchanged).
      mse_before: mean squared error of the model on the targets before the refit.
      mse: after the refit (``<= mse_before``).
      n_params: number of parameters that were fitted.
    """

    model: nnx.Module
    mse_before: float
    mse: float
    n_params: int


def put_back(model: nnx.Module, path, module: nnx.Module) -> nnx.Module:
    """A copy of ``model`` whose submodule at ``path`` is ``module`` (e.g. the
    :class:`~symnet.distill.FormulaModule` of a :class:`~symnet.distill.DistilledComponent`).

    ``path`` is a dotted path (``"edge"``, ``"layers.0"``), a tuple path, or a bare
    attribute name that occurs once in the model. ``model`` itself is not changed.
    """
    if not isinstance(module, nnx.Module):
        raise ValueError(f"`module` must be a Flax NNX module, got {type(module).__name__}.")
    out = nnx.clone(model)
    get_submodule(out, path)  # a clear error when the path names no submodule
    parent, key = parent_and_key(out, resolve_path(out, path))
    set_child(parent, key, module)
    return out


def _float64(tree):
    """``tree`` with its floating-point leaves as float64 (call under ``jax.enable_x64``)."""
    return jax.tree.map(
        lambda v: v.astype(jnp.float64) if jnp.issubdtype(v.dtype, jnp.floating) else v, tree
    )


def _float64_args(args: tuple) -> tuple:
    """The model's inputs as JAX arrays, floating ones as float64 (under ``enable_x64``)."""
    return tuple(
        jnp.asarray(a, jnp.float64)
        if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating)
        else jnp.asarray(a)
        for a in args
    )


def _count_params(params: nnx.State, max_params: int) -> int:
    """The number of parameters selected, checked to be between 1 and ``max_params``."""
    n_params = int(sum(np.size(v) for v in jax.tree.leaves(params)))
    if n_params == 0:
        raise ValueError("`trainable` selects no parameters of `model`.")
    if n_params > max_params:
        raise ValueError(
            f"`trainable` selects {n_params} parameters, more than `max_params`={max_params} "
            "(the least-squares Jacobian is dense); choose fewer with an NNX filter."
        )
    return n_params


def _residual_and_jacobian(model_of, args: tuple, targets: jax.Array):
    """NumPy functions ``fun(f)``, ``jac(f)`` of the flat parameters ``f``: the residuals
    ``model_of(f)(*args) - targets`` (flattened) and their Jacobian, both compiled. A
    non-finite residual reads as 1e3, a non-finite Jacobian entry as 0, so that the solver
    backs off instead of failing."""

    def residual(f):
        out = model_of(f)(*args)
        if out.shape != targets.shape:
            raise ValueError(
                f"`targets` must have the model's output shape {tuple(out.shape)}, got "
                f"{tuple(targets.shape)}."
            )
        return (out - targets).ravel()

    res_fn, jac_fn = jax.jit(residual), jax.jit(jax.jacfwd(residual))

    def fun(f):
        r = np.asarray(res_fn(jnp.asarray(f)))
        return np.where(np.isfinite(r), r, 1e3)

    def jac(f):
        J = np.asarray(jac_fn(jnp.asarray(f)))
        return np.where(np.isfinite(J), J, 0.0)

    return fun, jac


def _least_squares(fun, jac, x0: np.ndarray, max_nfev: int) -> tuple[np.ndarray, float, float]:
    """SciPy's trust-region least squares from ``x0``, Jacobian-scaled.

    Returns:
      ``(x, mse_before, mse)``: the solution, or ``x0`` when the solution does not lower
      the loss, and the mean squared residual at ``x0`` and at ``x``.
    """
    from scipy.optimize import least_squares

    r0 = fun(x0)
    sol = least_squares(fun, x0, jac=jac, x_scale="jac", max_nfev=max_nfev)
    best = sol.x if 2 * sol.cost <= float(r0 @ r0) else x0
    return best, float(np.mean(r0**2)), float(np.mean(fun(best) ** 2))


def refit_in_place(
    model: nnx.Module,
    args,
    targets,
    *,
    trainable=nnx.Param,
    max_params: int = 5000,
    max_nfev: int | None = None,
) -> InPlaceFit:
    """Refits the ``trainable`` parameters of ``model`` so that ``model(*args)`` matches
    ``targets`` in least squares (see the module docstring).

    Args:
      model: a Flax NNX model, typically with a formula put back (:func:`put_back`).
      args: the model's positional inputs (a tuple; a single array is one input).
      targets: what ``model(*args)`` should return (same shape), finite.
      trainable: an NNX filter of the parameters to fit (default: every ``nnx.Param``;
        e.g. ``nnx.All(nnx.Param, nnx.PathContains("edge"))`` for the formula only).
      max_params: refuse more parameters than this (the Jacobian is dense).
      max_nfev: solver's limit on evaluations (default ``100 * (n_params + 1)``).

    Returns:
      An :class:`InPlaceFit` with the refit copy and its error before and after.
    """
    args = args if isinstance(args, tuple) else (args,)
    t = np.asarray(targets, np.float64)
    if not np.all(np.isfinite(t)):
        raise ValueError("`targets` must be finite (no NaN or inf).")
    graphdef, params, rest = nnx.split(nnx.clone(model), trainable, ...)
    dtypes = jax.tree.map(lambda v: v.dtype, params)
    n_params = _count_params(params, max_params)
    with jax.enable_x64(True):
        flat, unravel = ravel_pytree(_float64(params))
        rest64 = _float64(rest)
        fun, jac = _residual_and_jacobian(
            lambda f: nnx.merge(graphdef, unravel(f), rest64), _float64_args(args), jnp.asarray(t)
        )
        x0 = np.asarray(flat, np.float64)
        best, mse_before, mse = _least_squares(fun, jac, x0, max_nfev or 100 * (n_params + 1))
        fitted = jax.tree.map(np.asarray, unravel(jnp.asarray(best)))
    fitted = jax.tree.map(lambda v, d: jnp.asarray(v.astype(d)), fitted, dtypes)
    return InPlaceFit(nnx.merge(graphdef, fitted, rest), mse_before, mse, n_params)

r"""A system of formulas as a JAX vector field, and its simulation with diffrax.

:func:`vector_field` turns right-hand sides :math:`F_i(\mathbf x, \mathbf u)` (sympy, over
the states and controls) into one jittable function ``F(x, u, params)`` whose float
constants are the array ``params`` (:func:`symnet._export.lift_constants`), so that a
trajectory's error can be differentiated with respect to them.
:func:`integrate` solves :math:`\dot{\mathbf x} = F(\mathbf x, \mathbf u(t))` from
:math:`\mathbf x(t_0)` with diffrax (``Tsit5``, an adaptive PID step-size controller,
``rtol = atol = TOLERANCE``), controls linearly interpolated between their samples, in
float64. A solve that fails (a blow-up, too many steps) leaves the states from the failure
on as NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import sympy

from symnet._export import jax_functions, lift_constants

__all__ = ["MAX_STEPS", "TOLERANCE", "integrate", "lifted_field", "solve", "vector_field"]

#: Relative and absolute tolerance of the step-size controller.
TOLERANCE = 1e-8
#: Solver steps at most per solve.
MAX_STEPS = 100_000


def lifted_field(
    exprs: Sequence[sympy.Expr],
    states: Sequence[sympy.Symbol],
    controls: Sequence[sympy.Symbol] = (),
):
    """``(lifted, consts, params, F)``: the formulas with their float constants as the
    symbols ``consts`` (:func:`symnet._export.lift_constants`), the constants' values
    ``params`` (float64) and ``F(x (d,), u (m,), params (p,)) -> x_dot (d,)``, jittable."""
    lifted, consts, values = lift_constants(list(exprs))
    fns = jax_functions(lifted, [*states, *controls], consts)
    d, m = len(states), len(controls)

    def F(x, u, params):
        args = [x[i] for i in range(d)] + [u[j] for j in range(m)]
        args += [params[k] for k in range(len(consts))]
        return jnp.stack([jnp.asarray(f(*args), dtype=x.dtype) for f in fns])

    return lifted, consts, values, F


def vector_field(
    exprs: Sequence[sympy.Expr],
    states: Sequence[sympy.Symbol],
    controls: Sequence[sympy.Symbol] = (),
) -> tuple[Callable, np.ndarray]:
    """``(F, params)`` of :func:`lifted_field`."""
    _, _, values, F = lifted_field(exprs, states, controls)
    return F, values


def solve(F, params, x0, t, u=None, *, forward: bool = False, rtol: float = TOLERANCE):
    """The states ``(len(t), d)`` at times ``t`` from ``x0`` at ``t[0]`` (traceable; ``u``
    the controls at ``t`` or None); ``forward``: differentiable in forward mode (Jacobians
    by ``jax.jacfwd``, as Levenberg–Marquardt takes them). Failed steps give ``inf``."""
    control = None if u is None else diffrax.LinearInterpolation(ts=t, ys=u)

    def rhs(time, x, params):
        v = jnp.zeros((0,), x.dtype) if control is None else control.evaluate(time)
        return F(x, v, params)

    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(rhs),
        diffrax.Tsit5(),
        t0=t[0],
        t1=t[-1],
        dt0=None,
        y0=x0,
        args=params,
        saveat=diffrax.SaveAt(ts=t),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=rtol),
        adjoint=diffrax.ForwardMode() if forward else diffrax.RecursiveCheckpointAdjoint(),
        max_steps=MAX_STEPS,
        throw=False,
    )
    return solution.ys


def integrate(F: Callable, params, x0, t, u=None) -> np.ndarray:
    """The states at times ``t`` (strictly increasing) from ``x0`` at ``t[0]``: shape
    ``(len(t), d)``, float64; ``u`` the controls at the times ``t`` ``(len(t), m)``, or
    None. States after a failed step are NaN (module doc)."""
    with jax.enable_x64(True):
        u64 = None if u is None else jnp.asarray(u, jnp.float64)
        ys = jax.jit(solve, static_argnums=0)(
            F,
            jnp.asarray(params, jnp.float64),
            jnp.asarray(x0, jnp.float64),
            jnp.asarray(t, jnp.float64),
            u64,
        )
        out = np.array(ys, dtype=np.float64)
    out[~np.isfinite(out)] = np.nan
    bad = np.flatnonzero(~np.all(np.isfinite(out), axis=1))
    if bad.size:
        out[bad[0] :] = np.nan
    return out

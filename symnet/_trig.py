"""``sin`` and ``cos`` for the training step, vectorised on CPUs.

XLA's CPU backend evaluates ``sin`` and ``cos`` one element at a time through the C
library (about 10x the time of its vectorised ``exp`` on the same array; in the default
network's training step the sine units and their cosine gradients were a quarter of the
time). On a CPU these functions evaluate them with arithmetic XLA vectorises instead:

    k = round(x / pi),   r = x - k * pi  in [-pi/2, pi/2]   (pi in three parts, Cody-Waite)
    sin x = (-1)^k * (r - r^3/3! + ... - r^11/11!)
    cos x = (-1)^k * (1 - r^2/2! + ... + r^12/12!)

The truncation errors are below ``(pi/2)^13 / 13! = 6e-8`` and ``(pi/2)^14 / 14! = 6e-9``;
with float32 rounding the results are within ``2e-7`` of the true values for ``|x|`` up to
``2e3`` (``jnp.sin``: ``3e-8``), and the gradient (the polynomials' derivatives) within
``1e-6``. Beyond ``|x| = FAR`` (where ``k * pi``'s first part stops being exact in float32
and the phase is lost to rounding) both are 0 with zero gradient, the same with or without
``jit``: no trained network has a use for the phase of ``sin(1e6)``. Other platforms
(GPU, TPU) keep ``jnp.sin`` and ``jnp.cos`` (:func:`jax.lax.platform_dependent`), and so
do float64 inputs (the series is accurate to float32 only).
Exported formulas use sympy's exact ``sin`` and ``cos``; only training sees these.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

__all__ = ["cos", "sin"]

#: pi = _PI[0] + _PI[1] + _PI[2]; the first two have short mantissas, so ``k * _PI[i]`` is
#: exact in float32 for the ``k`` that matter.
_PI = (3.140625, 9.67502593994140625e-4, 1.509957990978376432e-7)
#: Inputs beyond this give 0 (module doc): ``k = round(x / pi)`` stays below ``2**15``.
FAR = 1e5
#: Taylor coefficients of sin(r)/r - 1 and cos(r) - 1 in powers of r^2, from r^2 up.
_SIN = tuple((-1) ** n / math.factorial(2 * n + 1) for n in range(1, 6))
_COS = tuple((-1) ** n / math.factorial(2 * n) for n in range(1, 7))


def _reduce(x):
    """``(r, s)`` with ``x = k pi + r``, ``|r| <= pi/2`` and ``s = (-1)^k``; ``s = 0``
    beyond ``FAR``, where ``x`` is replaced by 0 (double ``where``: zero gradient)."""
    near = jnp.abs(x) <= FAR
    x = jnp.where(near, x, 0.0)
    k = jnp.round(x * (1 / math.pi))
    r = ((x - k * _PI[0]) - k * _PI[1]) - k * _PI[2]
    r = jnp.clip(r, -math.pi / 2, math.pi / 2)
    return r, jnp.where(near, 1 - 2 * (k - 2 * jnp.floor(0.5 * k)), 0.0)


def _series(coeffs, r2):
    """``sum_n coeffs[n] r2^(n + 1)`` by Horner's rule."""
    p = coeffs[-1]
    for c in coeffs[-2::-1]:
        p = c + r2 * p
    return r2 * p


def _sin_cpu(x):
    r, s = _reduce(x)
    return s * (r + r * _series(_SIN, r * r))


def _cos_cpu(x):
    r, s = _reduce(x)
    return s * (1 + _series(_COS, r * r))


def _on_cpu(x, series, exact):
    """``series(x)`` on a CPU, ``exact(x)`` on other platforms and for float64 inputs."""
    x = jnp.asarray(x)
    if x.dtype == jnp.float64:
        return exact(x)
    return jax.lax.platform_dependent(x, cpu=series, default=exact)


def sin(x: jax.Array) -> jax.Array:
    """``sin(x)``: the vectorised series on a CPU, ``jnp.sin`` elsewhere.

    Example:
      >>> round(float(sin(jnp.float32(2.0))), 6)
      0.909297
    """
    return _on_cpu(x, _sin_cpu, jnp.sin)


def cos(x: jax.Array) -> jax.Array:
    """``cos(x)``: the vectorised series on a CPU, ``jnp.cos`` elsewhere.

    Example:
      >>> round(float(cos(jnp.float32(2.0))), 6)
      -0.416147
    """
    return _on_cpu(x, _cos_cpu, jnp.cos)

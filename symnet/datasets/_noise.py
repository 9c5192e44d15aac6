"""Additive Gaussian target noise scaled by the signal's root mean square."""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["NOISE_LEVELS", "add_noise", "check_gamma"]

#: The relative noise levels :math:`\gamma` of the SRBench ground-truth track.
NOISE_LEVELS: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)


def check_gamma(gamma: float, name: str = "gamma") -> float:
    """Return ``gamma`` as a float, or raise ``ValueError`` naming ``name``.

    Args:
        gamma: relative noise level; must be a finite real number :math:`\\ge 0`.
        name: the parameter name to report in the error message.
    """
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise ValueError(f"{name} must be a finite real number >= 0, got {gamma!r}")
    value = float(gamma)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"{name} must be a finite real number >= 0, got {gamma!r}")
    return value


def add_noise(y: np.ndarray, gamma: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise proportional to the target's RMS.

    .. math::

        \\tilde y_i = y_i + \\varepsilon_i, \\qquad
        \\varepsilon_i \\sim \\mathcal N\\Big(0, \\big(\\gamma \\sqrt{\\tfrac1n
        \\textstyle\\sum_j y_j^2}\\big)^2\\Big)\\ \\text{i.i.d.}

    This is the SRBench convention (noise standard deviation
    :math:`\\gamma \\cdot \\mathrm{RMS}(y)`). With :math:`\\gamma = 0` a float64 copy of ``y``
    is returned and ``rng`` is not advanced.

    Args:
        y: targets, any shape, finite.
        gamma: relative noise level, finite and :math:`\\ge 0`.
        rng: the generator that draws :math:`\\varepsilon`.

    Returns:
        A new float64 array with the shape of ``y``.

    Raises:
        ValueError: if ``gamma`` is negative, not finite or not a real number, or if
            ``y`` has non-finite entries.
        TypeError: if ``rng`` is not a ``numpy.random.Generator``.
    """
    level = check_gamma(gamma, "gamma")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    values = np.array(y, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("y must be finite to add noise")
    if level == 0.0 or values.size == 0:
        return values
    scale = level * math.sqrt(float(np.mean(values**2)))
    return values + rng.normal(0.0, scale, size=values.shape)

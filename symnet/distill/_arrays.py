"""Checked conversion of user-supplied values to float64 arrays."""

from __future__ import annotations

import numpy as np

__all__ = ["float64_array"]


def float64_array(value, what: str) -> np.ndarray:
    """``value`` as a float64 array.

    Raises:
      ValueError: ``"{what}: {reason}"`` when NumPy cannot convert ``value`` (not numeric,
        ragged, ...).
    """
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what}: {err}") from None

"""One integer seed from the ``random_state`` forms scikit-learn users pass."""

from __future__ import annotations

import numpy as np

__all__ = ["seed_from"]


def seed_from(random_state) -> int:
    """A non-negative integer seed from ``random_state``.

    Args:
      random_state: ``None`` (fresh OS entropy, below ``2**31``), a non-negative int (used
        as is), or a :class:`numpy.random.RandomState` / :class:`numpy.random.Generator`
        (one draw below ``2**31 - 1``, which advances it).

    Raises:
      ValueError: any other value (a negative int, a float, a string, ...).

    Example:
      >>> seed_from(7)
      7
      >>> seed_from(np.random.default_rng(0)) == seed_from(np.random.default_rng(0))
      True
    """
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**31))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    if isinstance(random_state, (int, np.integer)) and random_state >= 0:
        return int(random_state)
    raise ValueError(
        f"`random_state` must be None, a non-negative int or a numpy RandomState/Generator, "
        f"got {random_state!r}."
    )

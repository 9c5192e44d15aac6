"""Reproducible random generators keyed by a name."""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["make_rng"]


def make_rng(key: str, seed: int, stream: int, extrapolate: bool) -> np.random.Generator:
    """A generator seeded by ``seed`` and a stable hash of ``key``.

    The seed sequence is ``[seed, crc32(key), stream, extrapolate]``: stable across
    processes and Python versions (unlike ``hash``), and draws made for different purposes
    (e.g. the inputs, stream 0, and the noise, stream 1, of a benchmark task) come from
    independent streams, so the inputs do not depend on the noise level.

    Args:
        key: a name, e.g. a task name ``"feynman/I.6.2a"`` or a system key
            ``"strogatz/vdp"``.
        seed: non-negative integer seed.
        stream: which independent stream of ``(key, seed)`` to draw from.
        extrapolate: whether the draws are for the extrapolation design.
    """
    entropy = [int(seed), zlib.crc32(key.encode("utf-8")), int(stream), int(extrapolate)]
    return np.random.default_rng(entropy)

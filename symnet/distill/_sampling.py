"""Where the teacher is queried: given points, a box (``domain``) or a user ``sampler``.

Uniform sampling on a box ``[lo_1, hi_1] x ... x [lo_d, hi_d]`` draws ``x_i ~ U(lo_i, hi_i)``
independently with a seeded :class:`numpy.random.Generator`. The *wider* box used to probe
extrapolation widens every side by ``widen * (hi_i - lo_i)``. Without a box, candidate
points are made by *jittering* rows of ``X``: ``x + 0.1 * s * z`` with ``z ~ N(0, I)`` and
``s`` the per-column standard deviation of ``X``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from symnet._validation import check_X
from symnet.distill._arrays import float64_array

__all__ = ["check_domain", "PointSource", "uniform", "widen_box"]

JITTER = 0.1


def check_domain(domain, n_features: int | None = None) -> np.ndarray:
    """Validates ``domain``, a sequence of ``(lo, hi)`` per input; returns (d, 2) float64."""
    box = float64_array(
        domain, f"`domain` must be a list of (lo, hi) pairs, one per input, got {domain!r}"
    )
    if box.ndim != 2 or box.shape[1] != 2 or box.shape[0] == 0:
        raise ValueError(
            f"`domain` must be a list of (lo, hi) pairs, one per input (shape (d, 2)), got "
            f"shape {box.shape}: {domain!r}."
        )
    if not np.all(np.isfinite(box)):
        raise ValueError(f"`domain` bounds must be finite, got {domain!r}.")
    if np.any(box[:, 0] >= box[:, 1]):
        i = int(np.argmax(box[:, 0] >= box[:, 1]))
        raise ValueError(
            f"`domain` needs lo < hi for every input, got ({box[i, 0]}, {box[i, 1]}) for "
            f"input {i}."
        )
    if n_features is not None and box.shape[0] != n_features:
        raise ValueError(
            f"`domain` must have one (lo, hi) pair per column of X ({n_features}), got "
            f"{box.shape[0]}."
        )
    return box


def uniform(box: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform on ``box`` (d, 2): shape (n, d)."""
    return rng.uniform(box[:, 0], box[:, 1], size=(n, box.shape[0]))


def widen_box(box: np.ndarray, widen: float) -> np.ndarray:
    """``box`` with each side moved out by ``widen`` times its width."""
    pad = widen * (box[:, 1] - box[:, 0])
    return np.column_stack([box[:, 0] - pad, box[:, 1] + pad])


@dataclasses.dataclass(frozen=True)
class PointSource:
    """Draws query points: from ``sampler(n, rng)``, else uniformly on ``box``, else by
    jittering rows of ``X``."""

    X: np.ndarray | None
    box: np.ndarray | None
    sampler: Callable[[int, np.random.Generator], np.ndarray] | None
    n_features: int

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.sampler is not None:
            pts = check_X(self.sampler(n, rng), "sampler(n, rng)")
            if pts.shape != (n, self.n_features):
                raise ValueError(
                    f"`sampler(n, rng)` must return shape (n, {self.n_features}) = "
                    f"({n}, {self.n_features}), got {pts.shape}."
                )
            return pts
        if self.box is not None:
            return uniform(self.box, n, rng)
        rows = self.X[rng.integers(0, self.X.shape[0], size=n)]
        scale = self.X.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        return rows + JITTER * scale * rng.standard_normal(rows.shape)


def make_source(X, domain, sampler) -> PointSource:
    """Checks the three ways of giving query points; at least one is required."""
    if X is None and domain is None and sampler is None:
        raise ValueError(
            "One of `X` (query points), `domain` (a list of (lo, hi) per input) or "
            "`sampler` (a function (n, rng) -> points) is required, got none."
        )
    if sampler is not None and not callable(sampler):
        raise ValueError(
            f"`sampler` must be a callable (n, rng) -> array (n, d), got {type(sampler).__name__}."
        )
    X_arr = None if X is None else check_X(X)
    n_features = None if X_arr is None else X_arr.shape[1]
    box = None if domain is None else check_domain(domain, n_features)
    if n_features is None and box is not None:
        n_features = box.shape[0]
    if n_features is None:  # sampler only: ask it for a few points to learn d
        probe = check_X(sampler(2, np.random.default_rng(0)), "sampler(n, rng)")
        n_features = probe.shape[1]
    return PointSource(X_arr, box, sampler, n_features)

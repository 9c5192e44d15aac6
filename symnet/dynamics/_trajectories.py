"""Measured trajectories as ``SymbolicODE`` takes them, validated in one place.

A user gives one trajectory (an array or DataFrame ``(n_times, n_states)``) or a list of
them (different lengths allowed); times as a scalar step, one array of times, or a list
of arrays (one per trajectory); optionally derivatives ``x_dot`` and control inputs ``u``
shaped like ``x``. :func:`trajectories` turns that into a :class:`Trajectories` of float64
arrays, or raises ``ValueError`` naming the parameter, what was expected and what was
given.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from symnet._validation import as_float_array, check_finite, check_names

__all__ = ["MIN_TIMES", "Trajectories", "arrays", "as_list", "trajectories"]

#: Samples a trajectory needs at least (derivative estimators fit cubics).
MIN_TIMES = 5


@dataclasses.dataclass(frozen=True)
class Trajectories:
    """Validated trajectories: ``x[k]`` ``(n_k, d)``, ``t[k]`` ``(n_k,)``, ``x_dot[k]`` or
    None, ``u[k]`` ``(n_k, m)`` or None, state and control names."""

    x: list[np.ndarray]
    t: list[np.ndarray]
    x_dot: list[np.ndarray] | None
    u: list[np.ndarray] | None
    states: list[str]
    controls: list[str]


def as_list(a) -> tuple[list, bool]:
    """``(list of trajectories, whether several were given)``: a list or tuple is
    several, anything else (array, DataFrame) is one."""
    if isinstance(a, list | tuple):
        return list(a), True
    return [a], False


def arrays(values, name: str, count: int | None) -> list[np.ndarray]:
    """``values`` (one array or a list, module doc) as 2-D finite float64 arrays (a 1-D
    array is one column); ``count`` arrays when given."""
    items, several = as_list(values)
    if count is not None and len(items) != count:
        raise ValueError(
            f"`{name}` must hold one array per trajectory ({count}), got {len(items)}."
        )
    out = []
    for k, item in enumerate(items):
        label = f"{name}[{k}]" if several else name
        a = as_float_array(item, label)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(f"`{label}` must be 2-D (n_times, n_columns), got shape {a.shape}.")
        check_finite(a, label)
        out.append(a)
    return out


def _times(t, lengths: list[int]) -> list[np.ndarray]:
    several = len(lengths) > 1
    if t is None:
        t = 1.0
    if not isinstance(t, list | tuple) and np.ndim(t) == 0:
        step = float(t)
        if not np.isfinite(step) or step <= 0:
            raise ValueError(f"`t` as a time step must be a finite number > 0, got {t!r}.")
        return [step * np.arange(n, dtype=np.float64) for n in lengths]
    items = list(t) if isinstance(t, list | tuple) and several else [t]
    if isinstance(t, list | tuple) and several and len(items) != len(lengths):
        raise ValueError(
            f"`t` must hold one array of times per trajectory ({len(lengths)}), got {len(items)}."
        )
    out = []
    for k, (item, n) in enumerate(zip(items, lengths, strict=True)):
        label = f"t[{k}]" if several else "t"
        times = np.asarray(item, dtype=np.float64)
        if times.ndim != 1 or len(times) != n:
            raise ValueError(
                f"`{label}` must hold one time per sample ({n}), got shape {times.shape}."
            )
        check_finite(times, label)
        if np.any(np.diff(times) <= 0):
            i = int(np.flatnonzero(np.diff(times) <= 0)[0])
            raise ValueError(
                f"`{label}` must be strictly increasing; t[{i}] = {times[i]!r} is followed "
                f"by {times[i + 1]!r}."
            )
        out.append(times)
    return out


def _names(x, names, d: int, param: str) -> list[str]:
    if names is not None:
        return check_names(names, d, param=param)
    first = as_list(x)[0][0]
    if hasattr(first, "columns"):
        return check_names([str(c) for c in first.columns], d, param=f"{param} (columns)")
    return None


def trajectories(x, t=None, x_dot=None, u=None, feature_names=None) -> Trajectories:
    """Validates what ``SymbolicODE.fit`` was given (module doc).

    State names: ``feature_names``, else the DataFrame's columns, else ``x0, x1, ...``;
    controls: a DataFrame ``u``'s columns, else ``u0, u1, ...``.
    """
    xs = arrays(x, "x", None)
    d = xs[0].shape[1]
    for k, a in enumerate(xs):
        if a.shape[1] != d:
            raise ValueError(
                f"every trajectory must have the same states: `x[0]` has {d} columns, "
                f"`x[{k}]` has {a.shape[1]}."
            )
        if len(a) < MIN_TIMES:
            label = f"x[{k}]" if len(xs) > 1 else "x"
            raise ValueError(
                f"`{label}` must have at least {MIN_TIMES} samples (times), got {len(a)}."
            )
    lengths = [len(a) for a in xs]
    ts = _times(t, lengths)
    dots = None if x_dot is None else arrays(x_dot, "x_dot", len(xs))
    if dots is not None:
        for k, (a, b) in enumerate(zip(xs, dots, strict=True)):
            if a.shape != b.shape:
                raise ValueError(
                    f"`x_dot` must have the shape of `x` (trajectory {k}: {a.shape}), "
                    f"got {b.shape}."
                )
    us = None if u is None else arrays(u, "u", len(xs))
    if us is not None:
        m = us[0].shape[1]
        for k, (a, b) in enumerate(zip(xs, us, strict=True)):
            if b.shape != (len(a), m):
                raise ValueError(
                    f"`u` must have one row per time of `x` and the same columns in every "
                    f"trajectory: expected ({len(a)}, {m}) for trajectory {k}, got {b.shape}."
                )
    states = _names(x, feature_names, d, "feature_names") or [f"x{i}" for i in range(d)]
    controls = []
    if us is not None:
        m = us[0].shape[1]
        controls = _names(u, None, m, "u") or [f"u{i}" for i in range(m)]
        if clash := sorted(set(controls) & set(states)):
            raise ValueError(f"`u`'s names must differ from the states', both have {clash}.")
    return Trajectories(xs, ts, dots, us, states, controls)

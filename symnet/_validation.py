"""Input checks run in Python before anything is traced.

Each check raises ``ValueError`` naming the parameter, what was expected and what was given.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "as_float_array",
    "check_X",
    "check_X_y",
    "check_finite",
    "check_names",
    "feature_names",
]

MIN_SAMPLES = 3


def as_float_array(a, name: str) -> np.ndarray:
    if a is None:
        raise ValueError(
            f"`{name}` is None: this estimator requires y to be passed, but the target y is None."
            if name == "y"
            else f"`{name}` must be an array, got None."
        )
    if hasattr(a, "tocsr") or type(a).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"`{name}` is a sparse matrix; sparse input is not supported, dense data is "
            "required (use .toarray())."
        )
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as err:
        raise ValueError(f"`{name}` must be a rectangular numeric array: {err}") from None
    if np.iscomplexobj(arr):
        raise ValueError(f"`{name}` has complex values: Complex data not supported.")
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as err:
        kinds = getattr(a, "dtypes", None)
        detail = f" (column dtypes: {dict(kinds)})" if kinds is not None else ""
        raise ValueError(
            f"`{name}` must be numeric; could not convert it to float{detail}: {err}"
        ) from None
    return arr


def check_X(X, name: str = "X") -> np.ndarray:
    """Validates a 2-D finite numeric input; returns it as float64."""
    X = as_float_array(X, name)
    if X.ndim != 2:
        raise ValueError(
            f"`{name}` must be 2-D with shape (n_samples, n_features), got shape {X.shape}. "
            "Reshape your data: X.reshape(-1, 1) for a single feature."
        )
    check_finite(X, name)
    return X


def check_finite(arr, name):
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        raise ValueError(
            f"`{name}` must be finite, got {int(bad.sum())} NaN/inf value(s) "
            f"(first at index {where})."
        )


def check_X_y(X, y, sample_weight=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validates a regression dataset; returns float64 ``X`` (n, d), ``y`` (n,), weights.

    Raises:
      ValueError: wrong dimensions, mismatched lengths, fewer than 3 samples, non-finite
        values, non-numeric data, a constant target, or invalid sample weights.
    """
    X = check_X(X)
    y = as_float_array(y, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"`y` must be 1-D with shape (n_samples,), got shape {y.shape}.")
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"`X` and `y` must have the same number of samples, got {X.shape[0]} and {y.shape[0]}."
        )
    if X.shape[0] < MIN_SAMPLES:
        raise ValueError(
            f"At least {MIN_SAMPLES} samples are needed, got n_samples = {X.shape[0]}."
        )
    if X.shape[1] < 1:
        raise ValueError(
            f"`X` has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required."
        )
    check_finite(y, "y")
    if np.ptp(y) == 0:
        raise ValueError(f"`y` is constant (every value is {float(y[0])!r}); nothing to fit.")
    w = None
    if sample_weight is not None:
        w = as_float_array(sample_weight, "sample_weight")
        if w.shape != y.shape:
            raise ValueError(f"`sample_weight` must have shape {y.shape}, got {w.shape}.")
        if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
            raise ValueError("`sample_weight` must be finite, non-negative and not all zero.")
    return X, y, w


def check_names(names, n_features: int, param: str = "names") -> list[str]:
    """Validates variable names (the parameter ``param``): one distinct non-empty string
    per feature; None gives ``x0, x1, ...``."""
    if names is None:
        return [f"x{i}" for i in range(n_features)]
    names = [str(n) for n in names]
    if len(names) != n_features:
        raise ValueError(
            f"`{param}` must hold {n_features} names (one per column of X), got {len(names)}."
        )
    if len(set(names)) != len(names) or any(not n for n in names):
        raise ValueError(f"`{param}` must be distinct and non-empty, got {names}.")
    return names


def feature_names(X, variable_names, n_features) -> list[str]:
    """``variable_names``, else the DataFrame's columns, else ``x0, x1, ...``."""
    if variable_names is not None:
        return check_names(variable_names, n_features, param="variable_names")
    if hasattr(X, "columns"):
        columns = [str(c) for c in X.columns]
        if dups := sorted({c for c in columns if columns.count(c) > 1}):
            raise ValueError(f"`X` has duplicate column names {dups}; name each column once.")
        return check_names(columns, n_features, param="X.columns")
    return check_names(None, n_features)

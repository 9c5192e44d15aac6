"""What ``SymbolicRegressor.fit`` makes of its inputs: one validated search problem per
output (with its units), and the units columns of the equations table."""

from __future__ import annotations

import jax
import numpy as np

from symnet._validation import feature_names
from symnet.search import Data
from symnet.units import WILDCARD, check_units, dimension_of

__all__ = ["datasets_of", "dimension_columns", "in_training_order", "unit_attributes"]


def datasets_of(
    X, y, sample_weight, variable_names, key, config, units=None
) -> tuple[list[Data], list]:
    """One validated :class:`~symnet.search.Data` per column of ``y`` (over internal names
    ``x0, x1, ...``, split with ``fold_in(key, k)``), and the user's variable names.
    ``units``: ``(X_units, y_units, free_constants)`` as :func:`symnet.units.check_units`
    takes them."""
    if y is None:
        raise ValueError(
            "`y` is None: this estimator requires y to be passed, but the target y is None."
        )
    X_arr = X.to_numpy() if hasattr(X, "to_numpy") and hasattr(X, "columns") else X
    y_arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    targets = [y_arr]
    if y_arr.ndim == 2 and y_arr.shape[1] > 1:
        targets = [y_arr[:, k] for k in range(y_arr.shape[1])]
    d = _columns(X_arr)
    names = feature_names(X, variable_names, d) if d is not None else None
    weights = [sample_weight] * len(targets)
    w_arr = None if sample_weight is None else np.asarray(sample_weight)
    if w_arr is not None and w_arr.ndim == 2 and len(targets) > 1:
        if w_arr.shape[1] != len(targets):
            raise ValueError(
                f"`sample_weight` must have shape (n,) or (n, {len(targets)}) for "
                f"{len(targets)} outputs, got {w_arr.shape}."
            )
        weights = [w_arr[:, k] for k in range(len(targets))]
    per_output = [None] * len(targets)
    if units is not None and names is not None:
        per_output = check_units(*units[:2], names, len(targets), free_constants=units[2])
        per_output = per_output or [None] * len(targets)
    datasets = [
        Data.build(
            X_arr,
            t,
            key=jax.random.fold_in(key, k),
            config=config,
            sample_weight=w,
            units=u,
        )
        for k, (t, w, u) in enumerate(zip(targets, weights, per_output, strict=True))
    ]
    return datasets, feature_names(X, variable_names, datasets[0].X.shape[1])


def _columns(X) -> int | None:
    """The number of columns of a 2-D ``X`` (any array-like, also one that refuses numpy's
    functions but converts, as scikit-learn's ``_NotAnArray``), else None (what is wrong
    with it is reported by the validation that follows)."""
    try:
        probe = X if isinstance(X, np.ndarray) else np.asarray(X, dtype=object)
    except (ValueError, TypeError):
        return None
    return probe.shape[1] if probe.ndim == 2 else None


def dimension_columns(expr, data) -> dict:
    """The ``units`` and ``consistent`` columns of a formula over ``data``'s symbols."""
    units = data.units
    dims = dict(zip(data.symbols, units.inputs, strict=True))
    d = dimension_of(expr, dims, free_constants=units.free_constants)
    ok = d is not None and (units.target is None or d is WILDCARD or d == units.target)
    return {"units": "inconsistent" if d is None else str(d), "consistent": ok}


def unit_attributes(datasets) -> tuple:
    """``X_units_`` and ``y_units_`` (one per output for several) as text, or None."""
    units = [data.units for data in datasets]
    X_units = None if units[0] is None else [str(d) for d in units[0].inputs]
    targets = [None if u is None or u.target is None else str(u.target) for u in units]
    return X_units, targets[0] if len(targets) == 1 else targets


def in_training_order(X, feature_names, named: bool):
    """``X`` with its columns in training order: a DataFrame is matched to
    ``feature_names`` by name (as scikit-learn does) when the fit had names (``named``: a
    DataFrame or ``variable_names``); a bare array is taken in training order."""
    if not (hasattr(X, "columns") and hasattr(X, "to_numpy")):
        return X
    if not named:
        return X.to_numpy()
    names = [str(n) for n in feature_names]
    by_name = {str(c): c for c in X.columns}
    missing = [n for n in names if n not in by_name]
    unknown = [c for c in by_name if c not in names]
    if missing or unknown or len(by_name) != len(X.columns):
        raise ValueError(
            "The feature names should match those that were passed during fit: "
            f"`X` must have the columns the model was fit on, {names} (any order); "
            f"missing {missing}, unknown {unknown}, given {[str(c) for c in X.columns]}."
        )
    return X[[by_name[n] for n in names]].to_numpy()

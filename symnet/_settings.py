"""The estimator's settings checked and turned into a :class:`~symnet.search.SearchConfig`:
one owner for what ``SymbolicRegressor`` accepts beyond the search's own checks."""

from __future__ import annotations

import dataclasses
import math
import numbers

import jax
import numpy as np

from symnet._operators import operator_weights, resolve_operators
from symnet.search import DEFAULT_CONFIG, DETERMINISTIC_SIMPLIFY_SECONDS, SearchConfig

__all__ = ["SELECTION_RULES", "output_tolerance", "search_config"]

SELECTION_RULES = ("accuracy", "best", "score")


def search_config(est) -> SearchConfig:
    """The search settings of estimator ``est`` (a :class:`~symnet.SymbolicRegressor`);
    ``ValueError`` naming the parameter for a bad selection setting, ``max_time``,
    ``maxsize`` or ``deterministic`` (the search config checks the rest)."""
    if est.model_selection not in SELECTION_RULES:
        raise ValueError(
            f"`model_selection` must be one of {SELECTION_RULES}, got {est.model_selection!r}."
        )
    tol = est.selection_tolerance
    tols = list(tol) if isinstance(tol, (list, tuple, np.ndarray)) else [tol]
    if tol is not None and not all(
        isinstance(t, (int, float, np.floating)) and 0 <= t < math.inf for t in tols
    ):
        raise ValueError(
            "`selection_tolerance` must be None, a finite number >= 0 or a list of them "
            f"(one per output), got {tol!r}."
        )
    if est.max_time is not None and not (
        isinstance(est.max_time, (int, float)) and est.max_time > 0
    ):
        raise ValueError(f"`max_time` must be None or a positive number, got {est.max_time!r}.")
    size = est.maxsize
    if size is not None and (
        isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1
    ):
        raise ValueError(f"`maxsize` must be None or an integer >= 1, got {size!r}.")
    if getattr(est, "dimensional_constants", False) not in (True, False):
        raise ValueError(
            f"`dimensional_constants` must be True or False, got {est.dimensional_constants!r}."
        )
    if est.deterministic not in (True, False):
        raise ValueError(f"`deterministic` must be True or False, got {est.deterministic!r}.")
    if est.deterministic and est.max_time is not None:
        raise ValueError(
            "`deterministic=True` replaces the clock with a fixed amount of work, so "
            f"`max_time` must be None, got {est.max_time!r} (set `rounds` for more work)."
        )
    if jax.process_count() > 1 and not est.deterministic:
        raise ValueError(
            f"`deterministic` must be True when a fit spans {jax.process_count()} processes "
            "(symnet.init_distributed): with a clock their searches would differ, got "
            f"{est.deterministic!r}."
        )
    train = dataclasses.replace(
        DEFAULT_CONFIG.train,
        steps=est.steps,
        learning_rate=est.learning_rate,
        batch_size=est.batch_size,
    )
    return SearchConfig(
        preset=est.preset if isinstance(est.preset, str) else tuple(est.preset),
        rounds=est.rounds,
        width=est.width,
        n_restarts=est.n_restarts,
        sparsity=tuple(float(s) for s in np.atleast_1d(est.sparsity)),
        train=train,
        max_candidates=est.max_candidates,
        validation_fraction=est.validation_fraction,
        early_stop_condition=est.early_stop_condition,
        oversample_worst=est.oversample_worst,
        views=tuple(est.views) if not isinstance(est.views, str) else (est.views,),
        operators=resolve_operators(est.unary_operators, est.binary_operators),
        complexity_of_operators=operator_weights(est.complexity_of_operators),
        simplify_seconds=(
            DETERMINISTIC_SIMPLIFY_SECONDS
            if est.deterministic
            else DEFAULT_CONFIG.simplify_seconds
        ),
    )


def output_tolerance(tol, k: int, n_outputs: int) -> float | None:
    """Output ``k``'s ``selection_tolerance`` (of ``n_outputs``): ``tol`` itself, or its
    ``k``-th entry when it is a list (``ValueError`` if that list's length is not
    ``n_outputs``)."""
    if not isinstance(tol, (list, tuple, np.ndarray)):
        return tol
    if len(tol) != n_outputs:
        raise ValueError(
            f"`selection_tolerance` must give one tolerance per output ({n_outputs}), "
            f"got {len(tol)}."
        )
    return float(tol[k])

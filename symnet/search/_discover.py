"""From arrays to candidate formulas: the search as a short loop over typed state.

::

    data   = Data.build(X, y, key=key, ...)        validated once; split; probe box
    budget = Budget.until(deadline)                the only owner of the time policy
    state  = SearchState.start(data.key, presets, views, baselines)
                                                   views: Buckingham's first (with units)
    state  = group_library_stage(state, data, ...)       ... of dimensionless groups (units)
    state  = library_stage(state, data, config, budget)   sparse sums of library terms
    state  = rational_stage(state, data, config, budget)  quotients of them (<= 3 inputs)
    state  = product_stage(state, data, config, budget)   sparse products (log|y|)
    while True:
        while (slot := state.next_slot(budget, config)) is not None:
            trained = train_slot(state, slot, data, config)      a population on one view
            state = refit_slot(state, slot, trained, data, ...)  formulas back, refit, scored
            if stop_early(state, config): break
            state = decompose(state, data, config, budget)       parts searched on their own
            state = reduce(state, data, config, budget)          views of a reduced problem
            state = symmetry_fits(state, data, config, budget)   groups' terms, no units
            state = library_stage(state, data, config, budget)   ... and their sparse fits
            state = rational_stage(state, data, config, budget)  ... and quotients
            state = residual_stage(state, data, config, budget)  a small term left out
        candidates = polish_front(consistent(state.candidates), ...)  # with units
        if the budget holds no other slot: return candidates

and the caller picks one with :func:`~symnet.search.pareto_front` and
:func:`~symnet.search.select`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import jax
import numpy as np

from symnet import _compile_cache
from symnet.search._budget import Budget
from symnet.search._config import DEFAULT_CONFIG, SearchConfig
from symnet.search._data import Data
from symnet.search._decompose import decompose
from symnet.search._group_library import group_library_stage, symmetry_fits
from symnet.search._library import library_stage
from symnet.search._polish import polish_front
from symnet.search._population import resolve_restarts
from symnet.search._products import product_stage
from symnet.search._rational import rational_stage
from symnet.search._reduce import reduce
from symnet.search._residual import residual_stage
from symnet.search._select import Candidate
from symnet.search._slot import baselines, refit_slot, stop_early, train_slot, warm_up
from symnet.search._state import SearchState
from symnet.search._units import (
    consistent,
    consistent_front,
    lead,
    unit_baselines,
    unit_groups,
    unit_views,
)
from symnet.search._views import make_views
from symnet.units import Units

__all__ = ["discover", "restarts_for", "search"]


#: Key folded into the search's key for the throw-away populations sizing
#: ``n_restarts="auto"`` on an accelerator.
_AUTO_KEY = 7_777_778


def _silent(stage: str, fraction: float) -> None:
    return None


def search(
    data: Data,
    *,
    config: SearchConfig = DEFAULT_CONFIG,
    budget: Budget | None = None,
    progress: Callable[[str, float], None] | None = None,
    checkpoint_dir: str | None = None,
    depth: int = 0,
) -> list[Candidate]:
    """Searches formulas for validated ``data`` (built with the same ``config``, see
    :func:`discover`) within ``budget``; the PRNG key is ``data.key``. ``depth``: how deep
    this search is nested in decompositions (0: the user's problem)."""
    report = progress or _silent
    budget = Budget.until(None) if budget is None else budget
    if jax.process_count() > 1 and (budget.deadline is not None or checkpoint_dir):
        raise ValueError(
            f"A search over {jax.process_count()} processes runs without a deadline or "
            "checkpoints (each process's clock would decide on its own), got "
            f"deadline={budget.deadline!r}, checkpoint_dir={checkpoint_dir!r}."
        )
    _compile_cache.enable()
    groups = unit_groups(data)  # [] without units
    units = unit_views(data, config, groups)
    views = units + make_views(data.X, data.y, data.symbols, config.views)
    config = restarts_for(config, data, budget)  # n_restarts="auto" sized here
    starts = baselines(data, budget) + unit_baselines(data, budget, groups)
    state = SearchState.start(data.key, config.presets, views, starts, lead=lead(units))
    state = warm_up(state, data, config, budget)
    state = group_library_stage(state, data, config, budget)  # with units
    state = library_stage(state, data, config, budget)
    state = rational_stage(state, data, config, budget)
    state = product_stage(state, data, config, budget)
    while True:  # stage 1, stage 2, and again while the budget holds another slot
        stopped, ran = False, state.n_slots
        while (slot := state.next_slot(budget, config)) is not None:
            trained = train_slot(
                state, slot, data, config, report=report, checkpoint_dir=checkpoint_dir
            )
            state = refit_slot(state, slot, trained, data, config, budget, report)
            if stopped := stop_early(state, config):
                break  # good enough: the remaining slots are skipped
            state = decompose(state, data, config, budget, solve=_solve_part, depth=depth)
            state = reduce(state, data, config, budget)
            state = symmetry_fits(state, data, config, budget)
            state = library_stage(state, data, config, budget)
            state = rational_stage(state, data, config, budget)
            state = residual_stage(state, data, config, budget)
        started = time.monotonic()
        # with units: what could be consistent (none: no finite prefactor on the data)
        pool = consistent(state.candidates, data, lenient=True) or state.candidates
        front = polish_front(pool, data, config, budget, memo=state.polished)
        state.polish_seconds = max(time.monotonic() - started, state.polish_seconds or 0.0)
        if stopped or state.n_slots == ran or not state.can_resume(budget, config):
            front = with_networks(consistent_front(front, state.candidates, data), state)
            return sorted((data.unscale(c) for c in front), key=lambda c: c.complexity)


def with_networks(front: list[Candidate], state) -> list[Candidate]:
    """``front`` with the search's most accurate network (its
    :class:`~symnet._export.MemberNetwork` marked ``own=False``) on the formulas no
    network exported, so ``SymbolicRegressor.plot`` can show a network for every row."""
    nets = [c for c in state.candidates if c.network is not None]
    if not nets:
        return front
    best = min(nets, key=lambda c: c.val_nmse).network
    proxy = dataclasses.replace(best, own=False)
    return [c if c.network is not None else dataclasses.replace(c, network=proxy) for c in front]


def restarts_for(config: SearchConfig, data: Data, budget: Budget) -> SearchConfig:
    """``config`` with ``n_restarts="auto"`` resolved for ``data`` on this machine
    (:func:`~symnet.search._population.resolve_restarts`)."""
    key = jax.random.fold_in(data.key, _AUTO_KEY)
    return resolve_restarts(config, data, key=key, timed=budget.deadline is not None)


def _solve_part(data: Data, config: SearchConfig, budget: Budget, depth: int):
    """One part of a decomposition, searched by the same pipeline."""
    return search(data, config=config, budget=budget, depth=depth)


def discover(
    X: np.ndarray,
    y: np.ndarray,
    *,
    key: jax.Array,
    names: Sequence[str] | None = None,
    config: SearchConfig = DEFAULT_CONFIG,
    sample_weight: np.ndarray | None = None,
    deadline: float | None = None,
    progress: Callable[[str, float], None] | None = None,
    checkpoint_dir: str | None = None,
    units: Units | None = None,
) -> list[Candidate]:
    """Trains populations on ``(X, y)`` and returns refit candidate formulas.

    Args:
      X: inputs, shape (n, d), finite. y: target, shape (n,), finite, not constant.
      key: PRNG key (split, validation, initialisation and minibatches derive from it).
      names: variable names (default ``x0, x1, ...``).
      sample_weight: non-negative weights (n,), used in training, refits and selection.
      deadline: a ``time.monotonic()`` value bounding the search (see
        :class:`~symnet.search.Budget` for how it is shared among the stages).
      progress: called as ``progress(stage, fraction_done)``.
      checkpoint_dir: if given, each slot's training state is saved there (orbax) after
        every chunk, and a saved state is resumed instead of starting over.
    Returns:
      Candidates sorted by complexity, duplicates removed. The constant and the linear
      least-squares fit are always among them.
    """
    budget = Budget.until(deadline)
    data = Data.build(
        X, y, key=key, config=config, names=names, sample_weight=sample_weight, units=units
    )
    return search(
        data,
        config=config,
        budget=budget,
        progress=progress,
        checkpoint_dir=checkpoint_dir,
    )

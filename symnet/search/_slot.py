"""The stages of one slot: ``train_slot`` (a population on a view) and ``refit_slot`` (its
exported formulas, translated back to the user's variables and refit in float64)."""

from __future__ import annotations

import dataclasses
import os
import time

import jax
import numpy as np
import sympy

from symnet._refit import refit
from symnet.search._population import Trained, probe_rate, train_population
from symnet.search._views import view_symbols

__all__ = ["baselines", "refit_slot", "stop_early", "train_slot", "warm_up"]

#: Key folded into the search's key for the throw-away populations of :func:`warm_up`.
_WARM_UP_KEY = 7_777_777

_NOT_FINITE = (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)


def baselines(data, budget) -> list:
    """The weighted mean and the weighted linear least-squares fit, as candidates."""
    X, y, w = data.train
    mean = float(np.average(y, weights=w))
    A = np.column_stack([X, np.ones(len(y))]) * np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)
    terms = zip(coef[:-1], data.symbols, strict=True)
    linear = sympy.Add(*(sympy.Float(c) * s for c, s in terms)) + sympy.Float(coef[-1])
    scored = [data.score(e, -1, budget.elapsed()) for e in (sympy.Float(mean), linear)]
    return [c for c in scored if c is not None]


def warm_up(state, data, config, budget):
    """Before the first slot of a search with a deadline: the first architecture's
    training program compiled (or loaded) and its seconds per step measured on the first
    view, so the budget plans the first slot from a measured rate (other architectures
    compile at their first slot, outside its clock, and are planned from the rates known
    until they have run). Without a deadline nothing is done (nothing is planned); the
    formulas a search finds do not depend on it."""
    if budget.deadline is None or state.rates:
        return state
    key = jax.random.fold_in(state.key, _WARM_UP_KEY)
    rate = probe_rate(state.views[0], data, key=key, config=config, preset=state.presets[0])
    state.rates[0] = rate
    return state


def train_slot(state, slot, data, config, *, report, checkpoint_dir=None) -> Trained:
    """Trains the slot's population (:func:`train_population`) on its view; with
    ``checkpoint_dir``, resumable from ``<dir>/r<round>_<preset>_<view index>_<view>``."""
    view = state.views[slot.view]
    tag = slot.tag(view.name, len(state.presets))
    ckpt = None
    if checkpoint_dir is not None:
        name = f"r{slot.round}_{slot.preset}_{slot.view}_{view.name}"
        ckpt = os.path.join(checkpoint_dir, name)
    return train_population(
        view,
        data,
        keys=slot.keys,
        config=config,
        preset=slot.preset,
        plan=slot.plan,
        report=lambda f: report(f"train ({tag})", f),
        ckpt_dir=ckpt,
    )


def refit_slot(state, slot, trained: Trained, data, config, budget, report):
    """Maps each exported formula back to the user's variables (the view's ``back``),
    refits its constants on the training split and adds the finite ones as candidates
    (members numbered ``slot.index * max_candidates + k``), while the budget leaves room
    for refits; then records the slot's step rate and overhead (compiling not included:
    it is paid once per architecture and data shape)."""
    view = state.views[slot.view]
    tag = slot.tag(view.name, len(state.presets))
    for k, e in enumerate(trained.exprs):
        if not budget.refits_open(state.n_refit, state.reserve(budget)):
            break
        report(f"refit ({tag})", k / max(len(trained.exprs), 1))
        expr = view.back(e)
        if expr.has(*_NOT_FINITE):
            continue
        expr, _ = refit(expr, data.symbols, *data.train)
        state.n_refit += 1
        cand = data.score(expr, slot.index * config.max_candidates + k, budget.elapsed())
        if cand is not None:
            if k < len(trained.networks):  # the network behind it, its inputs labelled
                labels = tuple(view.back(s) for s in view_symbols(view.X.shape[1]))
                net = dataclasses.replace(trained.networks[k], labels=labels, formula=expr)
                cand = dataclasses.replace(cand, network=net)
            state.candidates.append(cand)
    if trained.steps > 0:
        state.rates[slot.arch] = trained.seconds / trained.steps
    state.overheads.append(time.monotonic() - slot.started - trained.seconds - trained.warmup)
    state.n_slots += 1
    return state


def stop_early(state, config) -> bool:
    """PySR's ``early_stop_condition``: a candidate's validation loss is at most it."""
    esc = config.early_stop_condition
    return esc is not None and state.best().val_nmse <= esc

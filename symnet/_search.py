"""From arrays to candidate formulas: train a population, export, refit, round, select.

``discover`` is the functional core the estimator wraps: population training over
restarts x sparsity strengths, export of the most promising members, float64 constant refit
on the training split, rounding, and scoring on a held-out validation split. ``pareto_front``
and ``select`` choose among the candidates with PySR's rules.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import time
from collections.abc import Callable, Sequence

import jax
import numpy as np
import sympy

from symnet._factors import power_factors
from symnet._groups import new_group_set
from symnet._polish import polish
from symnet._population import export_member, structures
from symnet._refit import evaluate, loo_residuals, refit
from symnet._select import Candidate, pareto_front
from symnet._sympy_utils import complexity
from symnet._train import TrainConfig
from symnet._validation import check_names, check_X_y
from symnet._views import check_views, factor_views, group_views, make_views
from symnet.layers._presets import PRESETS

__all__ = ["SearchConfig", "discover", "export_member"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Settings of :func:`discover`.

    Attributes:
      preset: architecture, a key of :data:`symnet.layers.PRESETS`, or a tuple of them:
        every data view is searched with each architecture in turn (a population per
        (architecture, view) slot: all views with the first architecture, then the next).
      width: units per primitive group (presets that take it).
      n_restarts: independent initialisations per sparsity strength.
      sparsity: sparsity strengths; population size = n_restarts * len(sparsity).
      train: population trainer settings.
      max_candidates: members exported and refit (best validation loss first).
      validation_fraction: share of samples held out for selection.
      simplify_seconds: time limit of each sympy simplification.
      chunk_steps: training steps per compiled call between budget checks.
      views: data views trained on, in order (:mod:`symnet._views`): "raw", "log"
        (LIES), "square", "standard"; views that do not apply to the data are skipped.
      max_polish_complexity: larger candidates are refit but not simplified or rounded.
      prune_thresholds: extra magnitude thresholds applied after training; each member at
        each threshold is a candidate structure.
      early_stop_condition: stop searching further views once a candidate's validation
        loss (MSE / var(y)) is at most this (PySR's option of that name); None searches all.
      group_keep_prob: every other member keeps each hidden unit group with this
        probability (DySymNet-style architecture sampling inside one population).
      oversample_worst: after training, the 10% of training points the population fits
        worst get weight ``1 + oversample_worst`` for extra fine-tuning steps (LIES'
        worst-region oversampling); 0 disables it.
      loo_below: with fewer samples than this, train on all of them and score candidates
        by leave-one-out refits instead of a held-out split.
      factor_below: once a candidate's validation loss is at most this, it serves as a
        surrogate: inputs that multiply it as a power are divided out
        (:mod:`symnet._factors`) and the reduced target is searched too; 0 disables it.
      groups: with ``factor_below``, first look for joint scaling symmetries of the
        surrogate and search the target over the dimensionless groups they leave
        (:mod:`symnet._groups`), instead of power factors alone. Experimental, off by
        default: at 60 s on one core it recovered I.6.2 but cost I.10.7 (its slots take
        the budget of the factor views).
      rounds: passes over architectures x views, each with fresh initialisations; None
        repeats passes until the deadline leaves only the time simplification needs (one
        pass when there is no deadline).
    """

    preset: str | tuple[str, ...] = "default"
    width: int = 2
    n_restarts: int = 8
    sparsity: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    train: TrainConfig = TrainConfig()
    max_candidates: int = 16
    validation_fraction: float = 0.25
    simplify_seconds: float = 2.0
    prune_thresholds: tuple[float, ...] = (0.05, 0.1, 0.2)
    chunk_steps: int = 500
    max_polish_complexity: int = 80
    views: tuple[str, ...] = ("raw", "log", "square")
    loo_below: int = 30
    group_keep_prob: float = 1.0
    oversample_worst: float = 0.0
    early_stop_condition: float | None = None
    rounds: int | None = 1
    factor_below: float = 1e-3
    groups: bool = False

    def __post_init__(self):
        presets = self.presets
        if not presets or any(not isinstance(p, str) or p not in PRESETS for p in presets):
            raise ValueError(
                f"`preset` must be one of {sorted(PRESETS)} or a non-empty tuple of them, "
                f"got {self.preset!r}."
            )
        if not (isinstance(self.factor_below, (int, float)) and 0 <= self.factor_below < 1):
            raise ValueError(f"`factor_below` must be in [0, 1), got {self.factor_below!r}.")
        r = self.rounds
        if r is not None and (type(r) is not int or r < 1):
            raise ValueError(f"`rounds` must be None or an integer >= 1, got {r!r}.")
        if self.n_restarts < 1:
            raise ValueError(f"`n_restarts` must be >= 1, got {self.n_restarts!r}.")
        if not self.sparsity or any(s < 0 for s in self.sparsity):
            raise ValueError(f"`sparsity` must be non-empty and >= 0, got {self.sparsity!r}.")
        check_views(self.views)
        osw = self.oversample_worst
        if not (isinstance(osw, (int, float)) and 0 <= osw < math.inf):
            raise ValueError(f"`oversample_worst` must be a finite number >= 0, got {osw!r}.")
        esc = self.early_stop_condition
        if esc is not None and not (isinstance(esc, (int, float)) and 0 <= esc < math.inf):
            raise ValueError(f"`early_stop_condition` must be None or a number >= 0, got {esc!r}.")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                f"`validation_fraction` must be in (0, 1), got {self.validation_fraction!r}."
            )

    @property
    def presets(self) -> tuple[str, ...]:
        """The architectures searched, in order."""
        return (self.preset,) if isinstance(self.preset, str) else tuple(self.preset)

    @property
    def population_size(self) -> int:
        return self.n_restarts * len(self.sparsity)

    def model_fn(self, n_inputs: int, preset: str | None = None):
        """The network constructor of ``preset`` (default: the first architecture)."""
        preset = self.presets[0] if preset is None else preset
        kwargs = {"n_outputs": 1}
        if preset != "lies":
            kwargs["width"] = self.width
        return functools.partial(PRESETS[preset], n_inputs, **kwargs)


def _nmse(expr, symbols, X, y, var) -> float:
    pred = evaluate(expr, symbols, X)
    if not np.all(np.isfinite(pred)):
        return math.inf
    return float(np.mean((pred - y) ** 2) / var)


def _loo_nmse(expr, symbols, X, y, w, var) -> float:
    r = loo_residuals(expr, symbols, X, y, w)
    if not np.all(np.isfinite(r)):
        return math.inf
    return float(np.average(r * r, weights=w) / var)


#: Share of a deadline-bound search's budget kept for simplification and rounding.
STAGE2_SHARE = 0.15
#: The shortest schedule a slot runs (as a fraction of ``train.steps``) when time is short.
MIN_STEP_FRACTION = 1 / 3


def discover(
    X: np.ndarray,
    y: np.ndarray,
    *,
    key: jax.Array,
    names: Sequence[str] | None = None,
    config: SearchConfig = SearchConfig(),
    sample_weight: np.ndarray | None = None,
    deadline: float | None = None,
    progress: Callable[[str, float], None] | None = None,
    checkpoint_dir: str | None = None,
) -> list[Candidate]:
    """Trains a population on ``(X, y)`` and returns refit candidate formulas.

    Args:
      X: inputs, shape (n, d), finite. y: target, shape (n,), finite, not constant.
      key: PRNG key (split, validation, initialisation and minibatches derive from it).
      names: variable names (default ``x0, x1, ...``).
      deadline: a ``time.monotonic()`` value; training stops at the next chunk boundary
        after it and extraction after the current candidate (at least one is refit).
      progress: called as ``progress(stage, fraction_done)``.
      checkpoint_dir: if given, each view's training state is saved there (orbax) after
        every chunk, and a saved state is resumed instead of starting over.
    Returns:
      Candidates sorted by complexity, duplicates removed. The constant and the linear
      least-squares fit are always among them.
    """
    report = progress or (lambda stage, frac: None)
    t_start = time.monotonic()

    def late():
        return deadline is not None and time.monotonic() > deadline

    X, y, w = check_X_y(X, y, sample_weight)
    n, d = X.shape
    names = check_names(names, d)
    symbols = [sympy.Symbol(name, real=True) for name in names]
    w = np.ones(n) if w is None else w

    k_split, k_init, k_train = jax.random.split(key, 3)
    perm = np.asarray(jax.random.permutation(k_split, n))
    loo = n < config.loo_below
    if loo:  # too few samples to hold some out: train on all, validate leave-one-out
        val = tr = np.sort(perm)
    else:
        n_val = max(1, int(round(config.validation_fraction * n)))
        val, tr = perm[:n_val], perm[n_val:]

    views = make_views(X, y, symbols, config.views)
    var_tr, var_val = float(np.var(y[tr])) or 1.0, float(np.var(y[val])) or 1.0

    # Formulas must be finite on the whole box the data span, not just at the samples
    # (a root or log of a fitted expression can cross its domain between them).
    probe = np.random.default_rng(int(jax.random.randint(k_split, (), 0, 2**31 - 1))).uniform(
        X.min(axis=0), X.max(axis=0), (2000, d)
    )

    def scored(expr, i, found_at=None):
        if not np.all(np.isfinite(evaluate(expr, symbols, probe))):
            return None
        return Candidate(
            expr=expr,
            complexity=complexity(expr),
            val_nmse=_loo_nmse(expr, symbols, X, y, w, var_val)
            if loo
            else _nmse(expr, symbols, X[val], y[val], var_val),
            train_nmse=_nmse(expr, symbols, X[tr], y[tr], var_tr),
            member=int(i),
            found_at=time.monotonic() - t_start if found_at is None else found_at,
        )

    # Stage 1, per (round, architecture, view) slot: train, export the shortlisted
    # members, refit them (cheap). Later rounds repeat the pass with fresh keys while the
    # deadline leaves room for a slot plus the simplification stage. Once a formula fits
    # well, inputs that multiply it as a power (symnet._factors) are divided out and the
    # reduced target gets views of its own, searched next.
    raw = [scored(e, -1) for e in _baselines(X[tr], y[tr], w[tr], symbols)]
    presets = config.presets
    n_base = len(views)
    slots = [(p, v) for p in range(len(presets)) for v in range(len(views))]
    rounds = config.rounds if config.rounds is not None else (1 if deadline is None else None)
    budget = None if deadline is None else deadline - t_start
    per_step: dict[int, float] = {}  # architecture -> training seconds per step (last slot)
    overhead: list[float] = []  # seconds of a slot outside training (export, refits)
    queue, r, n_refit, s_idx = list(slots), 0, 0, 0
    factor_sets: list[frozenset] = []  # power factors that already have views
    factor_memo: dict[str, dict] = {}  # surrogate (srepr) -> its power factors
    group_memo: dict[str, object] = {}  # surrogate (srepr) -> its groups (or None)
    group_sets: list[frozenset] = []  # groups that already have views
    while True:
        if not queue:
            r += 1
            if rounds is not None and r >= rounds:
                break
            queue = list(slots)
        p_idx, v_idx = queue.pop(0)
        now = time.monotonic()
        slot_deadline, steps = None, None
        if deadline is not None:
            # Keep STAGE2_SHARE of the budget for simplification and rounding. A first-pass
            # slot may not take the room of the (up to 3) next ones. From the measured step
            # rate, a slot whose full schedule does not fit runs a shorter one (at least
            # MIN_STEP_FRACTION of it; otherwise the search ends here).
            room = max(deadline - now - STAGE2_SHARE * budget, 0.0)
            if s_idx > 0 and room <= 0:
                break
            share = min(len(queue) + 1, 3) if r == 0 else 1
            slot_deadline = now + room / share
            if s_idx > 0 and per_step:
                full = config.train.steps
                rate = per_step.get(p_idx) or float(np.mean(list(per_step.values())))
                extra = float(np.mean(overhead))
                least = max(1, int(MIN_STEP_FRACTION * full))
                fits = int((room / share - extra) / rate)
                if fits < least:
                    if int((room - extra) / rate) < least:
                        break
                    fits = least
                    slot_deadline = now + room
                steps = None if fits >= full else fits
        view, Xv, yv, back = views[v_idx]
        if r == 0 and p_idx == 0 and v_idx < n_base:  # single-pass search's keys
            k_v = (
                (k_init, k_train)
                if v_idx == 0
                else jax.random.split(jax.random.fold_in(key, v_idx))
            )
        else:
            k_v = jax.random.split(jax.random.fold_in(key, 1_000_003 * (r + 1) + s_idx))
        tag = f"{view}" if len(presets) == 1 else f"{presets[p_idx]}, {view}"
        ckpt = None
        if checkpoint_dir is not None:
            ckpt = os.path.join(checkpoint_dir, f"r{r}_{presets[p_idx]}_{v_idx}_{view}")
        exprs, t_train, n_run = structures(
            Xv,
            yv,
            w,
            tr,
            val,
            k_v,
            config,
            presets[p_idx],
            slot_deadline,
            lambda f, tag=tag: report(f"train ({tag})", f),
            ckpt,
            steps,
        )
        for k, e in enumerate(exprs):
            # Refits stop where most of simplification's share of the budget is left.
            late_refit = deadline is not None and (
                time.monotonic() > deadline - 0.7 * STAGE2_SHARE * budget
            )
            if n_refit > 0 and late_refit:
                break
            report(f"refit ({tag})", k / max(len(exprs), 1))
            expr = back(e)
            if expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
                continue
            expr, _ = refit(expr, symbols, X[tr], y[tr], w[tr])
            n_refit += 1
            cand = scored(expr, s_idx * config.max_candidates + k)
            if cand is not None:
                raw.append(cand)
        if n_run > 0:
            per_step[p_idx] = t_train / n_run
        overhead.append(time.monotonic() - now - t_train)
        s_idx += 1
        best = min(raw, key=lambda c: c.val_nmse)
        esc = config.early_stop_condition
        if esc is not None and best.val_nmse <= esc:
            break  # good enough: the remaining slots are skipped
        if config.factor_below > 0 and 1e-12 < best.val_nmse <= config.factor_below and not late():
            # Dimensionless groups (symnet._groups) first if asked for: their prefactor
            # holds the power factors as well; otherwise power factors alone.
            extra = []
            groups = None
            if config.groups:
                groups = new_group_set(
                    raw, symbols, X[tr], config.factor_below, group_sets, group_memo
                )
            if groups is not None:
                group_sets.append(groups.key())
                extra = group_views(X, y, symbols, config.views, groups)
            else:
                factors = _new_factor_set(
                    raw, symbols, X[tr], config.factor_below, factor_sets, factor_memo
                )
                if factors:
                    factor_sets.append(frozenset(factors.items()))
                    extra = factor_views(X, y, symbols, config.views, factors)
            if extra:
                new = list(range(len(views), len(views) + len(extra)))
                views.extend(extra)
                added = [(p, v) for v in new for p in range(len(presets))]
                queue[:0] = added  # next: every architecture on each reduced view
                slots += added
    # Stage 2: simplify and round only what is on the (complexity, loss) front.
    out, seen = [], set()
    for cand in pareto_front(raw):
        if late() or cand.complexity > config.max_polish_complexity or cand.expr.is_number:
            out.append(cand)
            continue
        expr = polish(cand.expr, symbols, X[tr], y[tr], w[tr], config.simplify_seconds, deadline)
        polished = scored(expr, cand.member, cand.found_at)
        if polished is None:
            polished, expr = cand, cand.expr
        # Rounding passed a statistical test on the training data; keep a less rounded form
        # as well only if the polished one is clearly worse on validation (noise moves the
        # validation loss of two near-identical formulas either way by a little). That
        # form is polished with statistical rounding only (``1.0*x`` -> ``x`` and
        # ``1e-16`` -> 0, but ``2.6667`` stays where ``8/3`` was only practically
        # indistinguishable), or left as it was.
        worse = polished.val_nmse > 1.5 * cand.val_nmse + 1e-12
        kept = cand
        if worse and not late():
            strict = polish(
                cand.expr,
                symbols,
                X[tr],
                y[tr],
                w[tr],
                config.simplify_seconds,
                deadline,
                rel_tol=0.0,
            )
            strict = scored(strict, cand.member, cand.found_at)
            if strict is not None and strict.val_nmse <= 1.5 * cand.val_nmse + 1e-12:
                kept = strict
        for c in (polished, kept) if worse else (polished,):
            key_ = sympy.srepr(c.expr)
            if key_ not in seen:
                seen.add(key_)
                out.append(c)
    return sorted(out, key=lambda c: (c.complexity, c.val_nmse))


def _by_loss(c: Candidate) -> float:
    return c.val_nmse


#: Factor sets searched per fit at most (each costs a population per architecture x view).
MAX_FACTOR_SETS = 3


def _new_factor_set(raw, symbols, X, below: float, tried: list[frozenset], memo: dict) -> dict:
    """The largest set of power factors (:func:`symnet._factors.power_factors`) among the
    five most accurate formulas with validation loss <= ``below`` that is not contained in
    a set already tried; ``{}`` if there is none or ``MAX_FACTOR_SETS`` were tried.

    Surrogates are only approximately separable, so different ones reveal different
    factors (one shows ``n``, another ``n``, ``kb`` and ``T``); the largest set leaves the
    simplest reduced target.
    """
    if len(tried) >= MAX_FACTOR_SETS:
        return {}
    good = sorted((c for c in raw if c.val_nmse <= below), key=_by_loss)[:5]
    best: dict = {}
    for c in good:
        key = sympy.srepr(c.expr)
        if key not in memo:
            memo[key] = power_factors(c.expr, symbols, X)
        f = memo[key]
        if len(f) > len(best) and not any(frozenset(f.items()) <= t for t in tried):
            best = f
    return best


def _baselines(X, y, w, symbols) -> list[sympy.Expr]:
    """The weighted mean and the weighted linear least-squares fit."""
    mean = float(np.average(y, weights=w))
    A = np.column_stack([X, np.ones(len(y))]) * np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)
    linear = sympy.Add(*(sympy.Float(c) * s for c, s in zip(coef[:-1], symbols, strict=True)))
    return [sympy.Float(mean), linear + sympy.Float(coef[-1])]

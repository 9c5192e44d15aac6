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
import jax.numpy as jnp
import numpy as np
import sympy
from flax import nnx

from symnet._checkpoint import StateCheckpoints
from symnet._refit import evaluate, loo_residuals, refit, round_constants
from symnet._sympy_utils import bounded_simplify, complexity
from symnet._train import PopulationTrainer, TrainConfig, init_population
from symnet._validation import check_names, check_X_y
from symnet._views import check_views, make_views, view_symbols
from symnet.layers._presets import PRESETS
from symnet.pruning._masks import count_active, magnitude_masks

__all__ = ["SearchConfig", "Candidate", "discover", "pareto_front", "select", "export_member"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Settings of :func:`discover`.

    Attributes:
      preset: architecture, a key of :data:`symnet.layers.PRESETS`.
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
    """

    preset: str = "default"
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

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"`preset` must be one of {sorted(PRESETS)}, got {self.preset!r}.")
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
    def population_size(self) -> int:
        return self.n_restarts * len(self.sparsity)

    def model_fn(self, n_inputs: int):
        preset = PRESETS[self.preset]
        kwargs = {"n_outputs": 1}
        if self.preset != "lies":
            kwargs["width"] = self.width
        return functools.partial(preset, n_inputs, **kwargs)


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A refit formula and its scores (normalised MSE = MSE / var(y))."""

    expr: sympy.Expr
    complexity: int
    val_nmse: float
    train_nmse: float
    member: int


def export_member(graphdef, params, masks, i: int, symbols) -> sympy.Expr:
    """Member ``i`` of a population as a sympy expression, dead units removed."""
    p = jax.tree.map(lambda a: a[i], params)
    m = jax.tree.map(lambda a: a[i], masks)
    net = nnx.merge(graphdef, p, m)
    net.drop_dead_units()
    return net.to_sympy(symbols)[0]


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


def _polish(expr, symbols, X, y, w, seconds, deadline=None, rounds: int = 3):
    """Canonicalise, refit, round; repeated until the formula stops changing.

    Rounding one of two redundant constants (``a * (b * x)``) changes nothing, so each
    round first merges constants (``expand_mul`` + bounded ``simplify``) and refits. Stops
    early at ``deadline`` (a ``time.monotonic()`` value), keeping the last complete form.
    """
    for _ in range(rounds):
        left = math.inf if deadline is None else deadline - time.monotonic()
        if left <= 0:
            break
        before = expr
        trial = bounded_simplify(sympy.expand_mul(expr), min(seconds, left))
        trial, _ = refit(trial, symbols, X, y, w)
        expr = round_constants(trial, symbols, X, y, w, deadline=deadline)
        if expr == before:
            break
    return expr


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

    def scored(expr, i):
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
        )

    # Stage 1, per view: train, export the shortlisted members, refit them (cheap).
    raw = [scored(e, -1) for e in _baselines(X[tr], y[tr], w[tr], symbols)]
    n_refit = 0
    for v_idx, (view, Xv, yv, back) in enumerate(views):
        if v_idx > 0 and late():
            break  # out of time: the views already trained are all we refit
        left = None if deadline is None else deadline - time.monotonic()
        view_deadline = (
            None if left is None else time.monotonic() + 0.5 * left / (len(views) - v_idx)
        )
        k_v = (k_init, k_train) if v_idx == 0 else jax.random.split(jax.random.fold_in(key, v_idx))
        exprs = _structures(
            Xv,
            yv,
            w,
            tr,
            val,
            k_v,
            config,
            view_deadline,
            lambda f, view=view: report(f"train ({view})", f),
            None if checkpoint_dir is None else os.path.join(checkpoint_dir, f"view_{view}"),
        )
        for k, e in enumerate(exprs):
            if n_refit > 0 and late():
                break
            report(f"refit ({view})", k / max(len(exprs), 1))
            expr = back(e)
            if expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
                continue
            expr, _ = refit(expr, symbols, X[tr], y[tr], w[tr])
            n_refit += 1
            cand = scored(expr, v_idx * config.max_candidates + k)
            if cand is not None:
                raw.append(cand)
        best = min(c.val_nmse for c in raw)
        if config.early_stop_condition is not None and best <= config.early_stop_condition:
            break  # good enough: the remaining views are skipped
    # Stage 2: simplify and round only what is on the (complexity, loss) front.
    out, seen = [], set()
    for cand in pareto_front(raw):
        if late() or cand.complexity > config.max_polish_complexity or cand.expr.is_number:
            out.append(cand)
            continue
        expr = _polish(cand.expr, symbols, X[tr], y[tr], w[tr], config.simplify_seconds, deadline)
        polished = scored(expr, cand.member)
        if polished is None:
            polished, expr = cand, cand.expr
        # Rounding passed a statistical test on the training data; keep the unpolished form
        # as well only if the polished one is clearly worse on validation (noise moves the
        # validation loss of two near-identical formulas either way by a little).
        worse = polished.val_nmse > 1.5 * cand.val_nmse + 1e-12
        for c in (polished, cand) if worse else (polished,):
            key_ = sympy.srepr(c.expr)
            if key_ not in seen:
                seen.add(key_)
                out.append(c)
    return sorted(out, key=lambda c: (c.complexity, c.val_nmse))


def _structures(X, y, w, tr, val, keys, config, deadline, report, ckpt_dir=None):
    """Trains a population on one data view; returns shortlisted member formulas
    over :func:`symnet._views.view_symbols`, in the view's target units. With
    ``ckpt_dir``, training state is saved after every chunk and resumed from there."""
    k_init, k_train = keys
    d = X.shape[1]
    mu, sd = float(np.mean(y[tr])), float(np.std(y[tr]))
    sd = sd if sd > 0 else 1.0
    ys = ((y - mu) / sd)[:, None]
    size = config.population_size
    # Half the members keep their full architecture, half sample sub-architectures.
    keep = np.where(np.arange(size) % 2 == 0, 1.0, config.group_keep_prob)
    graphdef, params, masks = init_population(
        config.model_fn(d), k_init, size, group_keep_prob=keep
    )
    trainer = PopulationTrainer(graphdef, config.train)
    lam = np.repeat(np.asarray(config.sparsity, np.float32), config.n_restarts)
    state = trainer.init(params, masks, lam, k_train)
    schedule, total = config.train.schedule(), config.train.steps
    ckpt = None if ckpt_dir is None else StateCheckpoints(ckpt_dir)
    if ckpt is not None:
        state = ckpt.restore(state) or state
    done = min(int(state.step), total)
    while done < total and not (deadline is not None and time.monotonic() > deadline):
        n_steps = min(config.chunk_steps, total - done)  # same compiled program per chunk
        state = trainer.run(state, X[tr], ys[tr], schedule, n_steps, w[tr])
        done += n_steps
        if ckpt is not None:
            ckpt.save(state)
        report(done / total)
    resumed_past_end = int(state.step) > total  # oversampling already ran before a kill
    late = deadline is not None and time.monotonic() > deadline
    if config.oversample_worst > 0 and not late and not resumed_past_end:
        # LIES' worst-region oversampling, as sample weights (same compiled program): the
        # points the population fits worst weigh 1 + oversample_worst in extra fine-tuning.
        pred = np.asarray(trainer.predict(state, X[tr]))[..., 0]
        r2 = (pred - ys[tr, 0]) ** 2
        r2 = np.where(np.isfinite(r2), r2, np.nan) / np.nanmean(r2, axis=1, keepdims=True)
        score = np.nan_to_num(np.nanmean(r2, axis=0), nan=0.0)
        worst = score >= np.quantile(score, 0.9)
        w_os = w[tr] * (1.0 + config.oversample_worst * worst)
        extra = max(1, total // 4)
        state = trainer.run(state, X[tr], ys[tr], schedule, min(extra, config.chunk_steps), w_os)
        if ckpt is not None:
            ckpt.save(state)
    state = trainer.finalize(state)

    # Every member at every extra pruning threshold is a variant; the float64 refit of the
    # exported formula does the retraining, so variants cost only a forward pass here.
    variants, losses, actives = [], [], []
    for t in (0.0, *config.prune_thresholds):
        masks_t, active = _prune_population(state.params, state.masks, jnp.float32(t))
        st = state._replace(masks=masks_t)
        pred = np.asarray(trainer.predict(st, X[val]))[..., 0]
        loss = np.mean((pred - ys[val, 0]) ** 2, axis=1)
        losses.append(np.where(np.isfinite(loss), loss, np.inf))
        actives.append(np.asarray(active))
        variants.append(masks_t)
    late = deadline is not None and time.monotonic() > deadline
    k = 2 if late else config.max_candidates  # past the budget: export the best few only
    order = _shortlist(np.concatenate(losses), np.concatenate(actives), k)
    symbols = view_symbols(d)
    out = []
    for v in order:
        t_idx, i = divmod(int(v), size)
        out.append(sd * export_member(graphdef, state.params, variants[t_idx], i, symbols) + mu)
    return out


@jax.jit
def _prune_population(params, masks, threshold):
    """Magnitude-pruned masks of every member and each member's count of live weights."""
    masks_t = jax.vmap(magnitude_masks, in_axes=(0, 0, None))(params, masks, threshold)
    return masks_t, count_active(params, masks_t, axis0=True)


def _baselines(X, y, w, symbols) -> list[sympy.Expr]:
    """The weighted mean and the weighted linear least-squares fit."""
    mean = float(np.average(y, weights=w))
    A = np.column_stack([X, np.ones(len(y))]) * np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)
    linear = sympy.Add(*(sympy.Float(c) * s for c, s in zip(coef[:-1], symbols, strict=True)))
    return [sympy.Float(mean), linear + sympy.Float(coef[-1])]


def _shortlist(loss: np.ndarray, active: np.ndarray, k: int) -> list[int]:
    """Members on the (active weights, loss) Pareto front, then the best by loss, up to k."""
    finite = [i for i in np.argsort(loss) if np.isfinite(loss[i])]
    front, best = [], math.inf
    for i in sorted(finite, key=lambda i: (active[i], loss[i])):
        if loss[i] < best:
            front.append(int(i))
            best = loss[i]
    rest = [int(i) for i in finite if i not in front]
    return (front + rest)[:k]


def pareto_front(cands: Sequence[Candidate]) -> list[Candidate]:
    """Candidates no other candidate beats in both complexity and validation loss."""
    front, best = [], math.inf
    for c in sorted(cands, key=lambda c: (c.complexity, c.val_nmse)):
        if c.val_nmse < best:
            front.append(c)
            best = c.val_nmse
    return front


#: Normalised losses below this are float64 round-off: treated as equal in scores.
NMSE_FLOOR = 1e-30


def front_scores(front: Sequence[Candidate]) -> np.ndarray:
    """PySR's score of each front entry: ``-dlog(loss)/dcomplexity`` against the previous
    (simpler) entry; 0 for the first."""
    losses = np.array([max(c.val_nmse, NMSE_FLOOR) for c in front])
    scores = np.zeros(len(front))
    for i in range(1, len(front)):
        dc = front[i].complexity - front[i - 1].complexity
        scores[i] = -(np.log(losses[i]) - np.log(losses[i - 1])) / max(dc, 1)
    return scores


def select(front: Sequence[Candidate], rule: str = "best") -> int:
    """Index into ``front`` chosen by PySR's ``model_selection`` rules.

    ``"accuracy"``: lowest loss. ``"score"``: largest ``-dlog(loss)/dcomplexity`` against
    the next simpler entry. ``"best"``: highest score among entries with loss <= 1.5 x the
    minimum.
    """
    if not front:
        raise ValueError("`front` is empty: no candidate formula to select.")
    losses = np.array([max(c.val_nmse, NMSE_FLOOR) for c in front])
    if rule == "accuracy":
        return int(np.argmin(losses))
    scores = front_scores(front)
    if rule == "score":
        return int(np.argmax(scores))
    if rule == "best":
        ok = losses <= 1.5 * losses.min()
        return int(np.argmax(np.where(ok, scores, -np.inf)))
    raise ValueError(f"`model_selection` must be 'accuracy', 'best' or 'score', got {rule!r}.")

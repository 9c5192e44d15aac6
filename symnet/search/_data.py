"""The data of one search, validated once: arrays, names, weights, split and probe box."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

import jax
import numpy as np
import sympy

from symnet._refit import evaluate, loo_residuals
from symnet._sympy_utils import complexity
from symnet._validation import check_names, check_X_y
from symnet.search._config import DEFAULT_CONFIG, SearchConfig
from symnet.search._domain import domain_probe, fills_box
from symnet.search._scale import Scaling
from symnet.search._select import Candidate
from symnet.units import Basis, Units, buckingham

__all__ = ["Data", "PROBE_POINTS", "WIDEN", "widened_box", "within_groups"]

#: Points drawn uniformly from the data's box on which a formula must be finite.
PROBE_POINTS = 2000
#: The widened box: each range grows by this fraction of its width, away from 0 (upwards
#: for positive inputs, downwards for negative ones, half each way for inputs of both
#: signs), as the benchmarks' extrapolation box.
WIDEN = 0.5
#: With units, wide points are drawn this many times over and those whose groups leave
#: the groups' widened box dropped (:func:`within_groups`).
GROUP_DRAWS = 8


def widened_box(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box ``[lo, hi]`` widened by ``WIDEN`` of each range, away from 0."""
    w = WIDEN * (hi - lo)
    up = np.where(lo >= 0, w, np.where(hi <= 0, 0.0, w / 2))
    down = np.where(hi <= 0, w, np.where(lo >= 0, 0.0, w / 2))
    return lo - down, hi + up


def _group_values(X: np.ndarray, groups) -> np.ndarray:
    with np.errstate(all="ignore"):
        cols = [np.prod([X[:, i] ** float(a) for i, a in g.items()], axis=0) for g in groups]
    return np.column_stack([np.broadcast_to(c, (len(X),)) for c in cols])


def within_groups(X: np.ndarray, points: np.ndarray, groups) -> np.ndarray:
    """The rows of ``points`` whose dimensionless ``groups`` (exponent maps, as in
    :class:`symnet.units.Basis`) lie in the box the groups span on ``X``, widened as
    :func:`widened_box` widens the inputs' box. A law of dimensionless groups is defined
    by their ranges: ``1/sqrt(1 - v**2/c**2)`` on ``v/c <= 2/3`` is finite on ``v/c``'s
    widened range but not on the inputs' widened box (``v`` up, ``c`` not down, past
    ``v = c``). All of ``points`` when the groups are not finite on ``X``."""
    G = _group_values(X, groups)
    if not np.all(np.isfinite(G)):
        return points
    lo, hi = widened_box(G.min(axis=0), G.max(axis=0))
    Gp = _group_values(points, groups)
    with np.errstate(invalid="ignore"):
        keep = np.all(np.isfinite(Gp) & (Gp >= lo) & (Gp <= hi), axis=1)
    return points[keep]


def _wide_points(X, lo, hi, rng, basis) -> np.ndarray:
    """``PROBE_POINTS`` points of the widened box; with units (groups in ``basis``), of
    the part where the groups stay in their widened box (:func:`within_groups`), drawn
    ``GROUP_DRAWS`` times over from a stream of their own (resampled to
    ``PROBE_POINTS``; the unfiltered points when too few are left)."""
    wide = rng.uniform(*widened_box(lo, hi), (PROBE_POINTS, X.shape[1]))
    if basis is None or not basis.groups:
        return wide
    extra = np.random.default_rng(rng.integers(2**63)).uniform(
        *widened_box(lo, hi), (GROUP_DRAWS * PROBE_POINTS, X.shape[1])
    )
    kept = within_groups(X, extra, basis.groups)
    if len(kept) < PROBE_POINTS // 10:
        return wide
    return kept[np.arange(PROBE_POINTS) % len(kept)]


@dataclasses.dataclass(frozen=True, eq=False)
class Data:
    """``(X, y)`` with weights ``w``, variable names, the train/validation split and the
    probe box, built once per search by :meth:`build`.

    Attributes:
      X: inputs (n, d), float64, finite, and y: target (n,), not constant, both as the
        search sees them: divided by the powers of two of ``scaling`` (none for data of
        ordinary magnitude, :mod:`symnet.search._scale`). w: weights (n,).
      scaling: how ``X`` and ``y`` were scaled; :meth:`unscale` maps formulas back.
      var_y: variance of ``y`` in the user's units (for losses reported in them).
      weights: per-operator complexities (``config.complexity_of_operators``).
      names, symbols: variable names and their real sympy symbols.
      tr, val: row indices of the training and validation splits; with ``loo`` (fewer
        samples than ``loo_below``) both hold every row and candidates are scored by
        leave-one-out refits.
      probe: points drawn uniformly from the box the data span: formulas must be finite
        on the whole box, not only at the samples (a root or log of a fitted expression
        can cross its domain between them).
      wide: points drawn uniformly from the box widened by half (:func:`widened_box`): a
        formula not finite there is not ``stable`` (selection avoids it). With units,
        only points where the dimensionless groups stay in their own widened box
        (:func:`within_groups`).
      domain: where the data do not fill their box (inputs sampled under a constraint,
        :func:`symnet.search._domain.fills_box`), points between neighbouring samples
        (:func:`~symnet.search._domain.domain_probe`): a formula finite there is kept
        even if it is not on the whole box (the law may not be defined there); None for
        data that fill their box.
      var_tr, var_val: weighted variances of ``y`` on each split (1 where 0), the losses'
        unit.
      key: the search's PRNG key; the split and the probe points derive from the first of
        ``jax.random.split(key, 3)``, the first population from the other two.
      units: the inputs' and target's dimensions (:class:`symnet.units.Units`), or None;
        with them the search adds Buckingham views and keeps consistent formulas only
        (:mod:`symnet.search._units`). basis: their Buckingham groups and prefactors
        (:func:`symnet.units.buckingham`).
    """

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    names: tuple[str, ...]
    symbols: tuple[sympy.Symbol, ...]
    tr: np.ndarray
    val: np.ndarray
    loo: bool
    probe: np.ndarray
    wide: np.ndarray
    var_tr: float
    var_val: float
    key: jax.Array
    scaling: Scaling = Scaling((), 0)
    var_y: float = 1.0
    weights: tuple[tuple[str, float], ...] = ()
    units: Units | None = None
    basis: Basis | None = None
    domain: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        X,
        y,
        *,
        key: jax.Array,
        config: SearchConfig = DEFAULT_CONFIG,
        names: Sequence[str] | None = None,
        sample_weight=None,
        units: Units | None = None,
    ) -> Data:
        """Validates ``(X, y, sample_weight, names, units)`` and splits the rows with
        ``key`` (``config.validation_fraction`` held out; leave-one-out below
        ``config.loo_below`` rows). ``ValueError`` if the variance of ``y`` is beyond
        float64's range (its losses could not be reported), or if ``units`` do not match
        the inputs or cannot give the target's dimension."""
        X, y, w = check_X_y(X, y, sample_weight)
        with np.errstate(over="ignore", under="ignore"):
            var_y = float(np.var(y))
        if not 0 < var_y < math.inf:
            raise ValueError(
                f"`y` varies on a scale whose square float64 cannot hold (variance {var_y!r}, "
                f"largest |y| {float(np.max(np.abs(y))):.3g}), so losses in y's units would "
                "read 0 or inf; multiply y by a power of ten first."
            )
        scaling = Scaling.of(X, y)
        X, y = scaling.apply(X, y)
        n, d = X.shape
        names = tuple(check_names(names, d))
        basis = None
        if units is not None:
            if len(units.inputs) != d:
                raise ValueError(
                    f"`units` must give one dimension per input ({d}), got {len(units.inputs)}."
                )
            basis = buckingham(units.inputs, units.target)  # ValueError: no way to the target
        w = np.ones(n) if w is None else w
        k_split = jax.random.split(key, 3)[0]
        perm = np.asarray(jax.random.permutation(k_split, n))
        loo = n < config.loo_below
        if loo:  # too few samples to hold some out: train on all, validate leave-one-out
            val = tr = np.sort(perm)
        else:
            n_val = max(1, int(round(config.validation_fraction * n)))
            val, tr = perm[:n_val], perm[n_val:]
        seed = int(jax.random.randint(k_split, (), 0, 2**31 - 1))
        rng = np.random.default_rng(seed)
        lo, hi = X.min(axis=0), X.max(axis=0)
        probe = rng.uniform(lo, hi, (PROBE_POINTS, d))
        wide = _wide_points(X, lo, hi, rng, basis)
        domain = None if fills_box(X) else domain_probe(X, rng, PROBE_POINTS)
        return cls(
            X=X,
            y=y,
            w=w,
            names=names,
            symbols=tuple(sympy.Symbol(name, real=True) for name in names),
            tr=tr,
            val=val,
            loo=loo,
            probe=probe,
            wide=wide,
            var_tr=_weighted_var(y[tr], w[tr]) or 1.0,
            var_val=_weighted_var(y[val], w[val]) or 1.0,
            key=key,
            scaling=scaling,
            var_y=var_y,
            weights=config.complexity_of_operators,
            units=units,
            basis=basis,
            domain=domain,
        )

    @functools.cached_property
    def train(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, y, w)`` of the training split: what refits and polishing fit."""
        return self.X[self.tr], self.y[self.tr], self.w[self.tr]

    @functools.cached_property
    def validation(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, y, w)`` of the validation split."""
        return self.X[self.val], self.y[self.val], self.w[self.val]

    def derived(
        self, X, target, names, *, key: jax.Array, config: SearchConfig, units=None
    ) -> Data | None:
        """The data of a sub-problem: inputs ``X`` (one row per row of these data, named
        ``names``) with ``target``, the same weights, split anew with ``key``, and
        ``units`` (dropped when the target's dimension cannot be reached from them);
        None when they cannot be searched (not finite, constant target)."""
        for u in dict.fromkeys((units, None)):
            try:
                return Data.build(
                    X, target, key=key, config=config, names=names, sample_weight=self.w, units=u
                )
            except ValueError:
                continue
        return None

    def unscale(self, cand: Candidate) -> Candidate:
        """``cand`` with its formula over the user's data (``X``, ``y`` unscaled); losses,
        being normalised, are unchanged."""
        if self.scaling.identity:
            return cand
        expr = self.scaling.back(cand.expr, self.symbols)
        net = cand.network
        if net is not None:  # its inputs' labels over the unscaled variables
            labels = tuple(self.scaling.back_inputs(e, self.symbols) for e in net.labels)
            formula = self.scaling.back(net.formula, self.symbols)
            net = dataclasses.replace(net, labels=labels, formula=formula)
        return dataclasses.replace(
            cand, expr=expr, complexity=complexity(expr, self.weights), network=net
        )

    def score(self, expr: sympy.Expr, member: int, found_at: float) -> Candidate | None:
        """``expr`` as a :class:`Candidate` with its normalised losses on each split (the
        weighted MSE over the weighted variance of ``y``), or None when it is not finite
        on the probe box (nor, for data that do not fill their box, on ``domain``)."""
        with np.errstate(all="ignore"):
            values = evaluate(expr, self.symbols, np.concatenate([self.probe, self.wide]))
            values = np.broadcast_to(values, (2 * PROBE_POINTS,))
            if not np.all(np.isfinite(values[:PROBE_POINTS])) and not (
                self.domain is not None
                and np.all(np.isfinite(evaluate(expr, self.symbols, self.domain)))
            ):
                return None
        if self.loo:
            val_nmse = _loo_nmse(expr, self.symbols, self.X, self.y, self.w, self.var_val)
        else:
            val_nmse = _nmse(expr, self.symbols, *self.validation, self.var_val)
        return Candidate(
            expr=expr,
            complexity=complexity(expr, self.weights),
            val_nmse=val_nmse,
            train_nmse=_nmse(expr, self.symbols, *self.train, self.var_tr),
            member=int(member),
            found_at=found_at,
            stable=bool(np.all(np.isfinite(values[PROBE_POINTS:]))),
        )


def _usable(w: np.ndarray) -> np.ndarray:
    """``w``, or equal weights for a split of zero-weight rows only."""
    return w if np.sum(w) > 0 else np.ones_like(w)


def _weighted_var(y: np.ndarray, w: np.ndarray) -> float:
    w = _usable(w)
    return float(np.average((y - np.average(y, weights=w)) ** 2, weights=w))


def _nmse(expr, symbols, X, y, w, var) -> float:
    pred = evaluate(expr, symbols, X)
    if not np.all(np.isfinite(pred)):
        return math.inf
    return float(np.average((pred - y) ** 2, weights=_usable(w)) / var)


def _loo_nmse(expr, symbols, X, y, w, var) -> float:
    r = loo_residuals(expr, symbols, X, y, w)
    if not np.all(np.isfinite(r)):
        return math.inf
    return float(np.average(r * r, weights=w) / var)

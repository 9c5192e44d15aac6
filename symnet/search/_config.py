"""Settings of a search: one frozen record, validated when built."""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers

from symnet._operators import OPERATOR_PRESETS
from symnet._primitives import resolve_primitives
from symnet._train import TrainConfig
from symnet.layers import PRESETS
from symnet.search._views import check_views

__all__ = ["DEFAULT_CONFIG", "DETERMINISTIC_SIMPLIFY_SECONDS", "SearchConfig"]

#: ``simplify_seconds`` of a deterministic fit: a safety limit that simplifications of
#: formulas up to ``max_polish_complexity`` nodes normally stay far below.
DETERMINISTIC_SIMPLIFY_SECONDS = 30.0


#: Restarts per sparsity strength by default, and where ``n_restarts="auto"`` starts.
DEFAULT_RESTARTS = 8


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Settings of a search (:func:`symnet.search.discover`); the one set of defaults.

    :class:`symnet.SymbolicRegressor`'s keyword defaults are read from these fields, so the
    estimator, ``discover`` and the CLI run the same search unless told otherwise.

    Attributes:
      preset: architecture, a key of :data:`symnet.layers.PRESETS`, or a tuple of them:
        every data view is searched with each architecture in turn (a population per
        (architecture, view) slot: all views with the first architecture, then the next).
      width: units per primitive group (presets that take it).
      n_restarts: independent initialisations per sparsity strength, or ``"auto"``: sized
        from the hardware when the search starts (:func:`symnet._devices.auto_restarts`:
        a multiple of the device count; on accelerators, doubled while the device has
        room; without a deadline, or on CPUs, not probed).
      sparsity: sparsity strengths; population size = n_restarts * len(sparsity).
      train: population trainer settings.
      max_candidates: members exported and refit per slot: the (active weights,
        validation loss) Pareto front of the members first, then the best by loss.
      validation_fraction: share of samples held out for selection.
      simplify_seconds: time limit of each sympy simplification.
      chunk_steps: training steps per compiled call between budget checks.
      views: data views trained on, in order (:mod:`symnet.search._views`): "raw", "log"
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
        (:mod:`symnet.search._factors`) and the reduced target is searched too; 0 disables it.
      groups: with ``factor_below``, first look for joint scaling symmetries of the
        surrogate and search the target over the dimensionless groups they leave
        (:mod:`symnet.search._groups`), instead of power factors alone. Experimental, off by
        default: at 60 s on one core it recovered I.6.2 but cost I.10.7 (its slots take
        the budget of the factor views).
      decompose: with ``factor_below``, also divide and conquer: the best surrogates'
        separability (inputs that do not matter, sums and products of functions of fewer
        inputs, :mod:`symnet.search._separate`) splits the problem into parts, each searched
        by the same pipeline with a share of the budget and recombined
        (:mod:`symnet.search._decompose`).
      library: fit sparse sums of generated terms (powers of inputs, products of two) to
        every view by sparse regression (:mod:`symnet.search._library`).
      operators: registry names of the hidden units of the ``default``, ``deep`` and
        ``rational`` architectures (:func:`symnet._operators.resolve_operators`); None: the
        architecture's own.
      complexity_of_operators: ``(operator, weight)`` pairs: a node of that operator
        counts ``weight`` in a formula's complexity instead of 1 (PySR's option; names as
        :func:`symnet._sympy_utils.operator_name`).
      rounds: passes over architectures x views, each with fresh initialisations; None
        repeats passes until the deadline leaves only the time simplification needs (one
        pass when there is no deadline).
    """

    preset: str | tuple[str, ...] = ("default", "rational")
    width: int = 2
    n_restarts: int | str = DEFAULT_RESTARTS
    sparsity: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    train: TrainConfig = TrainConfig(batch_size=256)
    max_candidates: int = 10
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
    rounds: int | None = None
    factor_below: float = 1e-3
    groups: bool = False
    decompose: bool = True
    library: bool = True
    operators: tuple[str, ...] | None = None
    complexity_of_operators: tuple[tuple[str, float], ...] = ()

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
        n = self.n_restarts
        if n != "auto" and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1):
            raise ValueError(f"`n_restarts` must be an integer >= 1 or 'auto', got {n!r}.")
        if not self.sparsity or any(s < 0 for s in self.sparsity):
            raise ValueError(f"`sparsity` must be non-empty and >= 0, got {self.sparsity!r}.")
        check_views(self.views)
        if self.operators is not None:
            resolve_primitives(self.operators)
            fixed = [p for p in presets if p not in OPERATOR_PRESETS]
            if fixed:
                raise ValueError(
                    f"`preset` {fixed} has a fixed unit set; operators choose the units of "
                    f"{list(OPERATOR_PRESETS)} only."
                )
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
        if self.n_restarts == "auto":
            raise ValueError("`n_restarts='auto'` is resolved when a search starts.")
        return self.n_restarts * len(self.sparsity)

    def model_fn(self, n_inputs: int, preset: str | None = None):
        """The network constructor of ``preset`` (default: the first architecture)."""
        preset = self.presets[0] if preset is None else preset
        kwargs = {"n_outputs": 1}
        if preset != "lies":
            kwargs["width"] = self.width
        if self.operators is not None:
            kwargs["units"] = self.operators
        return functools.partial(PRESETS[preset], n_inputs, **kwargs)


#: The default settings (what ``SymbolicRegressor()`` searches with).
DEFAULT_CONFIG = SearchConfig()

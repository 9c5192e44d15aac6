"""The state a search carries from slot to slot."""

from __future__ import annotations

import dataclasses
import time
from typing import NamedTuple

import jax
import numpy as np

from symnet.search._budget import Budget, SlotPlan
from symnet.search._select import Candidate
from symnet.search._views import View

__all__ = ["SearchState", "Slot"]

#: Key offset of slots after the first pass (``fold_in(key, KEY_STRIDE * (round + 1) + i)``).
KEY_STRIDE = 1_000_003


class Slot(NamedTuple):
    """One population to train: architecture ``preset`` (index ``arch``) on view number
    ``view`` of the state, in pass ``round``, the ``index``-th slot of the search, with its
    PRNG ``keys`` (initialisation, training), its time ``plan`` and the ``time.monotonic()``
    it was planned at (``started``)."""

    arch: int
    preset: str
    view: int
    round: int
    index: int
    keys: tuple[jax.Array, jax.Array]
    plan: SlotPlan
    started: float

    def tag(self, view_name: str, n_presets: int) -> str:
        """How progress reports name the slot: ``"raw"`` or ``"rational, raw"``."""
        return view_name if n_presets == 1 else f"{self.preset}, {view_name}"


@dataclasses.dataclass
class SearchState:
    """What a search knows between slots. Stages update it in place and return it, so the
    search reads as a pipeline (``state = stage(state, ...)``).

    Attributes:
      key: the search's PRNG key. presets: architectures searched.
      views: data views, the ``n_base`` base ones first, then those reductions added.
      slots: the (architecture, view) pairs of one pass. queue: those left in this pass.
      round: the pass (0: the first). n_slots: slots run so far. n_refit: formulas refit.
      candidates: every refit candidate so far (baselines first).
      rates: measured seconds per training step, per architecture (last slot).
      overheads: seconds each slot spent outside training (export, refits).
      tried, memo: per reduction kind, the reductions searched and the analysis cache.
      polish_seconds: the longest a polish took (None: none yet).
      polished: polished forms by candidate (:func:`~symnet.search.polish_front`'s memo).
    """

    key: jax.Array
    presets: tuple[str, ...]
    views: list[View]
    slots: list[tuple[int, int]]
    queue: list[tuple[int, int]]
    n_base: int
    candidates: list[Candidate]
    round: int = 0
    n_slots: int = 0
    n_refit: int = 0
    rates: dict[int, float] = dataclasses.field(default_factory=dict)
    overheads: list[float] = dataclasses.field(default_factory=list)
    tried: dict[str, list] = dataclasses.field(default_factory=dict)
    memo: dict[str, dict] = dataclasses.field(default_factory=dict)
    polish_seconds: float | None = None
    polished: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def start(cls, key, presets, views, candidates, lead: int = 0) -> SearchState:
        """A search before its first slot: every architecture on each view, in the
        order every architecture on each of the first ``lead`` views (those of a problem
        known to be smaller: units), then all other views with the first architecture,
        then the next."""
        P = range(len(presets))
        slots = [(p, v) for v in range(lead) for p in P]
        slots += [(p, v) for p in P for v in range(lead, len(views))]
        return cls(key, tuple(presets), list(views), slots, list(slots), len(views), candidates)

    def best(self) -> Candidate:
        """The candidate with the lowest validation loss."""
        return min(self.candidates, key=lambda c: c.val_nmse)

    def reserve(self, budget: Budget) -> float:
        """Seconds the budget keeps for polishing, given the polishes so far."""
        return budget.reserve(self.polish_seconds)

    def can_resume(self, budget: Budget, config) -> bool:
        """Whether, after a polish, the budget still holds a slot (stage 1 resumes)."""
        return self.next_slot(budget, config, peek=True) is not None

    def next_slot(self, budget: Budget, config, peek: bool = False) -> Slot | None:
        """Pops the next slot with the budget's plan for it; None when the search's passes
        (``config.rounds``; None: until the budget ends, one pass without a deadline) are
        done or the budget leaves no room (the slot then stays queued). With ``peek``,
        the slot stays queued in any case."""
        rounds = config.rounds
        if rounds is None and budget.deadline is None:
            rounds = 1
        first_pass = self.round == 0 and bool(self.queue)
        if not self.queue and rounds is not None and self.round + 1 >= rounds:
            return None
        p, v = self.queue[0] if self.queue else self.slots[0]
        started = time.monotonic()
        rate = None
        if self.rates:
            rate = self.rates.get(p) or float(np.mean(list(self.rates.values())))
        plan = budget.plan_slot(
            first_slot=self.n_slots == 0,
            first_pass=first_pass,
            queued=max(len(self.queue) - 1, 0),
            full_steps=config.train.steps,
            rate=rate,
            overhead=float(np.mean(self.overheads)) if self.overheads else None,
            reserve=self.reserve(budget),
        )
        if plan is None or peek:
            return None if plan is None else Slot(p, self.presets[p], v, 0, 0, (), plan, started)
        if not self.queue:
            self.round += 1
            self.queue = list(self.slots)
        self.queue.pop(0)
        keys = self._keys(p, v)
        return Slot(p, self.presets[p], v, self.round, self.n_slots, keys, plan, started)

    def _keys(self, p: int, v: int) -> tuple[jax.Array, jax.Array]:
        """The first pass over the base views with the first architecture uses the keys a
        single-pass search always used (view 0: the 2nd and 3rd of ``split(key, 3)``);
        every other slot folds its round and index into the key."""
        if self.round == 0 and p == 0 and v < self.n_base:
            if v == 0:
                return tuple(jax.random.split(self.key, 3)[1:])
            return tuple(jax.random.split(jax.random.fold_in(self.key, v)))
        i = KEY_STRIDE * (self.round + 1) + self.n_slots
        return tuple(jax.random.split(jax.random.fold_in(self.key, i)))

    def with_views(self, views: list[View]) -> SearchState:
        """Adds ``views`` and queues them next, every architecture on each."""
        new = range(len(self.views), len(self.views) + len(views))
        self.views.extend(views)
        added = [(p, v) for v in new for p in range(len(self.presets))]
        self.queue[:0] = added
        self.slots += added
        return self

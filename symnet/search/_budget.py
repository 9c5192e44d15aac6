"""The time policy of a search: one object that owns every share, cut-off and deadline.

A search with ``max_time`` runs in two stages: stage 1 trains populations slot by slot
(one slot = one architecture on one data view) and refits their exported formulas;
stage 2 polishes (simplifies, rounds) the Pareto front. With ``T`` the budget and ``t``
the time already spent, the rules are:

* ``SIMPLIFY_SHARE * T`` is kept for stage 2: a slot may use at most
  ``room = T - t - SIMPLIFY_SHARE * T``.
* In the first pass over the slots, a slot's deadline is ``now + part`` with
  ``part = room / min(q + 1, LOOKAHEAD)`` (``q`` slots still queued), so the first slots
  do not starve the next ones; in later passes ``part = room``.
* From the measured seconds per training step (``rate``) and the mean time a slot spends
  outside training (``overhead``), a slot whose full schedule of ``S`` steps does not fit
  in ``part`` runs ``floor((part - overhead) / rate)`` steps, but never fewer than
  ``MIN_STEP_FRACTION * S``; those get the whole room as their deadline, and when even
  they do not fit in it, stage 1 ends.
* Refits of exported formulas stop once less than ``REFIT_STOP * SIMPLIFY_SHARE * T`` is
  left (after at least one refit).
* Stage 2 and the sympy calls in it stop at the deadline ``start + T``; each formula is
  simplified for at most ``SearchConfig.simplify_seconds``.

The stages never read the clock's policy themselves: they ask the budget (``late()``,
``plan_slot()``, ``refits_open()``, ``deadline``). Without ``max_time`` nothing is cut.
"""

from __future__ import annotations

import dataclasses
import time
from typing import NamedTuple

__all__ = [
    "Budget",
    "SlotPlan",
    "LOOKAHEAD",
    "MIN_STEP_FRACTION",
    "REFIT_STOP",
    "SIMPLIFY_SHARE",
]

#: Share of a deadline-bound search's budget kept for simplification and rounding.
SIMPLIFY_SHARE = 0.15
#: The shortest schedule a slot runs (as a fraction of ``train.steps``) when time is short.
MIN_STEP_FRACTION = 1 / 3
#: In the first pass, a slot shares the room left with up to this many slots (itself too).
LOOKAHEAD = 3
#: Refits stop when less than this fraction of the simplification share is left.
REFIT_STOP = 0.7


class SlotPlan(NamedTuple):
    """What one slot may spend: train until ``deadline`` (a ``time.monotonic()`` value, or
    None for no limit), for ``steps`` steps (None: the full schedule)."""

    deadline: float | None
    steps: int | None


@dataclasses.dataclass(frozen=True)
class Budget:
    """The clock of one search: started at ``start`` (``time.monotonic()``), ending at
    ``deadline`` (None: unlimited).

    Example:
      >>> budget = Budget.of(None)
      >>> budget.late(), budget.plan_slot(first_slot=True, first_pass=True, queued=3)
      (False, SlotPlan(deadline=None, steps=None))
    """

    start: float
    deadline: float | None

    @classmethod
    def of(cls, max_time: float | None, start: float | None = None) -> Budget:
        """A budget of ``max_time`` seconds from ``start`` (default: now)."""
        start = time.monotonic() if start is None else start
        return cls(start, None if max_time is None else start + float(max_time))

    @classmethod
    def until(cls, deadline: float | None) -> Budget:
        """A budget from now until ``deadline`` (a ``time.monotonic()`` value or None)."""
        return cls(time.monotonic(), deadline)

    @property
    def total(self) -> float | None:
        """The budget in seconds (None: unlimited)."""
        return None if self.deadline is None else self.deadline - self.start

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def late(self) -> bool:
        """Whether the deadline has passed."""
        return self.deadline is not None and time.monotonic() > self.deadline

    def split(self, parts: int) -> Budget:
        """The share of what is left for the next of ``parts`` equal jobs (one output of a
        multi-output fit): ``(deadline - now) / parts`` from now."""
        if self.deadline is None:
            return Budget(time.monotonic(), None)
        now = time.monotonic()
        return Budget(now, now + (self.deadline - now) / parts)

    def refits_open(self, n_refit: int) -> bool:
        """Whether stage 1 may refit another formula (always the first one)."""
        if self.deadline is None or n_refit == 0:
            return True
        return time.monotonic() <= self.deadline - REFIT_STOP * SIMPLIFY_SHARE * self.total

    def plan_slot(
        self,
        *,
        first_slot: bool,
        first_pass: bool,
        queued: int,
        full_steps: int = 0,
        rate: float | None = None,
        overhead: float = 0.0,
    ) -> SlotPlan | None:
        """The next slot's deadline and schedule length, or None when stage 1 must end.

        Args:
          first_slot: no slot has run yet (it always runs).
          first_pass: the slot belongs to the first pass over the slots.
          queued: slots still queued after this one.
          full_steps: the full schedule's length.
          rate: measured seconds per training step of this architecture (None: unknown).
          overhead: mean seconds a slot spends outside training.
        """
        if self.deadline is None:
            return SlotPlan(None, None)
        now = time.monotonic()
        room = max(self.deadline - now - SIMPLIFY_SHARE * self.total, 0.0)
        if not first_slot and room <= 0:
            return None
        share = min(queued + 1, LOOKAHEAD) if first_pass else 1
        if first_slot or rate is None:
            return SlotPlan(now + room / share, None)
        least = max(1, int(MIN_STEP_FRACTION * full_steps))
        fits = int((room / share - overhead) / rate)
        slot_deadline = now + room / share
        if fits < least:
            if int((room - overhead) / rate) < least:
                return None
            fits, slot_deadline = least, now + room
        return SlotPlan(slot_deadline, None if fits >= full_steps else fits)

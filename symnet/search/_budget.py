"""The time policy of a search: one object that owns every share, cut-off and deadline.

A search with ``max_time`` alternates two stages until the budget is spent: stage 1 trains
populations slot by slot (one slot = one architecture on one data view) and refits their
exported formulas; stage 2 polishes (simplifies, rounds) the Pareto front. With ``T`` the
budget and ``t`` the time already spent, the rules are:

* A reserve is kept for stage 2: ``SIMPLIFY_SHARE * T`` until the front has been polished
  once; after that, ``REPOLISH * p`` (``p``: seconds the last polish took), at least
  ``MIN_RESERVE * T`` and at most ``SIMPLIFY_SHARE * T``. A slot may use at most
  ``room = T - t - reserve``; when stage 2 is done and the room still holds a slot, stage 1
  resumes, and stage 2 then polishes only the formulas it has not seen.
* In the first pass over the slots, a slot gets ``part = room / min(q + 1, LOOKAHEAD)``
  (``q`` slots still queued), so the first slots do not starve the next ones; in later
  passes ``part = room``. Its clock starts once its training program is compiled (or
  loaded from the persistent cache), and it stops at the end of the room in any case.
* From the measured seconds per training step (``rate``) and the mean time a slot spends
  outside training (``overhead``), a slot whose full schedule of ``S`` steps does not fit
  in ``part`` runs ``floor((part - overhead) / rate)`` steps, never fewer than
  ``MIN_STEP_FRACTION * S`` (those get the whole room). A slot after which no slot of
  ``MIN_STEP_FRACTION * S`` steps would fit takes the whole room, its schedule stretched
  to fill it (possibly beyond ``S`` steps), so the tail of the budget trains instead of
  idling. When not even the shortest schedule fits, stage 1 ends.
* Refits of exported formulas stop once less than ``REFIT_STOP`` of the reserve is left
  (after at least one refit).
* One round of sparse fits over dimensionless groups (those of the units, those of a
  surrogate's scaling symmetries) stops after ``GROUP_FITS_SHARE * T``.
* Stage 2 and the sympy calls in it stop at the deadline ``start + T``; each formula is
  simplified for at most ``SearchConfig.simplify_seconds``.

The stages never read the clock's policy themselves: they ask the budget (``late()``,
``plan_slot()``, ``refits_open()``, ``group_fits_until()``, ``reserve()``, ``deadline``).
Without ``max_time`` nothing is cut, and one pass of full schedules is the fixed amount
of work (what ``deterministic=True`` runs).
"""

from __future__ import annotations

import dataclasses
import time
from typing import NamedTuple

__all__ = [
    "Budget",
    "SlotPlan",
    "FIRST_OVERHEAD",
    "GROUP_FITS_SHARE",
    "LOOKAHEAD",
    "MIN_RESERVE",
    "MIN_STEP_FRACTION",
    "REFIT_STOP",
    "REPOLISH",
    "SIMPLIFY_SHARE",
]

#: Share of a deadline-bound search's budget kept for simplification and rounding, until
#: the first polish has been timed (and the most kept after it).
SIMPLIFY_SHARE = 0.15
#: After a polish that took ``p`` seconds, the reserve is ``REPOLISH * p`` ...
REPOLISH = 2.0
#: ... but at least this share of the budget.
MIN_RESERVE = 0.02
#: The shortest schedule a slot runs (as a fraction of ``train.steps``) when time is short.
MIN_STEP_FRACTION = 1 / 3
#: In the first pass, a slot shares the room left with up to this many slots (itself too).
LOOKAHEAD = 3
#: Seconds a slot is assumed to spend outside training (export, refits) until one is timed.
FIRST_OVERHEAD = 2.0
#: Refits stop when less than this fraction of the reserve is left.
REFIT_STOP = 0.7
#: The sparse fits over dimensionless groups (units) stop after this share of the budget.
GROUP_FITS_SHARE = 0.1


class SlotPlan(NamedTuple):
    """What one slot may spend: train for ``seconds`` once its program is compiled, but not
    past ``deadline`` (a ``time.monotonic()`` value; None for both: no limit), for ``steps``
    steps (None: the full schedule)."""

    deadline: float | None
    steps: int | None
    seconds: float | None = None

    def started(self) -> SlotPlan:
        """The plan with its clock started now: ``deadline`` is ``now + seconds``, or the
        plan's own deadline if that is earlier."""
        if self.seconds is None:
            return self
        return self._replace(deadline=min(time.monotonic() + self.seconds, self.deadline))


@dataclasses.dataclass(frozen=True)
class Budget:
    """The clock of one search: started at ``start`` (``time.monotonic()``), ending at
    ``deadline`` (None: unlimited).

    Example:
      >>> budget = Budget.of(None)
      >>> budget.late(), budget.plan_slot(first_slot=True, first_pass=True, queued=3)
      (False, SlotPlan(deadline=None, steps=None, seconds=None))
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

    def group_fits_until(self) -> float | None:
        """The ``time.monotonic()`` at which one round of sparse fits over dimensionless
        groups stops: ``GROUP_FITS_SHARE`` of the budget from now, at most the deadline
        (None: no deadline)."""
        if self.deadline is None:
            return None
        return min(self.deadline, time.monotonic() + GROUP_FITS_SHARE * self.total)

    def split(self, parts: int) -> Budget:
        """The share of what is left for the next of ``parts`` equal jobs (one output of a
        multi-output fit): ``(deadline - now) / parts`` from now."""
        if self.deadline is None:
            return Budget(time.monotonic(), None)
        now = time.monotonic()
        return Budget(now, now + (self.deadline - now) / parts)

    def reserve(self, polish_seconds: float | None = None) -> float:
        """Seconds kept for stage 2, given how long the last polish took (None: not yet)."""
        if self.deadline is None:
            return 0.0
        most = SIMPLIFY_SHARE * self.total
        if polish_seconds is None:
            return most
        return min(most, max(REPOLISH * polish_seconds, MIN_RESERVE * self.total))

    def refits_open(self, n_refit: int, reserve: float | None = None) -> bool:
        """Whether stage 1 may refit another formula (always the first one); ``reserve``
        defaults to the reserve before any polish."""
        if self.deadline is None or n_refit == 0:
            return True
        reserve = self.reserve() if reserve is None else reserve
        return time.monotonic() <= self.deadline - REFIT_STOP * reserve

    def plan_slot(
        self,
        *,
        first_slot: bool,
        first_pass: bool,
        queued: int,
        full_steps: int = 0,
        rate: float | None = None,
        overhead: float | None = None,
        reserve: float | None = None,
    ) -> SlotPlan | None:
        """The next slot's time and schedule length, or None when stage 1 must end.

        Args:
          first_slot: no slot has run yet (it always runs).
          first_pass: the slot belongs to the first pass over the slots.
          queued: slots still queued after this one.
          full_steps: the full schedule's length.
          rate: measured seconds per training step of this architecture (None: unknown).
          overhead: mean seconds a slot spends outside training (None: none timed yet,
            ``FIRST_OVERHEAD``).
          reserve: seconds kept for stage 2 (default: :meth:`reserve` before any polish).
        """
        if self.deadline is None:
            return SlotPlan(None, None)
        now = time.monotonic()
        reserve = self.reserve() if reserve is None else reserve
        room = max(self.deadline - now - reserve, 0.0)
        end = now + room
        if not first_slot and room <= 0:
            return None
        share = min(queued + 1, LOOKAHEAD) if first_pass else 1
        if rate is None:
            return SlotPlan(end, None, room / share)
        overhead = FIRST_OVERHEAD if overhead is None else overhead
        least = max(1, int(MIN_STEP_FRACTION * full_steps))
        shortest = least * rate + overhead
        if shortest > room:  # not even the shortest schedule fits: only a first slot runs
            fits = max(int((room - overhead) / rate), 1)
            return SlotPlan(end, min(fits, full_steps), room) if first_slot else None
        fits = min(int((room / share - overhead) / rate), full_steps)
        seconds = room / share
        if fits < least:  # the shortest schedule, with the whole room as its time
            fits, seconds = least, room
        if room - (fits * rate + overhead) < shortest:
            # no slot would fit after this one: it takes the rest of the room
            fits, seconds = int((room - overhead) / rate), room
        return SlotPlan(end, None if fits == full_steps else fits, seconds)

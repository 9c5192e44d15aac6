"""Suite loading and task lookup by name."""

from __future__ import annotations

import difflib
import functools

from symnet.datasets._dynamics import system_tasks
from symnet.datasets._feynman import load_equation_file
from symnet.datasets._nguyen import nguyen_tasks
from symnet.datasets._srsd import srsd_tasks
from symnet.datasets._task import Task
from symnet.systems import chaotic_systems, strogatz_systems

__all__ = ["ALL_SUITES", "EXTRA_SUITES", "SUITES", "get_task", "load_suite"]

#: The classic suites, in load order: every listed variable enters the formula (bar
#: ``strogatz/vdp_y``) and uniform samples stay in ``ranges``.
SUITES: tuple[str, ...] = ("feynman", "bonus", "nguyen", "strogatz")

#: Suites added later, kept apart from :data:`SUITES` because they break the classic
#: invariants on purpose: a chaotic right-hand side need not use every state, trajectories
#: leave the attractor box under ``extrapolate``, and dummy columns are irrelevant.
EXTRA_SUITES: tuple[str, ...] = (
    "chaotic",
    "srsd_easy",
    "srsd_medium",
    "srsd_hard",
    "srsd_easy_dummy",
    "srsd_medium_dummy",
    "srsd_hard_dummy",
)

#: Every suite :func:`load_suite` accepts.
ALL_SUITES: tuple[str, ...] = SUITES + EXTRA_SUITES


@functools.cache
def _suite(suite: str) -> tuple[Task, ...]:
    if suite == "feynman":
        return load_equation_file("feynman_equations.csv", "feynman")
    if suite == "bonus":
        return load_equation_file("feynman_bonus_equations.csv", "bonus")
    if suite == "nguyen":
        return nguyen_tasks()
    if suite == "strogatz":
        return system_tasks("strogatz", strogatz_systems().values())
    if suite == "chaotic":
        return system_tasks("chaotic", chaotic_systems().values())
    group = suite.removeprefix("srsd_").removesuffix("_dummy")
    return srsd_tasks(group, dummy=suite.endswith("_dummy"))


def load_suite(suite: str) -> list[Task]:
    """All tasks of one suite, in file order.

    ================= ===== ==============================================================
    suite             tasks contents
    ================= ===== ==============================================================
    feynman           100   AI-Feynman equations, :math:`x_j \\sim U[l_j, h_j]`
    bonus             20    AI-Feynman bonus equations, same design
    nguyen            12    Nguyen-1 ... Nguyen-12
    strogatz          14    right-hand sides of 7 planar ODE systems
    chaotic           119   right-hand sides of 39 chaotic flows from dysts
    srsd_easy         30    SRSD-Feynman easy set, log-uniform / integer / signed inputs
    srsd_medium       40    SRSD-Feynman medium set
    srsd_hard         50    SRSD-Feynman hard set
    srsd_*_dummy      same  the SRSD sets with 1-3 irrelevant input columns per task
    ================= ===== ==============================================================

    Args:
        suite: one of :data:`ALL_SUITES`.

    Returns:
        A new list of :class:`Task` (the tasks themselves are immutable and cached).

    Raises:
        ValueError: if ``suite`` is not one of :data:`ALL_SUITES`.
    """
    if not isinstance(suite, str) or suite not in ALL_SUITES:
        raise ValueError(f"suite must be one of {list(ALL_SUITES)}, got {suite!r}")
    return list(_suite(suite))


@functools.cache
def _by_name() -> dict[str, Task]:
    return {task.name: task for suite in ALL_SUITES for task in _suite(suite)}


def get_task(name: str) -> Task:
    """The task called ``name``, e.g. ``"feynman/I.6.2a"`` or ``"strogatz/vdp_x"``.

    Raises:
        ValueError: if no task has that name; the message suggests close matches.
    """
    tasks = _by_name()
    if isinstance(name, str) and name in tasks:
        return tasks[name]
    hint = ""
    if isinstance(name, str):
        lowered = {key.lower(): key for key in tasks}
        matches = difflib.get_close_matches(name, list(tasks), n=3, cutoff=0.6)
        exact_case = lowered.get(name.lower())
        if exact_case is not None:
            matches = [exact_case] + [m for m in matches if m != exact_case]
        if matches:
            hint = f" (did you mean {' or '.join(repr(m) for m in matches)}?)"
    raise ValueError(
        f"unknown task name {name!r}{hint}. Task names are '<suite>/<id>' with suite in "
        f"{list(ALL_SUITES)}."
    )

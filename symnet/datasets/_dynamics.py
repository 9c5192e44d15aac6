"""Benchmark tasks from a catalogue of dynamical systems: one per right-hand side."""

from __future__ import annotations

from collections.abc import Iterable

from symnet.datasets._task import Task
from symnet.systems import System

__all__ = ["system_tasks"]


def system_tasks(suite: str, systems: Iterable[System]) -> tuple[Task, ...]:
    """One task per (system, state), in catalogue order, e.g. ``"strogatz/bacres_x"``.

    The task ``"<suite>/<system>_<state>"`` asks for :math:`F_{state}(\\mathbf s)` as a
    function of all the states. Its ``ranges`` are the system's box, its inputs the states
    that :meth:`System.sample` visits (the system is the task's ``source``, so all tasks
    of a system share the trajectories of a seed), and ``n_default`` is the simulation's
    trajectories times points (4 x 101 = 404 for both packaged catalogues).

    Args:
        suite: the suite name, the prefix of the task names.
        systems: the systems, e.g. ``symnet.systems.strogatz_systems().values()``.
    """
    return tuple(
        Task(
            name=f"{suite}/{system.name}_{state}",
            suite=suite,
            formula=formula,
            variables=system.states,
            ranges=system.box,
            n_default=system.simulation.n_default,
            source=system,
        )
        for system in systems
        for state, formula in zip(system.states, system.formulas(), strict=True)
    )

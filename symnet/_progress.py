"""A progress bar for long fits (``verbose=1``)."""

from __future__ import annotations

import contextlib

__all__ = ["progress_bar"]


@contextlib.contextmanager
def progress_bar(verbose: int, label: str):
    """A rich progress bar fed by ``discover``'s callback; a no-op when silent."""
    if not verbose:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        tasks = {}

        def cb(stage, frac):
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"{label}: {stage}", total=1.0)
            bar.update(tasks[stage], completed=frac)

        yield cb

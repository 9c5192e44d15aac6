"""Checkpoints of population training state (orbax), so a killed fit can resume.

:class:`StateCheckpoints` keeps the latest :class:`~symnet._train.TrainState` of one
population under a directory, one orbax step directory per save (the older one is
removed once the new one is complete, so a kill mid-save leaves the previous checkpoint).
The state's PRNG keys are stored as their raw key data.
"""

from __future__ import annotations

import os

import jax
import numpy as np
import orbax.checkpoint as ocp

from symnet._train import TrainState

__all__ = ["StateCheckpoints"]


def _leaves(state: TrainState) -> dict[str, np.ndarray]:
    state = state._replace(key=jax.random.key_data(state.key))
    return {f"leaf_{i:04d}": np.asarray(a) for i, a in enumerate(jax.tree.leaves(state))}


class StateCheckpoints:
    """The latest training state of one population, saved under ``directory``.

    Args:
      directory: created if missing; holds orbax checkpoints named by training step.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = os.path.abspath(directory)
        self._manager = ocp.CheckpointManager(
            self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True)
        )

    def save(self, state: TrainState) -> None:
        """Saves ``state`` (a no-op if this step is already saved)."""
        step = int(state.step)
        if self._manager.latest_step() == step:
            return
        self._manager.save(step, args=ocp.args.StandardSave(_leaves(state)))
        self._manager.wait_until_finished()

    def restore(self, like: TrainState) -> TrainState | None:
        """The saved state, shaped like ``like``; None if nothing is saved.

        Raises:
          ValueError: the checkpoint was written by a population of another shape (other
            settings), so it cannot be resumed.
        """
        step = self._manager.latest_step()
        if step is None:
            return None
        template = _leaves(like)
        try:
            saved = self._manager.restore(step, args=ocp.args.StandardRestore(template))
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"The checkpoint in {self.directory!r} was written with other settings and "
                f"cannot be resumed ({type(err).__name__}: {err}). Fit into a new `run_dir`."
            ) from err
        for k, v in template.items():
            if np.shape(saved[k]) != v.shape or np.asarray(saved[k]).dtype != v.dtype:
                raise ValueError(
                    f"The checkpoint in {self.directory!r} was written with other settings "
                    "(array shapes differ) and cannot be resumed. Fit into a new `run_dir`."
                )
        key_like = jax.random.key_data(like.key)
        treedef = jax.tree.structure(like._replace(key=key_like))
        state = jax.tree.unflatten(treedef, [jax.numpy.asarray(saved[k]) for k in template])
        return state._replace(key=jax.random.wrap_key_data(state.key))

"""Run directories: what ``fit(..., run_dir=...)`` writes and ``from_file`` reads.

A run directory holds ``equations.csv`` (``equations_output{k}.csv`` for multi-output),
``selected.txt`` (the selected formula per output), ``metadata.json`` (seed, versions,
settings) and ``model.pkl`` (the fitted estimator: plain data, no lambdas). Files a user
saved are never overwritten: fitting into a directory that already holds files is an error.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
from pathlib import Path

import jax

__all__ = [
    "check_new_run_dir",
    "checkpoint_dir",
    "claim_run_dir",
    "write_run",
    "read_run",
    "MODEL_FILE",
    "CHECKPOINTS",
]

MODEL_FILE = "model.pkl"


#: Subdirectory of a run directory holding training checkpoints (``fit`` resumes them).
CHECKPOINTS = "checkpoints"


def check_new_run_dir(run_dir, *, resume: bool = False) -> Path:
    """Raises ``ValueError`` unless ``run_dir`` may receive a new run.

    A missing or empty directory always may. With ``resume=True``, so may a directory that
    holds nothing but the ``checkpoints`` of an unfinished fit (one that was killed).
    """
    path = Path(run_dir)
    if not path.exists():
        parent = next(p for p in path.absolute().parents if p.exists())
        if not os.access(parent, os.W_OK):
            raise ValueError(
                f"`run_dir` {str(path)!r} cannot be created: {str(parent)!r} is not writable."
            )
        return path
    if not path.is_dir():
        raise ValueError(f"`run_dir` {str(path)!r} exists and is not a directory.")
    entries = {p.name for p in path.iterdir()}
    if not os.access(path, os.W_OK):
        raise ValueError(f"`run_dir` {str(path)!r} is not writable.")
    if not entries or (resume and entries == {CHECKPOINTS}):
        return path
    hint = (
        " It holds a finished run; fit into a new directory."
        if MODEL_FILE in entries
        else " Pass warm_start=True to resume an unfinished fit's checkpoints."
        if entries == {CHECKPOINTS}
        else ""
    )
    raise ValueError(
        f"`run_dir` {str(path)!r} already exists and is not empty; symnet never "
        f"overwrites saved runs. Choose a new directory or remove it yourself.{hint}"
    )


def claim_run_dir(run_dir, *, resume: bool = False):
    """``run_dir`` checked as new (:func:`check_new_run_dir`) for this fit to write, or
    None: without one, and in processes other than 0 of a fit over several (process 0
    keeps the run)."""
    if run_dir is None or jax.process_index() > 0:
        return None
    check_new_run_dir(run_dir, resume=resume)
    return run_dir


def checkpoint_dir(run_dir, output: int) -> str | None:
    """Where output ``output``'s training checkpoints go in ``run_dir`` (None without a
    run directory, or when the fit spans several processes: each would write there)."""
    if run_dir is None or jax.process_count() > 1:
        return None
    return os.path.join(run_dir, CHECKPOINTS, f"output{output}")


def _versions() -> dict:
    import flax
    import numpy
    import optax
    import sympy

    from symnet._version import version

    return {
        "symnet": version(),
        "jax": jax.__version__,
        "flax": flax.__version__,
        "optax": optax.__version__,
        "sympy": sympy.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def write_run(model, run_dir) -> Path:
    """Writes the fitted ``model`` into the new directory ``run_dir``."""
    path = check_new_run_dir(run_dir, resume=True)
    path.mkdir(parents=True, exist_ok=True)
    tables = model.equations_ if isinstance(model.equations_, list) else [model.equations_]
    for k, table in enumerate(tables):
        name = "equations.csv" if len(tables) == 1 else f"equations_output{k}.csv"
        table.drop(columns=["sympy_format"]).to_csv(path / name, index=False)
    selected = [str(model.sympy(output=k)) for k in range(model.n_outputs_)]
    (path / "selected.txt").write_text("\n".join(selected) + "\n")
    meta = {
        "seed": model.random_seed_,
        "settings": {k: _jsonable(v) for k, v in model.get_params().items()},
        "feature_names": [str(n) for n in model.feature_names_in_],
        "units": {"X": getattr(model, "X_units_", None), "y": getattr(model, "y_units_", None)},
        "n_outputs": model.n_outputs_,
        "selected": selected,
        "versions": _versions(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }
    (path / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    with open(path / MODEL_FILE, "wb") as f:
        pickle.dump(model, f)
    return path


def read_run(run_dir, cls):
    """Loads the estimator pickled in ``run_dir``; it must be an instance of ``cls`` (a
    class or a tuple of them)."""
    path = Path(run_dir) / MODEL_FILE
    if not path.is_file():
        raise ValueError(f"`run_dir` {str(run_dir)!r} holds no {MODEL_FILE}: not a symnet run.")
    with open(path, "rb") as f:
        model = pickle.load(f)
    if not isinstance(model, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise ValueError(f"{str(path)!r} does not hold a {names}.")
    return model


def _jsonable(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return repr(v)

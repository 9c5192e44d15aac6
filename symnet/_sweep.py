"""Fit many datasets: ``symnet.sweep``, on Ray or on a local process pool.

A sweep is a set of jobs ``(dataset, seed)``; each clones the estimator with
``random_state=seed``, fits it and returns one record (the formula, its training R^2,
complexity, wall time and, for a task of :mod:`symnet.datasets`, whether it is the law).
Records are appended to a JSON-lines file as each job finishes, and jobs already recorded
there are skipped, so a killed sweep resumes where it stopped.

Engines (:func:`map_jobs`), none home-made: Ray (``ray.init()`` locally, or
``address=`` of a running cluster; each job a Ray task asking ``num_cpus``/``num_gpus``),
``concurrent.futures``' process pool (spawned workers: JAX is not fork-safe), or threads
(for jobs that only wait on a subprocess, as the benchmark runner's do).
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

__all__ = ["BACKENDS", "map_jobs", "sweep", "sweep_config"]

#: The engines :func:`map_jobs` runs jobs on.
BACKENDS = ("ray", "process", "thread")


def _ray_init(address: str | None, workers: int) -> None:
    import ray

    if ray.is_initialized():
        return
    # Ray runs its workers at nice 15 by default: beside any other work a fit would starve
    # (15x slower measured beside a benchmark); a local Ray started here runs them at 0
    os.environ.setdefault("RAY_worker_niceness", "0")
    kwargs = {"address": address} if address else {"num_cpus": workers}
    ray.init(**kwargs, include_dashboard=False, log_to_driver=False, configure_logging=False)


def map_jobs(
    fn: Callable,
    jobs: Iterable[tuple],
    *,
    backend: str = "process",
    workers: int = 1,
    address: str | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
) -> Iterator[tuple[tuple, object]]:
    """Yields ``(job, fn(*job))`` for every job, in the order they finish.

    Args:
      fn: a module-level function (it is pickled to the workers).
      jobs: argument tuples.
      backend: ``"ray"``, ``"process"`` or ``"thread"``.
      workers: parallel jobs for the local engines, and the CPUs of a local Ray started
        here (a running Ray, or ``address``, keeps its own).
      address: a Ray cluster's address (``"auto"``, ``"ray://host:10001"``).
      num_cpus, num_gpus: what each Ray task asks for (a GPU fraction shares a device).
    """
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {list(BACKENDS)}, got {backend!r}.")
    jobs = list(jobs)
    if backend == "ray":
        import ray

        _ray_init(address, workers)
        remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(fn)
        pending = {remote.remote(*job): job for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                yield pending.pop(ref), ray.get(ref)
        return
    if backend == "process":
        context = multiprocessing.get_context("spawn")
        pool = concurrent.futures.ProcessPoolExecutor(max(1, workers), mp_context=context)
    else:
        pool = concurrent.futures.ThreadPoolExecutor(max(1, workers))
    with pool:
        futures = {pool.submit(fn, *job): job for job in jobs}
        for fut in concurrent.futures.as_completed(futures):
            yield futures[fut], fut.result()


def _dataset(spec, seed: int):
    """``(X, y, task or None)``: a task name of :mod:`symnet.datasets` is sampled with
    ``seed`` (its default size, at most 1000 rows); an ``(X, y)`` pair is used as given."""
    if isinstance(spec, str):
        from symnet.datasets import get_task

        task = get_task(spec)
        X, y = task.sample(min(task.n_default, 1000), seed=seed)
        return X, y, task
    X, y = spec
    return X, y, None


def fit_one(name: str, spec, seed: int, estimator) -> dict:
    """One job of :func:`sweep`: its record."""
    from sklearn.base import clone

    from symnet._scoring import is_symbolic_solution

    X, y, task = _dataset(spec, seed)
    model = clone(estimator).set_params(random_state=seed)
    t0 = time.perf_counter()
    model.fit(X, y)
    wall = time.perf_counter() - t0
    formula = model.sympy()
    rec = {
        "dataset": name,
        "seed": seed,
        "formula": str(formula),
        "r2_train": float(model.score(X, y)),
        "complexity": int(model.equations_["complexity"][model.selection_]),
        "wall": wall,
    }
    if task is not None:
        rec["exact"] = bool(is_symbolic_solution(formula, task.expr(), seconds=10.0))
    return rec


def _read(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def sweep(
    datasets: Mapping[str, tuple] | Sequence[str],
    estimator,
    *,
    out: str | os.PathLike,
    seeds: Sequence[int] = (0,),
    backend: str = "ray",
    workers: int = 2,
    address: str | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
):
    """Fits ``estimator`` (cloned, ``random_state`` = each seed) to every dataset for every
    seed; returns all records of ``out`` as a DataFrame.

    Args:
      datasets: ``{name: (X, y)}``, or task names of :mod:`symnet.datasets`
        (``"feynman/I.6.2a"``: sampled with each seed, and scored for exact recovery).
      estimator: an unfitted scikit-learn-style regressor with ``sympy()``, such as
        :class:`~symnet.SymbolicRegressor`.
      out: the JSON-lines file records are appended to; jobs already in it are skipped
        (a killed sweep resumes).
      seeds: the seeds each dataset is fitted with.
      backend, workers, address, num_cpus, num_gpus: the engine (:func:`map_jobs`).

    Example:
      >>> import numpy as np, tempfile, os
      >>> from symnet import SymbolicRegressor
      >>> X = np.linspace(1, 2, 40)[:, None]
      >>> est = SymbolicRegressor(deterministic=True, steps=100, rounds=1, views=("raw",))
      >>> path = os.path.join(tempfile.mkdtemp(), "sweep.jsonl")
      >>> table = sweep({"line": (X, 3 * X[:, 0] + 1)}, est, out=path, backend="thread")
      >>> table.loc[0, "formula"]
      '3*x0 + 1'
    """
    import pandas as pd

    if isinstance(datasets, str) or not isinstance(datasets, Mapping | Sequence):
        raise ValueError(
            f"`datasets` must be a mapping name -> (X, y) or a list of task names, "
            f"got {type(datasets).__name__}."
        )
    specs = dict(datasets) if isinstance(datasets, Mapping) else {n: n for n in datasets}
    for name, spec in specs.items():
        if not isinstance(spec, str) and not (isinstance(spec, tuple) and len(spec) == 2):
            raise ValueError(f"`datasets[{name!r}]` must be an (X, y) pair or a task name.")
    out = os.fspath(out)
    done = {(r["dataset"], int(r["seed"])) for r in _read(out)}
    jobs = [
        (name, spec, int(s), estimator)
        for s in seeds
        for name, spec in specs.items()
        if (name, int(s)) not in done
    ]
    engine = {"address": address, "num_cpus": num_cpus, "num_gpus": num_gpus}
    for _, rec in map_jobs(fit_one, jobs, backend=backend, workers=workers, **engine):
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, default=_plain) + "\n")
    return pd.DataFrame(_read(out))


def _plain(value):
    return value.item() if isinstance(value, np.generic) else str(value)


#: Keys of a sweep configuration file (:func:`sweep_config`).
CONFIG_KEYS = {
    "out", "tasks", "suite", "sample", "sample_seed", "seeds", "backend", "workers",
    "address", "num_cpus", "num_gpus", "estimator",
}  # fmt: skip


def sweep_config(path: str | os.PathLike):
    """Runs the sweep a TOML file describes (``symnet sweep CONFIG``); returns its records.

    ``out`` (required; relative to the file), ``tasks`` (task names of
    :mod:`symnet.datasets`) or ``suite`` with an optional ``sample`` (a seeded random
    subset of that many, ``sample_seed``, the benchmark runner's choice), ``seeds``,
    ``backend``, ``workers``, ``address``, ``num_cpus``, ``num_gpus`` as for
    :func:`sweep`, and an ``[estimator]`` table of :class:`~symnet.SymbolicRegressor`
    settings.
    """
    import random
    import tomllib

    from symnet._estimator import SymbolicRegressor
    from symnet.datasets import load_suite

    path = os.fspath(path)
    with open(path, "rb") as f:
        config = tomllib.load(f)
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown or "out" not in config or ("tasks" in config) == ("suite" in config):
        raise ValueError(
            f"{path}: a sweep config needs `out` and one of `tasks` or `suite`, and takes "
            f"only {sorted(CONFIG_KEYS)}; unknown: {unknown}."
        )
    tasks = config.get("tasks")
    if tasks is None:
        tasks = [t.name for t in load_suite(config["suite"])]
        if "sample" in config and config["sample"] < len(tasks):
            pick = random.Random(config.get("sample_seed", 0)).sample(tasks, config["sample"])
            tasks = sorted(pick, key=tasks.index)
    names = ("backend", "workers", "address", "num_cpus", "num_gpus")
    engine = {k: config[k] for k in names if k in config}
    return sweep(
        tasks,
        SymbolicRegressor(**config.get("estimator", {})),
        out=os.path.join(os.path.dirname(os.path.abspath(path)), config["out"]),
        seeds=tuple(config.get("seeds", (0,))),
        **engine,
    )

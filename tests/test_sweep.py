"""Sweeps: many fits on Ray or a process pool, the same records either way, resumable."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from symnet import SymbolicRegressor, sweep
from symnet._sweep import map_jobs, sweep_config

# a fixed step budget (the records must not depend on timing), the raw data view only
ESTIMATOR = SymbolicRegressor(
    deterministic=True, steps=150, n_restarts=1, rounds=1, views=("raw",)
)


def _data():
    X = np.linspace(1.0, 2.0, 60)[:, None]
    return {"line": (X, 3 * X[:, 0] + 1), "square": (X, X[:, 0] ** 2)}


def _records(table: pd.DataFrame) -> list[tuple]:
    rows = table.sort_values(["dataset", "seed"])
    return list(zip(rows.dataset, rows.seed, rows.formula, strict=True))


# Ray's start-up forks beside JAX's threads (its children exec at once); JAX warns
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ray_sweep_gives_the_process_pool_records_and_resumes(tmp_path):
    ray = pytest.importorskip("ray")
    pool = sweep(_data(), ESTIMATOR, out=tmp_path / "pool.jsonl", backend="process")
    try:  # a local Ray of two CPUs, started by the sweep
        on_ray = sweep(_data(), ESTIMATOR, out=tmp_path / "ray.jsonl", backend="ray", workers=2)
        assert _records(on_ray) == _records(pool)
        assert len(on_ray) == 2 and set(on_ray.formula) >= {"3*x0 + 1"}
    finally:
        ray.shutdown()
    # a killed sweep resumes: the recorded job is kept, only the missing one runs
    with open(tmp_path / "ray.jsonl") as f:
        first = f.readline()
    with open(tmp_path / "ray.jsonl", "w") as f:
        f.write(first)  # as if killed after the first record
    again = sweep(_data(), ESTIMATOR, out=tmp_path / "ray.jsonl", backend="thread")
    assert _records(again) == _records(pool)
    with open(tmp_path / "ray.jsonl") as f:
        assert f.readline() == first and len(f.readlines()) == 1


def _double(x):
    return 2 * x


def test_map_jobs_runs_each_job_once_on_every_local_backend():
    for backend in ("thread", "process"):
        out = dict(map_jobs(_double, [(1,), (2,), (3,)], backend=backend, workers=2))
        assert out == {(1,): 2, (2,): 4, (3,): 6}
    with pytest.raises(ValueError, match="backend"):
        list(map_jobs(_double, [(1,)], backend="dask"))


def test_sweep_rejects_bad_datasets(tmp_path):
    with pytest.raises(ValueError, match="datasets"):
        sweep("feynman/I.6.2a", ESTIMATOR, out=tmp_path / "x.jsonl")
    with pytest.raises(ValueError, match=r"datasets\['a'\]"):
        sweep({"a": np.ones(3)}, ESTIMATOR, out=tmp_path / "x.jsonl")


def test_sweep_config_runs_tasks_and_checks_exactness(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(
        'out = "records.jsonl"\ntasks = ["feynman/I.12.1"]\nbackend = "thread"\n'
        "[estimator]\ndeterministic = true\nsteps = 150\nn_restarts = 1\nrounds = 1\n"
        'views = ["raw"]\n'
    )
    table = sweep_config(config)
    assert list(table.dataset) == ["feynman/I.12.1"]
    assert table.exact.dtype == bool
    lines = (tmp_path / "records.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["dataset"] == "feynman/I.12.1"
    bad = tmp_path / "bad.toml"
    bad.write_text('out = "r.jsonl"\nsuite = "feynman"\ntasks = ["feynman/I.12.1"]\n')
    with pytest.raises(ValueError, match="one of `tasks` or `suite`"):
        sweep_config(bad)


@pytest.mark.slow  # a minute of subprocesses; the engine itself is tested above
def test_runner_on_ray_gives_the_process_pool_records(tmp_path):
    pytest.importorskip("ray")
    base = [sys.executable, "-m", "experiments.run", "--suite", "feynman", "--only"]
    base += ["I.12.1", "I.14.3", "--methods", "linear", "--time", "5", "--jobs", "2"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for out, extra in (("pool", []), ("ray", ["--ray"])):
        cmd = base + ["--out", str(tmp_path / out), *extra]
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]

    def records(out):
        with open(tmp_path / out / "feynman.jsonl") as f:
            recs = [json.loads(line) for line in f]
        return sorted((r["task"], r["found"], r["exact"]) for r in recs)

    assert records("ray") == records("pool") and len(records("pool")) == 2

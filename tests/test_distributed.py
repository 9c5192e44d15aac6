"""One fit over two processes on this machine (``symnet.init_distributed``, JAX's
multi-controller runtime with a coordinator on localhost, one CPU device per process):
the members split over both processes' devices, each process ends with the whole search,
and the formulas equal a one-process run's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np

SCRIPT = r"""
import json, sys
import symnet
port, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if n > 1:
    symnet.init_distributed(f"localhost:{port}", num_processes=n, process_id=k)
import jax
import numpy as np
from symnet import SymbolicRegressor
from symnet._train import TrainConfig, init_population, population_trainer
from symnet.layers import PRESETS
import functools

build = functools.partial(PRESETS["default"], 2, n_outputs=1, width=2)
graphdef, params, masks = init_population(build, jax.random.key(0), 8)
config = TrainConfig(steps=300)
trainer = population_trainer(graphdef, config)
state = trainer.init(params, masks, np.full(8, 1e-3, np.float32), jax.random.key(1))
rng = np.random.default_rng(5)
X = rng.uniform(0.5, 2.0, (200, 2))
y = X[:, 0] * np.sin(X[:, 1]) + 0.5 * X[:, 0]
shards = len(jax.tree.leaves(state.params)[0].sharding.device_set)
losses = []
for _ in range(3):
    state = trainer.run(state, X, y[:, None], config.schedule(), 1)
    losses.append(np.asarray(trainer.finalize(state).loss).tolist())
model = SymbolicRegressor(
    deterministic=True, steps=300, n_restarts=2, rounds=1, views=("raw",), random_state=0
).fit(X, y)
refused = None
if n > 1:
    try:  # a clock would let the processes' searches differ
        SymbolicRegressor(max_time=5).fit(X, y)
    except ValueError as err:
        refused = str(err)
print(json.dumps({
    "refused": refused,
    "processes": jax.process_count(),
    "devices": jax.device_count(),
    "shards": shards,
    "loss": losses,
    "formulas": [str(e) for e in model.equations_.sympy_format],
}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _launch(n: int, tmp_path, script: str = SCRIPT, parse: bool = True) -> list:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONHASHSEED="0")
    env.pop("XLA_FLAGS", None)
    port = str(_free_port())
    tag = f"{n}_{abs(hash(script))}"
    logs = [(tmp_path / f"out{tag}_{k}.txt", tmp_path / f"err{tag}_{k}.txt") for k in range(n)]
    procs = []
    for k, (out, err) in enumerate(logs):
        with open(out, "w") as fo, open(err, "w") as fe:  # files: no pipe fills up
            cmd = [sys.executable, "-c", script, port, str(n), str(k)]
            procs.append(subprocess.Popen(cmd, env=env, stdout=fo, stderr=fe, text=True))
    deadline = time.monotonic() + 600
    try:  # one process failing would leave the others waiting for it: stop them all
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            if any(p.poll() not in (None, 0) for p in procs):
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    outs = []
    for p, (out, err) in zip(procs, logs, strict=True):
        assert p.returncode == 0, err.read_text()[-3000:]
        text = out.read_text()
        outs.append(json.loads(text.strip().splitlines()[-1]) if parse else text)
    return outs


DRIFT = r"""
import sys
import numpy as np
import symnet
port, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
symnet.init_distributed(f"localhost:{port}", num_processes=n, process_id=k)
from symnet._devices import check_same
check_same(np.arange(4.0), label="population")  # the same everywhere: passes
try:
    check_same(np.arange(4.0) + k, label="population")  # process 1's differs
except RuntimeError as err:
    print("refused:", err)
"""


def test_processes_that_drift_apart_all_stop(tmp_path):
    """Before a population, the processes compare what they are about to train: when one
    differs, every process (process 0 too) raises instead of waiting in a collective."""
    outs = _launch(2, tmp_path, script=DRIFT, parse=False)
    for out in outs:
        assert "refused: processes [1] are about to train a different population" in out


def test_fit_spans_two_processes(tmp_path):
    (one,) = _launch(1, tmp_path)
    two = _launch(2, tmp_path)
    assert (one["processes"], one["devices"], one["shards"]) == (1, 1, 1)
    for got in two:
        assert (got["processes"], got["devices"]) == (2, 2)
        assert got["shards"] == 2  # the members split over both processes' devices
        # each process holds every member after gathering, as one process would
        np.testing.assert_allclose(got["loss"], one["loss"], rtol=1e-4)
        assert got["formulas"] == one["formulas"]
        # a fit on a clock (deterministic=False) is refused before it starts
        assert "`deterministic` must be True" in got["refused"]

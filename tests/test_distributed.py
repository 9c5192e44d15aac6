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

SCRIPT = os.path.join(os.path.dirname(__file__), "population_script.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _launch(n: int, tmp_path, script: str | None = None, parse: bool = True) -> list:
    """Processes 0..n-1 of ``script`` (code, or the shared population script by default)."""
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONHASHSEED="0")
    env.pop("XLA_FLAGS", None)
    port = str(_free_port())
    tag = f"{n}_{abs(hash(script))}"
    logs = [(tmp_path / f"out{tag}_{k}.txt", tmp_path / f"err{tag}_{k}.txt") for k in range(n)]
    procs = []
    for k, (out, err) in enumerate(logs):
        with open(out, "w") as fo, open(err, "w") as fe:  # files: no pipe fills up
            run = [SCRIPT] if script is None else ["-c", script]
            cmd = [sys.executable, *run, port, str(n), str(k)]
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

"""The population split over several devices (CPU devices forced in a subprocess): one
compiled program, each device a share of the members, the same steps and formulas as on
one device."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "population_script.py")


def _run(devices: int) -> dict:
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run(
        [sys.executable, SCRIPT, "0", "1", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_population_split_over_four_devices_trains_the_same_members():
    one, four = _run(1), _run(4)
    assert (one["local_devices"], one["shards"]) == (1, 1)
    assert (four["local_devices"], four["shards"]) == (4, 4)  # the members split four ways
    assert four["traces"] == 1  # one compiled program for every chunk
    # the same members take the same first steps up to float32 rounding: the split program
    # is vectorised differently (other ulps in exp/sin, sums in another order), which
    # networks whose initial outputs reach 1e6 amplify to ~1e-5 relative, while members
    # differ from each other by orders of magnitude; long runs drift apart the way two
    # float orders do, and the formulas agree
    np.testing.assert_allclose(four["loss"], one["loss"], rtol=1e-4)
    assert four["formulas"] == one["formulas"]


AUTO_SCRIPT = r"""
import json
import jax
from symnet._devices import auto_restarts, population_sharding
n = auto_restarts(8)
sharding = population_sharding(n * 4)
print(json.dumps({"devices": jax.local_device_count(), "n": n,
                  "split": None if sharding is None else len(sharding.device_set)}))
"""


def test_auto_restarts_split_over_three_devices():
    """``n_restarts="auto"`` rounds the default up to a multiple of the device count, so a
    population of 4 sparsity strengths x 9 restarts splits over 3 devices (8 would not)."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=3")
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run(
        [sys.executable, "-c", AUTO_SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"devices": 3, "n": 9, "split": 3}


def test_auto_restarts_grows_while_the_device_has_room(monkeypatch):
    import jax

    from symnet._devices import GROWTH, MAX_FACTOR, auto_restarts

    monkeypatch.setattr(jax, "device_count", lambda: 1)  # the same on any host
    calls = []

    def flat_until(knee):
        def probe(n):
            calls.append(n)
            return max(1.0, n / knee)

        return probe

    assert auto_restarts(8, flat_until(64)) == 64  # 128 would take twice as long
    assert calls == [8, 16, 32, 64, 128]
    assert auto_restarts(8, lambda n: 1.0) == 8 * MAX_FACTOR  # capped
    assert auto_restarts(8, lambda n: n * GROWTH / 16) == 8  # one doubling costs > GROWTH

    def out_of_memory_above_32(n):
        if n > 32:
            raise RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate")
        return 1.0

    assert auto_restarts(8, out_of_memory_above_32) == 32
    assert auto_restarts(8, lambda n: float("inf")) == 8  # not even the default fits

    def broken(n):
        raise RuntimeError("something else")

    with pytest.raises(RuntimeError, match="something else"):  # not taken for memory
        auto_restarts(8, broken)


def test_estimator_auto_restarts_on_cpu():
    from symnet import SymbolicRegressor

    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, (60, 1))
    model = SymbolicRegressor(
        n_restarts="auto",
        deterministic=True,
        steps=60,
        rounds=1,
        views=("raw",),
        preset="eql",
        random_state=0,
    ).fit(X, 2 * X[:, 0])
    assert model.n_restarts_ == 8  # one CPU device: the default, not probed
    with pytest.raises(ValueError, match="`n_restarts`.*'many'"):
        SymbolicRegressor(n_restarts="many").fit(X, X[:, 0])

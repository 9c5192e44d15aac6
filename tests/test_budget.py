"""``max_time`` is spent on the search, compiles are paid once per machine, and
``deterministic=True`` reproduces itself (issue 13, item 1). The share of the budget a fit
uses is measured by ``experiments/budget_use.py``, not by a timed test."""

import json
import os
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
import sympy

import symnet
from symnet import SymbolicRegressor
from symnet.distill import distill
from symnet.search import Candidate, Data, SlotPlan, make_views, pareto_front
from symnet.search._population import train_population

CONFIG = symnet.SearchConfig(
    preset="default", n_restarts=2, sparsity=(1e-2,), views=("raw",), chunk_steps=100
)
TINY = dict(
    preset="default",
    steps=300,
    n_restarts=2,
    sparsity=(1e-2,),
    max_candidates=4,
    views=("raw",),
    random_state=3,
)


@pytest.fixture(scope="module")
def data():
    X = np.random.default_rng(0).uniform(1, 3, (200, 2))
    return Data.build(X, X[:, 0] * X[:, 1], key=jax.random.key(0), config=CONFIG)


def test_training_stops_at_its_deadline_not_when_the_schedule_is_queued(data):
    """JAX dispatches compiled calls asynchronously: checking the clock after queueing a
    chunk let a whole schedule run past the deadline (fits of 60 s ran 100 s). Each chunk
    is now waited for, so a slot whose time is up after its first chunk stops there."""
    view = make_views(data.X, data.y, data.symbols, ("raw",))[0]
    keys = tuple(jax.random.split(jax.random.key(1)))
    plan = SlotPlan(deadline=time.monotonic() + 600.0, steps=3000, seconds=1e-3)
    trained = train_population(
        view, data, keys=keys, config=CONFIG, preset="default", plan=plan, report=lambda f: None
    )
    assert trained.steps == CONFIG.chunk_steps  # one chunk of 3000 steps, then the deadline
    assert trained.warmup > 0  # compiling happened before the slot's clock started


def test_a_slots_time_starts_after_compiling(data):
    """A first slot whose compile takes longer than its share still trains for its share."""
    view = make_views(data.X, data.y, data.symbols, ("raw",))[0]
    keys = tuple(jax.random.split(jax.random.key(2)))
    now = time.monotonic()
    plan = SlotPlan(deadline=now + 600.0, steps=200, seconds=600.0)
    trained = train_population(
        view, data, keys=keys, config=CONFIG, preset="default", plan=plan, report=lambda f: None
    )
    assert trained.steps == 200


def _candidate(size, loss):
    return Candidate(sympy.Symbol(f"f{size}"), size, loss, loss, 0)


def test_maxsize_bounds_the_front_so_a_surrogate_is_not_selected():
    """A fit under a small budget found a 290-node surrogate with loss 2e-6 next to a
    37-node formula with loss 2.5e-4; PySR's rule picked the surrogate. ``maxsize`` (PySR's
    name, default 50) keeps it off the front."""
    cands = [_candidate(1, 0.77), _candidate(27, 2.4e-3), _candidate(37, 2.5e-4)]
    surrogate = _candidate(290, 2e-6)
    front = pareto_front([*cands, surrogate], maxsize=symnet.search.DEFAULT_MAXSIZE)
    assert surrogate not in front and symnet.select(front) == 2
    assert symnet.select(pareto_front([*cands, surrogate])) == 3  # without the bound
    assert SymbolicRegressor().maxsize == symnet.search.DEFAULT_MAXSIZE == 50


def test_maxsize_applies_to_a_fit():
    X = np.random.default_rng(0).uniform(1, 3, (120, 2))
    model = SymbolicRegressor(maxsize=5, **TINY).fit(X, np.sin(X[:, 0]) * X[:, 1] + X[:, 0])
    assert model.equations_["complexity"].max() <= 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"deterministic": True, "max_time": 10}, "`deterministic=True` replaces the clock"),
        ({"deterministic": "yes"}, "`deterministic` must be True or False"),
        ({"maxsize": 0}, "`maxsize` must be None or an integer >= 1"),
        ({"maxsize": 2.5}, "`maxsize` must be None or an integer >= 1"),
    ],
)
def test_bad_budget_settings_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SymbolicRegressor(**kwargs).fit(np.ones((10, 2)), np.arange(10.0))


_FIT = """
import json, sys, numpy as np, symnet
X = np.random.default_rng(0).uniform(1, 3, (150, 2))
model = symnet.SymbolicRegressor(deterministic=True, **json.loads(sys.argv[1]))
model.fit(X, np.exp(-X[:, 1]) * X[:, 0] + 0.5 * X[:, 1])
front = model.equations_[["complexity", "loss", "equation"]].to_csv(index=False)
print(json.dumps({"front": front, "cache": symnet.cache_dir()}))
"""


def _fresh_fit(env_cache: str) -> dict:
    env = {**os.environ, "SYMNET_CACHE_DIR": env_cache, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run(
        [sys.executable, "-c", _FIT, json.dumps(TINY)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_deterministic_fits_agree_in_fresh_processes_and_compiles_are_cached(tmp_path):
    """The same random_state in two fresh processes gives the same front (every formula
    and loss); the first process writes the persistent compilation cache the second reads."""
    cache = tmp_path / "cache"
    first = _fresh_fit(str(cache))
    assert first["cache"] == str(cache) and len(os.listdir(cache)) > 0
    second = _fresh_fit(str(cache))
    assert second["front"] == first["front"]
    assert _fresh_fit("off")["cache"] is None  # the setting that disables the cache


def test_distill_max_time_bounds_the_whole_call():
    """Each round's fit gets an even share of what is left (it used to get all of it);
    the wall time is measured by ``experiments/budget_use.py``."""
    model = distill(
        lambda X: 2 * X[:, 0] * X[:, 1],
        domain=[(-1.0, 1.0), (-1.0, 1.0)],
        n_queries=120,
        rounds=2,
        max_time=6.0,
        **{k: v for k, v in TINY.items() if k != "random_state"},
        random_state=0,
    )
    assert model.get_params()["max_time"] <= 4.0  # about half; it was all 6 s per round

"""Tests for the dynamical-systems catalogue ``symnet.systems``."""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pytest

from symnet.datasets import Task, get_task, load_suite
from symnet.systems import (
    CHAOTIC_SIMULATION,
    STROGATZ_BOXES,
    STROGATZ_SIMULATION,
    Regime,
    Simulation,
    System,
    chaotic_systems,
    make_rng,
    strogatz_systems,
)

STROGATZ = strogatz_systems()
CHAOTIC = chaotic_systems()


def _line(**changes: object) -> System:
    """The system x' = -x, y' = x - y on the unit box, with ``changes`` applied."""
    fields: dict[str, object] = {
        "name": "line",
        "states": ("x", "y"),
        "derivatives": ("-x", "x - y"),
        "box": ((0.0, 1.0), (0.0, 1.0)),
    }
    fields.update(changes)
    return System(**fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- catalogues


def test_catalogues() -> None:
    assert list(STROGATZ) == ["bacres", "barmag", "glider", "lv", "predprey", "shearflow", "vdp"]
    for name, system in STROGATZ.items():
        assert system.name == name and system.key == f"strogatz/{name}"
        assert system.states == ("x", "y") and system.box == STROGATZ_BOXES[name]
        assert system.simulation == STROGATZ_SIMULATION and system.initial is None
    assert STROGATZ["vdp"].description == "van der Pol oscillator"
    assert len(CHAOTIC) == 39
    for name, system in CHAOTIC.items():
        assert system.key == f"chaotic/{name}" and system.simulation == CHAOTIC_SIMULATION
        assert 3 <= len(system.states) <= 4 and system.period is not None and system.period > 0
        assert system.initial is not None and len(system.initial) == len(system.states)
    # A fresh dict each call, of the same (cached, hashable) systems.
    again = strogatz_systems()
    again.clear()
    assert len(strogatz_systems()) == 7
    assert {STROGATZ["lv"]: 1}[strogatz_systems()["lv"]] == 1


def test_tasks_are_built_from_the_catalogue() -> None:
    for suite, catalogue in (("strogatz", STROGATZ), ("chaotic", CHAOTIC)):
        tasks = load_suite(suite)
        expected = [
            (f"{suite}/{s.name}_{state}", formula, s.states, s.box)
            for s in catalogue.values()
            for state, formula in zip(s.states, s.derivatives, strict=True)
        ]
        assert [(t.name, t.formula, t.variables, t.ranges) for t in tasks] == expected
    task = get_task("strogatz/lv_y")
    assert task.source is STROGATZ["lv"] and task.n_default == 404
    X, _ = task.sample(seed=2, extrapolate=True)
    np.testing.assert_array_equal(
        X.to_numpy(), STROGATZ["lv"].sample(404, seed=2, extrapolate=True)
    )


def test_task_with_a_system_pickles() -> None:
    task = get_task("chaotic/Lorenz_z")
    clone = pickle.loads(pickle.dumps(task))
    assert clone == task and clone.source == CHAOTIC["Lorenz"]
    X, y = task.sample(30, seed=1, noise=0.01)
    X2, y2 = clone.sample(30, seed=1, noise=0.01)
    np.testing.assert_array_equal(X.to_numpy(), X2.to_numpy())
    np.testing.assert_array_equal(y, y2)


class _Grid:
    """A state source that returns the row index in every column."""

    def sample(self, n: int, *, seed: int, extrapolate: bool) -> np.ndarray:
        return np.repeat(np.arange(n, dtype=float)[:, None], 2, axis=1) + seed + extrapolate


def test_task_takes_its_inputs_from_any_source() -> None:
    task = Task(
        name="custom/sum",
        suite="custom",
        formula="x + y",
        variables=("x", "y"),
        ranges=((0.0, 1.0), (0.0, 1.0)),
        n_default=5,
        source=_Grid(),
    )
    X, y = task.sample(seed=1, extrapolate=True)
    np.testing.assert_array_equal(X["x"].to_numpy(), [2.0, 3.0, 4.0, 5.0, 6.0])
    np.testing.assert_array_equal(y, 2 * X["x"].to_numpy())
    with pytest.raises(ValueError, match="source"):
        dataclasses.replace(task, source="trajectories")
    with pytest.raises(ValueError, match="source gave shape"):
        dataclasses.replace(task, variables=("x", "y", "z"), ranges=((0.0, 1.0),) * 3).sample()


# ---------------------------------------------------------------------------- simulation


@pytest.mark.parametrize("name", list(STROGATZ))
def test_strogatz_trajectories_solve_the_ode(name: str) -> None:
    # Record densely (dt = 0.002): central differences of the states then match F to
    # O(dt^2), far below the size of F.
    dense = dataclasses.replace(STROGATZ_SIMULATION, points=1001, default=Regime(duration=2.0))
    system = dataclasses.replace(STROGATZ[name], simulation=dense)
    states = system.simulate(1, seed=0)[0]
    t = system.times()
    assert states.shape == (1001, 2) and t[0] == 0.0 and t[-1] == 2.0
    slope = (states[2:] - states[:-2]) / (t[2:] - t[:-2])[:, None]
    field = system.rhs(states[1:-1])
    scale = np.max(np.abs(field), axis=0)
    np.testing.assert_allclose(slope, field, rtol=0, atol=2e-3 * np.max(scale))
    low, high = np.array(system.box).T
    assert np.all(states[0] >= low) and np.all(states[0] <= high)


@pytest.mark.parametrize("name", ["Lorenz", "Rossler", "SprottA"])
def test_chaotic_trajectories_stay_finite_and_bounded(name: str) -> None:
    system = CHAOTIC[name]
    runs = system.simulate(2, seed=3)
    assert runs.shape == (2, 101, len(system.states)) and np.all(np.isfinite(runs))
    low, high = np.array(system.box).T
    width = high - low
    assert np.all(runs >= low - width) and np.all(runs <= high + width)
    times = system.times()
    assert times[0] == pytest.approx(5 * system.period)
    assert times[-1] == pytest.approx(15 * system.period)
    assert system.times(extrapolate=True)[0] == 0.0
    # Cached, but each call returns a fresh writable copy.
    again = system.simulate(2, seed=3)
    again[...] = 0.0
    np.testing.assert_array_equal(system.simulate(2, seed=3), runs)


def test_simulation_is_seeded_by_the_key() -> None:
    system = _line()
    runs = system.simulate(3, seed=4)
    rng = make_rng("line", 4, 0, False)
    manual = np.stack([system.trajectory(rng) for _ in range(3)])
    np.testing.assert_array_equal(runs, manual)
    # x(t) = x0 exp(-t) along the recorded times (the solver's atol is 1e-9).
    exact = runs[:, :1, 0] * np.exp(-system.times())
    np.testing.assert_allclose(runs[:, :, 0], exact, rtol=1e-6, atol=1e-8)
    other = dataclasses.replace(system, catalogue="elsewhere")
    assert other.key == "elsewhere/line"
    assert not np.array_equal(other.simulate(3, seed=4), runs)
    sample = system.sample(10, seed=4)
    keep = np.floor(np.linspace(0, 403, 10) + 1e-9).astype(int)
    np.testing.assert_array_equal(sample, system.simulate(4, seed=4).reshape(-1, 2)[keep])
    assert system.sample(500, seed=4).shape == (500, 2)


def test_math_and_numpy_fields_agree() -> None:
    system = CHAOTIC["Lorenz"]
    numpy_field = dataclasses.replace(system, simulation=STROGATZ_SIMULATION, initial=None)
    state = np.array([1.0, -2.0, 20.0])
    fast = np.array(system.vector_field()(0.0, state))
    slow = numpy_field.vector_field()(0.0, state)
    np.testing.assert_allclose(fast, slow, rtol=1e-14)
    np.testing.assert_allclose(system.rhs(state), [-30.0, 10.0, -2.0 - 160 / 3], rtol=1e-12)


def test_parameters_are_substituted_exactly() -> None:
    with_parameters = _line(
        derivatives=("-k*x", "x - lambda*y"), parameters={"k": 0.1, "lambda": 2}
    )
    assert with_parameters.formulas() == ("-(0.1)*x", "x - (2.0)*y")
    plain = _line(derivatives=("-0.1*x", "x - 2*y"))
    grid = np.random.default_rng(0).uniform(-3, 3, size=(50, 2))
    np.testing.assert_array_equal(with_parameters.rhs(grid), plain.rhs(grid))
    assert with_parameters != plain and with_parameters.parameters == {"k": 0.1, "lambda": 2.0}


def test_escape_and_limit_reject_trajectories() -> None:
    growing = _line(derivatives=("x", "-y"), box=((1.0, 2.0), (0.0, 1.0)))
    escaping = dataclasses.replace(growing, simulation=Simulation(escape=1.0, max_tries=3))
    with pytest.raises(RuntimeError, match="line: no accepted trajectory in 3"):
        escaping.simulate(1)
    limited = dataclasses.replace(growing, simulation=Simulation(limit=100.0, max_tries=2))
    with pytest.raises(RuntimeError, match="no accepted trajectory in 2"):
        limited.simulate(1)
    # Unlimited, the same system is accepted.
    assert np.all(np.isfinite(growing.simulate(1)))


def test_regimes_draw_from_their_boxes() -> None:
    lo, hi = np.array([0.0, -1.0]), np.array([1.0, 1.0])
    wide = Regime(widen=(0.25, 0.5))
    low, high = wide.bounds(lo, hi)
    np.testing.assert_array_equal(low, [-0.25, -1.5])
    np.testing.assert_array_equal(high, [1.5, 2.0])
    rng = np.random.default_rng(0)
    draws = np.array([wide.draw(rng, lo, hi, None) for _ in range(2000)])
    assert np.all(draws >= low) and np.all(draws <= high) and np.any(draws < lo)
    near = Regime(start="initial", spread=0.01)
    draws = np.array([near.draw(rng, lo, hi, (0.5, 0.0)) for _ in range(2000)])
    np.testing.assert_allclose(draws.std(axis=0), 0.01 * (hi - lo), rtol=0.1)
    assert Regime(transient=5.0, duration=10.0).window(2.0) == (10.0, 30.0)


# ---------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"name": ""}, "name"),
        ({"states": ("x", "x")}, "states"),
        ({"states": ("x", "1y")}, "states"),
        ({"derivatives": ("-x",)}, "derivatives"),
        ({"derivatives": ("-x", 3)}, "derivatives"),
        ({"box": ((0.0, 1.0), (1.0, 1.0))}, "box"),
        ({"box": ((0.0, 1.0),)}, "box"),
        ({"box": ((0.0, 1.0), (0.0, math.inf))}, "box"),
        ({"parameters": {"x": 1.0}}, "parameters"),
        ({"parameters": {"k": math.nan}}, "parameters"),
        ({"parameters": [("k", 1.0)]}, "parameters"),
        ({"initial": (0.0,)}, "initial"),
        ({"simulation": CHAOTIC_SIMULATION}, "initial"),
        ({"period": -1.0}, "period"),
        ({"period": (1.0, 2.0)}, "period"),
        ({"simulation": "strogatz"}, "simulation"),
    ],
)
def test_system_rejects_bad_fields(changes: dict[str, object], parameter: str) -> None:
    with pytest.raises(ValueError, match=parameter):
        _line(**changes)


@pytest.mark.parametrize(
    ("build", "parameter"),
    [
        (lambda: Regime(start="middle"), "start"),
        (lambda: Regime(widen=(0.1,)), "widen"),
        (lambda: Regime(widen=(-0.1, 0.0)), "widen"),
        (lambda: Regime(spread=-1.0), "spread"),
        (lambda: Regime(transient=math.nan), "transient"),
        (lambda: Regime(duration=0.0), "duration"),
        (lambda: Simulation(default="box"), "default"),
        (lambda: Simulation(points=1), "points"),
        (lambda: Simulation(trajectories=0), "trajectories"),
        (lambda: Simulation(max_tries=2.5), "max_tries"),
        (lambda: Simulation(escape=0.0), "escape"),
        (lambda: Simulation(limit=-1.0), "limit"),
        (lambda: Simulation(field="jax"), "field"),
        (lambda: Simulation(rtol=0.0), "rtol"),
    ],
)
def test_simulation_rejects_bad_fields(build, parameter: str) -> None:
    with pytest.raises(ValueError, match=parameter):
        build()


def test_calls_reject_bad_arguments() -> None:
    system = _line()
    with pytest.raises(ValueError, match="count"):
        system.simulate(0)
    with pytest.raises(ValueError, match="seed"):
        system.simulate(1, seed=-1)
    with pytest.raises(ValueError, match=r"\bn\b"):
        system.sample(True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="states"):
        system.rhs(np.ones((4, 3)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        system.name = "other"  # type: ignore[misc]


def test_odebench_catalogue_has_its_63_systems_and_both_starts() -> None:
    from collections import Counter

    from symnet.systems import ODEBENCH_TIMES, odebench_systems

    systems = odebench_systems()
    assert len(systems) == 63
    assert Counter(len(s.system.states) for s in systems.values()) == {1: 23, 2: 28, 3: 10, 4: 2}
    entry = systems["ode24"]
    assert entry.number == 24 and entry.system.catalogue == "odebench"
    for which in (0, 1):
        x = entry.trajectory(which)
        assert x.shape == (512, 2)
        np.testing.assert_allclose(x[0], entry.starts[which])
        slope = np.gradient(x, ODEBENCH_TIMES, axis=0)[5:-5]
        scale = np.abs(slope).max(axis=0)
        assert np.max(np.abs(slope - entry.system.rhs(x)[5:-5]) / scale) < 1e-2
    with pytest.raises(ValueError, match="which"):
        entry.trajectory(2)


def test_solve_rejects_bad_starts_and_times() -> None:
    from symnet.systems import strogatz_systems

    vdp = strogatz_systems()["vdp"]
    with pytest.raises(ValueError, match="initial must be 2 finite values"):
        vdp.solve([1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        vdp.solve([1.0, 0.0], [0.0, 1.0, 0.5])
    x = vdp.solve([1.0, 0.0], np.linspace(0.0, 1.0, 11))
    assert x.shape == (11, 2) and np.all(x[0] == [1.0, 0.0])

"""Tests for the chaotic (dysts) and SRSD-Feynman suites in ``symnet.datasets``."""

from __future__ import annotations

import math
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
import sympy

from symnet.datasets import (
    ALL_SUITES,
    EXTRA_SUITES,
    SUITES,
    Sampler,
    Task,
    get_task,
    load_suite,
)
from symnet.datasets._sampling import parse_sampler
from symnet.systems import chaotic_systems

CHAOTIC = load_suite("chaotic")
SYSTEMS = list(
    dict.fromkeys(task.name.removeprefix("chaotic/").rsplit("_", 1)[0] for task in CHAOTIC)
)
SRSD_COUNTS = {"easy": 30, "medium": 40, "hard": 50}
SRSD = [task for group in SRSD_COUNTS for task in load_suite(f"srsd_{group}")]
SRSD_DUMMY = [task for group in SRSD_COUNTS for task in load_suite(f"srsd_{group}_dummy")]


def _first_task(system: str) -> Task:
    return next(task for task in CHAOTIC if task.name.startswith(f"chaotic/{system}_"))


# ---------------------------------------------------------------------------- registry


def test_suites_are_registered() -> None:
    assert SUITES == ("feynman", "bonus", "nguyen", "strogatz")
    assert ALL_SUITES == SUITES + EXTRA_SUITES
    assert "chaotic" in EXTRA_SUITES
    for group, count in SRSD_COUNTS.items():
        assert len(load_suite(f"srsd_{group}")) == count
        assert len(load_suite(f"srsd_{group}_dummy")) == count
    names = [task.name for suite in ALL_SUITES for task in load_suite(suite)]
    assert len(names) == len(set(names))
    data = files("symnet.data")
    assert data.joinpath("chaotic_systems.csv").is_file()
    assert data.joinpath("srsd_feynman.csv").is_file()


def test_get_task_finds_new_suites() -> None:
    assert get_task("chaotic/Lorenz_x").suite == "chaotic"
    assert get_task("srsd_hard/B1").suite == "srsd_hard"
    with pytest.raises(ValueError, match="did you mean 'chaotic/Lorenz_x'"):
        get_task("chaotic/lorenz_x")


# ---------------------------------------------------------------------------- chaotic


def test_chaotic_catalogue() -> None:
    assert len(SYSTEMS) >= 20
    assert len(CHAOTIC) == sum(len(_first_task(s).variables) for s in SYSTEMS)
    for task in CHAOTIC:
        system, state = task.name.removeprefix("chaotic/").rsplit("_", 1)
        assert state in task.variables and 3 <= len(task.variables) <= 4
        assert task.n_default == 404
        assert all(lo < hi for lo, hi in task.ranges)


@pytest.mark.parametrize("task", CHAOTIC, ids=[t.name for t in CHAOTIC])
def test_chaotic_formula_parses_over_the_states(task: Task) -> None:
    expr = task.expr()
    assert expr.free_symbols <= set(task.symbols())
    assert expr.free_symbols  # every derivative depends on some state
    assert not expr.atoms(sympy.Function) - expr.atoms(sympy.sin, sympy.cos, sympy.Abs)


def test_chaotic_systems_depend_on_every_state() -> None:
    for system in SYSTEMS:
        tasks = [t for t in CHAOTIC if t.name.startswith(f"chaotic/{system}_")]
        used = set().union(*(t.expr().free_symbols for t in tasks))
        assert used == set(tasks[0].symbols()), system


def test_textbook_systems() -> None:
    x, y, z = sympy.symbols("x y z", real=True)
    lorenz = {s: get_task(f"chaotic/Lorenz_{s}").expr() for s in "xyz"}
    assert sympy.simplify(lorenz["x"] - 10 * (y - x)) == 0
    assert sympy.simplify(lorenz["y"] - (x * (28 - z) - y)) == 0
    assert sympy.simplify(lorenz["z"] - (x * y - sympy.Rational(8, 3) * z)) == 0
    rossler = {s: get_task(f"chaotic/Rossler_{s}").expr() for s in "xyz"}
    assert sympy.simplify(rossler["x"] - (-y - z)) == 0
    assert sympy.simplify(sympy.nsimplify(rossler["y"]) - (x + y / 5)) == 0
    expected_z = sympy.Rational(1, 5) + z * (x - sympy.Rational(57, 10))
    assert sympy.simplify(sympy.nsimplify(rossler["z"]) - expected_z) == 0
    # Sprott A is the Nose-Hoover oscillator with a = 1.
    sprott = {s: get_task(f"chaotic/SprottA_{s}").expr() for s in "xyz"}
    assert sprott == {"x": y, "y": -x + y * z, "z": 1 - y**2}


@pytest.mark.parametrize("system", SYSTEMS)
def test_chaotic_samples_stay_on_the_attractor(system: str) -> None:
    task = _first_task(system)
    X, y = task.sample(seed=0)
    states = X.to_numpy()
    assert states.shape == (404, len(task.variables)) and list(X.columns) == list(task.variables)
    assert np.all(np.isfinite(states)) and np.all(np.isfinite(y))
    np.testing.assert_array_equal(y, task.evaluate(X))
    lo = np.array([r[0] for r in task.ranges])
    hi = np.array([r[1] for r in task.ranges])
    width = hi - lo
    # The box is the attractor's hull from five reference trajectories; after the
    # transient the perturbed trajectories stay on the attractor, near that box ...
    assert np.all(states >= lo - 0.5 * width) and np.all(states <= hi + 0.5 * width)
    # ... and the four trajectories spread over a good part of it.
    assert np.all(states.max(axis=0) - states.min(axis=0) >= 0.3 * width)


def test_chaotic_tasks_of_a_system_share_trajectories() -> None:
    Xx, yx = get_task("chaotic/Lorenz_x").sample(seed=3)
    Xz, yz = get_task("chaotic/Lorenz_z").sample(seed=3)
    pd.testing.assert_frame_equal(Xx, Xz)
    x, y, z = Xx.to_numpy().T
    np.testing.assert_allclose(yx, 10 * (y - x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(yz, x * y - 8 / 3 * z, rtol=1e-12, atol=1e-9)


def test_chaotic_targets_are_time_derivatives() -> None:
    # Rows 0..100 are one trajectory recorded every P/10; the trapezoid rule over
    # consecutive rows approximates the change of state.
    task = get_task("chaotic/Rossler_y")
    X, y = task.sample(seed=0)
    state = X["y"].to_numpy()[:101]
    dt = chaotic_systems()["Rossler"].period / 10
    step = np.diff(state)
    trapezoid = 0.5 * dt * (y[:100] + y[1:101])
    np.testing.assert_allclose(trapezoid, step, atol=0.2 * np.max(np.abs(step)))


def test_chaotic_determinism_and_sizes() -> None:
    task = get_task("chaotic/Thomas_y")
    X1, y1 = task.sample(50, noise=0.01, seed=5)
    X2, y2 = task.sample(50, noise=0.01, seed=5)
    pd.testing.assert_frame_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = task.sample(50, noise=0.01, seed=6)
    assert not np.array_equal(X1.to_numpy(), X3.to_numpy())
    full, _ = task.sample(seed=5)
    keep = np.floor(np.linspace(0, 403, 50) + 1e-9).astype(int)
    np.testing.assert_array_equal(X1.to_numpy(), full.to_numpy()[keep])
    X, y = task.sample(600, seed=5)
    assert X.shape == (600, 3) and np.all(np.isfinite(y))


def test_chaotic_extrapolation_visits_another_region() -> None:
    task = get_task("chaotic/Lorenz_y")
    X, y = task.sample(seed=0, extrapolate=True)
    assert np.all(np.isfinite(y))
    states = X.to_numpy()
    lo = np.array([r[0] for r in task.ranges])
    hi = np.array([r[1] for r in task.ranges])
    width = hi - lo
    starts = states[::101]
    assert starts.shape == (4, 3)
    assert np.all(starts >= lo - 0.25 * width) and np.all(starts <= hi + 0.25 * width)
    # The transient from the wide box: some states lie outside the attractor's box, and
    # the sample differs from the default one.
    assert np.any((states < lo) | (states > hi))
    default, _ = task.sample(seed=0)
    assert not np.array_equal(states, default.to_numpy())


# ---------------------------------------------------------------------------- samplers


def test_sampler_parsing_and_bounds() -> None:
    assert parse_sampler("log:1e-2:1:both") == Sampler("log", 0.01, 1.0, "both")
    assert parse_sampler("uniform:0:6.5") == Sampler("uniform", 0.0, 6.5, "pos")
    assert Sampler("log", 1e-3, 1e-1, "neg").bounds() == (-1e-1, -1e-3)
    assert Sampler("log", 1e-3, 1e-1, "both").bounds() == (-1e-1, 1e-1)
    assert Sampler("int", 1, 100).bounds() == (1.0, 99.0)
    low, high = Sampler("log", 1e-2, 1.0).magnitude_range(extrapolate=True)
    assert low == 1e-2 and high == pytest.approx(10.0)
    for bad in ("log:0:1", "log:2:1", "cubic:0:1", "uniform:0:1:odd", "int:0.5:3", "log:1"):
        with pytest.raises(ValueError):
            parse_sampler(bad)


def test_log_uniform_sampling_spans_decades() -> None:
    rng = np.random.default_rng(0)
    values = Sampler("log", 1e-11, 1e-9, "pos").draw(rng, 20000)
    logs = np.log10(values)
    assert logs.min() >= -11 and logs.max() <= -9
    assert logs.max() - logs.min() > 1.95
    # Uniform in log10: each decade holds about half the draws.
    assert abs(np.mean(logs < -10) - 0.5) < 0.02
    signed = Sampler("log", 1e-1, 1e1, "both").draw(rng, 20000)
    assert abs(np.mean(signed < 0) - 0.5) < 0.02
    ints = Sampler("int", 1, 10).draw(rng, 5000)
    assert set(np.unique(ints)) == set(range(1, 10))


# ---------------------------------------------------------------------------- SRSD


def test_srsd_table_matches_the_groups() -> None:
    table = pd.read_csv(
        files("symnet.data").joinpath("srsd_feynman.csv"), dtype=str, keep_default_na=False
    )
    assert list(table.columns) == ["name", "group", "srsd_class", "formula", "samplers", "note"]
    assert table["group"].value_counts().to_dict() == SRSD_COUNTS
    assert table["name"].is_unique and len(table) == 120
    ids = {task.name.split("/", 1)[1] for task in SRSD}
    assert {"I.6.20", "I.6.20a", "II.11.3", "III.21.20", "B1", "B20"} <= ids


@pytest.mark.parametrize("task", SRSD, ids=[t.name for t in SRSD])
def test_srsd_formula_uses_exactly_its_variables(task: Task) -> None:
    expr = task.expr()
    assert expr.free_symbols == set(task.symbols())
    assert len(task.samplers) == len(task.variables)
    assert task.ranges == tuple(s.bounds() for s in task.samplers)
    assert task.n_default == 1000


@pytest.mark.parametrize("task", SRSD, ids=[t.name for t in SRSD])
def test_srsd_samples_are_finite_and_in_range(task: Task) -> None:
    X, y = task.sample(300, seed=0)
    values = X.to_numpy()
    assert values.shape == (300, len(task.variables))
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(y))
    np.testing.assert_array_equal(y, task.evaluate(X))
    for j, (sampler, (lo, hi)) in enumerate(zip(task.samplers, task.ranges, strict=True)):
        column = values[:, j]
        assert np.all((column >= lo) & (column <= hi)), task.variables[j]
        if sampler.kind == "int":
            assert np.all(column == np.round(column))
        if sampler.sign == "pos" and sampler.low >= 0:
            assert np.all(column >= 0)
        if sampler.sign == "neg":
            assert np.all(column < 0)
    Xe, ye = task.sample(300, seed=0, extrapolate=True)
    assert np.all(np.isfinite(ye))


def test_srsd_known_values() -> None:
    task = get_task("srsd_easy/I.12.1")
    assert task.variables == ("mu", "Nn")
    assert task.samplers == (Sampler("log", 0.01, 1.0, "pos"),) * 2
    task = get_task("srsd_medium/I.29.4")  # omega / c
    (omega,) = task.symbols()
    assert task.expr() == omega / sympy.Float(2.99792458e8)
    task = get_task("srsd_hard/I.30.3")
    assert task.samplers[1] == Sampler("int", 10, 1000, "pos")
    X, y = get_task("srsd_hard/III.21.20").sample(200, seed=0)
    assert np.all(X["rho_c_0"] < 0) and np.all(X["q"] < 0)


def test_srsd_log_inputs_span_decades_in_the_sample() -> None:
    task = get_task("srsd_medium/I.38.12")  # m in [1e-28, 1e-26], q in [1e-11, 1e-9]
    X, _ = task.sample(seed=0)
    for column in ("m", "q"):
        logs = np.log10(X[column].to_numpy())
        assert logs.max() - logs.min() > 1.9
    extrap, _ = task.sample(seed=0, extrapolate=True)
    assert np.log10(extrap["m"].max()) > -26  # widened by one decade in log space


def test_srsd_rejects_invalid_rows() -> None:
    # sqrt(omega^2/c^2 - pi^2/d^2) is imaginary for much of SRSD's box: those rows are
    # redrawn, as SRSD does.
    task = get_task("srsd_hard/II.24.17")
    X, y = task.sample(500, seed=1)
    assert np.all(np.isfinite(y)) and np.all(y > 0)


def test_srsd_determinism() -> None:
    for name in ("srsd_easy/II.34.11", "srsd_hard_dummy/B6"):
        task = get_task(name)
        X1, y1 = task.sample(100, noise=0.01, seed=3)
        X2, y2 = task.sample(100, noise=0.01, seed=3)
        pd.testing.assert_frame_equal(X1, X2)
        np.testing.assert_array_equal(y1, y2)
        X3, _ = task.sample(100, noise=0.01, seed=4)
        assert not np.array_equal(X1.to_numpy(), X3.to_numpy())


# ---------------------------------------------------------------------------- dummies


@pytest.mark.parametrize("task", SRSD_DUMMY, ids=[t.name for t in SRSD_DUMMY])
def test_dummy_columns_are_irrelevant(task: Task) -> None:
    base = get_task(task.name.replace("_dummy/", "/"))
    dummies = [v for v in task.variables if v.startswith("dummy_")]
    assert 1 <= len(dummies) <= 3
    assert [v for v in task.variables if not v.startswith("dummy_")] == list(base.variables)
    assert task.formula == base.formula
    assert task.expr().free_symbols == set(base.symbols())
    for name, sampler in zip(task.variables, task.samplers, strict=True):
        if name.startswith("dummy_"):
            assert sampler.kind == "log" and sampler.sign in ("pos", "both")
            exponent = math.log10(sampler.low) + 1
            assert sampler.high == pytest.approx(10.0 ** (exponent + 1))
            assert -32 <= round(exponent) <= 32
    X, y = task.sample(50, seed=0)
    assert np.all(np.isfinite(X.to_numpy())) and np.all(np.isfinite(y))
    np.testing.assert_array_equal(y, base.evaluate(X[list(base.variables)]))


def test_dummy_layout_is_fixed_and_varied() -> None:
    again = [t.variables for t in load_suite("srsd_hard_dummy")]
    assert again == [t.variables for t in SRSD_DUMMY if t.suite == "srsd_hard_dummy"]
    counts = {sum(v.startswith("dummy_") for v in t.variables) for t in SRSD_DUMMY}
    assert counts == {1, 2, 3}
    positions = {t.variables.index("dummy_1") for t in SRSD_DUMMY}
    assert len(positions) > 2

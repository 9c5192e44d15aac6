"""Tests for the offline benchmark datasets in ``symnet.datasets``."""

from __future__ import annotations

import dataclasses
import math
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
import sympy

from symnet.datasets import (
    NOISE_LEVELS,
    SUITES,
    Task,
    add_noise,
    get_task,
    load_suite,
)

EXPECTED_COUNTS = {"feynman": 100, "bonus": 20, "nguyen": 12, "strogatz": 14}

# Tasks whose formula does not use every listed variable: the van der Pol system
# dy/dt = -x/10 does not depend on y, but y is still a state (an input column).
UNUSED_VARIABLE_TASKS = {"strogatz/vdp_y": {"y"}}

ALL_TASKS = [task for suite in SUITES for task in load_suite(suite)]
UNIFORM_TASKS = [task for task in ALL_TASKS if task.suite != "strogatz"]
STROGATZ_TASKS = load_suite("strogatz")


def _ids(tasks: list[Task]) -> list[str]:
    return [task.name for task in tasks]


# ---------------------------------------------------------------------------- catalogue


def test_suites_and_counts() -> None:
    assert SUITES == ("feynman", "bonus", "nguyen", "strogatz")
    assert NOISE_LEVELS == (0.0, 0.001, 0.01, 0.1)
    for suite, count in EXPECTED_COUNTS.items():
        tasks = load_suite(suite)
        assert len(tasks) == count
        assert all(task.suite == suite for task in tasks)
        assert all(task.name.startswith(f"{suite}/") for task in tasks)
    names = [task.name for task in ALL_TASKS]
    assert len(names) == len(set(names)) == sum(EXPECTED_COUNTS.values())


def test_load_suite_returns_fresh_list_of_frozen_tasks() -> None:
    first = load_suite("nguyen")
    first.clear()
    assert len(load_suite("nguyen")) == 12
    task = get_task("nguyen/1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.name = "other"  # type: ignore[misc]


def test_data_files_are_packaged() -> None:
    data = files("symnet.data")
    for name in (
        "feynman_equations.csv",
        "feynman_bonus_equations.csv",
        "strogatz_equations.csv",
    ):
        assert data.joinpath(name).is_file()


def test_default_sizes() -> None:
    for task in ALL_TASKS:
        if task.suite in ("feynman", "bonus"):
            assert task.n_default == 1000
        elif task.suite == "strogatz":
            assert task.n_default == 404
    for index in range(1, 13):
        assert get_task(f"nguyen/{index}").n_default == (20 if index <= 8 else 100)


def test_bonus_variables_follow_the_listed_columns() -> None:
    # The '# variables' column of the bonus file is wrong for these four rows.
    assert get_task("bonus/test_12").variables == ("q", "y", "Volt", "d", "epsilon")
    assert get_task("bonus/test_13").variables == ("q", "r", "d", "alpha", "epsilon")
    assert len(get_task("bonus/test_18").variables) == 5
    assert len(get_task("bonus/test_19").variables) == 6


def test_strogatz_tasks_use_both_states() -> None:
    for task in STROGATZ_TASKS:
        assert task.variables == ("x", "y")
        assert len(task.ranges) == 2
    assert _ids(STROGATZ_TASKS)[:2] == ["strogatz/bacres_x", "strogatz/bacres_y"]


# ---------------------------------------------------------------------------- formulas


@pytest.mark.parametrize("task", ALL_TASKS, ids=_ids(ALL_TASKS))
def test_expr_uses_only_the_task_variables(task: Task) -> None:
    expr = task.expr()
    symbols = task.symbols()
    assert [s.name for s in symbols] == list(task.variables)
    assert all(s.is_real for s in symbols)
    unused = {s.name for s in set(symbols) - expr.free_symbols}
    assert expr.free_symbols <= set(symbols)
    assert unused == UNUSED_VARIABLE_TASKS.get(task.name, set())


def test_known_values() -> None:
    task = get_task("feynman/I.6.2a")
    (theta,) = task.symbols()
    value = task.expr().subs(theta, 1)
    assert sympy.simplify(value - sympy.exp(-sympy.Rational(1, 2)) / sympy.sqrt(2 * sympy.pi)) == 0
    assert task.evaluate(np.array([[1.0]]))[0] == pytest.approx(
        math.exp(-0.5) / math.sqrt(2 * math.pi), rel=1e-14
    )
    x, y = get_task("nguyen/11").symbols()
    assert get_task("nguyen/11").expr() == x**y
    vx, vy = get_task("strogatz/vdp_y").symbols()
    assert sympy.simplify(get_task("strogatz/vdp_y").expr() + vx / 10) == 0


def test_numpy_style_function_names_parse() -> None:
    # arccos / arcsin / ln are written the numpy way in the source tables.
    assert get_task("bonus/test_10").expr().has(sympy.acos)
    assert get_task("feynman/I.26.2").expr().has(sympy.asin)


def test_awkward_variable_names_parse() -> None:
    names = ("lambda", "gamma", "beta", "I", "E", "S", "Int", "N")
    task = Task(
        name="custom/names",
        suite="feynman",
        formula="lambda*gamma + beta + I + E*pi + S + Int + ln(N) + arccos(1/lambda)",
        variables=names,
        ranges=((1.0, 2.0),) * len(names),
        n_default=5,
    )
    expr = task.expr()
    assert expr.free_symbols == set(task.symbols())
    assert expr.has(sympy.pi) and expr.has(sympy.acos) and expr.has(sympy.log)
    X, y = task.sample(seed=3)
    assert list(X.columns) == list(names)
    row = X.iloc[0]
    expected = (
        row["lambda"] * row["gamma"]
        + row["beta"]
        + row["I"]
        + row["E"] * math.pi
        + row["S"]
        + row["Int"]
        + math.log(row["N"])
        + math.acos(1 / row["lambda"])
    )
    assert y[0] == pytest.approx(expected, rel=1e-12)


def test_formula_with_an_unlisted_symbol_is_rejected() -> None:
    task = Task("custom/bad", "feynman", "x + z", ("x",), ((0.0, 1.0),), 5)
    with pytest.raises(ValueError, match="z"):
        task.expr()


# ---------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("task", ALL_TASKS, ids=_ids(ALL_TASKS))
def test_default_sample_is_finite_and_well_formed(task: Task) -> None:
    X, y = task.sample()
    assert isinstance(X, pd.DataFrame)
    assert X.shape == (task.n_default, len(task.variables))
    assert list(X.columns) == list(task.variables)
    assert all(dtype == np.float64 for dtype in X.dtypes)
    assert y.dtype == np.float64 and y.shape == (task.n_default,)
    assert np.all(np.isfinite(X.to_numpy())) and np.all(np.isfinite(y))
    np.testing.assert_array_equal(y, task.evaluate(X))
    if task.suite != "strogatz":
        lo = np.array([r[0] for r in task.ranges])
        hi = np.array([r[1] for r in task.ranges])
        assert np.all(X.to_numpy() >= lo) and np.all(X.to_numpy() <= hi)


@pytest.mark.parametrize("n", [1, 7, 50])
def test_small_samples(n: int) -> None:
    for name in ("feynman/I.6.2a", "bonus/test_1", "nguyen/9", "strogatz/lv_x"):
        X, y = get_task(name).sample(n, seed=1)
        assert X.shape == (n, len(get_task(name).variables)) and y.shape == (n,)
        assert np.all(np.isfinite(y))


def test_determinism() -> None:
    for name in ("feynman/II.6.15a", "nguyen/12", "strogatz/glider_y"):
        task = get_task(name)
        X1, y1 = task.sample(60, noise=0.01, seed=5)
        X2, y2 = task.sample(60, noise=0.01, seed=5)
        pd.testing.assert_frame_equal(X1, X2)
        np.testing.assert_array_equal(y1, y2)
        X3, y3 = task.sample(60, noise=0.01, seed=6)
        assert not np.array_equal(X1.to_numpy(), X3.to_numpy())
        assert not np.array_equal(y1, y3)
    # Different tasks with the same design get different inputs.
    a, _ = get_task("nguyen/1").sample(seed=0)
    b, _ = get_task("nguyen/2").sample(seed=0)
    assert not np.array_equal(a.to_numpy(), b.to_numpy())


def test_inputs_do_not_depend_on_noise_level() -> None:
    task = get_task("bonus/test_3")
    X0, y0 = task.sample(100, seed=2)
    for gamma in NOISE_LEVELS[1:]:
        X, y = task.sample(100, noise=gamma, seed=2)
        pd.testing.assert_frame_equal(X, X0)
        assert not np.array_equal(y, y0)


def test_strogatz_states_of_one_system_share_trajectories() -> None:
    Xx, yx = get_task("strogatz/predprey_x").sample(seed=4)
    Xy, yy = get_task("strogatz/predprey_y").sample(seed=4)
    pd.testing.assert_frame_equal(Xx, Xy)
    assert not np.array_equal(yx, yy)


def test_strogatz_targets_are_time_derivatives() -> None:
    # Rows 0..100 are the first trajectory at t = 0, 0.1, ..., 10: central differences of
    # the state approximate the right-hand side (error O(dt^2)).
    for name, column in (("strogatz/barmag_x", "x"), ("strogatz/bacres_y", "y")):
        X, y = get_task(name).sample(seed=0)
        state = X[column].to_numpy()[:101]
        slope = (state[2:] - state[:-2]) / 0.2
        np.testing.assert_allclose(slope, y[1:100], atol=0.05 * np.max(np.abs(y[:101])))


def test_strogatz_initial_conditions_lie_in_the_box() -> None:
    for task in STROGATZ_TASKS[::2]:
        X, _ = task.sample(seed=0)
        starts = X.to_numpy()[::101]
        assert starts.shape == (4, 2)
        for j, (lo, hi) in enumerate(task.ranges):
            assert np.all((starts[:, j] >= lo) & (starts[:, j] <= hi))


def test_strogatz_other_sizes() -> None:
    task = get_task("strogatz/shearflow_y")
    full, _ = task.sample(seed=0)
    X, y = task.sample(40, seed=0)
    assert X.shape == (40, 2) and np.all(np.isfinite(y))
    # Fewer rows than 404: evenly spaced rows of the same four trajectories.
    keep = np.floor(np.linspace(0, 403, 40) + 1e-9).astype(int)
    np.testing.assert_array_equal(X.to_numpy(), full.to_numpy()[keep])
    X, y = task.sample(1000, seed=0)
    assert X.shape == (1000, 2) and np.all(np.isfinite(y))


# ---------------------------------------------------------------------------- noise


@pytest.mark.parametrize("gamma", NOISE_LEVELS[1:])
def test_noise_level_matches_gamma_times_rms(gamma: float) -> None:
    task = get_task("feynman/I.12.1")
    X, y_clean = task.sample(20000, seed=0)
    _, y_noisy = task.sample(20000, noise=gamma, seed=0)
    rms = math.sqrt(float(np.mean(y_clean**2)))
    residual = y_noisy - y_clean
    assert np.std(residual) == pytest.approx(gamma * rms, rel=0.03)
    assert abs(np.mean(residual)) < 4 * gamma * rms / math.sqrt(20000)


def test_add_noise_direct() -> None:
    y = np.linspace(-3.0, 3.0, 20000)
    rng = np.random.default_rng(0)
    noisy = add_noise(y, 0.1, rng)
    assert noisy.shape == y.shape and noisy is not y
    rms = math.sqrt(float(np.mean(y**2)))
    assert np.std(noisy - y) == pytest.approx(0.1 * rms, rel=0.03)
    # gamma = 0: an unchanged copy, and the generator is not advanced.
    rng = np.random.default_rng(1)
    same = add_noise(y, 0.0, rng)
    np.testing.assert_array_equal(same, y)
    assert rng.random() == np.random.default_rng(1).random()


@pytest.mark.parametrize("gamma", [-0.1, float("nan"), float("inf"), "0.1", True])
def test_add_noise_rejects_bad_gamma(gamma: object) -> None:
    with pytest.raises(ValueError, match="gamma"):
        add_noise(np.ones(3), gamma, np.random.default_rng(0))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- extrapolation


def test_extrapolation_box_is_wider_upwards() -> None:
    task = get_task("feynman/I.12.11")
    X, _ = task.sample(4000, seed=0, extrapolate=True)
    values = X.to_numpy()
    for j, (lo, hi) in enumerate(task.ranges):
        assert values[:, j].min() >= lo
        assert values[:, j].max() <= hi + 0.5 * (hi - lo)
        assert values[:, j].max() > hi
    X_default, _ = task.sample(4000, seed=0)
    assert not np.array_equal(values, X_default.to_numpy())


def test_extrapolation_rejects_points_outside_the_domain() -> None:
    # arcsin(n*sin(theta2)) is undefined where n*sin(theta2) > 1, which the widened box
    # (n up to 1.5) contains; those points are redrawn.
    X, y = get_task("feynman/I.26.2").sample(500, seed=0, extrapolate=True)
    assert X.shape == (500, 2) and np.all(np.isfinite(y))
    assert X["n"].max() > 1.0


def test_strogatz_extrapolation_draws_wider_initial_conditions() -> None:
    task = get_task("strogatz/lv_x")
    outside = False
    for seed in range(5):
        X, y = task.sample(seed=seed, extrapolate=True)
        assert np.all(np.isfinite(y))
        starts = X.to_numpy()[::101]
        for j, (lo, hi) in enumerate(task.ranges):
            assert np.all((starts[:, j] >= lo) & (starts[:, j] <= hi + 0.5 * (hi - lo)))
            outside = outside or bool(np.any(starts[:, j] > hi))
    assert outside


# ---------------------------------------------------------------------------- bad inputs


def test_load_suite_rejects_unknown_suite() -> None:
    with pytest.raises(ValueError, match="suite") as info:
        load_suite("feyman")
    message = str(info.value)
    assert "'feyman'" in message
    assert all(suite in message for suite in SUITES)


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "10"])
def test_sample_rejects_bad_n(n: object) -> None:
    with pytest.raises(ValueError, match=r"\bn\b"):
        get_task("nguyen/1").sample(n)  # type: ignore[arg-type]


@pytest.mark.parametrize("noise", [-0.01, float("nan"), float("inf")])
def test_sample_rejects_bad_noise(noise: float) -> None:
    with pytest.raises(ValueError, match="noise"):
        get_task("nguyen/1").sample(5, noise=noise)


@pytest.mark.parametrize("seed", [-1, 1.5, None])
def test_sample_rejects_bad_seed(seed: object) -> None:
    with pytest.raises(ValueError, match="seed"):
        get_task("nguyen/1").sample(5, seed=seed)  # type: ignore[arg-type]


def test_get_task_unknown_name_hints() -> None:
    with pytest.raises(ValueError, match="unknown task name") as info:
        get_task("feynman/I.6.2A")
    assert "did you mean 'feynman/I.6.2a'" in str(info.value)
    with pytest.raises(ValueError, match="nguyen/13"):
        get_task("nguyen/13")
    with pytest.raises(ValueError, match="unknown task name"):
        get_task("no-such-task")

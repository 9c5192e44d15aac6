"""SymbolicRegressor: the sklearn contract, exports, persistence and bad input."""

import pickle

import jax
import numpy as np
import pandas as pd
import pytest
import sympy

from symnet import SymbolicRegressor

FAST = dict(
    steps=1200,
    n_restarts=4,
    sparsity=(3e-3, 1e-2),
    max_candidates=8,
    preset="default",
    random_state=0,
)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    # Column names that collide with sympy names or are not identifiers must still work.
    df = pd.DataFrame({"N": rng.uniform(1, 3, 300), "x y": rng.uniform(1, 3, 300)})
    return df, df["N"] * df["x y"]


@pytest.fixture(scope="module")
def fitted(frame):
    df, y = frame
    return SymbolicRegressor(**FAST).fit(df, y)


def test_init_only_stores():
    est = SymbolicRegressor(steps=-5, model_selection="nope")
    assert est.steps == -5 and est.model_selection == "nope"  # validated in fit, not here


def test_fit_finds_product_under_user_names(fitted):
    N, xy = sympy.Symbol("N", real=True), sympy.Symbol("x y", real=True)
    assert sympy.simplify(fitted.sympy() - N * xy) == 0
    assert list(fitted.feature_names_in_) == ["N", "x y"]
    # printed unambiguously: "N*x y" would read as a product of three names, and sympy
    # reads "N" as its numerical-evaluation function
    assert "Symbol('N')*Symbol('x y')" in fitted.equations_["equation"].tolist()


def test_saved_equations_read_back_with_sympify(tmp_path, frame, fitted):
    """Every formula of equations.csv parses with ``sympy.sympify`` into the formula it
    was (names like ``x y`` and ``N`` included)."""
    run = tmp_path / "run"
    df, y = frame
    SymbolicRegressor(**FAST).fit(df, y, run_dir=run)
    saved = pd.read_csv(run / "equations.csv")["equation"]
    N, xy = sympy.Symbol("N"), sympy.Symbol("x y")
    X = df.to_numpy()[:20]
    for text, expr in zip(saved, fitted.equations_["sympy_format"], strict=True):
        parsed = sympy.sympify(text)
        assert parsed.free_symbols <= {N, xy}
        f = sympy.lambdify([N, xy], parsed)
        g = sympy.lambdify(list(fitted._user_symbols), expr)
        np.testing.assert_allclose(
            np.broadcast_to(f(X[:, 0], X[:, 1]), 20),
            np.broadcast_to(g(X[:, 0], X[:, 1]), 20),
            rtol=1e-12,
        )


def test_equations_table_and_selection(fitted):
    eq = fitted.equations_
    assert list(eq.columns) == [
        "complexity",
        "loss",
        "score",
        "equation",
        "sympy_format",
        "found_at",
    ]
    assert (eq["found_at"] >= 0).all()
    assert eq["complexity"].is_monotonic_increasing
    assert eq["loss"].is_monotonic_decreasing
    assert 0 <= fitted.selection_ < len(eq)
    text = str(fitted)
    marked = [line for line in text.splitlines() if line.startswith(">>")]
    assert len(marked) == 1 and eq["equation"][fitted.selection_] in marked[0]


def test_exports_agree(fitted, frame):
    df, y = frame
    X = df.to_numpy()
    pred = fitted.predict(df)
    np.testing.assert_allclose(pred, y, rtol=1e-8)
    np.testing.assert_allclose(fitted.numpy()(X), pred)
    j = fitted.jax()
    out = jax.jit(j["callable"])(X, j["parameters"])
    np.testing.assert_allclose(np.asarray(out), pred, rtol=1e-5)
    assert "N" in fitted.latex()
    assert fitted.score(df, y) > 0.999999
    for i in range(len(fitted.equations_)):  # index= overrides the selection
        assert fitted.predict(df, index=i).shape == (300,)


def test_pickle_roundtrip(fitted, frame):
    df, _ = frame
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.predict(df), fitted.predict(df))


def test_run_dir_and_from_file(tmp_path, frame):
    df, y = frame
    run = tmp_path / "run"
    model = SymbolicRegressor(**FAST).fit(df, y, run_dir=run)
    assert {p.name for p in run.iterdir()} == {
        "equations.csv",
        "selected.txt",
        "metadata.json",
        "model.pkl",
        "checkpoints",
    }
    restored = SymbolicRegressor.from_file(run)
    np.testing.assert_array_equal(restored.predict(df), model.predict(df))
    before = (run / "equations.csv").read_bytes()
    for warm_start in (False, True):
        with pytest.raises(ValueError, match="never overwrites"):
            SymbolicRegressor(**FAST, warm_start=warm_start).fit(df, y, run_dir=run)
    assert (run / "equations.csv").read_bytes() == before
    with pytest.raises(ValueError, match="not a symnet run"):
        SymbolicRegressor.from_file(tmp_path)


def test_multi_output(frame):
    df, y = frame
    Y = np.column_stack([y, df["N"] + 2 * df["x y"]])
    model = SymbolicRegressor(**FAST).fit(df, Y)
    assert isinstance(model.equations_, list) and len(model.equations_) == 2
    assert model.predict(df).shape == (300, 2)
    np.testing.assert_allclose(model.predict(df), Y, rtol=1e-8)
    with pytest.raises(ValueError, match="`output` must be given"):
        model.sympy()


def test_same_seed_same_formulas(frame):
    df, y = frame
    a = SymbolicRegressor(**FAST).fit(df, y).equations_["equation"].tolist()
    b = SymbolicRegressor(**FAST).fit(df, y).equations_["equation"].tolist()
    assert a == b


def test_max_time_is_honoured(frame):
    import time

    df, y = frame
    t0 = time.perf_counter()
    model = SymbolicRegressor(steps=200000, n_restarts=4, max_time=3, random_state=0)
    model.fit(df, y)
    assert time.perf_counter() - t0 < 3 + 10  # a few seconds past the budget at most
    assert len(model.equations_) >= 1


@pytest.mark.parametrize(
    ("kwargs", "fit_args", "match"),
    [
        ({}, (np.ones(10), np.arange(10.0)), "`X` must be 2-D"),
        ({}, (np.ones((10, 2)), np.arange(9.0)), "same number of samples"),
        ({}, (np.full((10, 2), np.nan), np.arange(10.0)), "`X` must be finite"),
        ({}, (np.ones((10, 2)), np.full(10, np.inf)), "`y` must be finite"),
        ({}, (np.ones((10, 2)), np.ones(10)), "`y` is constant"),
        ({}, (np.ones((2, 2)), np.arange(2.0)), "At least 3 samples"),
        ({}, (pd.DataFrame({"a": ["u", "v", "w"]}), np.arange(3.0)), "`X` must be numeric"),
        ({"max_time": -1}, (np.ones((10, 2)), np.arange(10.0)), "`max_time`"),
        ({"model_selection": "fast"}, (np.ones((10, 2)), np.arange(10.0)), "`model_selection`"),
        ({"preset": "eqll"}, (np.ones((10, 2)), np.arange(10.0)), "`preset`"),
        ({"random_state": -3}, (np.ones((10, 2)), np.arange(10.0)), "`random_state`"),
        ({"views": ("raw", "cube")}, (np.ones((10, 2)), np.arange(10.0)), "`views`"),
        ({"oversample_worst": -2}, (np.ones((10, 2)), np.arange(10.0)), "`oversample_worst`"),
        ({"early_stop_condition": -1}, (np.ones((10, 2)), np.arange(10.0)), "`early_stop"),
        ({"selection_tolerance": -1}, (np.ones((10, 2)), np.arange(10.0)), "`selection_tol"),
        ({"selection_tolerance": [1e-3, -1]}, (np.ones((10, 2)), np.arange(10.0)), "`selecti"),
        (
            {"selection_tolerance": [1e-3, 1e-3]},
            (np.ones((10, 2)), np.arange(10.0)),
            r"one tolerance per output \(1\), got 2",
        ),
        (
            {},
            (np.ones((10, 2)), np.ones((10, 2)).cumsum(0), np.ones((10, 3))),
            r"`sample_weight` must have shape \(n,\) or \(n, 2\)",
        ),
    ],
)
def test_bad_input_is_a_clear_value_error(kwargs, fit_args, match):
    with pytest.raises(ValueError, match=match):
        SymbolicRegressor(**kwargs).fit(*fit_args)


def test_bad_variable_names_and_predict_shape(fitted):
    with pytest.raises(ValueError, match="`variable_names` must hold 2"):
        SymbolicRegressor(**FAST).fit(np.ones((5, 2)), np.arange(5.0), variable_names=["a"])
    with pytest.raises(ValueError, match="expecting 2 features"):
        fitted.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match="`index`"):
        fitted.sympy(index=99)


def test_predict_matches_dataframe_columns_by_name(frame, fitted):
    """scikit-learn's rule: a DataFrame is matched to ``feature_names_in_`` by name (the
    reordered frame predicts the same), missing or unknown names are an error naming
    them, a bare array is taken in training order."""
    df, _ = frame
    # a formula that is not symmetric in its inputs, so a swap would show
    model = SymbolicRegressor(**FAST).fit(df, df["N"] + 2 * df["x y"] ** 2)
    expected = model.predict(df)
    np.testing.assert_array_equal(model.predict(df[["x y", "N"]]), expected)
    np.testing.assert_array_equal(model.predict(df.to_numpy()), expected)
    with pytest.raises(ValueError, match=r"missing \['x y'\], unknown \['xy'\]"):
        model.predict(df.rename(columns={"x y": "xy"}))
    with pytest.raises(ValueError, match=r"unknown \['z'\]"):
        model.predict(df.assign(z=1.0))
    # fit on a bare array: a DataFrame's columns are taken in order, whatever their names
    plain = SymbolicRegressor(**FAST).fit(df.to_numpy(), df["N"] * df["x y"])
    assert not plain.named_features_ and model.named_features_
    renamed = df.rename(columns={"N": "a", "x y": "b"})
    np.testing.assert_array_equal(plain.predict(renamed), plain.predict(df.to_numpy()))
    np.testing.assert_allclose(plain.predict(renamed), df["N"] * df["x y"], rtol=1e-9)


def test_duplicate_columns_and_unwritable_run_dirs_are_refused_up_front(tmp_path, monkeypatch):
    import os

    df = pd.DataFrame(np.ones((5, 2)), columns=["a", "a"])
    with pytest.raises(ValueError, match=r"`X` has duplicate column names \['a'\]"):
        SymbolicRegressor(**FAST).fit(df, np.arange(5.0))
    locked = tmp_path / "locked"
    locked.mkdir()
    # A read-only directory (as root, chmod does not stop writes: ask os.access instead).
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: real(p, mode) and p != locked)
    for run_dir in (locked, locked / "new"):
        with pytest.raises(ValueError, match="not writable"):
            SymbolicRegressor(**FAST).fit(np.ones((5, 1)), np.arange(5.0), run_dir=run_dir)


def test_kepler_third_law_from_six_planets():
    # The planets known to Kepler: semi-major axis (AU) and period (years).
    a = np.array([0.3871, 0.7233, 1.0000, 1.5237, 5.2028, 9.5388])
    T = np.array([0.2408, 0.6152, 1.0000, 1.8809, 11.862, 29.457])
    model = SymbolicRegressor(**FAST).fit(pd.DataFrame({"a": a}), T)
    assert model.sympy() == sympy.Symbol("a", real=True) ** sympy.Rational(3, 2)


def test_killed_fit_resumes_from_its_checkpoint(frame, tmp_path, monkeypatch):
    from symnet._train import PopulationTrainer

    df, y = frame
    settings = dict(FAST, views=("raw",))
    reference = SymbolicRegressor(**settings).fit(df, y, run_dir=tmp_path / "reference")

    real_run, calls = PopulationTrainer.run, []

    def run(self, state, X, ys, schedule, n_steps, *args, **kwargs):
        if n_steps == 0:  # the zero-step call that compiles the program before training
            return real_run(self, state, X, ys, schedule, n_steps, *args, **kwargs)
        calls.append(int(state.step))
        if len(calls) == 2 and kill:
            raise KeyboardInterrupt  # killed after the first chunk was checkpointed
        return real_run(self, state, X, ys, schedule, n_steps, *args, **kwargs)

    monkeypatch.setattr(PopulationTrainer, "run", run)
    run_dir = tmp_path / "run"
    kill = True
    with pytest.raises(KeyboardInterrupt):
        SymbolicRegressor(**settings).fit(df, y, run_dir=run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoints"]
    with pytest.raises(ValueError, match="warm_start=True to resume"):
        SymbolicRegressor(**settings).fit(df, y, run_dir=run_dir)

    kill, calls[:] = False, []
    model = SymbolicRegressor(**settings, warm_start=True).fit(df, y, run_dir=run_dir)
    assert calls[0] == 500  # resumed after the saved chunk, not from step 0
    assert model.equations_["equation"].tolist() == reference.equations_["equation"].tolist()
    with pytest.raises(ValueError, match="finished run"):
        SymbolicRegressor(**settings, warm_start=True).fit(df, y, run_dir=run_dir)


def test_verbose_reports_progress_of_each_stage(frame, monkeypatch):
    import contextlib

    import symnet._estimator as est

    seen = []

    @contextlib.contextmanager
    def recorder(verbose, label):
        assert verbose == 1 and label == "fit"
        yield lambda stage, frac: seen.append((stage, frac))

    monkeypatch.setattr(est, "progress_bar", recorder)
    df, y = frame
    SymbolicRegressor(**{**FAST, "steps": 400}, verbose=1).fit(df, y)
    stages = {s for s, _ in seen}
    assert any(s.startswith("train") for s in stages)
    assert any(s.startswith("refit") for s in stages)
    assert all(0.0 <= f <= 1.0 for _, f in seen)

"""The command-line interface, run in-process."""

from typer.testing import CliRunner

from symnet.cli import app


def test_demo_finds_the_ground_truth():
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "equivalent: yes" in result.output
    assert ">>" in result.output  # the selected row is marked


def test_help_lists_demo():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output


def _csv(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": rng.uniform(1, 3, 120), "b": rng.uniform(1, 3, 120)})
    df["y"] = df["a"] * df["b"]
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_predict_show(tmp_path):
    data, run = _csv(tmp_path), tmp_path / "run"
    runner = CliRunner()
    res = runner.invoke(
        app,
        # A fixed amount of work (machine-independent): one pass, no clock.
        ["fit", str(data), "--target", "y", "--deterministic", "--steps", "1500"]
        + ["--restarts", "4", "--maxsize", "30", "--run-dir", str(run)],
    )
    assert res.exit_code == 0, res.output
    assert "Selected: y = a*b" in res.output
    assert ">>" in res.output
    res = runner.invoke(app, ["show", str(run)])
    assert res.exit_code == 0 and "a*b" in res.output
    out = tmp_path / "pred.csv"
    res = runner.invoke(app, ["predict", str(run), str(data), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("prediction\n")
    res = runner.invoke(app, ["predict", str(run), str(data), "--out", str(out)])
    assert res.exit_code == 2 and "never overwrites" in res.output
    res = runner.invoke(app, ["fit", str(data), "--target", "y", "--run-dir", str(run)])
    assert res.exit_code == 2 and "never overwrites" in res.output


def test_cli_errors_are_one_line(tmp_path):
    data = _csv(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["fit", str(tmp_path / "missing.csv"), "--target", "y"])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(app, ["fit", str(data), "--target", "zz"])
    assert res.exit_code == 2 and "column 'zz' not in" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,x,3\n2,3,5\n3,4,6\n")
    res = runner.invoke(app, ["fit", str(bad), "--target", "y"])
    assert res.exit_code == 2 and "not numeric" in res.output


def test_cli_messages_name_what_is_wrong(tmp_path):
    runner = CliRunner()
    header = tmp_path / "header.csv"
    header.write_text("a,b,y\n")
    res = runner.invoke(app, ["fit", str(header), "--target", "y"])
    assert res.exit_code == 2 and "no data rows" in res.output
    hole = tmp_path / "hole.csv"
    hole.write_text("a,b,y\n1,2,3\n2,,5\n3,4,6\n")
    res = runner.invoke(app, ["fit", str(hole), "--target", "y"])
    assert res.exit_code == 2 and "['b']" in res.output and "data row 2" in res.output
    assert "not numeric" not in res.output


def test_fit_options_reach_the_estimator(tmp_path, monkeypatch):
    """--preset, --views, --warm-start and --verbose/--quiet are the estimator's settings;
    --steps and --restarts default to the estimator's own defaults."""
    from symnet import SymbolicRegressor

    seen = {}

    def fake_fit(self, X, y, **kwargs):
        seen.update(self.get_params())
        raise ValueError("stop here")

    monkeypatch.setattr(SymbolicRegressor, "fit", fake_fit)
    data = _csv(tmp_path)
    runner = CliRunner()
    args = ["fit", str(data), "--target", "y", "--preset", "eql", "--preset", "rational"]
    args += ["--views", "raw", "--views", "log", "--warm-start", "--quiet"]
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "stop here" in res.output
    assert seen["preset"] == ("eql", "rational") and seen["views"] == ("raw", "log")
    assert seen["warm_start"] is True and seen["verbose"] == 0
    defaults = SymbolicRegressor().get_params()
    assert seen["steps"] == defaults["steps"] and seen["n_restarts"] == defaults["n_restarts"]
    res = runner.invoke(app, ["fit", str(data), "--target", "y", "--verbose"])
    assert seen["verbose"] == 1 and seen["preset"] == defaults["preset"]
    res = runner.invoke(app, ["fit", str(data), "--target", "y", "--restarts", "auto"])
    assert res.exit_code == 2 and "stop here" in res.output and seen["n_restarts"] == "auto"
    for bad in ("0", "abc"):
        res = runner.invoke(app, ["fit", str(data), "--target", "y", "--restarts", bad])
        assert res.exit_code == 2 and "--restarts must be a positive integer or 'auto'" in (
            res.output
        )


def test_fit_with_units(tmp_path):
    """``--units``/``--y-units``: the front is dimensionally consistent and says so; bad
    unit text is one line naming the option."""
    data, run = _csv(tmp_path), tmp_path / "run"
    runner = CliRunner()
    fast = ["--deterministic", "--steps", "1500", "--restarts", "4"]
    res = runner.invoke(
        app,
        ["fit", str(data), "-t", "y", "--units", "a=m, b=m/s", "--y-units", "m^2/s"]
        + fast
        + ["--run-dir", str(run)],
    )
    assert res.exit_code == 0, res.output
    assert "Selected: y = a*b" in res.output
    import json

    assert json.loads((run / "metadata.json").read_text())["units"]["y"] == "m^2/s"
    res = runner.invoke(app, ["fit", str(data), "-t", "y", "--units", "a=m,b"])
    assert res.exit_code == 2 and "--units: expected name=unit" in res.output
    res = runner.invoke(
        app, ["fit", str(data), "-t", "y", "--units", "a=m,b=s", "--y-units", "kg"]
    )
    assert res.exit_code == 2 and "no input has the dimension kg" in res.output


def test_ode_simulate_show(tmp_path):
    """`symnet ode` on two runs of x' = -x/2 in one CSV, then `simulate` and `show`."""
    import numpy as np
    import pandas as pd

    t = np.linspace(0.0, 4.0, 60)
    df = pd.concat(
        [
            pd.DataFrame({"run": r, "t": t, "x": x0 * np.exp(-t / 2)})
            for r, x0 in ((0, 1.0), (1, 2.0))
        ]
    )
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    run = tmp_path / "run"
    args = [
        "ode",
        str(path),
        "--trajectory-column",
        "run",
        "--steps",
        "400",
        "--run-dir",
        str(run),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "x' = -x/2" in result.output
    result = CliRunner().invoke(
        app, ["simulate", str(run), "--x0", "4", "--t-end", "2", "--points", "3"]
    )
    assert result.exit_code == 0, result.output
    sim = [line.split(",") for line in result.output.strip().splitlines()]
    assert sim[0] == ["t", "x"] and abs(float(sim[-1][1]) - 4 * np.exp(-1)) < 1e-6
    assert "x' = -x/2" in CliRunner().invoke(app, ["show", str(run)]).output
    bad = CliRunner().invoke(app, ["ode", str(path), "--states", "nope"])
    assert bad.exit_code == 2 and "--states" in bad.output
    bad = CliRunner().invoke(app, ["simulate", str(run), "--x0", "1,2", "--t-end", "1"])
    assert bad.exit_code == 2 and "x0" in bad.output

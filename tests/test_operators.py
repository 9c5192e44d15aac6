"""Choosing operators as in PySR (issue 13, item 4): ``unary_operators`` and
``binary_operators`` by name, a user-registered primitive usable in a fit, a primitive
left out never used, clear errors, ``complexity_of_operators`` and ``symnet fit
--operators``."""

import jax.numpy as jnp
import numpy as np
import pytest
import sympy
from flax import nnx
from typer.testing import CliRunner

import symnet
from symnet import SymbolicRegressor
from symnet._operators import operator_weights, resolve_operators, split_operators
from symnet.cli import app

QUICK = dict(preset="default", views=("raw",), steps=1500, n_restarts=4, random_state=0)
X = np.random.default_rng(0).uniform(0.5, 2, (150, 2))


def _unit_names(config, preset="default"):
    net = config.model_fn(2, preset)(rngs=nnx.Rngs(0))
    return {p.name for layer in net.layers[:-1] for p, _ in layer.groups}


def test_pysr_names_choose_the_units():
    assert resolve_operators(None, None) is None
    ops = resolve_operators(["sin", "exp"], ["+", "-", "*", "/"])
    assert ops == ("identity", "sin", "exp", "mul", "div")
    assert resolve_operators(["cos"], ["mult"]) == ("identity", "cos", "mul")
    assert split_operators(["sin,exp", "*", "/"]) == (["sin", "exp"], ["*", "/"])
    # every preset used to include sin: left out, it is not among the units
    config = symnet.SearchConfig(preset=("default", "rational"), operators=ops[:1] + ops[2:])
    assert _unit_names(config) == {"identity", "exp", "mul", "div"}
    assert _unit_names(config, "rational") == {"identity", "exp", "mul"}  # div: read-out
    assert "sin" in _unit_names(symnet.SearchConfig(preset="default"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"unary_operators": ["sine"]}, r"unknown operator 'sine'.*Did you mean \['sin'\]"),
        ({"binary_operators": ["sin"]}, "takes one argument: put it in `unary_operators`"),
        ({"unary_operators": ["*"]}, "takes two arguments: put it in `binary_operators`"),
        ({"binary_operators": ["^"]}, "'\\^' .* is not a unit of symnet"),
        ({"unary_operators": "sin", "preset": "lies"}, "fixed unit set"),
        ({"complexity_of_operators": {"sinn": 2}}, r"Did you mean \['sin'\]"),
        ({"complexity_of_operators": {"sin": -1}}, "must be a positive number"),
    ],
)
def test_operator_mistakes_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SymbolicRegressor(**kwargs).fit(X, X[:, 0])


def test_a_registered_primitive_is_usable_in_a_fit_without_editing_presets():
    symnet.register_primitive(
        "cube", lambda x: jnp.clip(x, -100, 100) ** 3, lambda x: x**3, overwrite=True
    )
    model = SymbolicRegressor(unary_operators=["cube"], binary_operators=["*"], **QUICK)
    model.fit(X, X[:, 0] ** 3 * X[:, 1])
    x0, x1 = sympy.symbols("x0 x1", real=True)
    assert sympy.simplify(model.sympy() - x0**3 * x1) == 0


def test_complexity_of_operators_weights_the_front():
    assert operator_weights({"sin": 3, "/": 2}) == (("div", 2.0), ("sin", 3.0))
    x = sympy.Symbol("x")
    from symnet._sympy_utils import complexity

    assert complexity(sympy.sin(x) / x, {"sin": 3, "div": 2}) == complexity(sympy.sin(x) / x) + 3
    model = SymbolicRegressor(complexity_of_operators={"sin": 4}, **QUICK)
    model.fit(X, np.sin(X[:, 0]) + X[:, 1])
    row = model.equations_.iloc[model.selection_]
    assert row["complexity"] == complexity(row["sympy_format"], {"sin": 4})


def test_cli_operators(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": np.exp(X[:, 0]) * X[:, 1]})
    df.to_csv(tmp_path / "d.csv", index=False)
    res = CliRunner().invoke(
        app,
        ["fit", str(tmp_path / "d.csv"), "--target", "y", "--deterministic", "--steps", "800"]
        + ["--operators", "exp,*", "--preset", "default", "--views", "raw"]
        + ["--run-dir", str(tmp_path / "run")],
    )
    assert res.exit_code == 0, res.output
    assert "sin" not in res.output and "log" not in res.output
    res = CliRunner().invoke(
        app, ["fit", str(tmp_path / "d.csv"), "--target", "y", "--operators", "sine"]
    )
    assert res.exit_code == 2 and "Did you mean ['sin']" in res.output

"""Units: parsing, the dimension of a formula, Buckingham's groups, and fits that use them."""

import dataclasses
import json
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import sympy

from symnet import SymbolicRegressor
from symnet.datasets import load_suite
from symnet.search import DEFAULT_CONFIG, Data, consistent, unit_groups, unit_views
from symnet.units import (
    WILDCARD,
    Dim,
    Units,
    buckingham,
    check_units,
    dimension_of,
    is_consistent,
    parse_units,
)

M, S, KG, K = (Dim({b: 1}) for b in ("m", "s", "kg", "K"))
ONE = Dim()
VELOCITY, ENERGY = M / S, KG * M**2 / S**2


def test_dim_algebra_and_text():
    assert (
        str(ENERGY) == "kg*m^2/s^2" and str(ONE) == "1" and str(M ** Fraction(1, 2)) == "m^(1/2)"
    )
    assert (VELOCITY / VELOCITY).dimensionless and VELOCITY**0 == ONE
    assert hash(Dim({"m": 1, "s": -1})) == hash(VELOCITY) and Dim({"m": 0}) == ONE


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("m/s", VELOCITY),
        ("kg*m^2/s^2", ENERGY),
        ("kg*m**2/s**2", ENERGY),
        ("J", ENERGY),
        ("MeV", ENERGY),  # any SI prefix
        ("GHz", ONE / S),
        ("km/h", VELOCITY),  # the scale is a constant; the dimension is what counts
        ("1", ONE),
        ("dimensionless", ONE),
        ("degC", K),
        ({"m": 1, "s": -1}, VELOCITY),
        ({"V": 1}, Dim({"V": 1})),  # any named base dimension
        (VELOCITY, VELOCITY),
    ],
)
def test_parse_units(spec, expected):
    assert parse_units(spec) == expected


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("furlongz", "not a unit pint knows"),
        ("", "empty unit string"),
        (3.0, "must be a unit string"),
        (None, "must be a unit string"),
        ({"m": "x"}, "exponents must be numbers"),
        ({"m": 0.1234}, "not a ratio of small integers"),
    ],
)
def test_parse_units_rejects_bad_input_naming_the_parameter(spec, match):
    with pytest.raises(ValueError, match=match) as err:
        parse_units(spec, what="X_units['v']")
    assert "X_units['v']" in str(err.value) or "exponent" in str(err.value)


v, c, m, x, t = SYMS = sympy.symbols("v c m x t", real=True)
UNITS = {v: VELOCITY, c: VELOCITY, m: KG, x: M, t: S}


@pytest.mark.parametrize(
    ("expr", "dim", "free"),
    [
        (m * c**2 / sympy.sqrt(1 - v**2 / c**2), ENERGY, ENERGY),
        (sympy.Float(0.5) * m * v**2, ENERGY, WILDCARD),  # a fitted constant may carry units
        (x / t + v, VELOCITY, VELOCITY),
        (x + t, None, None),  # metres plus seconds: nothing makes it consistent
        (x + sympy.Float(1.5), None, M),  # a dimensionless constant added to metres
        (sympy.exp(v / c), ONE, ONE),
        (sympy.exp(v), None, None),
        (sympy.log(v) - sympy.log(c), ONE, ONE),  # log(v/c), expanded
        (2 * sympy.log(x) - sympy.log(x * v * t), ONE, ONE),
        (sympy.log(x), None, None),
        (m * v * sympy.log(x) - m * v * sympy.log(v * t), KG * VELOCITY, KG * VELOCITY),
        (m * v * sympy.log(x) - m * v * sympy.log(c), None, None),  # log(x/c): m over m/s
        (x * sympy.log(x) - t * sympy.log(v * t), None, None),  # metres and seconds
        (sympy.sin(x / (v * t)) * m, KG, KG),
        (x ** sympy.Float(1.3), None, None),  # a non-rational power of metres
        (sympy.Abs(x - v * t) / t, VELOCITY, VELOCITY),
        (sympy.pi * x**2, M**2, M**2),
    ],
)
def test_dimension_of(expr, dim, free):
    assert dimension_of(expr, UNITS) == dim
    assert dimension_of(expr, UNITS, free_constants=True) == free


def test_dimension_of_unknown_symbol_is_an_error():
    with pytest.raises(ValueError, match="has no units"):
        dimension_of(sympy.Symbol("q") * x, UNITS)


def test_every_feynman_law_is_consistent_with_its_units():
    """The packaged units table against the packaged formulas: a positive control of
    both (120 laws)."""
    tasks = load_suite("feynman") + load_suite("bonus")
    assert len(tasks) == 120
    bad = [
        task.name
        for task in tasks
        if not is_consistent(
            task.expr(), dict(zip(task.symbols(), task.units, strict=True)), task.y_units
        )
    ]
    assert bad == []


def _ints(maps):
    return [{i: int(q) for i, q in p.items()} for p in maps]


def test_buckingham_relativistic_energy_and_planck():
    b = buckingham([KG, VELOCITY, VELOCITY], ENERGY)  # m, v, c
    assert _ints(b.groups) == [{1: 1, 2: -1}]  # v/c
    assert _ints(b.prefactors) == [{0: 1, 1: 2}, {0: 1, 2: 2}]  # m*v**2, m*c**2
    h, omega, kb = KG * M**2 / S, ONE / S, ENERGY / K
    b = buckingham([h, omega, VELOCITY, kb, K], KG / S**2)  # Planck's spectral density
    assert _ints(b.groups) == [{0: 1, 1: 1, 3: -1, 4: -1}]  # h*omega/(kb*T)
    assert _ints(b.prefactors) == [{0: 1, 1: 3, 2: -2}]  # h*omega**3/c**2


def test_buckingham_dimensionless_inputs_are_groups_of_their_own():
    b = buckingham([ONE, M, M], ONE)
    assert _ints(b.groups) == [{0: 1}, {1: 1, 2: -1}] and b.prefactors == [{}]


def test_buckingham_names_the_missing_dimension():
    with pytest.raises(ValueError, match=r"no input has the dimension K.*add it as a column"):
        buckingham([KG, VELOCITY], K)
    assert buckingham([M**2, S], M).prefactors == [{0: Fraction(1, 2)}]  # sqrt(area)
    with pytest.raises(ValueError, match="no product of powers"):
        buckingham([M * S, M * S], M)


def test_check_units():
    names = ["v", "c", "m"]
    (u,) = check_units(["m/s", {"m": 1, "s": -1}, "kg"], "J", names)
    assert u == Units((VELOCITY, VELOCITY, KG), ENERGY)
    (u,) = check_units({"m": "kg", "v": "m/s", "c": "m/s"}, None, names)
    assert u.inputs == (VELOCITY, VELOCITY, KG) and u.target is None
    assert check_units(None, None, names) is None
    assert [w.target for w in check_units(["1"] * 3, ["m", "s"], names, 2)] == [M, S]


@pytest.mark.parametrize(
    ("X_units", "y_units", "match"),
    [
        (None, "J", "`y_units` was given without `X_units`"),
        (["m/s", "m/s"], None, r"one unit per column of X \(3\), got 2"),
        ({"v": "m/s", "c": "m/s"}, None, r"missing \['m'\]"),
        ({"v": "m/s", "c": "m/s", "m": "kg", "w": "1"}, None, r"unknown \['w'\]"),
        ("m/s", None, "must be a list of 3 unit specifications"),
        (["m/s", "m/s", "kgg"], None, r"X_units\['m'\]"),
        (["m/s", "m/s", "kg"], ["J", "J"], r"one unit per output \(1\), got 2"),
    ],
)
def test_check_units_rejects(X_units, y_units, match):
    with pytest.raises(ValueError, match=match):
        check_units(X_units, y_units, ["v", "c", "m"])


def _data(X, y, units):
    import jax

    return Data.build(X, y, key=jax.random.key(0), units=units)


def test_unit_views_reduce_relativistic_energy_to_one_group():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(1, 5, 400), rng.uniform(1, 2, 400), rng.uniform(3, 10, 400)])
    mm, vv, cc = X.T
    y = mm * cc**2 / np.sqrt(1 - vv**2 / cc**2)
    data = _data(X, y, Units((KG, VELOCITY, VELOCITY), ENERGY))
    groups = unit_groups(data)
    # m*c**2 leaves 1/sqrt(1 - u**2), spread less than m*v**2's 1/(u**2*sqrt(1 - u**2))
    assert [dict(g.prefactor) for g in groups] == [{0: 1, 2: 2}, {0: 1, 1: 2}]
    views = unit_views(data, DEFAULT_CONFIG)
    assert views[0].name == "units" and views[0].X.shape[1] == 1
    u = sympy.Symbol("_u0", real=True)
    back = views[0].back(1 / sympy.sqrt(1 - u**2))  # the law in the group, mapped back
    x0, x1, x2 = data.symbols
    assert sympy.simplify(back - x0 * x2**2 / sympy.sqrt(1 - x1**2 / x2**2)) == 0


def test_consistent_keeps_formulas_of_the_target_dimension():
    rng = np.random.default_rng(1)
    X = rng.uniform(1, 3, (200, 2))
    data = _data(X, X[:, 0] + X[:, 1], Units((M, S), M))
    x0, x1 = data.symbols
    cands = [data.score(e, 0, 0.0) for e in (x0 + x1, 2.0 * x0, x0 + 1.0, x1)]
    kept = [c.expr for c in consistent(cands, data)]
    assert kept == [2.0 * x0]
    assert [c.expr for c in consistent(cands, data, lenient=True)] == [2.0 * x0, x0 + 1.0]


def test_a_front_left_without_consistent_formulas_falls_back_to_consistent_candidates():
    """Polishing can leave only fitted exponents (x0**2.1: metres to a non-integer
    power); the selected formula must still be consistent: the baseline's."""
    from symnet.search._units import consistent_front

    rng = np.random.default_rng(1)
    X = rng.uniform(1, 3, (200, 2))
    data = _data(X, X[:, 0] ** 2 / X[:, 1], Units((M, S), M**2 / S))
    x0, x1 = data.symbols
    odd, baseline = (data.score(e, 0, 0.0) for e in (x0**2.1 / x1, 1.01 * x0**2 / x1))
    assert consistent_front([odd], [odd, baseline], data) == [baseline]
    assert consistent_front([odd, baseline], [odd, baseline], data) == [baseline]
    assert consistent_front([odd], [odd], data) == [odd]  # nothing consistent at all
    # a front whose only consistent formula is large keeps the simpler baseline too
    # (an estimator's maxsize must not leave it nothing to select)
    big = dataclasses.replace(data.score(1.0 * x0**2 / x1, 0, 0.0), complexity=40)
    assert consistent_front([odd, big], [odd, big, baseline], data) == [big, baseline]


def test_data_rejects_units_of_the_wrong_length_or_an_impossible_target():
    X = np.random.default_rng(0).uniform(1, 2, (50, 2))
    with pytest.raises(ValueError, match="one dimension per input"):
        _data(X, X[:, 0], Units((M,), M))
    with pytest.raises(ValueError, match="no input has the dimension kg"):
        _data(X, X[:, 0], Units((M, S), KG))


FAST = dict(
    steps=1200,
    n_restarts=4,
    sparsity=(3e-3, 1e-2),
    max_candidates=8,
    preset="default",
    random_state=0,
)


def test_fit_with_units_never_offers_an_inconsistent_formula(tmp_path):
    """``y = x + t`` (metres plus seconds) declared in metres: the law the data follow is
    inconsistent, so the fit offers only formulas in metres (``a*x``), and says so."""
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.uniform(1, 3, 200), "t": rng.uniform(1, 3, 200)})
    run = tmp_path / "run"
    model = SymbolicRegressor(**FAST).fit(
        df, df["x"] + df["t"], X_units={"x": "m", "t": "s"}, y_units="m", run_dir=run
    )
    table = model.equations_
    assert table["consistent"].all() and set(table["units"]) == {"m"}
    assert model.sympy().free_symbols == {sympy.Symbol("x", real=True)}
    assert model.X_units_ == ["m", "s"] and model.y_units_ == "m"
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["units"] == {"X": ["m", "s"], "y": "m"}
    # without units the same data give the law
    free = SymbolicRegressor(**FAST).fit(df, df["x"] + df["t"])
    assert "units" not in free.equations_.columns
    assert free.sympy().free_symbols == {
        sympy.Symbol("x", real=True),
        sympy.Symbol("t", real=True),
    }


def test_fit_with_units_finds_energy_from_its_groups():
    """``E = m*v**2/2 + m*g*h`` over four inputs is ``m*v**2 * (1/2 + pi)`` with one
    group ``pi = g*h/v**2``: a line in the units view."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({n: rng.uniform(1, 3, 300) for n in ("m", "v", "g", "h")})
    y = df["m"] * df["v"] ** 2 / 2 + df["m"] * df["g"] * df["h"]
    units = {"m": "kg", "v": "m/s", "g": "m/s^2", "h": "m"}
    model = SymbolicRegressor(**FAST).fit(df, y, X_units=units, y_units="J")
    mm, vv, gg, hh = (sympy.Symbol(n, real=True) for n in ("m", "v", "g", "h"))
    assert sympy.simplify(model.sympy() - (mm * vv**2 / 2 + mm * gg * hh)) == 0
    assert model.equations_["consistent"].all()


def test_fit_rejects_y_units_without_x_units():
    X = np.random.default_rng(0).uniform(1, 2, (50, 2))
    with pytest.raises(ValueError, match="`y_units` was given without `X_units`"):
        SymbolicRegressor(**FAST).fit(X, X[:, 0], y_units="m")
    with pytest.raises(ValueError, match="`dimensional_constants` must be True or False"):
        SymbolicRegressor(**FAST, dimensional_constants="yes").fit(X, X[:, 0], X_units=["m", "m"])


def test_distill_takes_units():
    from symnet.distill import distill

    model = distill(
        lambda X: X[:, 0] * X[:, 1] ** 2 / 2,
        domain=[(1, 3), (1, 3)],
        variable_names=["m", "v"],
        X_units=["kg", "m/s"],
        y_units="J",
        n_queries=200,
        rounds=1,
        **FAST,
    )
    mm, vv = sympy.symbols("m v", real=True)
    assert sympy.simplify(model.sympy() - mm * vv**2 / 2) == 0
    assert model.equations_["consistent"].all() and model.y_units_ == "kg*m^2/s^2"

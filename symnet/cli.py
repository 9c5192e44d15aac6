"""Command-line interface: parse arguments, call the library, print with rich."""

from __future__ import annotations

import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import sympy
import typer
from rich.console import Console

from symnet._estimator import SymbolicRegressor
from symnet._operators import split_operators
from symnet._printing import formula_str
from symnet._scoring import is_symbolic_solution
from symnet.search import DEFAULT_CONFIG, DEFAULT_MAXSIZE

app = typer.Typer(add_completion=False, help="symnet: discover formulas with symbolic networks.")

#: The embedded default dataset: kinetic energy E = m v^2 / 2, 300 noise-free rows.
DEMO_FILE = "kinetic_energy.csv"
DEMO_TARGET = "E"
DEMO_TRUTH = "m*v**2/2"


@app.callback()
def main() -> None:
    """symnet command-line interface."""


@app.command()
def demo(
    seed: int = typer.Option(0, help="Random seed."),
    time_budget: float = typer.Option(None, "--time", help="Wall-clock budget in seconds."),
) -> None:
    """Discovers the formula behind the embedded kinetic-energy dataset."""
    console = Console()
    with resources.files("symnet.data").joinpath(DEMO_FILE).open() as f:
        df = pd.read_csv(f)
    names = [c for c in df.columns if c != DEMO_TARGET]
    console.print(
        f"Dataset: {DEMO_FILE} ({len(df)} rows), target {DEMO_TARGET!r}, inputs {names}."
    )
    t0 = time.perf_counter()
    # The same estimator (and defaults) as `symnet fit`.
    model = SymbolicRegressor(random_state=seed, max_time=time_budget, verbose=1)
    model.fit(df[names], df[DEMO_TARGET])
    elapsed = time.perf_counter() - t0
    console.print(str(model), markup=False, highlight=False)
    best = model.sympy()
    symbols = {n: sympy.Symbol(n, real=True) for n in names}
    truth = sympy.sympify(DEMO_TRUTH, locals=symbols)
    ok = is_symbolic_solution(best, truth)
    console.print(f"Found: [bold]{DEMO_TARGET} = {best}[/bold]  ({elapsed:.1f} s)")
    console.print(f"Ground truth: {DEMO_TARGET} = {truth}; equivalent: {'yes' if ok else 'no'}")
    if not ok:
        raise typer.Exit(code=1)


def _operator_settings(operators: list[str] | None) -> dict:
    """``--operators`` as the estimator's ``unary_operators``/``binary_operators``."""
    if not operators:
        return {}
    unary, binary = split_operators(operators)
    return {"unary_operators": unary, "binary_operators": binary}


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=2)


def _restarts(text: str) -> int | str:
    """``--restarts``: a positive integer or ``auto``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        _fail(f"--restarts must be a positive integer or 'auto', got {text!r}.")
    return n


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        _fail(f"data file {str(path)!r} does not exist.")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        _fail(f"could not read {str(path)!r} as CSV: {err}")
    if len(df) == 0:
        _fail(f"{str(path)!r} has a header row ({list(df.columns)}) but no data rows.")
    return df


def _numeric(df: pd.DataFrame, columns, path) -> None:
    """Each of ``columns`` must be numeric and have no empty or NaN cell."""
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        _fail(f"column(s) {bad} of {str(path)!r} are not numeric.")
    empty = [c for c in columns if df[c].isna().any()]
    if empty:
        row = int(df[empty[0]].isna().to_numpy().argmax())
        _fail(
            f"column(s) {empty} of {str(path)!r} have empty or NaN cells (the first in "
            f"column {empty[0]!r}, data row {row + 1})."
        )


def _write_csv(result: pd.DataFrame, out: Path | None, what: str) -> None:
    """``result`` as CSV on stdout, or into the new file ``out`` (never overwritten)."""
    if out is None:
        typer.echo(result.to_csv(index=False), nl=False)
    elif out.exists():
        _fail(f"{str(out)!r} exists; symnet never overwrites files.")
    else:
        result.to_csv(out, index=False)
        typer.echo(f"Wrote {len(result)} {what} to {out}")


def _load(cls, run_dir: Path):
    """The model of class ``cls`` saved in ``run_dir``, or a one-line error."""
    try:
        return cls.from_file(run_dir)
    except ValueError as err:
        _fail(str(err))


def _parse_unit_list(text: str) -> dict[str, str]:
    """``"v=m/s, c=m/s"`` -> ``{"v": "m/s", "c": "m/s"}``; ``ValueError`` naming --units."""
    out = {}
    for item in text.split(","):
        name, sep, unit = item.partition("=")
        if not sep or not name.strip() or not unit.strip():
            raise ValueError(
                f"--units: expected name=unit items separated by commas, got {item!r}."
            )
        if name.strip() in out:
            raise ValueError(f"--units: {name.strip()!r} is given twice.")
        out[name.strip()] = unit.strip()
    return out


@app.command()
def fit(
    data: Path = typer.Argument(..., help="CSV file with a header row."),
    target: str = typer.Option(..., "--target", "-t", help="Column to predict."),
    time_budget: float = typer.Option(None, "--time", help="Wall-clock budget in seconds."),
    run_dir: Path = typer.Option(None, "--run-dir", help="New directory for the results."),
    seed: int = typer.Option(0, help="Random seed."),
    selection: str = typer.Option("best", help="Model selection: best, accuracy or score."),
    steps: int = typer.Option(DEFAULT_CONFIG.train.steps, help="Training steps per population."),
    restarts: str = typer.Option(
        str(DEFAULT_CONFIG.n_restarts),
        help="Restarts per sparsity strength, or 'auto' (sized from the devices).",
    ),
    preset: list[str] = typer.Option(
        None, "--preset", help="Architecture (repeat for several); default: default, rational."
    ),
    views: list[str] = typer.Option(
        None, "--views", help="Data view (repeat for several); default: raw, log, square."
    ),
    warm_start: bool = typer.Option(
        False, "--warm-start", help="Resume the checkpoints a killed fit left in --run-dir."
    ),
    verbose: bool = typer.Option(
        None, "--verbose/--quiet", help="Progress bar (default: on when run in a terminal)."
    ),
    deterministic: bool = typer.Option(
        False,
        "--deterministic",
        help="A fixed amount of work instead of a clock: the same seed, the same formulas.",
    ),
    maxsize: int = typer.Option(
        DEFAULT_MAXSIZE, "--maxsize", help="Most nodes of a formula on the front."
    ),
    operators: list[str] = typer.Option(
        None,
        "--operators",
        help="Operators the networks use (repeat or comma-separate), as in PySR: "
        "sin,exp,log,*,/ ...; default: the preset's units.",
    ),
    units: str = typer.Option(
        None,
        "--units",
        help='Units of the input columns, e.g. "v=m/s,c=m/s,m0=kg" (pint\'s spelling; 1 for '
        "dimensionless); every input column must be named.",
    ),
    y_units: str = typer.Option(None, "--y-units", help="Units of the target, e.g. kg."),
) -> None:
    """Fits formulas for TARGET from the other columns and prints the Pareto front."""
    df = _read_csv(data)
    if target not in df.columns:
        _fail(f"column {target!r} not in {str(data)!r}; columns are {list(df.columns)}.")
    features = [c for c in df.columns if c != target]
    _numeric(df, [*features, target], data)
    if run_dir is None:
        run_dir = Path("runs") / f"{data.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    model = SymbolicRegressor(
        max_time=time_budget,
        random_state=seed,
        model_selection=selection,
        steps=steps,
        n_restarts=_restarts(restarts),
        preset=tuple(preset) if preset else DEFAULT_CONFIG.preset,
        views=tuple(views) if views else DEFAULT_CONFIG.views,
        warm_start=warm_start,
        verbose=int(sys.stdout.isatty() if verbose is None else verbose),
        deterministic=deterministic,
        maxsize=maxsize,
        **_operator_settings(operators),
    )
    try:
        X_units = None if units is None else _parse_unit_list(units)
        model.fit(df[features], df[target], run_dir=run_dir, X_units=X_units, y_units=y_units)
    except ValueError as err:
        _fail(str(err))
    typer.echo(str(model))
    typer.echo(f"\nSelected: {target} = {formula_str(model.sympy())}")
    typer.echo(f"Run written to {run_dir}")


@app.command()
def predict(
    run_dir: Path = typer.Argument(..., help="A run directory written by `symnet fit`."),
    data: Path = typer.Argument(..., help="CSV with the model's input columns."),
    out: Path = typer.Option(None, "--out", help="Write predictions here (never overwrites)."),
) -> None:
    """Predicts with the selected formula of a saved run."""
    model = _load(SymbolicRegressor, run_dir)
    df = _read_csv(data)
    names = [str(n) for n in model.feature_names_in_]
    missing = [n for n in names if n not in df.columns]
    if missing:
        _fail(f"column(s) {missing} missing from {str(data)!r}.")
    _numeric(df, names, data)
    try:
        pred = model.predict(df[names])
    except ValueError as err:
        _fail(str(err))
    result = pd.DataFrame(np.atleast_2d(pred.T).T)
    result.columns = (
        ["prediction"]
        if result.shape[1] == 1
        else [f"prediction_{k}" for k in range(result.shape[1])]
    )
    _write_csv(result, out, "predictions")


@app.command()
def show(run_dir: Path = typer.Argument(..., help="A run directory.")) -> None:
    """Prints the Pareto front of a saved run (the selected row marked), or the system of
    a saved `symnet ode` run."""
    from symnet._persist import read_run
    from symnet.dynamics import SymbolicODE

    try:
        model = read_run(run_dir, (SymbolicRegressor, SymbolicODE))
    except ValueError as err:
        _fail(str(err))
    typer.echo(str(model))


def _columns(text: str | None, option: str, df: pd.DataFrame, path: Path) -> list[str]:
    names = [] if not text else [c.strip() for c in text.split(",") if c.strip()]
    missing = [c for c in names if c not in df.columns]
    if missing:
        _fail(
            f"{option}: column(s) {missing} not in {str(path)!r}; columns are {list(df.columns)}."
        )
    return names


@app.command()
def ode(
    data: Path = typer.Argument(..., help="CSV with a time column and one column per state."),
    t_column: str = typer.Option("t", "--t-column", help="Column of the times."),
    states: str = typer.Option(
        None, "--states", help="State columns, comma-separated (default: all the others)."
    ),
    controls: str = typer.Option(
        None, "--controls", help="Control-input columns, comma-separated (not modelled)."
    ),
    trajectory_column: str = typer.Option(
        None, "--trajectory-column", help="Column telling the runs (trajectories) apart."
    ),
    time_budget: float = typer.Option(None, "--time", help="Wall-clock budget in seconds."),
    run_dir: Path = typer.Option(None, "--run-dir", help="New directory for the results."),
    seed: int = typer.Option(0, help="Random seed."),
    differentiation: str = typer.Option("spline", help="spline, savgol or finite_difference."),
    weak: bool | None = typer.Option(
        None,
        "--weak/--no-weak",
        help="Refit and choose the formulas on the weak (integral) form (default: where "
        "the data's noise dominates the derivatives' error).",
    ),
    steps: int = typer.Option(DEFAULT_CONFIG.train.steps, help="Training steps per population."),
) -> None:
    """Finds dx/dt = F(x, u) from trajectories in DATA and prints the system."""
    from symnet.dynamics import SymbolicODE

    df = _read_csv(data)
    if t_column not in df.columns:
        _fail(f"--t-column: {t_column!r} not in {str(data)!r}; columns are {list(df.columns)}.")
    by = _columns(trajectory_column, "--trajectory-column", df, data)
    us = _columns(controls, "--controls", df, data)
    xs = _columns(states, "--states", df, data) or [
        c for c in df.columns if c not in (t_column, *by, *us)
    ]
    _numeric(df, [t_column, *xs, *us], data)
    runs = [g for _, g in df.groupby(by, sort=False)] if by else [df]
    if run_dir is None:
        run_dir = Path("runs") / f"{data.stem}-ode-{time.strftime('%Y%m%d-%H%M%S')}"
    model = SymbolicODE(
        regressor=SymbolicRegressor(steps=steps),
        differentiation=differentiation,
        weak="auto" if weak is None else weak,
        max_time=time_budget,
        random_state=seed,
    )
    try:
        model.fit(
            [g[xs] for g in runs],
            [g[t_column].to_numpy() for g in runs],
            u=[g[us] for g in runs] if us else None,
            run_dir=run_dir,
        )
    except ValueError as err:
        _fail(str(err))
    typer.echo(str(model))
    typer.echo(f"Run written to {run_dir}")


@app.command()
def simulate(
    run_dir: Path = typer.Argument(..., help="A run directory written by `symnet ode`."),
    x0: str = typer.Option(..., "--x0", help="Initial state, one value per state, commas."),
    t_end: float = typer.Option(..., "--t-end", help="Last time."),
    t_start: float = typer.Option(0.0, "--t-start", help="Time of the initial state."),
    points: int = typer.Option(201, "--points", help="Times written, evenly spaced."),
    out: Path = typer.Option(None, "--out", help="Write the CSV here (never overwrites)."),
) -> None:
    """Integrates a saved system from X0 and writes the states as CSV (t, states)."""
    from symnet.dynamics import SymbolicODE

    model = _load(SymbolicODE, run_dir)
    if model.n_controls_:
        _fail(f"the system has controls {model.control_names_}; simulate it from Python with u=.")
    try:
        start = [float(v) for v in x0.split(",")]
    except ValueError:
        _fail(f"--x0: expected numbers separated by commas, got {x0!r}.")
    if not (t_end > t_start and points >= 2):
        _fail(f"--t-end must exceed --t-start ({t_start}) and --points be >= 2.")
    times = np.linspace(t_start, t_end, points)
    try:
        states = model.simulate(start, times)
    except ValueError as err:
        _fail(str(err))
    result = pd.DataFrame(states, columns=model.state_names_)
    result.insert(0, "t", times)
    _write_csv(result, out, "states")


@app.command()
def sweep(config: Path = typer.Argument(..., help="A TOML sweep description.")) -> None:
    """Fits many tasks (Ray or a process pool) as CONFIG describes; resumable."""
    from symnet._sweep import sweep_config

    try:
        table = sweep_config(config)
    except (ValueError, OSError) as err:
        _fail(str(err))
    exact = f", {int(table['exact'].sum())} exact" if "exact" in table else ""
    typer.echo(f"{len(table)} records{exact}")


if __name__ == "__main__":
    app()

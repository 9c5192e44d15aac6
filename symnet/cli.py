"""Command-line interface: parse arguments, call the library, print with rich."""

from __future__ import annotations

import time
from importlib import resources

import jax
import numpy as np
import pandas as pd
import sympy
import typer
from rich.console import Console
from rich.table import Table

from symnet._scoring import is_symbolic_solution
from symnet._search import SearchConfig, discover, pareto_front, select

app = typer.Typer(add_completion=False, help="symnet: discover formulas with symbolic networks.")

#: The embedded default dataset: kinetic energy E = m v^2 / 2, 300 noise-free rows.
DEMO_FILE = "kinetic_energy.csv"
DEMO_TARGET = "E"
DEMO_TRUTH = "m*v**2/2"


def _front_table(front, chosen: int) -> Table:
    table = Table(title="Pareto front (complexity vs validation loss)")
    table.add_column("")
    table.add_column("complexity", justify="right")
    table.add_column("val. NMSE", justify="right")
    table.add_column("equation")
    for i, c in enumerate(front):
        table.add_row(
            ">>" if i == chosen else "", str(c.complexity), f"{c.val_nmse:.3g}", str(c.expr)
        )
    return table


@app.callback()
def main() -> None:
    """symnet command-line interface."""


@app.command()
def demo(seed: int = typer.Option(0, help="Random seed.")) -> None:
    """Discovers the formula behind the embedded kinetic-energy dataset."""
    console = Console()
    with resources.files("symnet.data").joinpath(DEMO_FILE).open() as f:
        df = pd.read_csv(f)
    names = [c for c in df.columns if c != DEMO_TARGET]
    X, y = df[names].to_numpy(np.float64), df[DEMO_TARGET].to_numpy(np.float64)
    console.print(
        f"Dataset: {DEMO_FILE} ({len(df)} rows), target {DEMO_TARGET!r}, inputs {names}."
    )
    t0 = time.perf_counter()
    cands = discover(X, y, key=jax.random.key(seed), names=names, config=SearchConfig())
    front = pareto_front(cands)
    chosen = select(front, "best")
    elapsed = time.perf_counter() - t0
    console.print(_front_table(front, chosen))
    best = front[chosen].expr
    symbols = {n: sympy.Symbol(n, real=True) for n in names}
    truth = sympy.sympify(DEMO_TRUTH, locals=symbols)
    ok = is_symbolic_solution(best, truth)
    console.print(f"Found: [bold]{DEMO_TARGET} = {best}[/bold]  ({elapsed:.1f} s)")
    console.print(f"Ground truth: {DEMO_TARGET} = {truth}; equivalent: {'yes' if ok else 'no'}")
    if not ok:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    app()

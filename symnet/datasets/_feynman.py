"""The AI-Feynman equations (Udrescu & Tegmark 2020) as :class:`Task` objects.

Rows come from the packaged ``symnet/data/feynman_equations.csv`` (100 equations) and
``symnet/data/feynman_bonus_equations.csv`` (20 bonus equations). Each row lists the
variables ``v<k>_name`` with their uniform sampling interval ``[v<k>_low, v<k>_high]``;
the inputs are :math:`x_j \\sim U[l_j, h_j]` and the target is the formula, 1000 rows by
default (as in SRBench). The ``# variables`` column is not used: it is wrong in the bonus
file for ``test_12``, ``test_13``, ``test_18`` and ``test_19``, and the listed variable
columns are authoritative. Every variable and output carries its dimension from AI
Feynman's units table (``symnet/data/feynman_units.csv``: exponents of m, s, kg, T and V;
T is named K here, the kelvin, as in :mod:`symnet.units`). One row is corrected from AI
Feynman's table: ``mu_drift`` (I.43.16, ``v = mu_drift*q*Volt/d``) is listed there as
kg/s, which makes its own law inconsistent; it is a mobility, s/kg, as ``mob`` is.
"""

from __future__ import annotations

import io
import math
from importlib.resources import files

import pandas as pd

from symnet.datasets._task import Task
from symnet.units import Dim

__all__ = ["FEYNMAN_N_DEFAULT", "load_equation_file"]

FEYNMAN_N_DEFAULT = 1000

_MAX_VARIABLES = 10


def _read_csv(filename: str) -> pd.DataFrame:
    text = files("symnet.data").joinpath(filename).read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


#: The units table's base-dimension columns and the names :class:`~symnet.units.Dim` uses.
_BASES = {"m": "m", "s": "s", "kg": "kg", "T": "K", "V": "V"}


def _units_table() -> dict[str, Dim]:
    table = _read_csv("feynman_units.csv")
    return {
        row["Variable"].strip(): Dim({b: float(row[col]) for col, b in _BASES.items()})
        for _, row in table.iterrows()
        if row["Variable"].strip()  # the file ends with an empty row
    }


def load_equation_file(filename: str, suite: str) -> tuple[Task, ...]:
    """Read an AI-Feynman equation table into tasks named ``"<suite>/<Filename>"``.

    Args:
        filename: CSV file inside the ``symnet.data`` package.
        suite: suite label, ``"feynman"`` or ``"bonus"``.

    Returns:
        One task per row, in file order.
    """
    table = _read_csv(filename)
    units = _units_table()
    tasks = []
    for _, row in table.iterrows():
        names: list[str] = []
        ranges: list[tuple[float, float]] = []
        for k in range(1, _MAX_VARIABLES + 1):
            name = row.get(f"v{k}_name", "").strip()
            if not name:
                continue
            low, high = float(row[f"v{k}_low"]), float(row[f"v{k}_high"])
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError(f"{filename}: bad range for {name!r} in {row['Filename']}")
            names.append(name)
            ranges.append((low, high))
        tasks.append(
            Task(
                name=f"{suite}/{row['Filename'].strip()}",
                suite=suite,
                formula=row["Formula"].strip(),
                variables=tuple(names),
                ranges=tuple(ranges),
                n_default=FEYNMAN_N_DEFAULT,
                units=tuple(units[n] for n in names),
                y_units=units[row["Output"].strip()],
            )
        )
    return tuple(tasks)

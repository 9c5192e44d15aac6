"""What a fit knows about units: the validated ``X_units`` / ``y_units`` of one output."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from symnet.units._dim import Dim, parse_units

__all__ = ["Units", "check_units"]


class Units(NamedTuple):
    """The dimensions of the inputs (in column order) and of the target (None: unknown,
    then only the formula's own consistency is checked); ``free_constants``: fitted
    constants may carry dimensions (PySR's dimensional constants)."""

    inputs: tuple[Dim, ...]
    target: Dim | None = None
    free_constants: bool = False

    def describe(self, names: Sequence[str]) -> dict[str, str]:
        """``{name: unit}`` as text, the target as ``"y"`` (when known)."""
        out = {n: str(d) for n, d in zip(names, self.inputs, strict=True)}
        if self.target is not None:
            out["y"] = str(self.target)
        return out


def _inputs(X_units, names: Sequence[str]) -> tuple[Dim, ...]:
    d = len(names)
    if isinstance(X_units, Mapping):
        keys = [str(k) for k in X_units]
        missing = [n for n in names if n not in keys]
        unknown = [k for k in keys if k not in names]
        if missing or unknown:
            raise ValueError(
                f"`X_units` given by name must name every variable exactly: variables "
                f"{list(names)}; missing {missing}, unknown {unknown}."
            )
        by_name = {str(k): v for k, v in X_units.items()}
        specs = [by_name[n] for n in names]
    elif isinstance(X_units, str) or not isinstance(X_units, Sequence):
        raise ValueError(
            f"`X_units` must be a list of {d} unit specifications (one per column of X) or "
            f"a mapping from variable names to units; got {X_units!r}."
        )
    else:
        specs = list(X_units)
        if len(specs) != d:
            raise ValueError(
                f"`X_units` must give one unit per column of X ({d}), got {len(specs)}: "
                f"{X_units!r}."
            )
    return tuple(parse_units(s, what=f"X_units[{n!r}]") for n, s in zip(names, specs, strict=True))


def check_units(
    X_units,
    y_units,
    names: Sequence[str],
    n_outputs: int = 1,
    *,
    free_constants: bool = False,
) -> list[Units] | None:
    """Validated units of a fit on inputs ``names`` with ``n_outputs`` targets: one
    :class:`Units` per output, or None when neither is given. ``y_units``: one
    specification, or one per output. ``ValueError`` naming the parameter for a wrong
    length, an unknown unit or ``y_units`` without ``X_units``."""
    if X_units is None:
        if y_units is not None:
            raise ValueError(
                "`y_units` was given without `X_units`: the target's units can only be "
                "matched against the inputs' units; pass X_units too."
            )
        return None
    inputs = _inputs(X_units, names)
    if y_units is None:
        targets = [None] * n_outputs
    elif isinstance(y_units, str | Mapping | Dim):
        if n_outputs != 1:
            raise ValueError(
                f"`y_units` must give one unit per output ({n_outputs}), got one: {y_units!r}."
            )
        targets = [parse_units(y_units, what="y_units")]
    else:
        specs = list(y_units)
        if len(specs) != n_outputs:
            raise ValueError(
                f"`y_units` must give one unit per output ({n_outputs}), got {len(specs)}: "
                f"{y_units!r}."
            )
        targets = [parse_units(s, what=f"y_units[{k}]") for k, s in enumerate(specs)]
    return [Units(inputs, t, bool(free_constants)) for t in targets]

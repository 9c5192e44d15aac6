"""Choosing the units of a network by operator names, as in PySR.

``unary_operators`` and ``binary_operators`` name primitives of the registry
(:data:`symnet.PRIMITIVES`: the built-ins and every :func:`symnet.register_primitive`),
with PySR's spellings accepted: ``"*"``/``"mult"`` is ``mul``, ``"/"`` is ``div``, and
``"+"``/``"-"`` are always there (every unit takes a weighted sum of its inputs), so they
add nothing. The chosen units replace the preset's (the ``identity`` unit is always kept:
it carries sums to the next layer); a primitive left out is never used. Presets with a
fixed unit set (``eql``, ``eql_div``, ``lies``) take no operators.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from symnet._primitives import PRIMITIVES

__all__ = ["OPERATOR_PRESETS", "operator_weights", "resolve_operators", "split_operators"]

#: Presets whose hidden units the operators choose.
OPERATOR_PRESETS = ("default", "deep", "rational", "kan")

_BINARY_ALIASES = {"*": "mul", "mult": "mul", "mul": "mul", "/": "div", "div": "div"}
_IMPLICIT = {"+", "-", "add", "sub", "plus", "minus"}


def _unknown(name: str, param: str, accepted: list[str]) -> ValueError:
    near = difflib.get_close_matches(name, accepted, n=3, cutoff=0.5)
    hint = f" Did you mean {near}?" if near else ""
    return ValueError(
        f"`{param}` names an unknown operator {name!r}; expected one of "
        f"{sorted(accepted)} (or a primitive registered with "
        f"symnet.register_primitive).{hint}"
    )


def _names(value, param: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"`{param}` must be a list of operator names, got {value!r}.")
    return list(value)


def resolve_operators(unary, binary) -> tuple[str, ...] | None:
    """The registry names of the units that ``unary_operators``/``binary_operators``
    choose (``identity`` first), or None when both are None (the preset's own units).

    Example:
      >>> resolve_operators(["sin", "exp"], ["+", "*", "/"])
      ('identity', 'sin', 'exp', 'mul', 'div')
    """
    if unary is None and binary is None:
        return None
    unary_ok = [n for n, p in PRIMITIVES.items() if p.arity == 1 and n != "identity"]
    binary_ok = [n for n, p in PRIMITIVES.items() if p.arity == 2]
    out = ["identity"]
    for name in _names(unary if unary is not None else [], "unary_operators"):
        if name in binary_ok or name in _BINARY_ALIASES:
            raise ValueError(
                f"`unary_operators` lists {name!r}, which takes two arguments: "
                "put it in `binary_operators`."
            )
        if name not in unary_ok and name != "identity":
            raise _unknown(name, "unary_operators", unary_ok)
        out.append(name)
    for name in _names(binary if binary is not None else [], "binary_operators"):
        if name in _IMPLICIT:
            continue
        if name in unary_ok:
            raise ValueError(
                f"`binary_operators` lists {name!r}, which takes one argument: "
                "put it in `unary_operators`."
            )
        if name in ("^", "pow"):
            raise ValueError(
                "`binary_operators`: '^' (a power with a fitted exponent) is not "
                "a unit of symnet; powers come from exp(a*log(x)) with 'exp' "
                "and 'log', and fixed ones from 'square', 'sqrt' and '*'."
            )
        resolved = _BINARY_ALIASES.get(name, name)
        if resolved not in binary_ok:
            raise _unknown(name, "binary_operators", [*binary_ok, *_BINARY_ALIASES])
        out.append(resolved)
    return tuple(dict.fromkeys(out))


def split_operators(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """One list of operator names (``symnet fit --operators sin,exp,*,/``) as
    ``(unary, binary)``: names that take two arguments (``+ - * /``, ``mul``, ``div``,
    registered binary primitives) go to the second; the rest, unknown names included (they
    are reported by :func:`resolve_operators`), to the first.

    Example:
      >>> split_operators(["sin,exp", "*", "/"])
      (['sin', 'exp'], ['*', '/'])
    """
    flat = [n.strip() for name in names for n in name.split(",") if n.strip()]
    two = {n for n, p in PRIMITIVES.items() if p.arity == 2} | set(_BINARY_ALIASES) | _IMPLICIT
    two |= {"^", "pow"}
    return [n for n in flat if n not in two], [n for n in flat if n in two]


_WEIGHT_ALIASES = {"+": "add", "-": "add", "*": "mul", "/": "div", "^": "pow"}


def operator_weights(weights) -> tuple[tuple[str, float], ...]:
    """PySR's ``complexity_of_operators`` (``{"sin": 3, "/": 2}``) as sorted
    ``(name, weight)`` pairs over :func:`symnet._sympy_utils.operator_name`'s names;
    ``ValueError`` for an unknown name (with close matches) or a weight that is not a
    positive number.

    Example:
      >>> operator_weights({"sin": 3, "/": 2})
      (('div', 2.0), ('sin', 3.0))
    """
    if weights is None:
        return ()
    if not isinstance(weights, dict):
        raise ValueError(
            f"`complexity_of_operators` must be a dict of operator -> complexity, got {weights!r}."
        )
    known = {"add", "mul", "div", "pow", "sqrt", "square"}
    known |= {n for n, p in PRIMITIVES.items() if p.arity == 1 and n != "identity"}
    out = {}
    for name, w in weights.items():
        key = _WEIGHT_ALIASES.get(name, name)
        if key not in known:
            raise _unknown(str(name), "complexity_of_operators", [*known, *_WEIGHT_ALIASES])
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0 < w < float("inf"):
            raise ValueError(
                f"`complexity_of_operators[{name!r}]` must be a positive number, got {w!r}."
            )
        out[key] = float(w)
    return tuple(sorted(out.items()))

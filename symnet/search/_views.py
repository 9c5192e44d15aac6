"""Data views: transformed copies of ``(X, y)`` a population trains on.

A view maps the data to ``(Xv, yv)`` in which the formula may be simpler, and maps a
formula ``g(u)`` found there back to the user's variables. The translated formula is then
refit on the raw data, so a view only has to get the *structure* right.

=========  ==========================  ===================================  ================
view       inputs ``u``                target                               back
=========  ==========================  ===================================  ================
raw        ``x``                       ``y``                                ``g(x)``
log        ``log x``                   ``log(s*y)`` (LIES)                  ``s*exp(g(log x))``
square     ``x``                       ``y**2``                             ``s*sqrt(g(x))``
inverse    ``x``                       ``1/y``                              ``1/g(x)``
standard   ``(x - mean) / std``        ``y``                                ``g((x - m) / sd)``
=========  ==========================  ===================================  ================

``s = sign(y)``; ``log`` needs ``x > 0`` and ``s*y > 0``; ``square`` needs ``s*y > 0``
(roots of sums of squares, as in distances and the law of cosines, become polynomials);
``inverse`` needs ``s*y > 0`` (reciprocals of sums, ``1/(omega_0**2 - omega**2)``, become
polynomials).
Views that do not apply to the data are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import sympy

from symnet.search._groups import Groups

__all__ = ["VIEWS", "View", "check_views", "make_views", "reduced_views", "view_symbols"]

VIEWS = ("raw", "log", "square", "inverse", "standard")


class View(NamedTuple):
    name: str
    X: np.ndarray
    y: np.ndarray
    back: Callable[[sympy.Expr], sympy.Expr]


def view_symbols(d: int) -> list[sympy.Symbol]:
    """The placeholder inputs ``u_i`` formulas are exported over inside a view."""
    return [sympy.Symbol(f"_u{i}", real=True) for i in range(d)]


def check_views(views: Sequence[str]) -> tuple[str, ...]:
    views = tuple(views)
    unknown = [v for v in views if v not in VIEWS]
    if not views or unknown:
        raise ValueError(f"`views` must be a non-empty subset of {VIEWS}, got {views!r}.")
    return views


def make_views(
    X: np.ndarray, y: np.ndarray, symbols: Sequence[sympy.Symbol], names: Sequence[str]
) -> list[View]:
    """The views in ``names`` that apply to ``(X, y)``, in that order."""
    d = X.shape[1]
    u = view_symbols(d)
    to_user = dict(zip(u, symbols, strict=True))
    sign = float(np.sign(y[0])) or 1.0
    one_signed = bool(np.all(sign * y > 0))
    out = []
    for name in check_views(names):
        if name == "raw":
            out.append(View(name, X, y, lambda g: g.xreplace(to_user)))
        elif name == "log" and one_signed and np.all(X > 0):
            to_log = {ui: sympy.log(s) for ui, s in zip(u, symbols, strict=True)}

            def from_log(g, to_log=to_log, sign=sign):
                return sympy.expand_power_exp(sign * sympy.exp(g.xreplace(to_log)))

            out.append(View(name, np.log(X), np.log(sign * y), from_log))
        elif name == "square" and one_signed:

            def from_square(g, sign=sign):
                return sign * sympy.sqrt(g.xreplace(to_user))

            out.append(View(name, X, y * y, from_square))
        elif name == "inverse" and one_signed:
            out.append(View(name, X, 1.0 / y, lambda g: 1 / g.xreplace(to_user)))
        elif name == "standard":
            mu, sd = X.mean(axis=0), X.std(axis=0)
            sd = np.where(sd > 0, sd, 1.0)
            to_std = {
                ui: (s - sympy.Float(m)) / sympy.Float(v)
                for ui, s, m, v in zip(u, symbols, mu, sd, strict=True)
            }
            out.append(View(name, (X - mu) / sd, y, lambda g, to_std=to_std: g.xreplace(to_std)))
    return out


def reduced_views(X, y, symbols, names, groups: Groups, prefix: str) -> list[View]:
    """The views in ``names`` of ``y / prefactor`` over the inputs of ``groups`` (a
    :class:`symnet.search.Groups`: power factors, dimensionless groups), mapped back as
    ``prefactor * g``; named ``prefix`` (raw) and ``prefix+<view>``, in the order raw,
    square, log, standard: power laws are what the reduction removed, so the log view comes
    after the square view (roots of rational functions, ``1/sqrt(1 - v**2/c**2)``, are left
    often)."""
    scale, U = groups.arrays(X)
    pre, ins = groups.exprs(symbols)
    order = ("raw", "square", "log", "inverse", "standard")
    out = []
    for v in make_views(U, y / scale, ins, sorted(check_views(names), key=order.index)):

        def back(g, inner=v.back):
            return pre * inner(g)

        name = prefix if v.name == "raw" else f"{prefix}+{v.name}"
        out.append(View(name, v.X, v.y, back))
    return out

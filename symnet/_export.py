"""Export: networks to sympy formulas, and sympy formulas back to JAX, in one place.

Network -> sympy. Each layer writes its own units
(:meth:`symnet.layers.AbstractSymbolicLayer.to_sympy`); :func:`export_member` takes
member ``i`` of a population, masks the units no output depends on and composes the
layers; :func:`population_formulas` exports shortlisted members and undoes the target's
standardisation, ``f = sd * g + mu``. A data view's ``back`` (:mod:`symnet.search`) then
maps the view's inputs back to the user's variables.

Sympy -> JAX. Constants become symbols (:func:`symnet._refit.parametrize`: every float,
as the refits do; :func:`lift_constants`: every constant that can move without changing
the structure) and :func:`jax_functions` lambdifies ``f(x_1, ..., x_d, c_1, ..., c_p)``
with the JAX backend: :func:`jax_formula` (``SymbolicRegressor.jax``, PySR's
``{"callable", "parameters"}``, floats only) and :class:`symnet.distill.FormulaModule`
(movable constants, as trainable parameters) are built on them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from flax import nnx

from symnet._refit import parametrize
from symnet.layers import Mask, SplineKANLayer, SymbolicNetwork, snap_network

__all__ = [
    "MemberNetwork",
    "jax_formula",
    "jax_functions",
    "lift_constants",
    "export_member",
    "member_networks",
    "population_formulas",
]

#: Exact rationals whose numerator or denominator exceeds this become floats for JAX.
_JAX_INT_LIMIT = 2**24


def export_member(graphdef, params, masks, i: int, symbols, x=None) -> sympy.Expr:
    """Member ``i`` of a population (leading axis of ``params``/``masks``) as a sympy
    expression of its first output over ``symbols``, dead units removed. Spline KAN layers
    are snapped to primitives on their activations at the inputs ``x`` first
    (:func:`symnet.layers.snap_network`; ``x`` is required then)."""
    p = jax.tree.map(lambda a: a[i], params)
    m = jax.tree.map(lambda a: a[i], masks)
    return _exportable(nnx.merge(graphdef, p, m), x).to_sympy(symbols)[0]


def _exportable(net: SymbolicNetwork, x) -> SymbolicNetwork:
    """``net`` with its dead units masked and spline KAN layers snapped on ``x``."""
    net.drop_dead_units()
    if any(isinstance(layer, SplineKANLayer) for layer in net.layers):
        if x is None:
            raise ValueError("`x` is required to export a network with spline KAN layers.")
        net = snap_network(net, x)
    return net


@dataclasses.dataclass(frozen=True, eq=False)
class MemberNetwork:
    """One exported population member, kept so the network behind a formula can be looked
    at (``SymbolicRegressor.plot``): picklable, unlike the network itself (its graph
    holds JAX functions).

    Attributes:
      build: the constructor, called as ``build(rngs=...)`` (a partial of a preset).
      params, masks: the member's parameters and masks, nested dicts of numpy arrays.
      x: up to 128 rows of the inputs it was trained on (the view's, scaled).
      labels: each input as a sympy expression of the search's variables (a data view's
        input may be a product or group of them).
      formula: the member's export, refit, over the search's variables.
      own: False when the record stands in for a formula another stage built (the
        search's most accurate network, shown in its place).
    """

    build: Callable
    params: dict
    masks: dict
    x: np.ndarray
    labels: tuple = ()
    formula: object = None
    own: bool = True

    def network(self) -> SymbolicNetwork:
        """The member as it was exported: dead units masked, splines snapped on ``x``."""
        net = self.build(rngs=nnx.Rngs(0))
        _, params, masks = nnx.split(net, nnx.Param, Mask)
        nnx.replace_by_pure_dict(params, jax.tree.map(jnp.asarray, self.params))
        nnx.replace_by_pure_dict(masks, jax.tree.map(jnp.asarray, self.masks))
        nnx.update(net, params, masks)
        return _exportable(net, self.x)


def member_networks(build, params, variants, picks, x) -> list[MemberNetwork]:
    """The members ``picks`` (as in :func:`population_formulas`) as :class:`MemberNetwork`
    records, without labels (the caller knows its inputs)."""

    def one(tree, i):
        return nnx.to_pure_dict(jax.tree.map(lambda a: np.asarray(a[i]), tree))

    x = np.asarray(x)
    return [MemberNetwork(build, one(params, i), one(variants[t], i), x) for t, i in picks]


def population_formulas(graphdef, params, variants, picks, symbols, mu: float, sd: float, x=None):
    """The members ``picks`` (``(variant, member)`` pairs; ``variants`` are masks of the
    whole population) as formulas of the unstandardised target, ``sd * g + mu`` (``x``:
    inputs to snap spline KAN layers on, see :func:`export_member`)."""
    return [
        sd * export_member(graphdef, params, variants[t], i, symbols, x) + mu for t, i in picks
    ]


def lift_constants(exprs: Sequence[sympy.Expr], prefix: str = "_p"):
    """Replaces the constants of ``exprs`` that can move without changing the formula's
    structure by symbols ``{prefix}{k}``, one per occurrence: floats anywhere, and
    rationals other than 0 and +-1 outside exponents (``x**2`` must not become
    ``x**2.0001``, which is NaN for ``x < 0``; named numbers such as ``pi`` stay).

    Returns:
      ``(lifted expressions, constant symbols, float64 values)``.

    Example:
      >>> x = sympy.Symbol("x")
      >>> lifted, syms, vals = lift_constants([2.5 * x**2 + 3])
      >>> lifted[0], vals.tolist()
      (_p0 + _p1*x**2, [3.0, 2.5])
    """
    syms: list[sympy.Symbol] = []
    vals: list[float] = []

    def new(v):
        s = sympy.Symbol(f"{prefix}{len(syms)}", real=True)
        syms.append(s)
        vals.append(float(v))
        return s

    def walk(e):
        if isinstance(e, sympy.Float):
            return new(e)
        if isinstance(e, sympy.Rational):
            return e if e in (0, 1, -1) else new(e)
        if isinstance(e, sympy.Pow):
            base, ex = e.args
            return sympy.Pow(walk(base), new(ex) if isinstance(ex, sympy.Float) else ex)
        if not e.args or isinstance(e, sympy.NumberSymbol):
            return e
        return e.func(*(walk(a) for a in e.args))

    lifted = [walk(sympy.sympify(e)) for e in exprs]
    return lifted, tuple(syms), np.asarray(vals, np.float64)


def jax_functions(
    lifted: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol], consts: Sequence[sympy.Symbol]
) -> tuple[Callable, ...]:
    """One JAX function ``f(x_1, ..., x_d, c_1, ..., c_p)`` per expression (elementwise
    in the ``x_i``)."""
    return tuple(sympy.lambdify([*symbols, *consts], e, modules="jax") for e in lifted)


def jax_formula(expr: sympy.Expr, symbols: Sequence[sympy.Symbol]) -> dict:
    """``{"callable": f(X, params), "parameters": params}``: a pure, jittable function of
    ``X`` (n, d) and the formula's float constants (PySR's convention). Exact rationals
    JAX cannot hold (numerator or denominator above 2**24) become float constants too."""
    big = {
        r: sympy.Float(r)
        for r in expr.atoms(sympy.Rational)
        if abs(r.p) > _JAX_INT_LIMIT or r.q > _JAX_INT_LIMIT
    }
    par = parametrize(expr.xreplace(big))
    (fn,) = jax_functions([par.expr], symbols, par.consts)
    n, p = len(symbols), len(par.consts)

    def f(X, params):
        X = jnp.asarray(X)
        out = fn(*(X[:, i] for i in range(n)), *(params[k] for k in range(p)))
        return jnp.broadcast_to(out, X.shape[:1])

    return {"callable": f, "parameters": jnp.asarray(par.values)}

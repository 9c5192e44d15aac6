"""Ready-made architectures: EQL, EQL÷, LIES and symnet's default.

Each preset is a function ``(n_inputs, *, n_outputs, ..., rngs) -> SymbolicNetwork``.
"""

from __future__ import annotations

from collections.abc import Sequence

from flax import nnx

from symnet._primitives import get_primitive
from symnet.layers._kan import KAN_UNITS, SymbolicKANLayer
from symnet.layers._network import SymbolicNetwork
from symnet.layers._spline import SplineKANLayer
from symnet.layers._symbolic import SymbolicLayer, UnitSpec

__all__ = [
    "eql",
    "eql_div",
    "lies",
    "default_network",
    "deep_network",
    "rational",
    "kan",
    "spline_kan",
    "PRESETS",
    "stack",
]


def stack(
    n_inputs: int,
    hidden: Sequence[Sequence[UnitSpec]],
    *,
    n_outputs: int = 1,
    readout: str = "linear",
    skip: bool = False,
    unit_gain: bool = False,
    use_bias: bool = True,
    constant_input: bool = False,
    init_scale: float = 1.0,
    rngs: nnx.Rngs,
) -> SymbolicNetwork:
    """Builds hidden symbolic layers plus a read-out.

    Args:
      hidden: one unit spec per hidden layer.
      readout: ``"linear"`` (identity units with bias) or ``"div"`` (EQL÷ division units).
    """
    if readout not in ("linear", "div"):
        raise ValueError(f"`readout` must be 'linear' or 'div', got {readout!r}.")
    if n_outputs < 1:
        raise ValueError(f"`n_outputs` must be >= 1, got {n_outputs!r}.")
    width = n_inputs + int(constant_input)
    layers = []
    for units in hidden:
        layer = SymbolicLayer(
            width,
            units,
            use_bias=use_bias,
            unit_gain=unit_gain,
            skip=skip,
            init_scale=init_scale,
            rngs=rngs,
        )
        layers.append(layer)
        width = layer.out_features
    prim = "identity" if readout == "linear" else "div"
    layers.append(SymbolicLayer(width, [(prim, n_outputs)], use_bias=True, rngs=rngs))
    return SymbolicNetwork(layers, constant_input=constant_input)


def eql(
    n_inputs: int, *, n_outputs: int = 1, depth: int = 2, width: int = 2, rngs: nnx.Rngs
) -> SymbolicNetwork:
    """EQL (Martius & Lampert 2016): identity, sin, cos and product units per layer."""
    units = [("identity", width), ("sin", width), ("cos", width), ("mul", width)]
    return stack(n_inputs, [units] * depth, n_outputs=n_outputs, rngs=rngs)


def eql_div(
    n_inputs: int, *, n_outputs: int = 1, depth: int = 2, width: int = 2, rngs: nnx.Rngs
) -> SymbolicNetwork:
    """EQL÷ (Sahoo et al. 2018): EQL hidden layers, protected division in the read-out."""
    units = [("identity", width), ("sin", width), ("cos", width), ("mul", width)]
    return stack(n_inputs, [units] * depth, n_outputs=n_outputs, readout="div", rngs=rngs)


def lies(n_inputs: int, *, n_outputs: int = 1, rngs: nnx.Rngs) -> SymbolicNetwork:
    """LIES (Montazerin et al. 2025): n+1 bias-free layers of log, identity, exp, sin.

    A constant-1 column joins the inputs; each unit has a gain; every layer sees every
    earlier output (dense skips); the read-out is linear with a bias.
    """
    units = [("identity", 1), ("exp", 1), ("sin", 1), ("log", 1)]
    return stack(
        n_inputs,
        [units] * (n_inputs + 1),
        n_outputs=n_outputs,
        skip=True,
        unit_gain=True,
        use_bias=False,
        constant_input=True,
        rngs=rngs,
    )


#: The hidden units of the default presets (``div`` too, except in ``rational``).
DEFAULT_UNITS = ("identity", "sin", "exp", "log", "sqrt", "mul", "div")


def _units(width: int, units: Sequence[str] | None, div: bool) -> list[UnitSpec]:
    """``width`` units of each primitive named in ``units`` (default: ``DEFAULT_UNITS``),
    without ``div`` unless ``div``."""
    names = DEFAULT_UNITS if units is None else tuple(units)
    return [(p, width) for p in names if div or p != "div"]


def default_network(
    n_inputs: int,
    *,
    n_outputs: int = 1,
    width: int = 2,
    depth: int = 2,
    units: Sequence[str] | None = None,
    rngs: nnx.Rngs,
) -> SymbolicNetwork:
    """symnet's default: ``depth`` skip-connected layers of identity, sin, exp, log, sqrt,
    mul and div units (or the primitives named in ``units``), ``width`` of each."""
    hidden = _units(width, units, div=True)
    return stack(n_inputs, [hidden] * depth, n_outputs=n_outputs, skip=True, rngs=rngs)


def rational(
    n_inputs: int,
    *,
    n_outputs: int = 1,
    width: int = 2,
    units: Sequence[str] | None = None,
    rngs: nnx.Rngs,
):
    """One skip-connected layer of the default units (or ``units``, without ``div``), then
    an EQL÷ division read-out: ``y = (a . h + b) / (c . h + d)`` with ``h`` the units and
    the inputs. Weighted means and other quotients of low-degree terms are one layer deep
    here."""
    hidden = _units(width, units, div=False)
    return stack(n_inputs, [hidden], n_outputs=n_outputs, readout="div", skip=True, rngs=rngs)


def deep_network(
    n_inputs: int,
    *,
    n_outputs: int = 1,
    width: int = 2,
    units: Sequence[str] | None = None,
    rngs: nnx.Rngs,
):
    """The default units (or ``units``) in three skip-connected layers (products of three
    factors)."""
    return default_network(
        n_inputs, n_outputs=n_outputs, width=width, depth=3, units=units, rngs=rngs
    )


def kan(
    n_inputs: int,
    *,
    n_outputs: int = 1,
    width: int = 2,
    units: Sequence[str] | None = None,
    rngs: nnx.Rngs,
) -> SymbolicNetwork:
    """A two-layer symbolic KAN (:class:`~symnet.layers.SymbolicKANLayer`):
    ``n_inputs -> [2 * width sums, width products] -> n_outputs`` with every edge a sparse
    mixture of the unary primitives ``KAN_UNITS`` (or the unary ones named in ``units``; a
    ``mul`` there keeps the product nodes, its absence drops them; ``div`` has no KAN
    counterpart and is left to the EQL presets).

    ``y = sum_j phi_j(h_j) + d`` with ``h_j = sum_i phi_ij(x_i) + d_j`` or a product of two
    such sums: ``f(x) + g(y)``, ``f(x) * g(y)`` and ``F(f(x) + g(y))`` are one network.

    Example:
      >>> net = kan(2, rngs=nnx.Rngs(0))
      >>> [layer.out_features for layer in net.layers]
      [6, 1]
    """
    if units is None:
        prims, n_mult = KAN_UNITS, width
    else:
        records = [get_primitive(u) for u in units]
        prims = tuple(p.name for p in records if p.arity == 1)
        n_mult = width if "mul" in {p.name for p in records} else 0
        if not prims:
            raise ValueError(
                f"`units` of the kan preset must include a unary primitive, got {list(units)}."
            )
    hidden = SymbolicKANLayer(
        n_inputs, n_sum=2 * width, n_mult=n_mult, primitives=prims, rngs=rngs
    )
    readout = SymbolicKANLayer(hidden.out_features, n_sum=n_outputs, primitives=prims, rngs=rngs)
    return SymbolicNetwork([hidden, readout])


def spline_kan(
    n_inputs: int, *, n_outputs: int = 1, width: int = 2, rngs: nnx.Rngs
) -> SymbolicNetwork:
    """A two-layer spline KAN (:class:`~symnet.layers.SplineKANLayer`),
    ``n_inputs -> 3 * width -> n_outputs``: fitted first, then each live edge snapped to a
    primitive (:func:`~symnet.layers.snap_network`) before export.

    Example:
      >>> [layer.out_features for layer in spline_kan(2, rngs=nnx.Rngs(0)).layers]
      [6, 1]
    """
    hidden = SplineKANLayer(n_inputs, n_sum=3 * width, rngs=rngs)
    return SymbolicNetwork(
        [hidden, SplineKANLayer(hidden.out_features, n_sum=n_outputs, rngs=rngs)]
    )


PRESETS = {
    "eql": eql,
    "eql_div": eql_div,
    "lies": lies,
    "default": default_network,
    "deep": deep_network,
    "rational": rational,
    "kan": kan,
    "spline_kan": spline_kan,
}

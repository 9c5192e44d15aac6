"""Spline KAN layer, for "fit first, then snap" (pykan's ``auto_symbolic``, with our refit).

Edge ``(i, j)`` is a gated cubic B-spline plus a linear base on a fixed uniform grid::

    phi_ij(x) = g_ij * (w_ij * x + sum_m k_ijm * B_m(x)),      s_j = sum_i phi_ij(x_i) + d_j

The gate ``g`` (masked, charged by the sparsity penalty) prunes whole edges; the spline and
base weights are free. Outside the grid the B-splines vanish and the edge is linear. After
training, :func:`snap_network` replaces every live edge by the affine-transformed primitive
that fits its activations best (``a * p(b * x + c) + e`` by variable projection: ``a, e``
linear, ``b, c`` from the best point of a coarse grid refined by least squares), which
gives a
:class:`~symnet.layers.SymbolicKANLayer` network the one exporter writes as a formula; the
search refits its constants on the data as for every other candidate.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from flax import nnx
from scipy.optimize import least_squares

from symnet._primitives import get_primitive
from symnet.layers._base import AbstractSymbolicLayer, Mask
from symnet.layers._kan import KAN_UNITS, SymbolicKANLayer
from symnet.layers._network import SymbolicNetwork

__all__ = ["SplineKANLayer", "bspline_basis", "snap_edge", "snap_network"]

#: Spline order (cubic) and the default grid.
ORDER = 3
GRID = (-5.0, 5.0, 10)
#: The snap's coarse grid: inner scales ``+-b`` and shifts ``c`` (for log and sqrt,
#: offsets of the smallest argument above the domain's bound).
_B_GRID = np.geomspace(0.125, 8.0, 25)
_C_GRID = np.linspace(-np.pi, np.pi, 25)
_C_OFFSETS = np.geomspace(1e-2, 10.0, 13)
#: Domain bounds beyond this are clamps against overflow, not domains to start inside.
_WIDE = 1e6
#: Primitives whose best grid R^2 is this far below the best primitive's are not refined.
_REFINE_WITHIN = 0.02
#: Periodic primitives, and the span of their argument over the samples below which they
#: cost one more than their complexity (a sine over less than a quarter period is a
#: parabola in disguise, the surrogate pykan's ``auto_symbolic`` often snaps to).
_PERIODIC = ("sin", "cos")
_MIN_PHASE_SPAN = np.pi / 2
#: A primitive must explain at least this share more of an edge's variance than the
#: next-simpler one to be preferred (ties go to the lower complexity).
SNAP_GAIN = 1e-3


def bspline_basis(x, low: float, high: float, n_intervals: int, xp=jnp):
    """Cubic B-spline basis on a uniform grid of ``[low, high]``: shape
    ``x.shape + (n_intervals + ORDER,)``; all zero outside the grid. ``xp``: the array
    module (``jax.numpy`` in training, ``numpy`` when snapping).

    On interval ``m`` (``x = low + (m + t) * h``, ``0 <= t < 1``) the four bases
    ``m .. m + 3`` are nonzero, with the uniform cubic weights ``(1 - t)**3 / 6``,
    ``(3t**3 - 6t**2 + 4) / 6``, ``(-3t**3 + 3t**2 + 3t + 1) / 6`` and ``t**3 / 6`` (a
    partition of unity): four products with one-hot columns, cheap to compile.
    """
    u = (x - low) * (n_intervals / (high - low))
    inside = (u >= 0) & (u < n_intervals)
    u = xp.where(inside, u, 0.0)
    m = xp.floor(u)
    t = u - m
    t2, t3 = t * t, t * t * t
    weights = (
        (1 - t) ** 3 / 6,
        (3 * t3 - 6 * t2 + 4) / 6,
        (-3 * t3 + 3 * t2 + 3 * t + 1) / 6,
        t3 / 6,
    )
    cols = xp.arange(n_intervals + ORDER)
    out = 0.0
    for k, w in enumerate(weights):
        out = out + xp.where(cols == (m + k)[..., None], (w * inside)[..., None], 0.0)
    return out


class SplineKANLayer(AbstractSymbolicLayer):
    """KAN layer of gated B-spline edges (plus a linear base); sum nodes only.

    Args:
      in_features: input width. n_sum: output (sum) nodes.
      grid: ``(low, high, n_intervals)`` of the uniform cubic spline grid.
      rngs: ``nnx.Rngs`` with a ``params`` stream.

    Example:
      >>> layer = SplineKANLayer(2, n_sum=3, rngs=nnx.Rngs(0))
      >>> layer(jnp.ones((4, 2)))[0].shape
      (4, 3)
    """

    def __init__(
        self,
        in_features: int,
        *,
        n_sum: int = 1,
        grid: tuple[float, float, int] = GRID,
        rngs: nnx.Rngs,
    ):
        if not isinstance(in_features, int) or in_features < 1:
            raise ValueError(f"`in_features` must be an integer >= 1, got {in_features!r}.")
        if not isinstance(n_sum, int) or n_sum < 1:
            raise ValueError(f"`n_sum` must be an integer >= 1, got {n_sum!r}.")
        low, high, n = grid
        if not (low < high and isinstance(n, int) and n >= 1):
            raise ValueError(f"`grid` must be (low < high, n_intervals >= 1), got {grid!r}.")
        self.grid = nnx.static((float(low), float(high), n))
        self.in_features = in_features
        self.n_sum, self.n_mult = n_sum, 0
        self.n_units = self.out_features = self.n_pre = n_sum
        k_coef, k_base = jax.random.split(rngs.params())
        shape = (in_features, n_sum)
        self.coef = nnx.Param(0.1 * jax.random.normal(k_coef, (*shape, n + ORDER)))
        self.base = nnx.Param(jax.random.normal(k_base, shape) / np.sqrt(in_features))
        self.gate = nnx.Param(jnp.ones(shape))
        self.gate_mask = Mask(jnp.ones(shape))
        self.bias = nnx.Param(jnp.zeros((n_sum,)))
        self.bias_mask = Mask(jnp.ones((n_sum,)))

    def _gate(self):
        return self.gate[...] * self.gate_mask[...]

    def edges(self, x, xp=jnp):
        """Every edge's value ``phi_ij(x_i)``: shape (batch, in, out) (``xp``: the array
        module, as in :func:`bspline_basis`)."""
        coef, base, gate = (xp.asarray(v) for v in (self.coef[...], self.base[...], self._gate()))
        basis = bspline_basis(x, *self.grid, xp=xp)  # (batch, in, G)
        spline = xp.einsum("big,iog->bio", basis, coef)
        return gate[None] * (base[None] * x[:, :, None] + spline)

    def __call__(self, x):
        s = self.edges(x).sum(1) + (self.bias[...] * self.bias_mask[...])[None]
        return s, jnp.zeros((), x.dtype)

    def weight_costs(self):
        d = self.bias[...] * self.bias_mask[...]
        return [(self._gate(), jnp.ones(())), (d, jnp.ones(()))]

    def to_sympy(self, inputs):
        raise ValueError(
            "A SplineKANLayer has no closed form; snap it to primitives first "
            "(symnet.layers.snap_network(network, x))."
        )

    def needed_inputs(self, needed_outputs):
        live = np.asarray(self._gate()) != 0
        return (live & np.asarray(needed_outputs, bool)[None, :]).any(axis=1)

    def drop_unneeded(self, needed_outputs):
        keep = jnp.asarray(needed_outputs).astype(self.gate.dtype)
        self.gate_mask[...] = self.gate_mask[...] * keep[None, :]
        self.bias_mask[...] = self.bias_mask[...] * keep


@functools.cache
def _numpy_fn(prim):
    """``prim``'s protected function in float64 numpy: its sympy function on the argument
    clipped to the domain (the least squares differentiate it numerically, which float32
    would drown; numpy also spares a dispatch per call)."""
    z = sympy.Symbol("z")
    fn = sympy.lambdify(z, prim.sympy_fn(z), "numpy")
    low, high = prim.domain
    return lambda v: np.broadcast_to(fn(np.clip(v, low, high)), np.shape(v))


def _values(prim, z) -> np.ndarray:
    return np.asarray(_numpy_fn(prim)(np.asarray(z, np.float64)), np.float64)


def _project(prim, h, v, b, c):
    """Best ``a, e`` for fixed ``b, c`` (linear least squares) and the residual."""
    f = _values(prim, b * h + c)
    A = np.stack([f, np.ones_like(f)], axis=1)
    coef, *_ = np.linalg.lstsq(A, v, rcond=None)
    return coef, A @ coef - v


def _grid_start(prim, h, v):
    """The best ``(b, c)`` of a coarse grid, by the R^2 of the linear fit of ``v`` on
    ``p(b * h + c)`` (closed form, all grid points at once)."""
    v = np.asarray(v, np.float64)
    b = np.concatenate([-_B_GRID, _B_GRID])[:, None]
    if prim.domain[0] > -_WIDE:  # log, sqrt: shifts that put every argument in the domain
        c = prim.domain[0] + _C_OFFSETS[None, :] - np.minimum(b * h.min(), b * h.max())
    else:
        c = np.broadcast_to(_C_GRID[None, :], (len(b), len(_C_GRID)))
    b, c = np.broadcast_to(b, c.shape).ravel(), c.ravel()
    f = _values(prim, b[:, None] * h[None] + c[:, None])
    fc, vc = f - f.mean(1, keepdims=True), v - v.mean()
    with np.errstate(all="ignore"):
        r2 = (fc @ vc) ** 2 / ((fc**2).sum(1) * (vc**2).sum())
    r2 = np.where(np.isfinite(r2), r2, -1.0)
    k = int(np.argmax(r2))
    return (b[k], c[k]), float(r2[k])


def _residual(prim, h, v, var):
    """Residuals of the projected fit at ``(b, c)``, plus a hinge keeping ``b * h + c``
    inside the primitive's domain."""
    low, high = prim.domain

    def res(p):
        _, r = _project(prim, h, v, *p)
        z = p[0] * h + p[1]
        out = np.maximum(low - z, 0) + np.maximum(z - high, 0)
        return np.concatenate([r, 10.0 * np.sqrt(var) * out])

    return res


def snap_edge(h: np.ndarray, v: np.ndarray, primitives=KAN_UNITS):
    """The primitive ``a * p(b * h + c) + e`` closest to the samples ``v`` of an edge at
    inputs ``h``: ``(primitive name, (a, b, c, e), r2)``, the least complex primitive whose
    R^2 is within ``SNAP_GAIN`` of the best. ``b, c`` start at the best point of a coarse
    grid and are refined by least squares (``a, e`` projected out); arguments are kept in
    each primitive's domain on the samples by a hinge in the residual."""
    h, v = np.asarray(h, np.float64), np.asarray(v, np.float64)
    var = max(float(np.var(v)), 1e-300)
    prims = [get_primitive(name) for name in primitives]
    # identity: a and e carry the whole affine map, so b = 1, c = 0 is its exact fit
    starts = [
        ((1.0, 0.0), None) if prim.name == "identity" else _grid_start(prim, h, v)
        for prim in prims
    ]
    best_grid = max((r2 for _, r2 in starts if r2 is not None), default=-np.inf)
    fits = []
    for prim, (p, grid_r2) in zip(prims, starts, strict=True):
        name = prim.name
        if grid_r2 is not None:
            if grid_r2 < best_grid - _REFINE_WITHIN:
                continue  # far behind on the grid: not refined
            p = least_squares(_residual(prim, h, v, var), p, method="trf", max_nfev=60).x
        (a, e), r = _project(prim, h, v, *p)
        r2 = 1.0 - float(np.mean(r**2)) / var
        cost = prim.complexity
        if name in _PERIODIC and abs(p[0]) * np.ptp(h) < _MIN_PHASE_SPAN:
            cost += 1  # less than a quarter period: a polynomial in disguise
        fits.append((cost, name, (float(a), *map(float, p), float(e)), r2))
    top = max(f[3] for f in fits)
    near = (f for f in fits if f[3] >= top - SNAP_GAIN)
    _, name, params, r2 = min(near, key=lambda f: (f[0], -f[3]))
    return name, params, r2


def snap_network(network: SymbolicNetwork, x, primitives=KAN_UNITS) -> SymbolicNetwork:
    """``network`` with every :class:`SplineKANLayer` replaced by a
    :class:`SymbolicKANLayer` whose live edges are the snapped primitives (:func:`snap_edge`
    on the edge's activations at ``x``, shape (n, in_features)); other layers are kept."""
    h = np.asarray(x, np.float32)
    if network.constant_input:
        h = np.concatenate([h, np.ones((h.shape[0], 1), h.dtype)], axis=-1)
    layers = []
    for layer in network.layers:
        if isinstance(layer, SplineKANLayer):  # numpy: no eager JAX op to dispatch
            values = layer.edges(h, xp=np)
            layers.append(_snap_layer(layer, h, values, primitives))
            h = values.sum(1) + np.asarray(layer.bias[...] * layer.bias_mask[...])[None]
        else:
            layers.append(layer)
            h = np.asarray(layer(jnp.asarray(h))[0])
    return SymbolicNetwork(layers, constant_input=network.constant_input)


@functools.cache
def _kan_template(n_in: int, n_sum: int, names: tuple[str, ...]):
    """``(graphdef, state)`` of a SymbolicKANLayer of that shape, built abstractly once
    (no initialiser to run or compile per snapped layer); the caller fills fresh arrays."""
    abstract = nnx.eval_shape(
        lambda: SymbolicKANLayer(n_in, n_sum=n_sum, primitives=names, rngs=nnx.Rngs(0))
    )
    return nnx.split(abstract)


def _snap_layer(layer: SplineKANLayer, h, values, primitives) -> SymbolicKANLayer:
    names = tuple(primitives)
    graphdef, state = _kan_template(layer.in_features, layer.n_sum, names)
    out = nnx.merge(graphdef, jax.tree.map(lambda a: np.zeros(a.shape, a.dtype), state))
    shape = out.outer[...].shape
    a, b, c = np.zeros(shape), np.ones(shape), np.zeros(shape)
    d = np.asarray(layer.bias[...] * layer.bias_mask[...], np.float64).copy()
    gate = np.asarray(layer._gate())
    for i, j in zip(*np.nonzero(gate), strict=True):
        name, (ai, bi, ci, ei), _ = snap_edge(h[:, i], values[:, i, j], names)
        k = names.index(name)
        a[i, j, k], b[i, j, k], c[i, j, k] = ai, bi, ci
        d[j] += ei
    for name, v in (("outer", a), ("inner", b), ("shift", c), ("bias", d)):
        getattr(out, name)[...] = jnp.asarray(v, jnp.float32)
    out.outer_mask[...] = jnp.asarray(a != 0, jnp.float32)
    return out

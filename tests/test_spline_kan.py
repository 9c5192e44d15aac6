"""Spline KAN layers and snapping (:class:`symnet.layers.SplineKANLayer`,
:func:`symnet.layers.snap_network`): the basis, the snap of one edge to each primitive,
and a fitted spline network exported as the formula it was fitted to."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy
from flax import nnx

from symnet._export import export_member
from symnet._train import init_population
from symnet.layers import SplineKANLayer, SymbolicNetwork, snap_network, spline_kan
from symnet.layers._spline import bspline_basis, snap_edge


def test_basis_is_a_partition_of_unity_inside_the_grid_and_zero_outside():
    x = np.linspace(-7.0, 7.0, 141)
    b = bspline_basis(x, -5.0, 5.0, 10, xp=np)
    assert b.shape == (141, 13)
    inside = (x >= -5.0) & (x < 5.0)
    np.testing.assert_allclose(b.sum(-1)[inside], 1.0, atol=1e-12)
    assert (b[~inside] == 0).all() and (b >= 0).all()
    np.testing.assert_allclose(
        np.asarray(bspline_basis(jnp.asarray(x), -5.0, 5.0, 10)), b, atol=1e-6
    )


H = np.linspace(0.5, 2.5, 128)


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("identity", 3 * H + 1),
        ("sin", 3 * np.sin(1.5 * H + 0.2) + 1),
        ("square", 2 * (H - 1.2) ** 2 - 1),
        ("log", np.log(2 * H)),
        ("sqrt", np.sqrt(H + 1)),
        ("exp", 0.5 * np.exp(-1.3 * H)),
    ],
)
def test_snap_edge_finds_the_primitive(name, values):
    got, (a, b, c, e), r2 = snap_edge(H, values)
    assert got == name and r2 > 1 - 1e-9
    prim = {
        "identity": lambda z: z,
        "sin": np.sin,
        "square": np.square,
        "log": np.log,
        "sqrt": np.sqrt,
        "exp": np.exp,
    }[name]
    np.testing.assert_allclose(a * prim(b * H + c) + e, values, rtol=1e-6, atol=1e-6)


def test_snap_edge_with_identity_alone():
    got, (a, b, c, e), r2 = snap_edge(H, 3 * H + 1, ("identity",))
    assert got == "identity" and (b, c) == (1.0, 0.0) and r2 > 1 - 1e-12
    np.testing.assert_allclose((a, e), (3.0, 1.0), rtol=1e-9)


def test_a_sine_over_a_short_span_snaps_to_the_square():
    """Over less than a quarter period a sine is a parabola: the square is preferred."""
    values = (H - 1.5) ** 2
    assert snap_edge(H, values)[0] == "square"


def _fitted_spline_net(fn):
    """A 1 -> 1 spline network whose edge is fitted to ``fn`` by least squares."""
    layer = SplineKANLayer(1, n_sum=1, rngs=nnx.Rngs(0))
    basis = bspline_basis(H, *layer.grid, xp=np)
    coef, *_ = np.linalg.lstsq(basis, fn(H), rcond=None)
    layer.coef[...] = jnp.asarray(coef, jnp.float32)[None, None, :]
    layer.base[...] = jnp.zeros((1, 1))
    return SymbolicNetwork([layer])


def test_snapped_spline_network_exports_the_law_it_was_fitted_to():
    fn = lambda h: 2.0 * np.sin(1.3 * h + 0.2)  # noqa: E731
    net = _fitted_spline_net(fn)
    with pytest.raises(ValueError, match="snap"):
        net.to_sympy([sympy.Symbol("x")])
    snapped = snap_network(net, H[:, None])
    (expr,) = snapped.to_sympy([sympy.Symbol("x")])
    assert expr.has(sympy.sin)
    got = sympy.lambdify(sympy.Symbol("x"), expr, "numpy")(H)
    spline = np.asarray(net(jnp.asarray(H[:, None], jnp.float32))[0][:, 0], np.float64)
    spline_error = np.abs(spline - fn(H)).max()  # the spline's own approximation error
    assert np.abs(got - fn(H)).max() <= 2 * spline_error
    assert np.abs(got - spline).max() <= 2 * spline_error


def test_population_member_with_spline_layers_exports_through_snapping():
    graphdef, params, masks = init_population(
        lambda rngs: spline_kan(2, rngs=rngs), jax.random.key(0), 2
    )
    x = np.random.default_rng(0).uniform(0.5, 2.5, (64, 2))
    symbols = sympy.symbols("x0 x1")
    with pytest.raises(ValueError, match="`x` is required"):
        export_member(graphdef, params, masks, 0, symbols)
    expr = export_member(graphdef, params, masks, 0, symbols, x)
    assert expr.free_symbols <= set(symbols)
    net = nnx.merge(graphdef, *(jax.tree.map(lambda a: a[0], s) for s in (params, masks)))
    want = np.asarray(net(jnp.asarray(x, jnp.float32))[0][:, 0], np.float64)
    got = sympy.lambdify(symbols, expr, "numpy")(x[:, 0], x[:, 1])
    # snapping approximates each random edge by one primitive: close, not equal
    assert np.corrcoef(got, want)[0, 1] > 0.9


def test_spline_layer_masks_whole_edges():
    layer = SplineKANLayer(3, n_sum=2, rngs=nnx.Rngs(0))
    layer.gate_mask[...] = layer.gate_mask[...].at[1].set(0.0)
    assert layer.needed_inputs(np.array([True, True])).tolist() == [True, False, True]
    layer.drop_unneeded(np.array([True, False]))
    assert np.asarray(layer.gate_mask[...])[:, 1].sum() == 0
    y, hinge = layer(jnp.ones((4, 3)))
    assert y.shape == (4, 2) and float(hinge) == 0.0
    with pytest.raises(ValueError, match="grid"):
        SplineKANLayer(2, grid=(1.0, -1.0, 4), rngs=nnx.Rngs(0))


@pytest.mark.parametrize("preset", ["kan", "spline_kan", "default"])
def test_plot_network_draws_every_layer_type_headless(preset, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from symnet.layers import PRESETS, plot_network

    net = PRESETS[preset](2, rngs=nnx.Rngs(0))
    net.layers[0].drop_unneeded(np.arange(net.layers[0].out_features) < 2)  # some dead edges
    x = np.random.default_rng(0).uniform(0.5, 2.5, (32, 2))
    path = tmp_path / "net.png"
    fig = plot_network(net, x, names=["m", "v"], path=str(path))
    assert path.stat().st_size > 0
    (ax,) = fig.axes
    texts = {t.get_text() for t in ax.texts}
    assert {"m", "v"} <= texts
    if preset != "default":  # KAN edges carry a plot of their function, titled
        assert ax.child_axes and all(a.get_title() for a in ax.child_axes)
    with pytest.raises(ValueError, match="`x` must have shape"):
        plot_network(net, x[:, :1])

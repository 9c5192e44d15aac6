"""Numerics suite over every built-in primitive, and the registry around it.

Each built-in is checked against its sympy counterpart inside its domain, for finite values
and gradients at every finite input (singular points, their neighbours and the largest finite
numbers), for exactly zero gradient and a positive hinge outside its domain, against finite
differences inside it, and for ``jit``/``vmap`` agreement, in float32 and float64.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy
from flax import nnx
from jax.test_util import check_grads

import symnet
from symnet import _primitives
from symnet._primitives import DIV_THRESHOLD, EXP_CAP, LOG_EPS, POLY_CAP
from symnet.layers import SymbolicLayer

BUILTINS = tuple(p.name for p in _primitives._BUILTINS)
BOUNDED = tuple(n for n in BUILTINS if symnet.PRIMITIVES[n].domain != (-math.inf, math.inf))
UNBOUNDED = tuple(n for n in BUILTINS if n not in BOUNDED)
BINARY = tuple(n for n in BUILTINS if symnet.PRIMITIVES[n].arity == 2)

#: Grid of the second (for unary: only) argument, inside the domain.
INSIDE = {
    "identity": np.linspace(-50, 50, 41),
    "sin": np.linspace(-20, 20, 81),
    "cos": np.linspace(-20, 20, 81),
    "exp": np.linspace(-30, EXP_CAP, 81),
    "log": np.geomspace(LOG_EPS, 1e6, 61),
    "sqrt": np.geomspace(LOG_EPS, 1e6, 61),
    "square": np.concatenate([np.linspace(-100, 100, 41), [-POLY_CAP, -1e4, 1e4, POLY_CAP]]),
    "mul": np.concatenate([np.linspace(-50, 50, 21), [-POLY_CAP, POLY_CAP]]),
    "div": np.concatenate([np.geomspace(2 * DIV_THRESHOLD, 1e4, 21), [0.5, 3.0]]),
}
#: Grid of the first argument of binary primitives.
FIRST = np.concatenate([np.linspace(-50, 50, 11), [-POLY_CAP, POLY_CAP]])

#: Interior points for finite differences (float64), away from every clamp by >> eps.
INTERIOR = {
    "identity": ([-3.0, -0.7, 0.3, 2.5],),
    "sin": ([-3.0, -0.7, 0.3, 2.5],),
    "cos": ([-3.0, -0.7, 0.3, 2.5],),
    "exp": ([-5.0, -0.2, 3.0, 9.5],),
    "log": ([0.01, 0.3, 2.0, 50.0],),
    "sqrt": ([0.01, 0.3, 2.0, 50.0],),
    "square": ([-3.0, -0.4, 0.7, 7.0],),
    "mul": ([-2.0, 0.5, 3.0, -0.1], [-1.5, 0.7, 4.0, 2.0]),
    "div": ([-2.0, 0.5, 3.0, -0.1], [0.01, 0.5, 3.0, 40.0]),
}

#: Hand-picked singular points: (name, args, expected value or None, expected gradients).
SINGULAR = [
    ("log", (0.0,), math.log(LOG_EPS), (0.0,)),
    ("log", (-1.0,), math.log(LOG_EPS), (0.0,)),
    ("log", (1e-12,), math.log(LOG_EPS), (0.0,)),
    ("log", (-1e30,), math.log(LOG_EPS), (0.0,)),
    ("log", (1e30,), math.log(1e30), (1e-30,)),
    ("sqrt", (0.0,), math.sqrt(LOG_EPS), (0.0,)),
    ("sqrt", (-4.0,), math.sqrt(LOG_EPS), (0.0,)),
    ("sqrt", (1e-12,), math.sqrt(LOG_EPS), (0.0,)),
    ("exp", (1e4,), math.exp(EXP_CAP), (0.0,)),
    ("exp", (88.0,), math.exp(EXP_CAP), (0.0,)),
    ("exp", (-1e4,), 0.0, (0.0,)),
    ("exp", (1e30,), math.exp(EXP_CAP), (0.0,)),
    ("square", (1e30,), POLY_CAP**2, (0.0,)),
    ("square", (-1e30,), POLY_CAP**2, (0.0,)),
    ("mul", (1e30, 1e30), POLY_CAP**2, (0.0, 0.0)),
    ("mul", (-1e30, 2.0), -2 * POLY_CAP, (0.0, -POLY_CAP)),
    ("div", (1.0, 0.0), 0.0, (0.0, 0.0)),
    ("div", (0.0, 0.0), 0.0, (0.0, 0.0)),
    ("div", (1.0, -1e-9), 0.0, (0.0, 0.0)),
    ("div", (1e30, 0.0), 0.0, (0.0, 0.0)),
    ("div", (1.0, DIV_THRESHOLD), 0.0, (0.0, 0.0)),
    ("div", (1e30, 2e-3), POLY_CAP / 2e-3, (0.0, -POLY_CAP / 2e-3**2)),
    ("div", (1.0, 1e10), 1e-10, (1e-10, -1e-20)),
    ("sin", (1e30,), None, (None,)),
    ("cos", (-1e30,), None, (None,)),
    ("identity", (1e30,), 1e30, (1.0,)),
]


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    """The floating dtype of a test; float64 runs inside ``jax.enable_x64``."""
    if request.param == "float64":
        with jax.enable_x64(True):
            yield np.dtype(np.float64)
    else:
        yield np.dtype(np.float32)


@pytest.fixture
def registry():
    """The live registry, restored exactly after the test (no leaked registrations)."""
    saved = dict(_primitives._REGISTRY)
    yield _primitives._REGISTRY
    _primitives._REGISTRY.clear()
    _primitives._REGISTRY.update(saved)


# -- helpers ---------------------------------------------------------------------------------


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


def _inward(bound, toward, dtype):
    return np.nextafter(dtype.type(bound), dtype.type(toward))


def _inside(name, dtype):
    """INSIDE grid plus the representable points just inside each finite bound."""
    low, high = symnet.PRIMITIVES[name].domain
    extra = []
    if math.isfinite(low):
        extra.append(_inward(low, np.inf, dtype))
    if math.isfinite(high):
        extra.append(_inward(high, -np.inf, dtype))
    return np.concatenate([INSIDE[name].astype(dtype), np.asarray(extra, dtype)])


def _edges(dtype):
    """Finite inputs of every kind: zeros, tiny, singular points and their neighbours, huge."""
    fi = np.finfo(dtype)
    mags = [0.0, fi.tiny, 1e-12, 1e-9, 1e-6, 0.5, 1.0, 4.0, 88.0, 89.0, 710.0, 1e4, 1e30, fi.max]
    if dtype == np.float64:
        mags.append(1e300)
    for bound in (LOG_EPS, DIV_THRESHOLD, EXP_CAP, POLY_CAP):
        b = dtype.type(bound)
        mags += [np.nextafter(b, dtype.type(0)), b, np.nextafter(b, dtype.type(np.inf))]
    mags = np.asarray(mags, dtype)
    return np.unique(np.concatenate([mags, -mags]))


def _outside(name, dtype):
    """Finite points strictly outside the domain (of the second argument for binary)."""
    low, high = symnet.PRIMITIVES[name].domain
    fi = np.finfo(dtype)
    cands = [-fi.max, -1e30, -1e4, -4, -1, -1e-9, 0, 1e-12, 1e-6, 5e-4, 1, 10.5, 11, 88]
    cands += [1e4, 1.5e9, 1e30, fi.max]
    if math.isfinite(low):
        cands.append(_inward(low, -np.inf, dtype))
    if math.isfinite(high):
        cands.append(_inward(high, np.inf, dtype))
    x = np.asarray(cands, dtype)
    return x[(x < dtype.type(low)) | (x > dtype.type(high))]


def _args(name, second, dtype, first=FIRST):
    """Arguments for `name`: ``(second,)`` for unary, a grid of ``first x second`` for binary."""
    if symnet.PRIMITIVES[name].arity == 1:
        return (jnp.asarray(second, dtype),)
    a, b = np.meshgrid(np.asarray(first, dtype), np.asarray(second, dtype))
    return jnp.asarray(a.ravel()), jnp.asarray(b.ravel())


def _value_and_grads(prim, args, *, jit=True):
    """``jax_fn(*args)`` and the gradient of its sum w.r.t. each argument (one compile)."""

    def fn(*a):
        grad = jax.grad(lambda *b: jnp.sum(prim.jax_fn(*b)), argnums=tuple(range(prim.arity)))
        return prim.jax_fn(*a), grad(*a)

    return (jax.jit(fn) if jit else fn)(*args)


# -- the tables cover every built-in -----------------------------------------------------------


def test_tables_cover_every_builtin():
    assert set(BUILTINS) <= set(symnet.PRIMITIVES)
    for table in (INSIDE, INTERIOR):
        assert set(table) == set(BUILTINS)
    assert {case[0] for case in SINGULAR} == set(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_record_is_consistent(name):
    prim = symnet.PRIMITIVES[name]
    assert prim.name == name
    assert prim.arity in (1, 2)
    assert prim.complexity > 0
    low, high = prim.domain
    assert all(low <= p <= high for p in prim.probe)
    symnet.check_primitive(prim)  # the registry's own invariant


# -- JAX against sympy -------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTINS)
def test_matches_sympy_inside_domain(name, dtype):
    prim = symnet.PRIMITIVES[name]
    args = _args(name, _inside(name, dtype), dtype)
    syms = sympy.symbols(f"a0:{prim.arity}")
    numpy_fn = sympy.lambdify(syms, prim.sympy_fn(*syms), "numpy")
    # sympy sees the same (rounded) inputs in float64, so only the output error counts.
    expected = numpy_fn(*(np.asarray(a, np.float64) for a in args))
    got = prim.jax_fn(*args)
    assert got.dtype == dtype
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, **_tol(dtype))
    np.testing.assert_array_equal(prim.hinge(args[-1]), 0.0)


# -- finite everywhere ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTINS)
def test_finite_values_and_gradients_for_every_finite_input(name, dtype):
    prim = symnet.PRIMITIVES[name]
    edges = _edges(dtype)
    args = _args(name, edges, dtype, first=edges)
    value, grads = _value_and_grads(prim, args)
    assert value.dtype == dtype
    assert np.isfinite(np.asarray(value)).all()
    for g in grads:
        assert g.dtype == dtype
        assert np.isfinite(np.asarray(g)).all()
    assert np.isfinite(np.asarray(prim.hinge(args[-1]))).all()


@pytest.mark.parametrize(
    ("name", "args", "value", "grads"), SINGULAR, ids=[f"{c[0]}{c[1]}" for c in SINGULAR]
)
def test_singular_points(name, args, value, grads, dtype):
    prim = symnet.PRIMITIVES[name]
    args = tuple(jnp.asarray(a, dtype) for a in args)
    got, got_grads = _value_and_grads(prim, args)
    assert np.isfinite(float(got))
    assert all(np.isfinite(float(g)) for g in got_grads)
    tol = {"rtol": 1e-6 if dtype == np.float32 else 1e-12, "atol": 0.0}
    if value is not None:
        np.testing.assert_allclose(float(got), value, **tol)
    for g, expected in zip(got_grads, grads, strict=True):
        if expected is not None:
            np.testing.assert_allclose(float(g), expected, **tol)


# -- outside the domain: zero gradient, positive hinge ------------------------------------------


@pytest.mark.parametrize("name", BOUNDED)
def test_zero_gradient_and_positive_hinge_outside_domain(name, dtype):
    prim = symnet.PRIMITIVES[name]
    out = _outside(name, dtype)
    assert out.size >= 3
    first = np.asarray([-1e30, -3.0, -0.5, 0.0, 2.0, 1e30])
    args = _args(name, out, dtype, first=first)
    value, grads = _value_and_grads(prim, args)
    assert np.isfinite(np.asarray(value)).all()
    # The clamped argument (the only one, or the second) gets exactly zero gradient ...
    np.testing.assert_array_equal(grads[-1], 0.0)
    # ... and protected division zeroes the numerator's gradient too (EQL÷).
    if name == "div":
        np.testing.assert_array_equal(grads[0], 0.0)
        np.testing.assert_array_equal(value, 0.0)
    hinge = np.asarray(prim.hinge(args[-1]), np.float64)
    assert (hinge > 0).all()
    low, high = (float(dtype.type(b)) for b in prim.domain)  # the bounds as the dtype sees them
    z = np.asarray(args[-1], np.float64)
    np.testing.assert_allclose(hinge, np.maximum(low - z, 0) + np.maximum(z - high, 0), rtol=1e-6)


@pytest.mark.parametrize("name", BOUNDED)
def test_hinge_zero_inside_domain_and_at_its_bounds(name, dtype):
    prim = symnet.PRIMITIVES[name]
    bounds = [b for b in prim.domain if math.isfinite(b)]
    z = jnp.asarray(np.concatenate([_inside(name, dtype), np.asarray(bounds, dtype)]))
    hinge = prim.hinge(z)
    assert hinge.dtype == dtype
    np.testing.assert_array_equal(hinge, 0.0)


@pytest.mark.parametrize("name", UNBOUNDED)
def test_hinge_zero_everywhere_for_unbounded_domain(name, dtype):
    z = jnp.asarray(_edges(dtype))
    np.testing.assert_array_equal(symnet.PRIMITIVES[name].hinge(z), 0.0)


def test_div_is_zero_with_zero_gradient_for_denominator_at_or_below_threshold(dtype):
    prim = symnet.PRIMITIVES["div"]
    b = np.asarray([DIV_THRESHOLD, 5e-4, 1e-12, 0.0, -0.0, -1e-9, -1.0, -1e30], dtype)
    b = np.append(b, _inward(DIV_THRESHOLD, -np.inf, dtype))
    args = _args("div", b, dtype, first=[-1e30, -1.0, 0.0, 1.0, 1e30])
    value, (ga, gb) = _value_and_grads(prim, args)
    np.testing.assert_array_equal(value, 0.0)
    np.testing.assert_array_equal(ga, 0.0)
    np.testing.assert_array_equal(gb, 0.0)


@pytest.mark.parametrize("name", BINARY)
def test_binary_first_argument_is_clamped_with_zero_gradient(name, dtype):
    prim = symnet.PRIMITIVES[name]
    a = np.asarray([-np.finfo(dtype).max, -1e30, -2 * POLY_CAP, 2 * POLY_CAP, 1e30], dtype)
    args = _args(name, [0.5, 3.0, 1e4], dtype, first=a)
    value, (ga, _) = _value_and_grads(prim, args)
    np.testing.assert_array_equal(ga, 0.0)
    capped = prim.jax_fn(jnp.sign(args[0]) * POLY_CAP, args[1])
    np.testing.assert_array_equal(value, capped)


# -- finite differences --------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTINS)
def test_gradients_match_finite_differences_inside_domain(name):
    prim = symnet.PRIMITIVES[name]
    with jax.enable_x64(True):
        args = tuple(jnp.asarray(a, jnp.float64) for a in INTERIOR[name])
        assert all(a.dtype == jnp.float64 for a in args)
        np.testing.assert_array_equal(prim.hinge(args[-1]), 0.0)
        # eps=1e-6: central differences stay accurate near the clamps (log at 0.01).
        check_grads(prim.jax_fn, args, order=1, modes=("fwd", "rev"), eps=1e-6)


# -- transformations -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTINS)
def test_jit_and_vmap_agree_with_eager(name, dtype):
    prim = symnet.PRIMITIVES[name]
    second = np.concatenate([_inside(name, dtype)[::4], _edges(dtype)[::3]])
    args = _args(name, second, dtype, first=_edges(dtype)[::3])
    eager, eager_grads = _value_and_grads(prim, args, jit=False)
    tol = {"rtol": 4 * np.finfo(dtype).eps, "atol": 0.0}

    argnums = tuple(range(prim.arity))
    grad_sum = jax.grad(lambda *a: jnp.sum(prim.jax_fn(*a)), argnums=argnums)
    jit_value, jit_grads = jax.jit(lambda *a: (prim.jax_fn(*a), grad_sum(*a)))(*args)
    per_example = jax.vmap(jax.value_and_grad(prim.jax_fn, argnums=argnums))
    vmap_value, vmap_grads = jax.jit(per_example)(*args)
    for got in (jit_value, vmap_value):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, eager, **tol)
    for g_jit, g_vmap, g in zip(jit_grads, vmap_grads, eager_grads, strict=True):
        np.testing.assert_allclose(g_jit, g, **tol)
        np.testing.assert_allclose(g_vmap, g, **tol)  # per-example gradients


# -- registration -------------------------------------------------------------------------------


def _cube(x):
    return x**3


def test_register_user_primitive_is_usable_by_name_and_in_a_layer(registry):
    prim = symnet.register_primitive("tcube", _cube, _cube, complexity=3.0)
    assert symnet.get_primitive("tcube") is prim
    assert symnet.PRIMITIVES["tcube"] is prim
    assert prim.complexity == 3.0

    layer = SymbolicLayer(3, [("tcube", 2)], rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (5, 3))
    y, hinge = layer(x)
    z = x @ layer.kernel[...] + layer.bias[...]
    np.testing.assert_allclose(y, z**3, rtol=1e-5, atol=1e-6)
    assert float(hinge) == 0.0

    xs = sympy.symbols("x0:3")
    exprs = layer.to_sympy(list(xs))
    assert all(e.is_Pow and e.exp == 3 for e in exprs)
    exported = sympy.lambdify(xs, exprs, "numpy")(*np.asarray(x, np.float64).T)
    np.testing.assert_allclose(np.stack(exported, -1), y, rtol=1e-5, atol=1e-5)


def test_register_binary_primitive_in_a_layer(registry):
    symnet.register_primitive(
        "tsub", lambda a, b: a - b, lambda a, b: a - b, arity=2, complexity=1.0
    )
    layer = SymbolicLayer(2, [("tsub", 3), ("sin", 1)], rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(2), (4, 2))
    y, _ = layer(x)
    z = x @ layer.kernel[...] + layer.bias[...]
    assert y.shape == (4, 4)
    np.testing.assert_allclose(y[:, :3], z[:, 0:3] - z[:, 3:6], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(y[:, 3], jnp.sin(z[:, 6]), rtol=1e-6, atol=1e-6)


def test_register_protected_primitive_with_domain_away_from_origin(registry):
    # Checked on its own default probe, which must lie inside a domain far from [-3, 3].
    prim = symnet.register_primitive(
        "tlogm5",
        lambda x: jnp.log(jnp.clip(x, 5.001, None) - 5.0),
        lambda x: sympy.log(x - 5),
        domain=(5.001, math.inf),
    )
    assert symnet.get_primitive("tlogm5") is prim
    z = jnp.asarray([0.0, 5.0, 5.5, 100.0])
    np.testing.assert_allclose(prim.hinge(z), [5.001, 0.001, 0.0, 0.0], rtol=1e-5, atol=1e-6)
    layer = SymbolicLayer(1, [("tlogm5", 1)], rngs=nnx.Rngs(0))
    _, hinge = layer(jnp.zeros((3, 1)))  # pre-activation 0: below the domain
    assert float(hinge) > 0


def test_register_mismatched_primitive_raises(registry):
    with pytest.raises(ValueError, match="'tbad'"):
        symnet.register_primitive("tbad", lambda x: x**2, lambda x: x**3)
    assert "tbad" not in registry
    with pytest.raises(ValueError, match="'tbad2'"):
        symnet.register_primitive(
            "tbad2", lambda a, b: a * b, lambda a, b: a + b, arity=2, probe=[1.0, 2.0]
        )
    assert "tbad2" not in registry


def test_reregistering_needs_overwrite(registry):
    first = symnet.register_primitive("tcube", _cube, _cube)
    with pytest.raises(ValueError, match="already registered"):
        symnet.register_primitive("tcube", _cube, _cube)
    assert symnet.get_primitive("tcube") is first
    second = symnet.register_primitive("tcube", _cube, _cube, complexity=4.0, overwrite=True)
    assert symnet.get_primitive("tcube") is second
    assert second.complexity == 4.0


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("name", BUILTINS)
def test_builtins_cannot_be_replaced(registry, name, overwrite):
    original = registry[name]
    fns = (lambda x: x, lambda x: x) if original.arity == 1 else (jnp.add, lambda a, b: a + b)
    with pytest.raises(ValueError, match=repr(name)):
        symnet.register_primitive(name, *fns, arity=original.arity, overwrite=overwrite)
    assert registry[name] is original


@pytest.mark.parametrize(
    "kwargs",
    [
        {"arity": 0},
        {"arity": 3},
        {"arity": 1.0},
        {"arity": True},
        {"domain": (1.0, 0.0)},
        {"domain": (0.0, 0.0)},
        {"domain": (math.nan, 1.0)},
        {"complexity": 0.0},
        {"complexity": -1.0},
        {"complexity": math.nan},
        {"complexity": math.inf},
        {"name": "my prim"},
        {"name": "1x"},
    ],
    ids=repr,
)
def test_invalid_registration_raises(registry, kwargs):
    kwargs = {"name": "tinvalid", **kwargs}
    before = dict(registry)
    with pytest.raises(ValueError, match="`(arity|domain|complexity|name)`"):
        symnet.register_primitive(jax_fn=_cube, sympy_fn=_cube, **kwargs)
    assert registry == before


def test_registry_view_and_records_are_read_only():
    with pytest.raises(TypeError):
        symnet.PRIMITIVES["tcube"] = symnet.PRIMITIVES["sin"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        symnet.PRIMITIVES["sin"].complexity = 1.0  # type: ignore[misc]


# -- lookup --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typo", "meant"), [("sinn", "sin"), ("logg", "log"), ("sqr", "sqrt")])
def test_unknown_name_suggests_the_nearest(typo, meant):
    with pytest.raises(ValueError, match=rf"Unknown primitive '{typo}'.*Did you mean.*'{meant}'"):
        symnet.get_primitive(typo)
    with pytest.raises(ValueError, match="Did you mean"):
        SymbolicLayer(2, [(typo, 1)], rngs=nnx.Rngs(0))


def test_lookup_accepts_records_and_rejects_other_types():
    sin = symnet.PRIMITIVES["sin"]
    assert symnet.get_primitive(sin) is sin
    assert symnet.get_primitive("sin") is sin
    with pytest.raises(ValueError, match="names or Primitive records"):
        symnet.get_primitive(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown primitive 'zzzz'"):
        symnet.get_primitive("zzzz")


def test_resolve_primitives():
    got = _primitives.resolve_primitives(["sin", "mul", symnet.PRIMITIVES["div"]])
    assert [p.name for p in got] == ["sin", "mul", "div"]
    with pytest.raises(ValueError, match=r"\['sin'\] more than once"):
        _primitives.resolve_primitives(["sin", "cos", "sin"])
    with pytest.raises(ValueError, match="more than once"):
        _primitives.resolve_primitives(["div", symnet.PRIMITIVES["div"]])
    with pytest.raises(ValueError, match="Did you mean"):
        _primitives.resolve_primitives(["sin", "coss"])

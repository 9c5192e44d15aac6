"""Export round trip: the lambdified sympy formula reproduces the network it came from.

Protected primitives (log and sqrt clamped at ``LOG_EPS``, exp capped at ``EXP_CAP``,
division zeroed at or below ``DIV_THRESHOLD``) equal their sympy counterparts only inside
their domains, so the formula is compared with the network only on samples where every
*non-constant* pre-activation lies inside its primitive's domain (:func:`_in_domain`). A
pre-activation that depends on no input is folded by the exporter with the protected JAX
function, so it matches everywhere and is not checked. Random networks get random masks and
biases; the bias (or, without biases, the weight on the constant-1 input) of every
domain-restricted, non-constant column is shifted by interval arithmetic so that the domain
holds on the whole input box (:func:`_randomise`), and the per-sample check then confirms it.

The network is evaluated in float64 (``jax.enable_x64``) on a float64 copy of its float32
weights, so the formula and the network compute the same real function up to summation
order; only constants folded by the exporter (in float32, as the network trains) differ by
float32 rounding, which the ``rtol=1e-5`` tolerance covers.
"""

import functools
import math

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy
from flax import nnx
from hypothesis import assume, given

from symnet._primitives import DIV_THRESHOLD, EXP_CAP, LOG_EPS, POLY_CAP
from symnet.layers import PRESETS, Mask, SymbolicLayer, SymbolicNetwork, default_network
from symnet.pruning import count_active

# The helpers below read SymbolicLayer's weights; KAN layers have their own round trip
# (tests/test_kan.py, tests/test_spline_kan.py).
EQL_PRESETS = sorted(set(PRESETS) - {"kan", "spline_kan"})
N_SAMPLES = 64
MIN_SAMPLES = 5
RTOL = 1e-5
ATOL_SCALE = 1e-7  # atol = ATOL_SCALE * max(1, max |y|) per output
BOX = (-2.0, 2.0)


# -- helpers ---------------------------------------------------------------------------------


def _layout(layer):
    """``[(primitive, [columns of argument 0, columns of argument 1]), ...]`` per group."""
    out, col = [], 0
    for prim, count in layer.groups:
        args = [np.arange(col + k * count, col + (k + 1) * count) for k in range(prim.arity)]
        out.append((prim, args))
        col += prim.arity * count
    return out


def _weights64(layer):
    w = np.asarray(layer.kernel[...], np.float64) * np.asarray(layer.kernel_mask[...])
    b = (
        np.asarray(layer.bias[...], np.float64) * np.asarray(layer.bias_mask[...])
        if layer.use_bias
        else np.zeros(layer.n_pre)
    )
    return w, b


def _constness(layer, const_in):
    """Which pre-activation columns and which layer outputs depend on no input symbol."""
    w, _ = _weights64(layer)
    const_col = ~((w != 0) & ~const_in[:, None]).any(axis=0)
    units = [np.all([const_col[a] for a in args], axis=0) for _, args in _layout(layer)]
    out = np.concatenate(units)
    if layer.skip:
        out = np.concatenate([out, const_in])
    return const_col, out


def _input_constness(net):
    const = np.zeros(net.in_features, bool)
    return np.append(const, True) if net.constant_input else const


@functools.partial(jax.jit, static_argnums=0)
def _trace(graphdef, state, x):
    """The network's forward pass, also returning every layer's input."""
    net = nnx.merge(graphdef, state)
    h = x
    if net.constant_input:
        h = jnp.concatenate([h, jnp.ones((h.shape[0], 1), h.dtype)], axis=1)
    inputs = []
    for layer in net.layers:
        inputs.append(h)
        h, _ = layer(h)
    y, _ = net(x)
    return inputs, y


def _forward64(net, x):
    """Layer inputs and outputs of ``net`` in float64 (a float64 copy of its weights)."""
    with jax.enable_x64(True):
        graphdef, state = nnx.split(net)
        state = jax.tree.map(lambda a: np.asarray(a, np.float64), state)
        inputs, y = _trace(graphdef, state, np.asarray(x, np.float64))
        return [np.asarray(h, np.float64) for h in inputs], np.asarray(y, np.float64)


def _net64(net, x):
    """``net(x)`` in float64: shape (n, out_features)."""
    return _forward64(net, x)[1]


def _in_domain(net, x):
    """Boolean (n,): every non-constant pre-activation of every unit is inside its domain.

    Walks the layers: ``z = h @ (kernel * kernel_mask) + bias * bias_mask``, split by group
    as in ``SymbolicLayer.__call__``; the domain argument is the only argument of a unary
    unit and the denominator (second argument) of a binary one; binary units also need both
    arguments within the ``POLY_CAP`` clamp. Layer inputs ``h`` come from the network.
    """
    ok = np.ones(x.shape[0], bool)
    const = _input_constness(net)
    inputs, _ = _forward64(net, x)
    for layer, h in zip(net.layers, inputs, strict=True):
        w, b = _weights64(layer)
        z = h @ w + b
        const_col, const_next = _constness(layer, const)
        for prim, args in _layout(layer):
            low, high = prim.domain
            d = z[:, args[-1]]
            good = (d > low) & (d < high)
            if prim.arity == 2:
                good &= (np.abs(z[:, args[0]]) <= POLY_CAP) & (np.abs(d) <= POLY_CAP)
            folded = np.all([const_col[a] for a in args], axis=0)
            ok &= (good | folded[None, :]).all(axis=1)
        const = const_next
    return ok


def _formula(exprs, symbols, x):
    """The exported expressions evaluated with numpy in float64: shape (n, len(exprs))."""
    fn = sympy.lambdify(symbols, exprs, modules="numpy")
    with np.errstate(all="ignore"):
        vals = fn(*x.T)
    return np.stack(
        [np.broadcast_to(np.asarray(v, np.float64), (x.shape[0],)) for v in vals], axis=1
    )


def _assert_matches(exprs, symbols, net, x, ok=None):
    """Formula == float64 network on the samples in ``ok`` (default: in-domain samples)."""
    ok = _in_domain(net, x) if ok is None else ok
    n_ok = int(ok.sum())
    want = _net64(net, x)[ok]
    got = _formula(exprs, symbols, x[ok])
    assert np.all(np.isfinite(want))
    for k in range(want.shape[1]):
        scale = max(1.0, float(np.abs(want[:, k]).max(initial=0.0)))
        np.testing.assert_allclose(got[:, k], want[:, k], rtol=RTOL, atol=ATOL_SCALE * scale)
    return n_ok


# -- random networks -------------------------------------------------------------------------


def _product(al, ah, bl, bh):
    c = np.stack([al * bl, al * bh, ah * bl, ah * bh])
    return c.min(0), c.max(0)


def _unit_interval(prim, zl, zh, args):
    """Interval of a group's outputs given intervals of its pre-activation columns."""
    a_lo, a_hi = zl[args[0]], zh[args[0]]
    name = prim.name
    if name == "identity":
        return a_lo, a_hi
    if name in ("sin", "cos"):
        fixed = a_lo == a_hi
        val = getattr(np, name)(a_lo)
        return np.where(fixed, val, -1.0), np.where(fixed, val, 1.0)
    if name == "exp":
        return np.exp(np.minimum(a_lo, EXP_CAP)), np.exp(np.minimum(a_hi, EXP_CAP))
    if name in ("log", "sqrt"):
        fn = getattr(np, name)
        return fn(np.maximum(a_lo, LOG_EPS)), fn(np.maximum(a_hi, LOG_EPS))
    b_lo, b_hi = zl[args[1]], zh[args[1]]
    if name == "mul":
        return _product(a_lo, a_hi, b_lo, b_hi)
    if name == "div":
        with np.errstate(all="ignore"):
            lo, hi = _product(a_lo, a_hi, 1.0 / b_hi, 1.0 / b_lo)
        positive = b_lo > DIV_THRESHOLD
        zero = b_hi <= DIV_THRESHOLD  # protected division gives 0 there
        lo = np.where(positive, lo, np.where(zero, 0.0, -np.inf))
        hi = np.where(positive, hi, np.where(zero, 0.0, np.inf))
        return lo, hi
    raise NotImplementedError(f"no interval rule for {name!r}")


def _randomise(net, rng, density):
    """Random kernels, biases, gains and masks; domains made to hold on ``BOX``.

    Every weight (kernel and bias) is kept with probability ``density``. For each
    domain-restricted column that depends on an input, the bias (or the weight on the
    constant-1 column when the layer has no bias) is kept and chosen so that the column's
    interval over the box lies inside the domain with a margin.
    """
    lo = np.full(net.in_features, BOX[0])
    hi = np.full(net.in_features, BOX[1])
    const = _input_constness(net)
    ones = None
    if net.constant_input:
        lo, hi, ones = np.append(lo, 1.0), np.append(hi, 1.0), net.in_features
    for layer in net.layers:
        n_in, n_pre = layer.in_features, layer.n_pre
        w = rng.normal(0.0, 1.0 / math.sqrt(n_in), (n_in, n_pre))
        m = (rng.random((n_in, n_pre)) < density).astype(np.float64)
        b = rng.normal(0.0, 1.0, n_pre)
        bm = (rng.random(n_pre) < density).astype(np.float64)
        for prim, args in _layout(layer):
            low, high = prim.domain
            lower, upper = low > -1e6, high < 1e6  # bounds tighter than the POLY_CAP clamp
            if not (lower or upper):
                continue
            for j in args[-1]:
                if not (m[:, j].astype(bool) & ~const).any():
                    continue  # constant column: the exporter folds it, no domain needed
                if layer.use_bias:
                    shift_row = None
                elif ones is not None:
                    shift_row = ones
                    m[ones, j] = 0.0
                else:
                    continue
                terms = w[:, j] * m[:, j]
                zl = np.minimum(terms * lo, terms * hi).sum()
                zh = np.maximum(terms * lo, terms * hi).sum()
                if not (np.isfinite(zl) and np.isfinite(zh)):
                    continue
                target = (
                    zl - rng.uniform(low + 0.1, low + 1.5)
                    if lower
                    else zh - rng.uniform(high - 12.0, high - 8.0)
                )
                if shift_row is None:
                    b[j], bm[j] = -target, 1.0
                else:
                    w[shift_row, j], m[shift_row, j] = -target, 1.0
        layer.kernel[...] = jnp.asarray(w, jnp.float32)
        layer.kernel_mask[...] = jnp.asarray(m, jnp.float32)
        if layer.use_bias:
            layer.bias[...] = jnp.asarray(b, jnp.float32)
            layer.bias_mask[...] = jnp.asarray(bm, jnp.float32)
        if layer.unit_gain:
            gain = rng.choice([-1.0, 1.0], layer.n_units) * rng.uniform(0.5, 1.5, layer.n_units)
            layer.gain[...] = jnp.asarray(gain, jnp.float32)
        # Output intervals of this layer from the float32 weights actually stored.
        w32, b32 = _weights64(layer)
        with np.errstate(invalid="ignore"):  # inf * 0 for dead weights on unbounded inputs
            tl = np.nan_to_num(np.minimum(w32 * lo[:, None], w32 * hi[:, None]), nan=0.0)
            th = np.nan_to_num(np.maximum(w32 * lo[:, None], w32 * hi[:, None]), nan=0.0)
        zl, zh = tl.sum(0) + b32, th.sum(0) + b32
        outs = [_unit_interval(prim, zl, zh, args) for prim, args in _layout(layer)]
        ulo = np.concatenate([o[0] for o in outs])
        uhi = np.concatenate([o[1] for o in outs])
        if layer.unit_gain:
            g = np.asarray(layer.gain[...], np.float64)
            ulo, uhi = np.minimum(g * ulo, g * uhi), np.maximum(g * ulo, g * uhi)
        _, const_next = _constness(layer, const)
        if layer.skip:
            lo, hi = np.concatenate([ulo, lo]), np.concatenate([uhi, hi])
            ones = None if ones is None else layer.n_units + ones
        else:
            lo, hi, ones = ulo, uhi, None
        const = const_next
    return net


def _active(net):
    _, params, masks = nnx.split(net, nnx.Param, Mask)
    return int(count_active(params, masks))


@functools.cache
def _template(preset, n_inputs, n_outputs):
    abstract = nnx.eval_shape(
        lambda: PRESETS[preset](n_inputs, n_outputs=n_outputs, rngs=nnx.Rngs(0))
    )
    return nnx.split(abstract)


def _make(preset, n_inputs, n_outputs, seed=None):
    """A preset network; ``seed=None`` gives zero weights (all overwritten by _randomise).

    Building from an abstract template skips the per-shape compilation of the initialiser,
    which would otherwise dominate these tests.
    """
    if seed is not None:
        return PRESETS[preset](n_inputs, n_outputs=n_outputs, rngs=nnx.Rngs(seed))
    graphdef, state = _template(preset, n_inputs, n_outputs)
    return nnx.merge(graphdef, jax.tree.map(lambda a: np.ones(a.shape, a.dtype), state))


def _symbols(n):
    return list(sympy.symbols(f"x0:{n}"))


def _inputs(rng, n_inputs):
    return rng.uniform(*BOX, (N_SAMPLES, n_inputs))


networks = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32 - 1),
        "preset": st.sampled_from(EQL_PRESETS),
        "n_inputs": st.integers(1, 3),
        "n_outputs": st.integers(1, 2),
        "density": st.floats(0.0, 1.0),
    }
)


def _random_case(case):
    rng = np.random.default_rng(case["seed"])
    net = _make(case["preset"], case["n_inputs"], case["n_outputs"])
    _randomise(net, rng, case["density"])
    return net, _inputs(rng, case["n_inputs"])


# -- property tests --------------------------------------------------------------------------


@given(networks)
def test_export_reproduces_random_masked_network(case):
    net, x = _random_case(case)
    symbols = _symbols(case["n_inputs"])
    exprs = net.to_sympy(symbols)
    assert len(exprs) == case["n_outputs"]
    ok = _in_domain(net, x)
    if ok.sum() < MIN_SAMPLES:
        assume(False)
    assert _assert_matches(exprs, symbols, net, x, ok) >= MIN_SAMPLES


@given(networks)
def test_export_after_drop_dead_units_is_the_same_function(case):
    net, x = _random_case(case)
    symbols = _symbols(case["n_inputs"])
    ok = _in_domain(net, x)
    if ok.sum() < MIN_SAMPLES:
        assume(False)
    y_before = _net64(net, x)
    active_before = _active(net)
    net.drop_dead_units()
    active_after = _active(net)
    assert active_after <= active_before
    # Dead units feed only zero weights, so the network itself is unchanged...
    np.testing.assert_array_equal(_net64(net, x), y_before)
    # ...and so is the exported function on the samples where the original was in domain.
    exprs = net.to_sympy(symbols)
    assert _assert_matches(exprs, symbols, net, x, ok) >= MIN_SAMPLES


# -- every preset, deterministic -------------------------------------------------------------


@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("density", [1.0, 0.5])
@pytest.mark.parametrize("preset", EQL_PRESETS)
def test_export_reproduces_every_preset(preset, density, n_outputs):
    n_inputs = 2
    rng = np.random.default_rng(7)
    net = _randomise(_make(preset, n_inputs, n_outputs), rng, density)
    x = _inputs(rng, n_inputs)
    symbols = _symbols(n_inputs)
    exprs = net.to_sympy(symbols)
    assert len(exprs) == n_outputs
    # The domain shift makes every sample valid for these seeds; the helper confirms it.
    assert _assert_matches(exprs, symbols, net, x) == N_SAMPLES


# default and lies have several log/sqrt/div columns each; with their zero initial biases
# practically no input satisfies all domains at once, so only EQL and EQL÷ are checked here.
@pytest.mark.parametrize("preset", ["eql", "eql_div"])
def test_export_of_initialised_preset_on_its_domain(preset):
    """Untouched initialisation (zero biases): compare where the domains happen to hold."""
    net = _make(preset, 2, 2, 0)
    x = np.random.default_rng(1).uniform(0.1, 3.0, (2000, 2))
    symbols = _symbols(2)
    ok = _in_domain(net, x)
    assert ok.sum() >= MIN_SAMPLES
    _assert_matches(net.to_sympy(symbols), symbols, net, x, ok)


# -- constants -------------------------------------------------------------------------------


def _zero_masks(net, *, keep_bias):
    for layer in net.layers:
        layer.kernel_mask[...] = jnp.zeros_like(layer.kernel_mask[...])
        if layer.use_bias and not keep_bias:
            layer.bias_mask[...] = jnp.zeros_like(layer.bias_mask[...])


@pytest.mark.parametrize("keep_bias", [False, True])
@pytest.mark.parametrize("preset", EQL_PRESETS)
def test_fully_masked_network_exports_its_constant_output(preset, keep_bias):
    rng = np.random.default_rng(3)
    net = _randomise(_make(preset, 2, 2), rng, 1.0)
    if keep_bias:  # random biases everywhere, some far outside log/sqrt/div domains
        for layer in net.layers:
            if layer.use_bias:
                layer.bias[...] = jnp.asarray(rng.normal(0.0, 2.0, layer.n_pre), jnp.float32)
    _zero_masks(net, keep_bias=keep_bias)
    exprs = net.to_sympy(_symbols(2))
    assert all(e.is_number and math.isfinite(float(e)) for e in exprs), exprs
    x = _inputs(rng, 2)
    y, _ = net(jnp.asarray(x, jnp.float32))  # float32: the exporter folds in float32 too
    y = np.asarray(y, np.float64)
    np.testing.assert_array_equal(y, np.broadcast_to(y[:1], y.shape))
    np.testing.assert_allclose([float(e) for e in exprs], y[0], rtol=1e-6, atol=1e-7)
    if not keep_bias:
        assert [float(e) for e in exprs] == [0.0, 0.0]


PROTECTED = [
    # (primitive, constant pre-activations, value the network computes)
    ("log", (-2.0,), math.log(LOG_EPS)),
    ("log", (0.0,), math.log(LOG_EPS)),
    ("sqrt", (-2.0,), math.sqrt(LOG_EPS)),
    ("exp", (50.0,), math.exp(EXP_CAP)),
    ("log", (2.0,), math.log(2.0)),
    ("div", (3.0, 0.0), 0.0),
    ("div", (3.0, -1.0), 0.0),
    ("div", (3.0, DIV_THRESHOLD), 0.0),
    ("div", (3.0, 2.0), 1.5),
    ("mul", (3.0, -2.0), -6.0),
]


@pytest.mark.parametrize(("name", "biases", "value"), PROTECTED)
def test_unit_with_all_inputs_pruned_exports_the_protected_constant(name, biases, value):
    layer = SymbolicLayer(1, [(name, 1)], rngs=nnx.Rngs(0))
    layer.kernel_mask[...] = jnp.zeros_like(layer.kernel_mask[...])
    layer.bias[...] = jnp.asarray(biases, jnp.float32)
    net = SymbolicNetwork([layer, SymbolicLayer(1, [("identity", 1)], rngs=nnx.Rngs(1))])
    (unit,) = layer.to_sympy([sympy.Symbol("x")])
    assert unit.is_number and not unit.has(sympy.zoo, sympy.nan, sympy.oo)
    np.testing.assert_allclose(float(unit), value, rtol=1e-6)
    (expr,) = net.to_sympy([sympy.Symbol("x")])
    assert expr.is_number
    y, _ = net(jnp.linspace(-3.0, 3.0, 7, dtype=jnp.float32)[:, None])
    np.testing.assert_allclose(np.asarray(y[:, 0], np.float64), float(expr), rtol=1e-6)


def test_protected_constant_inside_a_preset():
    """A pruned log unit with a negative bias inside the default network exports log(eps)."""
    net = _randomise(default_network(1, rngs=nnx.Rngs(0)), np.random.default_rng(0), 1.0)
    first = net.layers[0]
    (log_cols,) = [args[0] for prim, args in _layout(first) if prim.name == "log"]
    col = int(log_cols[0])
    first.kernel_mask[...] = first.kernel_mask[...].at[:, col].set(0.0)
    first.bias[...] = first.bias[...].at[col].set(-1.5)
    first.bias_mask[...] = first.bias_mask[...].at[col].set(1.0)
    unit = first.to_sympy([sympy.Symbol("x")])[col]  # log units follow identity/sin/exp
    assert unit == sympy.Float(float(jnp.log(jnp.float32(LOG_EPS))))
    (expr,) = net.to_sympy([sympy.Symbol("x")])
    assert not expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)
    assert not any(
        isinstance(a, sympy.log) and a.args[0].is_number for a in sympy.preorder_traversal(expr)
    )
    x = np.random.default_rng(0).uniform(*BOX, (N_SAMPLES, 1))
    assert _assert_matches([expr], [sympy.Symbol("x")], net, x) >= MIN_SAMPLES


@pytest.mark.parametrize("den_bias", [0.0, -0.5])
def test_div_with_pruned_denominator_exports_zero(den_bias):
    layer = SymbolicLayer(1, [("div", 1)], rngs=nnx.Rngs(0))
    layer.kernel[...] = jnp.array([[2.0, 5.0]])
    layer.kernel_mask[...] = jnp.array([[1.0, 0.0]])  # live numerator, pruned denominator
    layer.bias[...] = jnp.array([0.0, den_bias])
    net = SymbolicNetwork([layer])
    y, _ = net(jnp.array([[1.0], [2.0]]))
    np.testing.assert_array_equal(y, 0.0)
    (expr,) = net.to_sympy([sympy.Symbol("x")])
    assert expr == 0


# -- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", EQL_PRESETS)
def test_variable_names_are_respected(preset):
    symbols = list(sympy.symbols("N E x_1"))
    rng = np.random.default_rng(5)
    net = _randomise(_make(preset, 3, 1), rng, 1.0)
    (expr,) = net.to_sympy(symbols)
    assert expr.free_symbols == set(symbols)
    assert not expr.has(sympy.E)  # the symbol E is not Euler's number
    assert {"N", "E", "x_1"} <= {s.name for s in expr.free_symbols}
    x = _inputs(rng, 3)
    _assert_matches([expr], symbols, net, x)
    # Named symbols and default ones give the same formula up to renaming.
    (plain,) = net.to_sympy(_symbols(3))
    assert plain.xreplace(dict(zip(_symbols(3), symbols, strict=True))) == expr


def test_wrong_number_of_symbols_raises():
    net = default_network(2, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="2 symbols"):
        net.to_sympy(_symbols(3))


def test_forward_and_reverse_mode_agree_through_a_network():
    """Both autodiff modes run through the layers' row split of the pre-activations
    (``lax.split``): training takes ``grad``s, the in-place distillation ``jacfwd``.
    ``<u, J v>`` from a jvp equals ``<J^T u, v>`` from a vjp, up to float32 rounding."""
    net = default_network(3, rngs=nnx.Rngs(0))
    graphdef, params, rest = nnx.split(net, nnx.Param, ...)
    x = jax.random.uniform(jax.random.key(1), (16, 3), minval=0.5, maxval=2.0)

    def f(p):
        return nnx.merge(graphdef, p, rest)(x)[0]

    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(2), len(leaves))
    tangents = [jax.random.normal(k, a.shape) for k, a in zip(keys, leaves, strict=True)]
    y, jv = jax.jvp(f, (params,), (treedef.unflatten(tangents),))
    u = jax.random.normal(jax.random.key(3), y.shape)
    (jtu,) = jax.vjp(f, params)[1](u)
    lhs = float(jnp.vdot(u, jv))
    pulled = jax.tree.leaves(jtu)
    rhs = sum(float(jnp.vdot(a, b)) for a, b in zip(pulled, tangents, strict=True))
    scale = float(jnp.linalg.norm(u) * jnp.linalg.norm(jv))
    assert scale > 0
    assert abs(lhs - rhs) <= 1e-4 * scale

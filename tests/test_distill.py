"""symnet.distill: teachers, active querying, fidelity, capture and FormulaModule."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import sympy
from flax import nnx

from symnet.distill import (
    FormulaModule,
    capture,
    disagreement,
    distill,
    distill_component,
    lift_constants,
    linear_equivalence,
    most_disagreeing,
    put_back,
    refit_in_place,
    top_components,
)

TINY = dict(
    preset="default",
    steps=400,
    n_restarts=2,
    sparsity=(3e-3, 1e-2),
    max_candidates=4,
    views=("raw",),
)  # no max_time: one pass over the search (a budget would repeat passes until it is spent)
BOX = [(-1.0, 1.0), (-1.0, 1.0)]
x0, x1 = sympy.symbols("x0 x1", real=True)


def product(X):
    return 2 * X[:, 0] * X[:, 1]


@pytest.fixture(scope="module")
def distilled():
    return distill(product, domain=BOX, n_queries=200, rounds=2, random_state=0, **TINY)


# -- teachers --------------------------------------------------------------------------------
def test_callable_teacher_recovered(distilled):
    assert sympy.simplify(distilled.sympy() - 2 * x0 * x1) == 0
    X = np.random.default_rng(1).uniform(-3, 3, (50, 2))
    np.testing.assert_allclose(distilled.predict(X), product(X), rtol=1e-9, atol=1e-12)


def test_fidelity_report(distilled):
    fid = distilled.fidelity_
    assert fid.r2[0] > 0.999999 and fid.max_abs_error[0] < 1e-6
    assert fid.r2_wide is not None and fid.r2_wide[0] > 0.999999
    assert fid.max_abs_error_wide[0] < 1e-6 and fid.widen == 0.5
    assert fid.n_eval == 2000 and fid.formulas == (distilled.sympy(),)
    assert 1 <= fid.rounds <= 2 and 0 <= fid.best_round < fid.rounds
    assert fid.n_queries == sum(len(q) for q in distilled.queries_[: fid.best_round + 1])
    assert fid.n_queries <= 200
    assert fid.n_teacher_calls >= fid.n_queries + 2 * fid.n_eval
    text = str(fid)
    assert "R^2" in text and "widened 50%" in text and "2*x0*x1" in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        fid.r2 = (0.0,)


class Affine(nnx.Module):
    """y = x @ W + b with fixed weights: two outputs."""

    def __init__(self):
        self.w = nnx.Param(jnp.array([[1.0, 0.0], [3.0, -2.0]]))
        self.b = nnx.Param(jnp.array([0.5, 0.0]))

    def __call__(self, x):
        return x @ self.w[...] + self.b[...]


def test_nnx_teacher_multi_output_from_points():
    X = np.random.default_rng(0).uniform(-1, 1, (150, 2))
    model = distill(Affine(), X, n_queries=100, rounds=1, random_state=0, **TINY)
    assert model.n_outputs_ == 2
    assert sympy.simplify(model.sympy(output=0) - (x0 + 3 * x1 + 0.5)) == 0
    assert sympy.simplify(model.sympy(output=1) - (-2 * x1)) == 0
    fid = model.fidelity_
    assert len(fid.r2) == 2 and min(fid.r2) > 0.99999
    assert fid.r2_wide is None and fid.max_abs_error_wide is None  # no box known
    assert fid.n_queries == 100  # 50 left-over rows of X measure fidelity


def test_torch_teacher():
    torch = pytest.importorskip("torch")
    lin = torch.nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight[:] = torch.tensor([[2.0, -1.0]])
        lin.bias[:] = 0.25
    net = torch.nn.Sequential(lin, torch.nn.Dropout(0.5))
    net.train()  # distill evaluates in eval mode (no dropout) and restores the flag
    model = distill(net, domain=BOX, n_queries=100, rounds=1, random_state=0, **TINY)
    assert sympy.simplify(model.sympy() - (2 * x0 - x1 + 0.25)) == 0
    assert net.training and all(m.training for m in net.modules())
    assert model.fidelity_.r2[0] > 0.99999


# -- bad input -------------------------------------------------------------------------------
def _nan_teacher(X):
    return np.where(X[:, 0] > 0, np.nan, 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(), "One of `X`"),
        (dict(domain=[(1.0, 0.0), (0.0, 1.0)]), r"`domain` needs lo < hi"),
        (dict(domain=[(0.0, 1.0, 2.0)]), r"`domain` must be a list of \(lo, hi\)"),
        (dict(domain=[(0.0, np.inf)]), "`domain` bounds must be finite"),
        (dict(X=np.ones(5)), "`X` must be 2-D"),
        (dict(X=np.ones((5, 2)), domain=[(0.0, 1.0)]), "one \\(lo, hi\\) pair per column"),
        (dict(domain=BOX, n_queries=2), "`n_queries` must be an integer >= 3"),
        (dict(domain=BOX, rounds=0), "`rounds` must be an integer >= 1"),
        (dict(domain=BOX, widen=-1), "`widen` must be a non-negative"),
        (dict(sampler=lambda n, rng: rng.uniform(size=(n + 1, 2))), r"`sampler\(n, rng\)`"),
        (dict(sampler="uniform"), "`sampler` must be a callable"),
        (dict(teacher=_nan_teacher, domain=BOX), "non-finite values"),
        (dict(teacher=lambda X: X[:3, 0], domain=BOX), "one row per query point"),
        (dict(teacher=lambda X: np.ones((len(X), 2, 2)), domain=BOX), r"shape \(n,\)"),
        (dict(teacher="not a model", domain=BOX), None),
        (dict(domain=BOX, regressor="fast"), "`regressor` must be a SymbolicRegressor"),
        (dict(domain=BOX, step=10), "Invalid parameter 'step'"),
    ],
)
def test_bad_input(kwargs, match):
    teacher = kwargs.pop("teacher", product)
    err = TypeError if isinstance(teacher, str) else ValueError
    with pytest.raises(err, match=match or "`teacher`"):
        distill(teacher, **kwargs, **TINY)


# -- active querying -------------------------------------------------------------------------
def test_most_disagreeing_unit():
    t = np.array([[0.0, 0.0], [1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    f = t.copy()
    f[1, 0] += 0.5  # 0.5 / std(t[:, 0]) = 0.45 standard deviations
    f[3, 1] += 20.0  # 20 / std(t[:, 1]) = 1.8: larger, although output 1 is on a larger scale
    f[0, 0] = np.nan  # a non-finite formula value is the worst of all
    d = disagreement(t, f)
    assert d[0] == np.inf and d[2] == 0
    np.testing.assert_allclose(d[1], 0.5 / t[:, 0].std())
    np.testing.assert_array_equal(most_disagreeing(t, f, 3), [0, 3, 1])
    np.testing.assert_array_equal(most_disagreeing(t[:, 0], t[:, 0], 2), [0, 1])  # ties: order


def test_active_round_queries_where_formula_is_wrong():
    """A narrow bump at x = 0.7 that a short first fit misses: the active round asks there."""

    def bump(X):
        return X[:, 0] + 2.0 * np.exp(-(((X[:, 0] - 0.7) / 0.03) ** 2))

    model = distill(
        bump, domain=[(0.0, 1.0)], n_queries=60, rounds=2, pool_factor=20, random_state=0, **TINY
    )
    first, added = model.queries_
    assert len(first) == 30 and len(added) == 30
    near = lambda X: np.abs(X[:, 0] - 0.7) < 0.06  # noqa: E731 (12% of the box)
    assert near(added).mean() > 0.8 and near(added).mean() > 3 * near(first).mean()


# -- components ------------------------------------------------------------------------------
class Edge(nnx.Module):
    """A stand-in edge function: output 1 varies most, output 2 is constant."""

    def __call__(self, e):
        return jnp.stack([0.1 * e[:, 0], 3.0 * e[:, 0] * e[:, 1], jnp.ones(len(e))], axis=-1)


class Net(nnx.Module):
    def __init__(self, fail=False):
        self.edge = Edge()
        self.head = nnx.Linear(3, 1, rngs=nnx.Rngs(0))
        self.fail = fail

    def __call__(self, a, b):
        msgs = self.edge(a) + self.edge(b)  # two calls, as for two edge sets
        if self.fail:
            raise RuntimeError("boom")
        return self.head(msgs)


def test_capture_records_and_restores():
    net = Net()
    original = net.edge
    a, b = jnp.ones((4, 2)), 2 * jnp.ones((4, 2))
    rec = capture(net, "edge", a, b)
    assert net.edge is original
    assert rec.n_calls == 2 and rec.inputs.shape == (8, 2) and rec.outputs.shape == (8, 3)
    np.testing.assert_allclose(rec.outputs[4:, 1], 12.0)
    np.testing.assert_allclose(np.asarray(rec.result), np.asarray(net(a, b)))
    failing = Net(fail=True)
    original = failing.edge
    with pytest.raises(RuntimeError, match="boom"):
        capture(failing, "edge", a, b)
    assert failing.edge is original and type(failing.edge) is Edge
    with pytest.raises(ValueError, match="does not name a submodule"):
        capture(net, "nodes", a, b)
    assert list(top_components(rec.outputs)) == [1, 0, 2]


def test_distill_component_and_drop_in():
    net = Net()
    E = np.random.default_rng(0).uniform(-1, 1, (200, 2))
    rec = capture(net, "edge", jnp.asarray(E[:100]), jnp.asarray(E[100:]))
    dc = distill_component(net.edge, rec.inputs, n_components=1, random_state=0, **TINY)
    assert dc.components == (1,)
    assert sympy.simplify(dc.formulas[1] - 3 * x0 * x1) == 0
    assert dc.fidelity.r2[0] > 0.99999
    module = dc.module()
    out = module(jnp.asarray(E, jnp.float32))
    assert out.shape == (200, 3)
    np.testing.assert_allclose(out[:, 1], 3 * E[:, 0] * E[:, 1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[:, 2], 1.0, rtol=1e-6)  # left-out outputs: their means
    a, b = jnp.asarray(E[:100]), jnp.asarray(E[100:])
    fit = dc.refit(net, "edge", (a, b), np.asarray(net(a, b)))  # in place, on the model's data
    assert type(net.edge) is Edge and type(fit.model.edge).__name__ == "FormulaModule"
    # output 0 (0.1 * e0) was left out as its mean, so the head cannot match exactly
    assert 0 < fit.mse <= fit.mse_before and fit.n_params == 3 + 4
    net.edge = module  # drop-in: the whole model still runs
    assert net(jnp.asarray(E[:4]), jnp.asarray(E[4:8])).shape == (4, 1)


class Mix(nnx.Module):
    """A model around a component: ``component(x)[:, 0] + w * x0``."""

    def __init__(self, component):
        self.component = component
        self.w = nnx.Param(jnp.array(0.2))

    def __call__(self, x):
        return self.component(x)[:, 0] + self.w[...] * x[:, 0]


def test_refit_in_place_sets_the_constants_from_the_models_data():
    X = np.random.default_rng(1).uniform(-1, 1, (256, 2))
    y = X[:, 0] * X[:, 1] + 0.5 * X[:, 0]  # the model's data
    model = Mix(nnx.Linear(2, 1, rngs=nnx.Rngs(0)))
    put = put_back(model, "component", FormulaModule([1.02 * x0 * x1 + 0.01], [x0, x1]))
    assert isinstance(model.component, nnx.Linear)  # the original is untouched
    fit = refit_in_place(put, jnp.asarray(X, jnp.float32), y)
    assert fit.n_params == 3 and fit.mse < 1e-12 < fit.mse_before
    (formula,) = fit.model.component.sympy()
    np.testing.assert_allclose(float(fit.model.w[...]), 0.5, atol=1e-6)
    assert sympy.nsimplify(formula, tolerance=1e-5, rational=True) == x0 * x1
    assert fit.model.w[...].dtype == jnp.float32  # dtypes restored after the float64 fit
    # only the formula's constants: w stays where it was, and the fit is worse
    only = refit_in_place(
        put, jnp.asarray(X, jnp.float32), y, trainable=nnx.PathContains("component")
    )
    assert only.n_params == 2 and float(only.model.w[...]) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="output shape"):
        refit_in_place(put, jnp.asarray(X, jnp.float32), y[:10])
    with pytest.raises(ValueError, match="`targets` must be finite"):
        refit_in_place(put, jnp.asarray(X, jnp.float32), np.full(256, np.nan))
    with pytest.raises(ValueError, match="max_params"):
        refit_in_place(put, jnp.asarray(X, jnp.float32), y, max_params=2)
    with pytest.raises(ValueError, match="does not name a submodule"):
        put_back(model, "nodes", FormulaModule([x0], [x0, x1]))


# -- FormulaModule ---------------------------------------------------------------------------
def test_lift_constants_keeps_structural_numbers():
    lifted, syms, vals = lift_constants([2.5 * x0**2 - x1 / 3 + sympy.pi * x0**1.5])
    assert len(syms) == 3 and sorted(vals.tolist()) == pytest.approx([-1 / 3, 1.5, 2.5])
    assert (
        lifted[0]
        .xreplace(dict(zip(syms, vals, strict=True)))
        .equals(2.5 * x0**2 - x1 / 3 + sympy.pi * x0**1.5)
    )


def test_formula_module_matches_formula_and_round_trips():
    exprs = [1.7 * sympy.sin(0.5 * x0) * x1 + 2, x0**2 / (1 + x1**2)]
    f = FormulaModule(exprs, [x0, x1])
    X = np.random.default_rng(0).uniform(-2, 2, (64, 2))
    ref = sympy.lambdify([x0, x1], exprs, "numpy")(X[:, 0], X[:, 1])
    np.testing.assert_allclose(
        f(jnp.asarray(X, jnp.float32)), np.stack(ref, -1), rtol=1e-5, atol=1e-6
    )
    assert f(jnp.zeros((3, 5, 2))).shape == (3, 5, 2)  # leading axes are kept
    back = f.sympy()
    lifted_back, _, values_back = lift_constants(back)  # sympy -> module -> sympy
    lifted, _, values = lift_constants(exprs)
    assert lifted_back == lifted
    np.testing.assert_allclose(values_back, values, rtol=1e-7)  # float32 constants
    with pytest.raises(ValueError, match="2 features on the last axis"):
        f(jnp.zeros((3, 4)))
    with pytest.raises(ValueError, match="not in `symbols`"):
        FormulaModule([x0 * x1], [x0])


class Host(nnx.Module):
    def __init__(self, component):
        self.component = component
        self.scale = nnx.Param(jnp.array(1.0))

    def __call__(self, x):
        return self.scale[...] * self.component(x)[:, 0]


def test_formula_module_fine_tunes_inside_a_model():
    X = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (128, 2)), jnp.float32)
    y = 2.0 * X[:, 0] * X[:, 1]  # the formula below starts with a wrong constant
    model = Host(FormulaModule([1.5 * x0 * x1], [x0, x1]))
    np.testing.assert_allclose(model(X), 1.5 * X[:, 0] * X[:, 1], rtol=1e-6)
    before = np.asarray(model.component.constants[...]).copy()
    opt = nnx.Optimizer(model, optax.adam(5e-2), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt):
        def loss_fn(m):
            return jnp.mean((m(X) - y) ** 2)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        opt.update(model, grads)
        return loss

    losses = [float(step(model, opt)) for _ in range(60)]
    assert losses[-1] < 0.5 * losses[0]
    assert not np.allclose(np.asarray(model.component.constants[...]), before)
    assert jax.tree_util.tree_all(
        jax.tree.map(lambda v: bool(jnp.all(jnp.isfinite(v))), nnx.state(model))
    )


# -- linear equivalence (Cranmer et al.'s check) ----------------------------------------------
def test_linear_equivalence_up_to_a_linear_map():
    dx, dy, r, mi, mj = syms = sympy.symbols("dx dy r m_i m_j", real=True)
    rng = np.random.default_rng(0)
    d = rng.uniform(-2, 2, (300, 2))
    X = np.column_stack([d, np.hypot(d[:, 0], d[:, 1]), rng.uniform(0.5, 2, (300, 2))])
    gravity = [mj * dx / r**3, mj * dy / r**3]  # F / m_i
    pos = ("r", "m_i", "m_j")
    # a rotated, scaled, offset message with float noise in its constants
    f = mj * (0.01234567 * dx - 0.0456789 * dy) / r**3 + 0.001
    res = linear_equivalence(f, gravity, syms, X, positive=pos)
    assert res.equivalent and res.r2 > 0.999999 and not res.residual.free_symbols
    np.testing.assert_allclose(res.coef, [0.01234567, -0.0456789, 0.001], rtol=1e-6)
    # r written out as sqrt(dx^2 + dy^2): equivalent after the substitution only
    spring = [(r - 1) * dx / (r * mi), (r - 1) * dy / (r * mi)]
    g = (0.2 * dx + 0.7 * dy) * (1.0 - 1.00002 / sympy.sqrt(dx**2 + dy**2)) / mi
    assert not linear_equivalence(g, spring, syms, X, positive=pos).equivalent
    sub = {r: sympy.sqrt(dx**2 + dy**2)}
    assert linear_equivalence(g, spring, syms, X, positive=pos, substitutions=sub).equivalent
    # a wrong rest length or a wrong power of r is not a linear transform of the law
    wrong = (0.2 * dx + 0.7 * dy) * (1.0 - 1.05 / r) / mi
    assert not linear_equivalence(wrong, spring, syms, X, positive=pos).equivalent
    res = linear_equivalence(mj * dx / r**2, gravity, syms, X, positive=pos, min_r2=0.999)
    assert not res.equivalent and res.r2 < 0.999 and res.residual is None

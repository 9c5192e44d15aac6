"""Methods the benchmark runner can fit: symnet and, when installed, pyoperon, gplearn and
pykan.

Each method is ``fit(X, y, *, max_time, seed) -> (formula, time_to_selected)`` with ``X`` a
DataFrame (columns = the task's variable names), ``formula`` a sympy expression over
``sympy.Symbol(name, real=True)`` for those names, and ``time_to_selected`` in seconds or
None when the method cannot tell. The peers are optional: ``pip install symnet[peers]``.
Nothing here is imported by the package.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time

import numpy as np
import pandas as pd
import sympy

__all__ = [
    "METHODS",
    "UNIT_METHODS",
    "fit_symnet",
    "fit_operon",
    "fit_gplearn",
    "fit_pykan",
    "fit_linear",
    "gplearn_to_sympy",
]


def _symbols(X: pd.DataFrame) -> list[sympy.Symbol]:
    return [sympy.Symbol(str(c), real=True) for c in X.columns]


def fit_symnet(X, y, *, max_time, seed, preset=None, deterministic=False):
    """symnet's default :class:`~symnet.SymbolicRegressor` under ``max_time`` (``preset``:
    its architectures instead of the default ones). ``deterministic=True``: a fixed amount
    of work and no clock (``max_time`` unused), so the same seed gives the same records on
    any engine, which is what issue 18's Ray-versus-process-pool comparison checks."""
    from symnet import SymbolicRegressor

    kwargs = {} if preset is None else {"preset": preset}
    budget = {"deterministic": True} if deterministic else {"max_time": max_time}
    model = SymbolicRegressor(random_state=seed, **budget, **kwargs).fit(X, y)
    found = model.equations_["found_at"][model.selection_]
    return model.sympy(), float(found)


def fit_symnet_plus_kan(X, y, *, max_time, seed):
    """The default architectures with the ``kan`` preset added to the population."""
    from symnet.search import DEFAULT_CONFIG

    presets = (*DEFAULT_CONFIG.presets, "kan")
    return fit_symnet(X, y, max_time=max_time, seed=seed, preset=presets)


#: pykan's documented symbolic library (its README and tutorials).
PYKAN_LIB = ("x", "x^2", "x^3", "x^4", "exp", "log", "sqrt", "tanh", "sin", "abs")


def _pykan_once(dataset, d: int, seed: int, symbols) -> sympy.Expr:
    """pykan's documented recipe, once: ``KAN(width=[d, 5, 1], grid=5, k=3)``; ``fit``
    (LBFGS, 50 steps, ``lamb=0.001``), ``prune``, ``fit``, ``refine(10)``, ``fit``,
    ``auto_symbolic(lib=PYKAN_LIB)``, ``fit``; its formula rounded to 4 digits
    (``ex_round``)."""
    from kan import KAN
    from kan.utils import ex_round

    # pykan 0.2.8's prune() logs to its checkpoint folder even with auto_save=False
    ckpt = tempfile.mkdtemp(prefix="pykan")
    model = KAN(width=[d, 5, 1], grid=5, k=3, seed=seed, ckpt_path=ckpt)
    model.fit(dataset, opt="LBFGS", steps=50, lamb=0.001)
    model = model.prune()
    model.fit(dataset, opt="LBFGS", steps=50)
    model = model.refine(10)
    model.fit(dataset, opt="LBFGS", steps=50)
    model.auto_symbolic(lib=list(PYKAN_LIB), verbose=0)
    model.fit(dataset, opt="LBFGS", steps=50)
    expr = ex_round(model.symbolic_formula(var=list(symbols))[0][0], 4)
    shutil.rmtree(ckpt, ignore_errors=True)
    return expr


def fit_pykan(X, y, *, max_time, seed):
    """pykan (``pip install pykan``, on torch, one thread, float64) by its documented
    recipe (:func:`_pykan_once`), restarted with new seeds while the last run's time
    still fits in ``max_time``; the formula with the least validation MSE (a quarter of
    the rows held out) is returned."""
    import torch

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    symbols = _symbols(X)
    Xn, yn = X.to_numpy(np.float64), np.asarray(y, np.float64)
    order = np.random.default_rng(seed).permutation(len(yn))
    va, tr = order[: len(yn) // 4], order[len(yn) // 4 :]

    def tensors(rows):
        return torch.tensor(Xn[rows]), torch.tensor(yn[rows, None])

    (a, b), (c, e) = tensors(tr), tensors(va)
    dataset = {"train_input": a, "train_label": b, "test_input": c, "test_label": e}
    start, best, last, k = time.monotonic(), (np.inf, None, None), 0.0, 0
    while k == 0 or time.monotonic() - start + last < max_time:
        t0 = time.monotonic()
        try:
            expr = _pykan_once(dataset, X.shape[1], 1000 * seed + k, symbols)
            f = sympy.lambdify(symbols, expr, "numpy")
            with np.errstate(all="ignore"):
                pred = np.broadcast_to(np.asarray(f(*Xn[va].T), np.float64), (len(va),))
            mse = float(np.mean((pred - yn[va]) ** 2))
            if np.isfinite(mse) and mse < best[0]:
                best = (mse, expr, time.monotonic() - start)
        except Exception:  # noqa: BLE001 -- pykan's own failures (auto_symbolic, NaNs) count as misses
            pass
        last, k = time.monotonic() - t0, k + 1
    if best[1] is None:
        raise RuntimeError(f"pykan gave no finite formula in {k} runs")
    return best[1], best[2]


def fit_symnet_units(X, y, *, max_time, seed, task):
    """symnet's default estimator given the task's units (``X_units``, ``y_units``)."""
    from symnet import SymbolicRegressor

    if task.units is None:
        raise ValueError(f"task {task.name!r} has no units; run it without --units.")
    model = SymbolicRegressor(max_time=max_time, random_state=seed)
    model.fit(X, y, X_units=list(task.units), y_units=task.y_units)
    found = model.equations_["found_at"][model.selection_]
    return model.sympy(), float(found)


def fit_operon(X, y, *, max_time, seed):
    """pyoperon's scikit-learn estimator, SRBench-style settings, ``max_time`` budget."""
    from pyoperon.sklearn import SymbolicRegressor as Operon

    est = Operon(
        allowed_symbols="add,sub,mul,div,constant,variable,sin,cos,exp,log,sqrt",
        max_length=50,
        max_time=max(1, int(max_time)),
        generations=10**6,
        max_evaluations=10**9,
        optimizer_iterations=10,
        # The cores a task may use (the runner divides them among its parallel jobs);
        # symnet's XLA uses every core it is given as well.
        n_threads=int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1)),
        random_state=seed,
    )
    est.fit(X.to_numpy(), np.asarray(y))
    names = [str(c) for c in X.columns]
    text = est.get_model_string(est.model_, 16, names)
    local = {str(s): s for s in _symbols(X)}
    return sympy.parse_expr(text.replace("^", "**"), local_dict=local), None


_GPLEARN_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "sqrt": lambda a: sympy.sqrt(sympy.Abs(a)),
    "log": lambda a: sympy.log(sympy.Abs(a)),
    "sin": sympy.sin,
    "cos": sympy.cos,
    "neg": lambda a: -a,
    "inv": lambda a: 1 / a,
}


def gplearn_to_sympy(program: str, symbols) -> sympy.Expr:
    """A gplearn program string (``add(mul(X0, X1), 0.5)``) as a sympy expression over
    ``symbols`` (``X{i}`` -> ``symbols[i]``); protected ``sqrt``/``log`` read ``|a|``."""
    local = dict(_GPLEARN_OPS)
    local.update({f"X{i}": s for i, s in enumerate(symbols)})
    return sympy.sympify(program, locals=local)


def fit_gplearn(X, y, *, max_time, seed, population_size=1000, chunk=5):
    """gplearn, grown ``chunk`` generations at a time (warm start) until ``max_time``."""
    from gplearn.genetic import SymbolicRegressor as GP

    est = GP(
        population_size=population_size,
        generations=chunk,
        function_set=("add", "sub", "mul", "div", "sqrt", "log", "sin", "cos"),
        parsimony_coefficient=0.001,
        warm_start=True,
        n_jobs=1,
        random_state=seed,
    )
    start, gens = time.monotonic(), 0
    Xa, ya = X.to_numpy(), np.asarray(y)
    while True:
        gens += chunk
        est.set_params(generations=gens)
        t0 = time.monotonic()
        est.fit(Xa, ya)
        used = time.monotonic() - start
        if used + (time.monotonic() - t0) > max_time:
            break
    return gplearn_to_sympy(str(est._program), _symbols(X)), None


def fit_linear(X, y, *, max_time, seed):
    """Ordinary least squares: the floor every method should beat (and a fast smoke test)."""
    A = np.column_stack([X.to_numpy(), np.ones(len(X))])
    coef, *_ = np.linalg.lstsq(A, np.asarray(y), rcond=None)
    terms = [sympy.Float(c) * s for c, s in zip(coef[:-1], _symbols(X), strict=True)]
    return sympy.Add(*terms) + sympy.Float(coef[-1]), 0.0


#: Methods that take the task's units (``--units``): ``<method>+units``.
UNIT_METHODS = {"symnet": "symnet+units"}

METHODS = {
    "symnet": fit_symnet,
    # issue 17's ablation: one architecture alone, or the default ones with ``kan`` added
    "symnet-kan": functools.partial(fit_symnet, preset="kan"),
    "symnet-spline_kan": functools.partial(fit_symnet, preset="spline_kan"),
    "symnet+kan": fit_symnet_plus_kan,
    "symnet-det": functools.partial(fit_symnet, deterministic=True),
    "pykan": fit_pykan,
    "symnet+units": fit_symnet_units,
    "operon": fit_operon,
    "gplearn": fit_gplearn,
    "linear": fit_linear,
}

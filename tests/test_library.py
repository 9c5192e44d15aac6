"""The library stage: sparse sums of generated terms."""

import numpy as np
import pytest
import sympy
from _stages import assert_found, run_stage

from symnet.search._library import MAX_CROSS_INPUTS, library, library_stage


def test_two_input_libraries_take_products_of_unary_terms():
    rng = np.random.default_rng(0)
    U = rng.uniform(0.5, 2.0, (200, 2))
    a, b = sympy.symbols("a b", positive=True)
    exprs, A = library(U, [a, b], 500)
    assert sympy.sin(a) * sympy.cos(b) in exprs and a * sympy.exp(-b) in exprs
    f = sympy.lambdify([a, b], exprs)
    for k, e in enumerate(exprs):
        np.testing.assert_allclose(A[:, k], f(*U.T)[k] * np.ones(len(U)), rtol=1e-12, err_msg=e)
    # three inputs: no cross products (the library would outgrow the exhaustive search)
    assert MAX_CROSS_INPUTS == 2
    exprs3, _ = library(rng.uniform(0.5, 2.0, (200, 3)), sympy.symbols("a b c"), 500)
    assert not any(e.has(sympy.sin) and len(e.free_symbols) > 1 for e in exprs3)


@pytest.mark.parametrize(
    "law",
    [
        lambda a, b, m: m.cos(a) * (1.5 - 0.8 * m.sin(b) ** 2),  # a shear-flow-type law
        lambda a, b, m: 2 * a * m.exp(-b) - m.sin(a) * m.cos(b),
    ],
)
def test_sums_of_products_of_unary_terms_are_found_exactly(law):
    """Laws not in a benchmark suite: two terms, each a product of functions of one
    input."""
    rng = np.random.default_rng(7)
    X = np.column_stack([rng.uniform(-2.5, 2.5, 300), rng.uniform(0.3, 2.0, 300)])
    state, data = run_stage(library_stage, X, law(X[:, 0], X[:, 1], np), ["a", "b"])
    a, b = data.symbols
    assert_found(state, X, data.symbols, law(a, b, sympy))

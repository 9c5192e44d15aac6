"""symnet as an SRBench method (``experiment/methods/`` of the SRBench repository).

SRBench imports ``est`` (a scikit-learn regressor), calls ``est.fit(X, y)`` and reads the
final formula through ``model(est, X)``, a sympy-parsable string over the DataFrame's
column names. Copy this file next to SRBench's other methods (symnet installed).
"""

from __future__ import annotations

from symnet import SymbolicRegressor

#: SRBench's per-dataset budget for the Feynman/Strogatz track is set by the harness;
#: 60 s matches experiments/run.py's default.
est = SymbolicRegressor(max_time=60, random_state=0)


def model(est, X=None) -> str:
    """The selected formula as a string; variables renamed to ``X``'s columns if given
    (the fit saw them already when X was a DataFrame)."""
    expr = est.sympy()
    if X is not None and hasattr(X, "columns"):
        import sympy

        names = dict(zip(est.feature_names_in_, X.columns, strict=True))
        expr = expr.xreplace(
            {s: sympy.Symbol(str(names.get(s.name, s.name))) for s in expr.free_symbols}
        )
    return str(expr)


# SRBench's optional hyper-parameter grid: symnet is run with its defaults.
hyper_params = [{}]
eval_kwargs = {}

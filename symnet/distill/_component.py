"""Distilling one component of a model, and putting the formula back in its place.

Following Cranmer et al. (2020), only the output components of a component that carry
information are fitted: with an L1 penalty on, say, the messages of a graph network, most
message components collapse to near-constants and the few with the largest variance carry
the physics. :func:`top_components` ranks components by variance; :func:`distill_component`
distils the top ones with :func:`~symnet.distill.distill` (the component itself is the
teacher, queried at its recorded inputs), and :meth:`DistilledComponent.module` builds a
drop-in :class:`~symnet.distill.FormulaModule` whose remaining components are their mean,
and :meth:`DistilledComponent.refit` refits it in place on the whole model's data.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import sympy

from symnet._estimator import SymbolicRegressor
from symnet._validation import check_X
from symnet.distill._distill import distill
from symnet.distill._fidelity import Fidelity
from symnet.distill._formula import FormulaModule
from symnet.distill._inplace import InPlaceFit, put_back, refit_in_place
from symnet.distill._teacher import as_numpy_teacher, query

__all__ = ["DistilledComponent", "distill_component", "top_components"]


def top_components(outputs, n: int | None = None) -> np.ndarray:
    """Indices of the output columns by decreasing variance (the first ``n`` of them).

    Example:
      >>> top_components(np.array([[0.0, 1.0, 5.0], [0.1, -1.0, 0.0]]), 2)
      array([2, 1])
    """
    Y = np.asarray(outputs, np.float64)
    Y = Y.reshape(-1, Y.shape[-1] if Y.ndim > 1 else 1)
    order = np.argsort(-Y.var(axis=0), kind="stable")
    return order if n is None else order[: int(n)]


@dataclasses.dataclass(frozen=True)
class DistilledComponent:
    """Formulas for the informative outputs of a component.

    Attributes:
      components: the distilled output indices, by decreasing variance.
      variances: variance of every output of the component on the recorded inputs.
      means: mean of every output (used for the components left out).
      regressor: the fitted :class:`~symnet.SymbolicRegressor` (one output per component).
      symbols: the input symbols of the formulas.
    """

    components: tuple[int, ...]
    variances: np.ndarray
    means: np.ndarray
    regressor: SymbolicRegressor
    symbols: tuple[sympy.Symbol, ...]

    @property
    def formulas(self) -> dict[int, sympy.Expr]:
        """``{output index: formula}``."""
        multi = len(self.components) > 1
        return {
            c: self.regressor.sympy(output=k if multi else None)
            for k, c in enumerate(self.components)
        }

    @property
    def fidelity(self) -> Fidelity:
        return self.regressor.fidelity_

    def module(self, **kwargs) -> FormulaModule:
        """A :class:`~symnet.distill.FormulaModule` with the component's output shape:
        distilled outputs follow their formulas, the others are constants (their means,
        trainable as well)."""
        formulas = self.formulas
        exprs = [
            formulas.get(k, sympy.Float(float(self.means[k]))) for k in range(len(self.means))
        ]
        return FormulaModule(exprs, self.symbols, **kwargs)

    def refit(self, model, path, args, targets, **kwargs) -> InPlaceFit:
        """Puts :meth:`module` in place of the submodule at ``path`` of ``model`` (a copy)
        and refits the formula's constants, with the model's other trainable parameters,
        so that ``model(*args)`` matches ``targets``: the model's own data, not the
        component, set the constants (:func:`~symnet.distill.refit_in_place`, whose
        keyword arguments ``kwargs`` are). ``.model.<path>.sympy()`` gives the formulas."""
        return refit_in_place(put_back(model, path, self.module()), args, targets, **kwargs)


def distill_component(
    component,
    inputs,
    *,
    n_components: int = 2,
    components=None,
    variable_names=None,
    n_queries: int = 1000,
    rounds: int = 1,
    random_state=None,
    **distill_kwargs,
) -> DistilledComponent:
    """Distils the highest-variance outputs of ``component`` on its recorded ``inputs``.

    Args:
      component: the teacher, e.g. the edge MLP of a graph network (any teacher accepted
        by :func:`~symnet.distill.distill`) mapping (n, d) to (n, k).
      inputs: its inputs as recorded by :func:`~symnet.distill.capture`; leading axes are
        flattened to (n, d).
      n_components: how many of the highest-variance outputs to distil.
      components: explicit output indices instead (overrides ``n_components``).
      variable_names: names of the d inputs (default ``x0, x1, ...``).
      n_queries, rounds, random_state, **distill_kwargs: as in
        :func:`~symnet.distill.distill`, which is called with ``X=inputs``. The default
        ``rounds=1`` fits on recorded inputs only: jittered candidates may leave the
        manifold the inputs live on (e.g. ``r = sqrt(dx**2 + dy**2)``); pass a ``sampler``
        that respects it to use active querying.

    Returns:
      A :class:`DistilledComponent`; ``.module()`` is the drop-in replacement.
    """
    X = np.asarray(inputs)
    X = check_X(X.reshape(-1, X.shape[-1]) if X.ndim > 2 else X, "inputs")
    full = query(as_numpy_teacher(component), X)
    variances, means = full.var(axis=0), full.mean(axis=0)
    if components is None:
        if not (isinstance(n_components, int) and 1 <= n_components <= full.shape[1]):
            raise ValueError(
                f"`n_components` must be an integer in 1..{full.shape[1]} (the component's "
                f"outputs), got {n_components!r}."
            )
        comps = tuple(int(c) for c in top_components(full, n_components))
    else:
        comps = tuple(int(c) for c in np.atleast_1d(components))
        if not comps or any(not 0 <= c < full.shape[1] for c in comps):
            raise ValueError(
                f"`components` must be output indices in 0..{full.shape[1] - 1}, got "
                f"{components!r}."
            )
    teach = as_numpy_teacher(component)
    model = distill(
        lambda Z: np.asarray(teach(Z)).reshape(len(Z), -1)[:, list(comps)],
        X,
        n_queries=n_queries,
        rounds=rounds,
        variable_names=variable_names,
        random_state=random_state,
        **distill_kwargs,
    )
    names = [str(n) for n in model.feature_names_in_]
    symbols = tuple(sympy.Symbol(n, real=True) for n in names)
    return DistilledComponent(comps, variances, means, model, symbols)

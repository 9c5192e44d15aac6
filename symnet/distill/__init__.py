"""Distillation: closed-form formulas for trained models and for their components.

* :func:`distill` fits a formula to any teacher (a callable, a Flax NNX module or a
  PyTorch module), querying it where the formula is most wrong, and reports its
  fidelity (:class:`Fidelity`).
* :func:`capture`, :func:`top_components` and :func:`distill_component` follow Cranmer
  et al. (2020): record a submodule's inputs and outputs inside a model, keep its
  highest-variance outputs and distil each; :class:`FormulaModule` puts the formulas back
  as a trainable drop-in replacement; :func:`linear_equivalence` checks that a formula is
  a linear transform of a known law (numerically and symbolically); :func:`put_back`
  and :func:`refit_in_place` (or :meth:`DistilledComponent.refit`) refit the formula's
  constants inside the model on the model's own data.
"""

from symnet.distill._active import disagreement as disagreement
from symnet.distill._active import most_disagreeing as most_disagreeing
from symnet.distill._capture import Captured as Captured
from symnet.distill._capture import capture as capture
from symnet.distill._capture import get_submodule as get_submodule
from symnet.distill._component import DistilledComponent as DistilledComponent
from symnet.distill._component import distill_component as distill_component
from symnet.distill._component import top_components as top_components
from symnet.distill._distill import distill as distill
from symnet.distill._fidelity import Fidelity as Fidelity
from symnet.distill._formula import FormulaModule as FormulaModule
from symnet.distill._formula import lift_constants as lift_constants
from symnet.distill._inplace import InPlaceFit as InPlaceFit
from symnet.distill._inplace import put_back as put_back
from symnet.distill._inplace import refit_in_place as refit_in_place
from symnet.distill._linear import LinearEquivalence as LinearEquivalence
from symnet.distill._linear import linear_equivalence as linear_equivalence

__all__ = [
    "Captured",
    "DistilledComponent",
    "FormulaModule",
    "InPlaceFit",
    "LinearEquivalence",
    "Fidelity",
    "capture",
    "disagreement",
    "distill",
    "distill_component",
    "get_submodule",
    "lift_constants",
    "linear_equivalence",
    "most_disagreeing",
    "put_back",
    "refit_in_place",
    "top_components",
]

"""The search: from data to candidate formulas, as a pipeline of stages over typed state.

* :class:`Data` — the validated data of one search (arrays, names, weights, the
  train/validation split or leave-one-out, the probe box); built once.
* :class:`Budget` — the time policy: every share, cut-off and deadline (module
  :mod:`symnet.search._budget` documents the rules and names their constants).
* :class:`SearchState` — views, the slot queue, candidates, step rates, reductions tried.
* Stages, plain functions over them: :func:`train_slot` (a population of networks on one
  data view), :func:`refit_slot` (formulas back to the user's variables, refit in float64,
  scored), :func:`reduce` (views of a smaller problem from what a surrogate reveals: power
  factors, dimensionless groups), :func:`decompose` (parts of a separable surrogate searched
  on their own, :func:`separate`; functions of a difference, :func:`translations`),
  :func:`library_stage` (sparse sums of library terms, :func:`sparse_fits`,
  :class:`SparseFitter`), :func:`rational_stage` (quotients of such sums over a few
  inputs, fitted linearly), :func:`product_stage` (sparse products of powers,
  exponentials and sines, from ``log|y|``), :func:`residual_stage` (a small library term
  a surrogate left out, from its residual),
  :func:`polish_front` (simplify and round the Pareto front), then :func:`pareto_front`
  and :func:`select` (PySR's rules). With units
  (:attr:`Data.units`): :func:`unit_views` (Buckingham's groups),
  :func:`group_library_stage` (sparse sums of transcendental terms of the groups,
  :func:`group_terms`), :func:`unit_baselines` and :func:`consistent` (dimensionally
  consistent formulas only); without units, :func:`symmetry_fits` (the same sums over
  the groups of a surrogate's scaling symmetries).
* :func:`discover` (arrays in) and :func:`search` (:class:`Data` in) run them in a loop.

Where to add things: a data view in :mod:`symnet.search._views` (``VIEWS``,
:func:`make_views`); a reduction as a :class:`Reduction` in :func:`reductions`; a stage as
a function over :class:`SearchState` called from :func:`search`; an architecture or a
primitive in :mod:`symnet.layers` and the primitive registry.
"""

from symnet.search._budget import Budget as Budget
from symnet.search._budget import SlotPlan as SlotPlan
from symnet.search._config import DEFAULT_CONFIG as DEFAULT_CONFIG
from symnet.search._config import DETERMINISTIC_SIMPLIFY_SECONDS as DETERMINISTIC_SIMPLIFY_SECONDS
from symnet.search._config import SearchConfig as SearchConfig
from symnet.search._data import Data as Data
from symnet.search._decompose import decompose as decompose
from symnet.search._decompose import sub_problems as sub_problems
from symnet.search._discover import discover as discover
from symnet.search._discover import restarts_for as restarts_for
from symnet.search._discover import search as search
from symnet.search._factors import elasticities as elasticities
from symnet.search._factors import power_factors as power_factors
from symnet.search._group_library import group_library_stage as group_library_stage
from symnet.search._group_library import group_terms as group_terms
from symnet.search._group_library import symmetry_fits as symmetry_fits
from symnet.search._groups import Groups as Groups
from symnet.search._groups import scaling_groups as scaling_groups
from symnet.search._library import library as library
from symnet.search._library import library_stage as library_stage
from symnet.search._polish import canonical_forms as canonical_forms
from symnet.search._polish import polish as polish
from symnet.search._polish import polish_front as polish_front
from symnet.search._population import Trained as Trained
from symnet.search._population import train_population as train_population
from symnet.search._products import product_stage as product_stage
from symnet.search._rational import rational_stage as rational_stage
from symnet.search._reduce import Reduction as Reduction
from symnet.search._reduce import reduce as reduce
from symnet.search._reduce import reductions as reductions
from symnet.search._residual import residual_stage as residual_stage
from symnet.search._scale import Scaling as Scaling
from symnet.search._select import DEFAULT_MAXSIZE as DEFAULT_MAXSIZE
from symnet.search._select import NMSE_FLOOR as NMSE_FLOOR
from symnet.search._select import Candidate as Candidate
from symnet.search._select import front_scores as front_scores
from symnet.search._select import pareto_front as pareto_front
from symnet.search._select import select as select
from symnet.search._separate import Split as Split
from symnet.search._separate import separate as separate
from symnet.search._shift import Shift as Shift
from symnet.search._shift import translations as translations
from symnet.search._slot import baselines as baselines
from symnet.search._slot import refit_slot as refit_slot
from symnet.search._slot import stop_early as stop_early
from symnet.search._slot import train_slot as train_slot
from symnet.search._sparse import SparseFitter as SparseFitter
from symnet.search._sparse import sparse_fits as sparse_fits
from symnet.search._state import SearchState as SearchState
from symnet.search._state import Slot as Slot
from symnet.search._units import consistent as consistent
from symnet.search._units import unit_baselines as unit_baselines
from symnet.search._units import unit_groups as unit_groups
from symnet.search._units import unit_views as unit_views
from symnet.search._views import VIEWS as VIEWS
from symnet.search._views import View as View
from symnet.search._views import make_views as make_views
from symnet.search._views import reduced_views as reduced_views
from symnet.search._views import view_symbols as view_symbols

__all__ = [
    "Budget",
    "DEFAULT_CONFIG",
    "DETERMINISTIC_SIMPLIFY_SECONDS",
    "DEFAULT_MAXSIZE",
    "Candidate",
    "Data",
    "Groups",
    "NMSE_FLOOR",
    "Reduction",
    "Scaling",
    "SearchConfig",
    "SearchState",
    "Shift",
    "Slot",
    "Split",
    "SlotPlan",
    "Trained",
    "VIEWS",
    "View",
    "baselines",
    "canonical_forms",
    "consistent",
    "decompose",
    "discover",
    "elasticities",
    "front_scores",
    "group_library_stage",
    "group_terms",
    "library",
    "library_stage",
    "make_views",
    "pareto_front",
    "polish",
    "polish_front",
    "power_factors",
    "reduce",
    "reduced_views",
    "restarts_for",
    "reductions",
    "refit_slot",
    "product_stage",
    "rational_stage",
    "residual_stage",
    "scaling_groups",
    "search",
    "select",
    "separate",
    "SparseFitter",
    "sparse_fits",
    "stop_early",
    "symmetry_fits",
    "sub_problems",
    "train_population",
    "train_slot",
    "translations",
    "unit_baselines",
    "unit_groups",
    "unit_views",
    "view_symbols",
]

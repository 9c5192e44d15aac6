"""symnet: differentiable symbolic networks in JAX.

Train networks of interpretable primitives under ``jax.jit``, prune them with masks, and
export them as simplified sympy formulas whose constants are refit on the data.
"""

from symnet import datasets as datasets
from symnet import distill as distill
from symnet import dynamics as dynamics
from symnet import layers as layers
from symnet import pruning as pruning
from symnet import search as search
from symnet import systems as systems
from symnet import units as units
from symnet._compile_cache import cache_dir as cache_dir
from symnet._compile_cache import set_cache_dir as set_cache_dir
from symnet._devices import init_distributed as init_distributed
from symnet._export import export_member as export_member
from symnet._losses import l1 as l1
from symnet._losses import smoothed_l_half as smoothed_l_half
from symnet._losses import sparsity_penalty as sparsity_penalty
from symnet._losses import weighted_mse as weighted_mse
from symnet._primitives import PRIMITIVES as PRIMITIVES
from symnet._primitives import Primitive as Primitive
from symnet._primitives import check_primitive as check_primitive
from symnet._primitives import get_primitive as get_primitive
from symnet._primitives import register_primitive as register_primitive
from symnet._refit import refit as refit
from symnet._rounding import round_constants as round_constants
from symnet._scoring import is_symbolic_solution as is_symbolic_solution
from symnet._scoring import r2_score as r2_score
from symnet._sweep import sweep as sweep
from symnet._train import PopulationTrainer as PopulationTrainer
from symnet._train import Schedule as Schedule
from symnet._train import TrainConfig as TrainConfig
from symnet._train import TrainState as TrainState
from symnet._train import init_population as init_population
from symnet._version import version as _version
from symnet.layers import SymbolicLayer as SymbolicLayer
from symnet.layers import SymbolicNetwork as SymbolicNetwork
from symnet.search import Candidate as Candidate
from symnet.search import SearchConfig as SearchConfig
from symnet.search import discover as discover
from symnet.search import pareto_front as pareto_front
from symnet.search import select as select

from symnet._estimator import SymbolicRegressor as SymbolicRegressor  # isort: skip

__version__ = _version()

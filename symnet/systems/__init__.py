r"""Catalogues of dynamical systems, simulated reproducibly.

A :class:`System` is an autonomous ODE :math:`\dot{\mathbf s} = F(\mathbf s; \theta)`:
state names, one right-hand side :math:`F_i` per state as a sympy-parsable formula over
the states and the parameters :math:`\theta`, a box of states and a :class:`Simulation`
(two :class:`Regime` objects, default and extrapolation) that says how trajectories are
started, integrated with ``scipy.integrate.solve_ivp``, accepted and sampled. Simulations
are pure functions of (system, count, seed, extrapolate): the generator is seeded from the
seed and a CRC-32 of :attr:`System.key` (:func:`make_rng`).

The packaged catalogues:

- :func:`strogatz_systems`: the 7 planar systems of ODE-Strogatz (SRBench), sampled with
  :data:`STROGATZ_SIMULATION`.
- :func:`chaotic_systems`: 39 chaotic flows of dysts (Gilpin 2021), sampled on the
  attractor with :data:`CHAOTIC_SIMULATION`.
- :func:`odebench_systems`: the 63 systems of ODEBench (ODEFormer), each with its two
  initial conditions, integrated as :data:`ODEBENCH_SIMULATION` says.

The benchmark suites ``"strogatz"`` and ``"chaotic"`` of :mod:`symnet.datasets` ask for
one right-hand side of one of these systems per task. :func:`parse_formula` and
:func:`compile_formula` turn formulas into sympy expressions and numpy functions.

Example:
    >>> import numpy as np
    >>> from symnet.systems import strogatz_systems
    >>> vdp = strogatz_systems()["vdp"]
    >>> vdp.states, vdp.derivatives
    (('x', 'y'), ('10*(y - (x**3 - x)/3)', '-x/10'))
    >>> vdp.rhs(np.array([1.0, 2.0]))
    array([20. , -0.1])
    >>> vdp.simulate(2, seed=0).shape
    (2, 101, 2)
"""

from __future__ import annotations

from symnet.systems._catalogue import CHAOTIC_SIMULATION as CHAOTIC_SIMULATION
from symnet.systems._catalogue import ODEBENCH_SIMULATION as ODEBENCH_SIMULATION
from symnet.systems._catalogue import ODEBENCH_TIMES as ODEBENCH_TIMES
from symnet.systems._catalogue import STROGATZ_BOXES as STROGATZ_BOXES
from symnet.systems._catalogue import STROGATZ_SIMULATION as STROGATZ_SIMULATION
from symnet.systems._catalogue import OdeBenchSystem as OdeBenchSystem
from symnet.systems._catalogue import chaotic_systems as chaotic_systems
from symnet.systems._catalogue import odebench_systems as odebench_systems
from symnet.systems._catalogue import strogatz_systems as strogatz_systems
from symnet.systems._formula import compile_formula as compile_formula
from symnet.systems._formula import parse_formula as parse_formula
from symnet.systems._random import make_rng as make_rng
from symnet.systems._simulation import Regime as Regime
from symnet.systems._simulation import Simulation as Simulation
from symnet.systems._system import System as System

__all__ = [
    "CHAOTIC_SIMULATION",
    "ODEBENCH_SIMULATION",
    "ODEBENCH_TIMES",
    "OdeBenchSystem",
    "STROGATZ_BOXES",
    "STROGATZ_SIMULATION",
    "Regime",
    "Simulation",
    "System",
    "chaotic_systems",
    "compile_formula",
    "make_rng",
    "odebench_systems",
    "parse_formula",
    "strogatz_systems",
]

r"""Equations of dynamical systems from measured trajectories.

:class:`SymbolicODE` finds :math:`\dot{\mathbf x} = F(\mathbf x, \mathbf u)` in closed
form from one or several trajectories (derivatives estimated by :func:`differentiate`:
finite differences, Savitzky–Golay or a smoothing spline; each weighted by its
:func:`reliability`, their noise's share by :func:`noise_error`), predicts derivatives, and
simulates the system it found (diffrax).
"""

from __future__ import annotations

from symnet.dynamics._derivatives import DEFAULT_METHOD as DEFAULT_METHOD
from symnet.dynamics._derivatives import METHODS as METHODS
from symnet.dynamics._derivatives import differentiate as differentiate
from symnet.dynamics._derivatives import disagreement as disagreement
from symnet.dynamics._derivatives import noise_error as noise_error
from symnet.dynamics._derivatives import reliability as reliability
from symnet.dynamics._ode import SymbolicODE as SymbolicODE

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "SymbolicODE",
    "differentiate",
    "disagreement",
    "noise_error",
    "reliability",
]

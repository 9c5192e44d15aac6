"""Flax NNX symbolic layers and preset architectures."""

from symnet.layers._base import MASK_SUFFIX as MASK_SUFFIX
from symnet.layers._base import AbstractSymbolicLayer as AbstractSymbolicLayer
from symnet.layers._base import Mask as Mask
from symnet.layers._kan import KAN_UNITS as KAN_UNITS
from symnet.layers._kan import SymbolicKANLayer as SymbolicKANLayer
from symnet.layers._network import SymbolicNetwork as SymbolicNetwork
from symnet.layers._plot import plot_network as plot_network
from symnet.layers._presets import PRESETS as PRESETS
from symnet.layers._presets import default_network as default_network
from symnet.layers._presets import eql as eql
from symnet.layers._presets import eql_div as eql_div
from symnet.layers._presets import kan as kan
from symnet.layers._presets import lies as lies
from symnet.layers._presets import rational as rational
from symnet.layers._presets import spline_kan as spline_kan
from symnet.layers._presets import stack as stack
from symnet.layers._spline import SplineKANLayer as SplineKANLayer
from symnet.layers._spline import snap_network as snap_network
from symnet.layers._symbolic import SymbolicLayer as SymbolicLayer
from symnet.layers._symbolic import UnitSpec as UnitSpec

r"""Per-variable samplers: uniform, log-uniform and integer draws with a sign rule.

SRSD (Matsubara et al. 2022, *Rethinking Symbolic Regression Datasets and Benchmarks for
Scientific Discovery*) samples most physical quantities log-uniformly over a few decades,
some uniformly and some as integers, each either positive, negative or with a random sign.
A :class:`Sampler` is one such rule; its text form, as written in
``symnet/data/srsd_feynman.csv``, is ``kind:low:high:sign``:

========  ===========================================================================
kind      magnitude :math:`|x|`
========  ===========================================================================
uniform   :math:`U[l, h]` (``l`` may be negative; then ``sign`` is ``pos``)
log       :math:`10^{U[\log_{10} l,\, \log_{10} h]}`, :math:`0 < l < h`
int       an integer drawn uniformly from :math:`\{l, l + 1, \dots, h - 1\}` (numpy's
          ``integers``/``randint`` convention, which SRSD uses)
========  ===========================================================================

``sign`` is ``pos`` (keep :math:`|x|`), ``neg`` (:math:`-|x|`) or ``both`` (a fair coin
per row, SRSD's default). With ``extrapolate`` the magnitude range widens upwards by half
its width, in :math:`\log_{10}` space for ``log`` samplers (``[1e-2, 1]`` becomes
``[1e-2, 10]``), linearly for ``uniform`` and ``int`` (as :func:`extrapolation_box`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["Sampler", "parse_sampler"]

KINDS = ("uniform", "log", "int")
SIGNS = ("pos", "neg", "both")

#: Relative widening of the upper end of the magnitude range under ``extrapolate``.
_WIDEN = 0.5


@dataclasses.dataclass(frozen=True)
class Sampler:
    """How one input column is drawn (see the module docstring).

    Attributes:
        kind: ``"uniform"``, ``"log"`` or ``"int"``.
        low: lower end of the magnitude range (of the value for ``uniform``).
        high: upper end, ``> low`` (exclusive for ``int``).
        sign: ``"pos"``, ``"neg"`` or ``"both"``.
    """

    kind: str
    low: float
    high: float
    sign: str = "pos"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"sampler kind must be one of {list(KINDS)}, got {self.kind!r}")
        if self.sign not in SIGNS:
            raise ValueError(f"sampler sign must be one of {list(SIGNS)}, got {self.sign!r}")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(
                f"sampler range must satisfy low < high, got [{self.low}, {self.high}]"
            )
        if self.kind == "log" and self.low <= 0:
            raise ValueError(f"a log sampler needs low > 0, got {self.low}")
        if self.kind == "int" and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError(f"an int sampler needs integer ends, got [{self.low}, {self.high}]")

    def magnitude_range(self, extrapolate: bool = False) -> tuple[float, float]:
        """The (possibly widened) range of :math:`|x|` (of :math:`x` for ``uniform``)."""
        low, high = float(self.low), float(self.high)
        if not extrapolate:
            return low, high
        if self.kind == "log":
            a, b = math.log10(low), math.log10(high)
            return low, 10.0 ** (b + _WIDEN * (b - a))
        if self.kind == "int":
            return low, float(high + math.ceil(_WIDEN * (high - low)))
        return low, high + _WIDEN * (high - low)

    def bounds(self, extrapolate: bool = False) -> tuple[float, float]:
        """The smallest interval holding every value the sampler can draw."""
        low, high = self.magnitude_range(extrapolate)
        if self.kind == "int":
            high -= 1.0
        if self.sign == "neg":
            return -high, -low
        if self.sign == "both":
            return -max(abs(low), abs(high)), max(abs(low), abs(high))
        return low, high

    def draw(self, rng: np.random.Generator, n: int, extrapolate: bool = False) -> np.ndarray:
        """``n`` float64 values."""
        low, high = self.magnitude_range(extrapolate)
        if self.kind == "log":
            values = 10.0 ** rng.uniform(math.log10(low), math.log10(high), size=n)
        elif self.kind == "int":
            values = rng.integers(int(low), int(high), size=n).astype(np.float64)
        else:
            values = rng.uniform(low, high, size=n)
        if self.sign == "neg":
            return -values
        if self.sign == "both":
            return np.where(rng.random(n) < 0.5, -values, values)
        return values

    def __str__(self) -> str:
        return f"{self.kind}:{self.low:g}:{self.high:g}:{self.sign}"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"cannot read the number {text!r}") from None


def parse_sampler(text: str) -> Sampler:
    """A :class:`Sampler` from ``"kind:low:high:sign"`` (``sign`` defaults to ``pos``).

    Example:
        >>> parse_sampler("log:1e-2:1:both")
        Sampler(kind='log', low=0.01, high=1.0, sign='both')
    """
    parts = text.strip().split(":")
    if len(parts) not in (3, 4):
        raise ValueError(f"a sampler reads 'kind:low:high[:sign]', got {text!r}")
    kind, low, high = parts[0], _number(parts[1]), _number(parts[2])
    sign = parts[3] if len(parts) == 4 else "pos"
    return Sampler(kind, low, high, sign)

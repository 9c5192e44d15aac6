"""The primitive registry: one frozen record per primitive, one source of truth.

Every primitive carries its safe JAX function, its sympy counterpart, its arity, its
complexity weight and the domain on which the JAX function is exact. Outside that domain the
JAX function is *protected*: finite forward and backward for every finite input, with zero
gradient, and a hinge penalty (see :func:`domain_penalty`) pulls pre-activations back inside,
as LIES does for log and exp and EQL÷ for division.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
from collections.abc import Callable, Iterable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from symnet import _trig

__all__ = [
    "Primitive",
    "PRIMITIVES",
    "DIV_THRESHOLD",
    "get_primitive",
    "register_primitive",
    "resolve_primitives",
    "check_primitive",
]

#: Denominators at or below this value make protected division return 0 (EQL÷ uses
#: θ = 1e-4 at test time; see Sahoo et al. 2018).
DIV_THRESHOLD = 1e-3
#: Lower clamp of log and sqrt (LIES clamps log at 5e-3).
LOG_EPS = 1e-3
#: Upper clamp of exp (e**10 ~ 2.2e4 stays far from float32 overflow).
EXP_CAP = 10.0
#: Clamp of the arguments of square and mul and of the numerator of div, so that their
#: values and gradients stay finite in float32 for every finite input.
POLY_CAP = 1e9


@dataclasses.dataclass(frozen=True, kw_only=True)
class Primitive:
    """A primitive unit of a symbolic network.

    Attributes:
      name: registry key, e.g. ``"sin"``.
      arity: 1 (unary) or 2 (binary).
      jax_fn: protected JAX function, finite with finite gradients for all finite input.
      sympy_fn: the exact sympy counterpart, used for export.
      complexity: weight of the unit in sparsity penalties and in formula complexity.
      domain: ``(low, high)`` interval of the (first, for binary: second) argument inside
        which ``jax_fn`` equals ``sympy_fn``. For division it is the denominator's domain.
      probe: points inside the domain used to check ``jax_fn`` against ``sympy_fn``.
    """

    name: str
    arity: int
    jax_fn: Callable[..., jax.Array]
    sympy_fn: Callable[..., sympy.Expr]
    complexity: float
    domain: tuple[float, float] = (-math.inf, math.inf)
    probe: tuple[float, ...] = ()

    def __post_init__(self):
        if type(self.arity) is not int or self.arity not in (1, 2):  # no bool, no float
            raise ValueError(f"`arity` must be 1 or 2, got {self.arity!r}.")
        if not self.name.isidentifier():
            raise ValueError(f"`name` must be a Python identifier, got {self.name!r}.")
        low, high = self.domain
        if not low < high:
            raise ValueError(f"`domain` must satisfy low < high, got {self.domain!r}.")
        if not (math.isfinite(self.complexity) and self.complexity > 0):
            raise ValueError(f"`complexity` must be finite and > 0, got {self.complexity!r}.")

    def hinge(self, z: jax.Array) -> jax.Array:
        """Domain penalty of pre-activations `z` (for binary units: the second argument).

        ``relu(low - z) + relu(z - high)``: zero inside the domain, linear outside, so it
        pulls pre-activations back where the protected function is exact.
        """
        low, high = self.domain
        out = jnp.zeros_like(z)
        if math.isfinite(low):
            out = out + jax.nn.relu(low - z)
        if math.isfinite(high):
            out = out + jax.nn.relu(z - high)
        return out


def _clamped(fn: Callable, low: float, high: float) -> Callable:
    """``fn(clip(x, low, high))``: exact inside, constant with zero gradient outside."""

    def wrapped(x):
        return fn(jnp.clip(x, low, high))

    return wrapped


def protected_div(a: jax.Array, b: jax.Array) -> jax.Array:
    """EQL÷ division: ``a / b`` where ``b > θ``, else 0, with zero gradient there.

    The inner ``where`` keeps the unused branch finite, so no NaN reaches the gradient
    (the double-``where`` trick). The numerator is clamped to ``±POLY_CAP`` (zero gradient
    beyond), so ``|a / b| <= POLY_CAP / θ`` stays finite in float32.
    """
    ok = b > DIV_THRESHOLD
    a = jnp.clip(a, -POLY_CAP, POLY_CAP)
    return jnp.where(ok, a / jnp.where(ok, b, 1.0), 0.0)


def _identity(x):
    return x


def _square(x):
    return x * x


def _mul(a, b):
    return jnp.clip(a, -POLY_CAP, POLY_CAP) * jnp.clip(b, -POLY_CAP, POLY_CAP)


def _sympy_identity(x):
    return x


def _sympy_square(x):
    return x**2


def _sympy_mul(a, b):
    return a * b


def _sympy_div(a, b):
    return a / b


def _grid(low: float, high: float, n: int = 9) -> tuple[float, ...]:
    return tuple(float(v) for v in np.linspace(low, high, n))


_WIDE, _POSITIVE = _grid(-5, 5), _grid(0.01, 10)
_ALL, _ABOVE_EPS = (-math.inf, math.inf), (LOG_EPS, math.inf)
_POLY, _BELOW_CAP = (-POLY_CAP, POLY_CAP), (-math.inf, EXP_CAP)

_FIELDS = ("name", "arity", "jax_fn", "sympy_fn", "complexity", "domain", "probe")
_BUILTINS = tuple(
    Primitive(**dict(zip(_FIELDS, row, strict=True)))
    for row in (
        ("identity", 1, _identity, _sympy_identity, 1.0, _ALL, _WIDE),
        ("sin", 1, _trig.sin, sympy.sin, 2.0, _ALL, _WIDE),
        ("cos", 1, _trig.cos, sympy.cos, 2.0, _ALL, _WIDE),
        ("exp", 1, _clamped(jnp.exp, *_BELOW_CAP), sympy.exp, 2.0, _BELOW_CAP, _WIDE),
        ("log", 1, _clamped(jnp.log, *_ABOVE_EPS), sympy.log, 2.0, _ABOVE_EPS, _POSITIVE),
        ("sqrt", 1, _clamped(jnp.sqrt, *_ABOVE_EPS), sympy.sqrt, 2.0, _ABOVE_EPS, _POSITIVE),
        ("square", 1, _clamped(_square, *_POLY), _sympy_square, 2.0, _POLY, _WIDE),
        ("mul", 2, _mul, _sympy_mul, 2.0, _POLY, _WIDE),
        ("div", 2, protected_div, _sympy_div, 3.0, (DIV_THRESHOLD, math.inf), _grid(0.05, 5)),
    )
)

_REGISTRY: dict[str, Primitive] = {p.name: p for p in _BUILTINS}

#: Read-only view of the registry (built-ins plus registered primitives).
PRIMITIVES: Mapping[str, Primitive] = types.MappingProxyType(_REGISTRY)


def get_primitive(name: str | Primitive) -> Primitive:
    """Looks a primitive up by name, with a "did you mean" hint for typos."""
    if isinstance(name, Primitive):
        return name
    if not isinstance(name, str):
        raise ValueError(f"`primitives` entries must be names or Primitive records, got {name!r}.")
    try:
        return _REGISTRY[name]
    except KeyError:
        near = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" Did you mean {near}?" if near else ""
        raise ValueError(
            f"Unknown primitive {name!r}; expected one of {sorted(_REGISTRY)}.{hint}"
        ) from None


def resolve_primitives(names: Iterable[str | Primitive]) -> tuple[Primitive, ...]:
    """Resolves names to records, rejecting unknown names and duplicates."""
    prims = tuple(get_primitive(n) for n in names)
    seen = [p.name for p in prims]
    if dups := sorted({n for n in seen if seen.count(n) > 1}):
        raise ValueError(f"`primitives` lists {dups} more than once.")
    return prims


def check_primitive(prim: Primitive, *, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Checks that ``jax_fn`` and ``sympy_fn`` agree on the probe grid.

    Raises:
      ValueError: naming the primitive and the first point where they disagree.
    """
    probe = np.asarray(prim.probe, dtype=np.float64)
    if probe.size == 0:
        low, high = prim.domain
        lo, hi = max(low, -3.0), min(high, 3.0)
        if lo >= hi:  # the domain lies outside [-3, 3]: probe its end nearest to it
            lo, hi = (low, min(high, low + 6.0)) if low >= 3.0 else (max(low, high - 6.0), high)
        probe = np.linspace(lo, hi, 9)
    args_sym = sympy.symbols(f"a0:{prim.arity}")
    try:
        expr = prim.sympy_fn(*args_sym)
    except TypeError as err:
        raise ValueError(
            f"Primitive {prim.name!r}: calling sympy_fn with {prim.arity} argument(s) failed "
            f"({err}); check `arity`."
        ) from None
    numpy_fn = sympy.lambdify(args_sym, expr, modules="numpy")
    if prim.arity == 1:
        grids = (probe,)
    else:  # first argument over a fixed spread, second over the probe
        a, b = np.meshgrid(np.linspace(-3, 3, 5), probe)
        grids = (a.ravel(), b.ravel())
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(np.asarray(numpy_fn(*grids), dtype=np.float64), grids[0].shape)
    try:
        got = prim.jax_fn(*(jnp.asarray(g, jnp.float32) for g in grids))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"Primitive {prim.name!r}: calling jax_fn with {prim.arity} argument(s) failed "
            f"({err}); check `arity`."
        ) from None
    got = np.asarray(got, np.float64)
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if got.shape != expected.shape or bad.any():
        i = int(np.argmax(bad)) if got.shape == expected.shape else 0
        point = tuple(float(g[i]) for g in grids)
        raise ValueError(
            f"Primitive {prim.name!r}: jax_fn and sympy_fn disagree at {point}: "
            f"jax gives {got.ravel()[i]!r}, sympy gives {expected.ravel()[i]!r}. "
            "Check that both define the same function on the probe grid."
        )


def register_primitive(
    name: str,
    jax_fn: Callable[..., jax.Array],
    sympy_fn: Callable[..., sympy.Expr],
    *,
    arity: int = 1,
    complexity: float = 2.0,
    domain: tuple[float, float] = (-math.inf, math.inf),
    probe: Iterable[float] = (),
    overwrite: bool = False,
) -> Primitive:
    """Adds a user primitive to the registry, after checking JAX against sympy.

    The check runs here, before any training, so a mismatch is an error now rather than a
    wrong formula at the end of a long fit. ``jax_fn`` must be finite for finite input; use
    ``jnp.clip`` or a double ``where`` to protect it outside ``domain``.

    Example:
      >>> import jax.numpy as jnp, sympy
      >>> p = register_primitive("cube", lambda x: x**3, lambda x: x**3, overwrite=True)
      >>> p.name
      'cube'
    """
    if name in {p.name for p in _BUILTINS}:
        raise ValueError(f"`name` {name!r} is a built-in primitive and cannot be replaced.")
    if name in _REGISTRY and not overwrite:
        raise ValueError(
            f"Primitive {name!r} is already registered; pass overwrite=True to replace it."
        )
    prim = Primitive(
        name=name,
        arity=arity,
        jax_fn=jax_fn,
        sympy_fn=sympy_fn,
        complexity=float(complexity),
        domain=tuple(float(v) for v in domain),
        probe=tuple(float(v) for v in probe),
    )
    check_primitive(prim)
    _REGISTRY[name] = prim
    return prim

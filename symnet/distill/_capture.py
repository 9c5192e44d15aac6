"""Recording what a named submodule of a Flax NNX model sees and returns.

Cranmer et al. (2020) distil a graph network piece by piece: the edge function
``phi_e(x_i, x_j) -> message`` is fitted on the (input, message) pairs it produced while the
whole network ran on data. :func:`capture` swaps the submodule for a recording wrapper,
runs the model eagerly, and puts the original back, also when the call fails.
"""

from __future__ import annotations

import contextlib
import dataclasses

import jax
import numpy as np
from flax import nnx

__all__ = [
    "Captured",
    "capture",
    "get_child",
    "get_submodule",
    "parent_and_key",
    "resolve_path",
    "set_child",
]


def resolve_path(model: nnx.Module, path) -> tuple:
    """Resolves a dotted path (``"edge.layers.0"``), a tuple path, or a bare attribute name
    anywhere in the model (it must then be unique)."""
    if isinstance(path, tuple):
        return path
    if not isinstance(path, str) or not path:
        raise ValueError(f"`path` must be a non-empty string or tuple, got {path!r}.")
    parts = tuple(int(p) if p.isdigit() else p for p in path.split("."))
    if len(parts) == 1:
        found = [p for p, _ in nnx.iter_modules(model) if p and p[-1] == parts[0]]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ValueError(
                f"`path` {path!r} names several submodules {found}; give a dotted path."
            )
    return parts


def parent_and_key(model, parts: tuple):
    """The object holding the last step of the tuple path ``parts``, and that step."""
    parent = model
    for p in parts[:-1]:
        parent = get_child(parent, p)
    return parent, parts[-1]


def get_child(parent, key):
    """``parent[key]`` for an int key (a list index), else ``getattr(parent, key)``."""
    return parent[key] if isinstance(key, int) else getattr(parent, key)


def set_child(parent, key, value) -> None:
    """Sets ``parent[key]`` for an int key (a list index), else ``setattr(parent, key, ...)``."""
    if isinstance(key, int):
        parent[key] = value
    else:
        setattr(parent, key, value)


def get_submodule(model: nnx.Module, path) -> nnx.Module:
    """The submodule of ``model`` at ``path`` (dotted string, tuple or unique name)."""
    parts = resolve_path(model, path)
    try:
        parent, key = parent_and_key(model, parts)
        sub = get_child(parent, key)
    except (AttributeError, IndexError, KeyError, TypeError):
        names = [".".join(map(str, p)) for p, _ in nnx.iter_modules(model) if p]
        raise ValueError(
            f"`path` {path!r} does not name a submodule of {type(model).__name__}; "
            f"submodules: {names}."
        ) from None
    if not callable(sub):
        raise ValueError(f"`path` {path!r} names a {type(sub).__name__}, not a callable.")
    return sub


@contextlib.contextmanager
def _swapped(model, parts, wrapper_factory):
    parent, key = parent_and_key(model, parts)
    original = get_child(parent, key)
    set_child(parent, key, wrapper_factory(original))
    try:
        yield original
    finally:
        set_child(parent, key, original)


class _Recorder(nnx.Module, pytree=False):
    """Calls ``inner`` and appends ``(args, kwargs, output)`` to ``log``."""

    def __init__(self, inner, log: list):
        self.inner = inner
        self.log = log

    def __call__(self, *args, **kwargs):
        out = self.inner(*args, **kwargs)
        self.log.append((args, out))
        return out


@dataclasses.dataclass(frozen=True)
class Captured:
    """Inputs and outputs of a submodule over all its calls during one model run.

    Attributes:
      inputs: the first positional argument of each call, concatenated along axis 0 (all
        positional arguments, as a tuple of arrays, when the submodule takes several).
      outputs: its outputs, concatenated along axis 0.
      n_calls: how often the submodule was called.
      result: what the whole model returned.
    """

    inputs: np.ndarray | tuple[np.ndarray, ...]
    outputs: np.ndarray
    n_calls: int
    result: object

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """``(inputs, outputs)`` as 2-D arrays: leading axes flattened, shape (n, d), (n, k)."""
        if isinstance(self.inputs, tuple):
            raise ValueError("`flat` needs a submodule with a single positional input.")
        x, y = self.inputs, self.outputs
        return x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1] if y.ndim > 1 else 1)


def capture(model: nnx.Module, path, *args, **kwargs) -> Captured:
    """Runs ``model(*args, **kwargs)`` recording the submodule at ``path``.

    Args:
      model: a Flax NNX module; it is left exactly as it was (also on error).
      path: the submodule, as a dotted path (``"edge"``, ``"edge.layers.0"``), a tuple
        path, or a bare attribute name that occurs once in the model.
      *args, **kwargs: the model's inputs. The model must call the submodule eagerly (not
        inside ``jax.jit``/``nnx.vmap``), so the recorded values are concrete arrays.

    Example:
      >>> mlp = nnx.Sequential(nnx.Linear(3, 4, rngs=nnx.Rngs(0)), nnx.relu)
      >>> rec = capture(mlp, "layers.0", jax.numpy.ones((5, 3)))
      >>> rec.inputs.shape, rec.outputs.shape, rec.n_calls
      ((5, 3), (5, 4), 1)
    """
    if not isinstance(model, nnx.Module):
        raise ValueError(f"`model` must be a Flax NNX module, got {type(model).__name__}.")
    parts = resolve_path(model, path)
    get_submodule(model, parts)  # a readable error before anything is swapped
    log: list = []
    with _swapped(model, parts, lambda inner: _Recorder(inner, log)):
        result = model(*args, **kwargs)
    if not log:
        raise ValueError(f"`path` {path!r}: the submodule was not called by the model.")
    leaves = jax.tree_util.tree_leaves([(a, o) for a, o in log])
    if any(isinstance(v, jax.core.Tracer) for v in leaves):
        raise ValueError(
            f"`path` {path!r}: the submodule was called inside a JAX transformation (jit, "
            "vmap, ...), so its values are tracers; capture needs an eager call."
        )
    n_args = len(log[0][0])
    if n_args == 0:
        raise ValueError(f"`path` {path!r}: the submodule was called without arguments.")
    ins = tuple(np.concatenate([np.asarray(a[i]) for a, _ in log]) for i in range(n_args))
    outs = np.concatenate([np.asarray(o) for _, o in log])
    return Captured(ins[0] if n_args == 1 else ins, outs, len(log), result)

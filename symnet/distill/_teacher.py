"""Teachers as NumPy functions: plain callables, Flax NNX modules and PyTorch modules.

A *teacher* is the model being distilled, ``t: R^d -> R^k``. Whatever its kind, distillation
only needs ``T(X)``, shape (n, k) or (n,), for a float64 array ``X`` of shape (n, d).
PyTorch is optional: a torch module is recognised only when ``torch`` has already been
imported by the caller (``sys.modules``), so symnet never imports it itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from flax import nnx

from symnet.distill._arrays import float64_array

__all__ = ["as_numpy_teacher", "query"]


def _is_torch_module(obj) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _torch_fn(module) -> Callable[[np.ndarray], np.ndarray]:
    torch = sys.modules["torch"]

    def f(X: np.ndarray) -> np.ndarray:
        # Evaluation mode for the call only (dropout/batch-norm would make a noisy teacher);
        # the caller's training flags are restored afterwards.
        modes = [(m, m.training) for m in module.modules()]
        module.eval()
        try:
            with torch.no_grad():
                out = module(torch.as_tensor(np.asarray(X), dtype=torch.float32))
        finally:
            for m, training in modes:
                m.training = training
        return out.detach().cpu().double().numpy()

    return f


def _nnx_fn(module: nnx.Module) -> Callable[[np.ndarray], np.ndarray]:
    def f(X: np.ndarray) -> np.ndarray:
        return np.asarray(module(jnp.asarray(X, dtype=jnp.float32)), dtype=np.float64)

    return f


def as_numpy_teacher(teacher) -> Callable[[np.ndarray], np.ndarray]:
    """Wraps ``teacher`` as ``f(X: float64 (n, d)) -> ndarray``.

    Args:
      teacher: a callable on NumPy arrays, a Flax NNX module (called on float32 ``jnp``
        arrays) or a PyTorch ``nn.Module`` (called on float32 tensors under
        ``torch.no_grad()``, in eval mode).

    Example:
      >>> f = as_numpy_teacher(lambda X: X[:, 0] * 2)
      >>> f(np.ones((2, 1)))
      array([2., 2.])
    """
    if _is_torch_module(teacher):
        return _torch_fn(teacher)
    if isinstance(teacher, nnx.Module):
        return _nnx_fn(teacher)
    if callable(teacher):
        return lambda X: np.asarray(teacher(X))
    raise TypeError(
        "`teacher` must be a callable on arrays, a Flax NNX module or a PyTorch module, "
        f"got {type(teacher).__name__}."
    )


def query(fn: Callable[[np.ndarray], np.ndarray], X: np.ndarray, n_outputs: int | None = None):
    """Calls the teacher on ``X`` (n, d) and checks its answer: returns float64 (n, k).

    Raises:
      ValueError: the teacher returned the wrong number of rows, more than two dimensions,
        a different number of outputs than before, or non-finite values.
    """
    raw = fn(X)
    out = float64_array(raw, f"`teacher` must return a numeric array, got {type(raw).__name__}")
    if out.ndim == 0 or out.shape[0] != X.shape[0]:
        raise ValueError(
            f"`teacher` must return one row per query point: asked for {X.shape[0]} rows, "
            f"got an output of shape {out.shape}."
        )
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2:
        raise ValueError(
            f"`teacher` must return shape (n,) or (n, n_outputs), got shape {out.shape}."
        )
    if n_outputs is not None and out.shape[1] != n_outputs:
        raise ValueError(
            f"`teacher` returned {out.shape[1]} outputs, earlier calls returned {n_outputs}."
        )
    bad = ~np.isfinite(out)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(
            f"`teacher` returned non-finite values (NaN or inf) at {int(bad.any(1).sum())} of "
            f"{X.shape[0]} query points, e.g. {out[row].tolist()} at X = {X[row].tolist()}; "
            "restrict the `domain` (or `X`, `sampler`) to where the teacher is defined."
        )
    return out

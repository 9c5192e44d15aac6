"""Active querying: ask the teacher where the current formula is most wrong.

After a fit, a candidate pool ``P`` is drawn and the teacher evaluated on it. Each candidate
gets the disagreement

    D(x) = max_k |f_k(x) - t_k(x)| / s_k,

with ``s_k`` the standard deviation of the teacher's output ``k`` on the pool (outputs on
different scales count alike). The ``n`` candidates with the largest ``D`` join the training
set: LIES' worst-region oversampling, with the teacher as the oracle.
"""

from __future__ import annotations

import numpy as np

__all__ = ["disagreement", "most_disagreeing"]


def disagreement(teacher: np.ndarray, formula: np.ndarray) -> np.ndarray:
    """``D`` per row for teacher and formula values of shape (n, k) (or (n,)); shape (n,).

    Non-finite formula values count as infinitely wrong.
    """
    t = np.asarray(teacher, np.float64).reshape(len(teacher), -1)
    f = np.asarray(formula, np.float64).reshape(len(formula), -1)
    scale = t.std(0)
    scale = np.where(scale > 0, scale, 1.0)
    with np.errstate(all="ignore"):
        d = np.abs(f - t) / scale
    return np.where(np.isfinite(d), d, np.inf).max(1)


def most_disagreeing(teacher: np.ndarray, formula: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` rows with the largest disagreement, largest first.

    Example:
      >>> most_disagreeing(np.array([0.0, 1.0, 2.0]), np.array([0.0, 3.0, 2.5]), 2)
      array([1, 2])
    """
    d = disagreement(teacher, formula)
    n = min(int(n), len(d))
    # stable sort on -d: ties keep pool order, so the choice is reproducible
    return np.argsort(-d, kind="stable")[:n]

r"""How far the estimated derivatives can be trusted: per-sample weights, each state's
selection tolerance, and whether the data are noisy (:class:`SymbolicODE`'s step 1).

The tolerance of state :math:`i` is a normalised loss,

.. math::
    \tau_i = \frac{\sum_k w_{ki} (D_{ki}^2 + N_{ki})}
                   {\sum_k w_{ki} (\dot x_{ki} - \bar{\dot x}_i)^2},

with :math:`w` the :func:`~symnet.dynamics.reliability` weights, :math:`D` the
:func:`~symnet.dynamics.disagreement` (the discretisation's error) and :math:`N` the
:func:`~symnet.dynamics.noise_error` (the noise's): formulas whose losses differ by less
cannot be told apart by the estimated derivatives. The data count as noisy where
:math:`\sum_k w N > \sum_k w D^2` in some state.
"""

from __future__ import annotations

import numpy as np

from symnet.dynamics._derivatives import disagreement, noise_error, reliability


def trust(data, dots, method) -> tuple[np.ndarray, list[float], bool]:
    r"""The estimated derivatives' weights ``(n_rows, n_states)``
    (:func:`~symnet.dynamics.reliability`), each state's error level: the weighted
    mean of the squared :func:`~symnet.dynamics.disagreement` (the discretisation's
    error) plus :func:`~symnet.dynamics.noise_error` (the noise's) over the weighted
    variance of its derivative, a normalised loss below which formulas cannot be told
    apart by the estimated derivatives (the selection's tolerance), and whether the
    noise's part exceeds the discretisation's in some state (noisy data, where
    ``weak="auto"`` uses the weak form)."""
    pairs = list(zip(data.x, data.t, strict=True))
    D = [disagreement(a, ts, method) for a, ts in pairs]
    W = np.vstack([reliability(d, v) for d, v in zip(D, dots, strict=True)])
    N = np.vstack([noise_error(a, ts, method) for a, ts in pairs])
    D2, V = np.vstack(D) ** 2, np.vstack(dots)
    tol, noisy = [], False
    for k in range(V.shape[1]):
        w = W[:, k]
        var = np.average((V[:, k] - np.average(V[:, k], weights=w)) ** 2, weights=w)
        noise, grid = np.average(N[:, k], weights=w), np.average(D2[:, k], weights=w)
        tol.append(float((noise + grid) / var) if var > 0 else 0.0)
        noisy = noisy or bool(noise > grid)
    return W, tol, noisy


def widest(user, tol: list[float]) -> list[float]:
    """Per state, the larger of the user's ``selection_tolerance`` (None, a number or one
    per state) and ``tol``."""
    if user is None:
        return tol
    users = list(user) if isinstance(user, (list, tuple, np.ndarray)) else [user] * len(tol)
    if len(users) != len(tol):
        raise ValueError(
            f"`regressor`'s `selection_tolerance` must give one tolerance per state "
            f"({len(tol)}), got {len(users)}."
        )
    return [max(float(u), t) for u, t in zip(users, tol, strict=True)]

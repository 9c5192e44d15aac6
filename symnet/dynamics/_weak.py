r"""The weak (integral) form: right-hand sides judged by integrals, not derivatives.

For a smooth test function :math:`\varphi_w` vanishing at both ends of a window
:math:`[t_a, t_b]`, integration by parts turns the ODE :math:`\dot x_i = f_i(\mathbf x,
\mathbf u)` into

.. math::  \int_{t_a}^{t_b} \varphi_w f_i\,dt = -\int_{t_a}^{t_b} \dot\varphi_w\, x_i\,dt,

where no derivative of the data appears: noise enters the right side through an average
weighted by :math:`\dot\varphi_w` (not divided by a time step) and the left side through
an average of :math:`f_i`. Here :math:`\varphi_w = ((t - t_a)(t_b - t))^p`, scaled to 1 at
its peak (``POWER``), on windows of ``WINDOW`` samples starting every
``WINDOW // STRIDE`` samples, integrated by the trapezoid rule on the (possibly
irregular) samples: rows of a sparse :math:`Q` and a vector :math:`b`, the residual
:math:`r = Q f_i(X; \theta) - b` (weak SINDy's recipe, Messenger and Bortz 2021, with our
formulas in place of a fixed library). With ``SymbolicODE(weak=True)`` every formula on a
state's front (found by the search on estimated derivatives) has its constants refit to
:math:`\min_\theta \|r\|^2` (float64, :func:`symnet._refit.refit_operator`), and each
state's formula is chosen by the regressor's selection rule on the weak loss
:math:`\|r\|^2 / \|b - \bar b\|^2`: structures from the search, constants and choice from
the integrals. On a damped oscillator at 1 % and 5 % noise the weak refit's constants are
3-4 times closer to the truth than a refit on spline derivatives (``tests``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from symnet._refit import evaluate, refit_operator
from symnet.search import Candidate, pareto_front, select

__all__ = ["WINDOW", "weak_select", "weak_windows"]

#: Samples per window.
WINDOW = 21
#: Windows start every ``WINDOW // STRIDE`` samples.
STRIDE = 4
#: Power ``p`` of the test functions ``((t - t_a) (t_b - t))**p``.
POWER = 4
#: The test functions are integrated on a grid this many times finer than the samples.
FINE = 16


def weak_windows(ts, xs) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """``(Q, B)``: the weights of the integrals of every window of the trajectories
    (times ``ts``, states ``xs``, lists of arrays) over their pooled samples, one row per
    window, and the matching right sides ``B`` (windows x states) (module doc)."""
    rows, cols, vals, B = [], [], [], []
    offset = 0
    for t, x in zip(ts, xs, strict=True):
        t = np.asarray(t, np.float64)
        n = len(t)
        size = min(WINDOW, n)
        step = max(size // STRIDE, 1)
        for a in range(0, n - size + 1, step):
            s = slice(a, a + size)
            q_phi, q_dphi = _weights(t[s])
            rows += [len(B)] * size
            cols += list(range(offset + a, offset + a + size))
            vals += list(q_phi)
            B.append(-q_dphi @ np.asarray(x[s], np.float64))
        offset += n
    Q = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(len(B), offset))
    return Q, np.array(B)


def _weights(tt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``q`` with ``q @ g(tt) = int phi * g_lin dt`` (and the same with phi') for
    the window ``[tt[0], tt[-1]]``, ``g_lin`` the piecewise-linear interpolant of samples
    at ``tt``: the test function is integrated on a grid ``FINE`` times finer than the
    samples (an irregular grid's coarse gaps would otherwise miss its peak)."""
    lo, hi = tt[0], tt[-1]
    tau = np.linspace(lo, hi, FINE * (len(tt) - 1) + 1)
    u = (tau - lo) * (hi - tau)
    c = (0.25 * (hi - lo) ** 2) ** POWER
    phi = u**POWER / c
    dphi = POWER * u ** (POWER - 1) * (hi + lo - 2 * tau) / c
    trap = np.full(len(tau), tau[1] - tau[0])
    trap[[0, -1]] /= 2
    # hat functions of the samples on the fine grid: H[j, k] = hat_k(tau_j)
    k = np.clip(np.searchsorted(tt, tau, side="right") - 1, 0, len(tt) - 2)
    frac = (tau - tt[k]) / (tt[k + 1] - tt[k])
    H = np.zeros((len(tau), len(tt)))
    H[np.arange(len(tau)), k] = 1 - frac
    H[np.arange(len(tau)), k + 1] += frac
    return (trap * phi) @ H, (trap * dphi) @ H


def _loss(expr, symbols, Z, Q, b) -> float:
    with np.errstate(all="ignore"):
        r = Q @ np.broadcast_to(evaluate(expr, symbols, Z), (Z.shape[0],)) - b
    spread = float(np.sum((b - b.mean()) ** 2)) or 1.0
    return float(np.sum(r * r) / spread) if np.all(np.isfinite(r)) else np.inf


def weak_select(exprs, sizes, symbols, Z, b, Q, rule: str = "best"):
    """``(expr, table)``: the formulas ``exprs`` (one state's front, complexities
    ``sizes``, over ``symbols``, the columns of the pooled samples ``Z``) with their
    constants refit to the weak form ``Q f = b`` of one state (:func:`weak_windows`),
    and the one ``rule`` (:func:`symnet.search.select`) picks on the weak loss;
    ``table``: each refit formula with its weak loss, in the order of ``exprs``."""
    cands, table = [], []
    for i, (expr, size) in enumerate(zip(exprs, sizes, strict=True)):
        refit, _ = refit_operator(expr, symbols, Z, Q, b)
        loss = _loss(refit, symbols, Z, Q, b)
        table.append((refit, loss))
        if np.isfinite(loss):
            cands.append(Candidate(refit, int(size), loss, loss, i))
    if not cands:
        return exprs[-1], table
    front = pareto_front(cands)
    return front[select(front, rule)].expr, table

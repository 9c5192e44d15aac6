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
formulas in place of a fixed library).

Overlapping windows share samples, so white noise of level :math:`\sigma` in the states
reaches :math:`b` correlated: :math:`\operatorname{Cov} b = \sigma^2 C`, :math:`C = Q'
Q'^\top` with :math:`Q'` the rows of :math:`\dot\varphi_w` weights (banded: windows
overlap their neighbours only). The residual is whitened by the banded Cholesky factor
:math:`C = L L^\top`, :math:`\tilde r = L^{-1} r` (the generalised least squares of
WENDy, Bortnik and Messenger 2023, keeping its leading term: the noise reaching
:math:`Q f_i` through :math:`f_i`'s slope is of relative order :math:`(T_w
\partial f_i/\partial x)^2`, :math:`T_w` a window's span), so that for the law
:math:`\|\tilde r\|^2 \approx \sigma^2 \chi^2_{n_w}` whatever the overlap.
With ``SymbolicODE(weak=True)`` every formula on a state's front (found by the search on
estimated derivatives) has its constants refit to :math:`\min_\theta \|\tilde r\|^2`
(float64, :func:`symnet._refit.refit_operator`), and each state's formula is chosen by
the regressor's selection rule on the weak loss :math:`\|\tilde r\|^2 / \min_c
\|\tilde r_c\|^2`, :math:`\tilde r_c` the whitened residual of the best constant:
structures from the search, constants and choice from the integrals. Unwhitened, the
loss of ``9.81 - 0.0021*x**2`` (ODEBench's ode05, 1 % noise, seed 100) was 0.237 against
0.276 for a line (mostly the noise's share of both), and the selection rule took the
line; whitened, 0.0028 against 0.022, and it takes the law. The search's rounded
constants are freed first (:func:`unround`): the whitened loss tells ``39/4`` from
9.81. For the law the whitened loss is about the noise's share, :math:`\sum_w
\hat\sigma^2` (``WeakForm.noise``, :func:`~symnet.dynamics.noise_level`) over the
loss's unit: on ODEBench at 1 % noise (seed 100, every other system, the true
right-hand sides refit) a median 1.24 times that, quartiles 1.04-2.6 (the neglected
slope term and the quadrature of fast states make the rest), so the selection rule's
window reaches ``NOISE_TOLERANCE`` times it: formulas within it are not told apart by
the noise, and the rule's score prefers the simpler (on ode37, van der Pol, the law at
1.4 times the noise's share over a ten-constant surrogate at 0.7). On a damped
oscillator at 1 % and 5 % noise the weak refit's constants are closer to the truth than
a refit on spline derivatives (``tests``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse
import sympy

from symnet._refit import evaluate, refit_operator
from symnet.dynamics._derivatives import noise_level
from symnet.search import Candidate, pareto_front, select

__all__ = ["WINDOW", "WeakForm", "unround", "weak_select", "weak_windows"]

#: Samples per window.
WINDOW = 21
#: Windows start every ``WINDOW // STRIDE`` samples.
STRIDE = 4
#: Power ``p`` of the test functions ``((t - t_a) (t_b - t))**p``.
POWER = 4
#: The test functions are integrated on a grid this many times finer than the samples.
FINE = 16
#: The selection's tolerance in units of the noise's expected weak loss (module doc).
NOISE_TOLERANCE = 2.5


@dataclass(frozen=True)
class WeakForm:
    """The weak form of trajectories: ``Q`` (windows x pooled samples) the integrals'
    weights, ``B`` (windows x states) their right sides, and ``factor`` the banded lower
    Cholesky factor of the noise covariance ``C`` of ``B``'s rows (module doc), in
    :func:`scipy.linalg.solve_banded`'s layout with ``bands`` sub-diagonals."""

    Q: scipy.sparse.csr_matrix
    B: np.ndarray
    factor: np.ndarray
    bands: int
    #: (windows x states): the squared noise level of each window's trajectory
    #: (:func:`~symnet.dynamics.noise_level`), the whitened residual's expected share.
    noise: np.ndarray

    def whiten(self, v: np.ndarray) -> np.ndarray:
        """:math:`L^{-1} v` for ``v`` with one row per window."""
        return scipy.linalg.solve_banded((self.bands, 0), self.factor, v)

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        """The whitened integrals :math:`L^{-1} Q v` of samples ``v``."""
        return self.whiten(self.Q @ v)

    @property
    def shape(self) -> tuple[int, int]:
        return self.Q.shape


def weak_windows(ts, xs) -> WeakForm:
    """The weak form (:class:`WeakForm`) of every window of the trajectories (times
    ``ts``, states ``xs``, lists of arrays), one row per window over their pooled
    samples (module doc)."""
    rows, cols, vals, dvals, B, noise = [], [], [], [], [], []
    offset = 0
    for t, x in zip(ts, xs, strict=True):
        t, x = np.asarray(t, np.float64), np.asarray(x, np.float64).reshape(len(t), -1)
        levels = [noise_level(x[:, k], t) ** 2 for k in range(x.shape[1])]
        n = len(t)
        size = min(WINDOW, n)
        step = max(size // STRIDE, 1)
        for a in range(0, n - size + 1, step):
            s = slice(a, a + size)
            q_phi, q_dphi = _weights(t[s])
            rows += [len(B)] * size
            cols += list(range(offset + a, offset + a + size))
            vals += list(q_phi)
            dvals += list(q_dphi)
            B.append(-q_dphi @ x[s])
            noise.append(levels)
        offset += n
    shape = (len(B), offset)
    Q = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=shape)
    D = scipy.sparse.csr_matrix((dvals, (rows, cols)), shape=shape)
    factor, bands = _banded_cholesky((D @ D.T).tocoo())
    return WeakForm(Q, np.array(B), factor, bands, np.array(noise))


def _banded_cholesky(C: scipy.sparse.coo_matrix) -> tuple[np.ndarray, int]:
    """The lower Cholesky factor of the banded symmetric ``C`` in banded storage
    (``ab[d, j] = L[j + d, j]``), with a relative ``1e-10`` added to the diagonal (windows
    of one trajectory's last samples can nearly coincide), and its number of bands."""
    low = C.row >= C.col
    bands = int(np.max(C.row[low] - C.col[low], initial=0))
    ab = np.zeros((bands + 1, C.shape[0]))
    ab[C.row[low] - C.col[low], C.col[low]] = C.data[low]
    ab[0] += 1e-10 * np.mean(ab[0])
    return scipy.linalg.cholesky_banded(ab, lower=True), bands


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


def _spread(form: WeakForm, b: np.ndarray) -> float:
    """The whitened residual's squared norm for the best constant (the loss's unit)."""
    q = form @ np.ones(form.shape[1])
    return float(np.sum((b - q * (q @ b) / (q @ q)) ** 2)) or 1.0


def _loss(expr, symbols, Z, form: WeakForm, b, spread: float) -> float:
    """The whitened residual's squared norm over ``spread`` (module doc)."""
    with np.errstate(all="ignore"):
        r = form @ np.broadcast_to(evaluate(expr, symbols, Z), (Z.shape[0],)) - b
    return float(np.sum(r * r) / spread) if np.all(np.isfinite(r)) else np.inf


def unround(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with the search's rounded constants free again: every rational (or
    integer other than 0 and +-1) that is a sum's term or a product's coefficient becomes
    a float (exponents stay: ``sqrt``, ``x**2`` are structure). On noisy data the search
    rounds on estimated derivatives (``39/4`` for 9.81); the weak refit and the
    refinement's rounding, which know the noise, decide again."""
    if expr.is_Atom:
        return expr
    args = [unround(a) for a in expr.args]
    if isinstance(expr, (sympy.Add, sympy.Mul)):
        args = [sympy.Float(a) if a.is_Rational and abs(a) not in (0, 1) else a for a in args]
    return expr.func(*args)


def weak_select(exprs, sizes, symbols, Z, k: int, form: WeakForm, rule: str = "best"):
    """``(expr, table)``: the formulas ``exprs`` (one state's front, complexities
    ``sizes``, over ``symbols``, the columns of the pooled samples ``Z``) with their
    constants refit to the whitened weak form of state ``k`` (``form``, from
    :func:`weak_windows`), and the one ``rule`` (:func:`symnet.search.select`) picks on
    the weak loss, within ``NOISE_TOLERANCE`` times the noise's expected loss (module
    doc); ``table``: each refit formula with its weak loss, in the order of ``exprs``."""
    b = form.whiten(form.B[:, k])
    spread = _spread(form, b)
    cands, table = [], []
    for i, (expr, size) in enumerate(zip(exprs, sizes, strict=True)):
        refit, _ = refit_operator(unround(expr), symbols, Z, form, b)
        loss = _loss(refit, symbols, Z, form, b, spread)
        table.append((refit, loss))
        if np.isfinite(loss):
            cands.append(Candidate(refit, int(size), loss, loss, i))
    if not cands:
        return exprs[-1], table
    front = pareto_front(cands)
    tolerance = NOISE_TOLERANCE * float(np.sum(form.noise[:, k])) / spread
    return front[select(front, rule, min(tolerance, 1.0))].expr, table

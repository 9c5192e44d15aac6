r"""Time derivatives of measured trajectories, by well-kept libraries.

A trajectory is states :math:`x(t_k)` at strictly increasing times :math:`t_k` (uniform
or not). :func:`differentiate` estimates :math:`\dot x(t_k)` state by state with one of
``METHODS``:

* ``"finite_difference"``: second-order centred differences on the (non-uniform) grid,
  one-sided at the ends (``numpy.gradient(x, t, edge_order=2)``). Exact for quadratics;
  amplifies noise by about :math:`\sigma / \Delta t`.
* ``"savgol"``: Savitzky–Golay, the derivative of the least-squares cubic through the
  ``SAVGOL_HALF_WIDTH`` samples on each side of a point (``derivative.SavitzkyGolay``
  with an index window, so irregular grids are fine; windows are cut at the ends).
* ``"spline"``: the derivative of the cubic smoothing spline

  .. math:: \min_f \sum_k (x_k - f(t_k))^2 + \lambda \int f''(t)^2\,dt,

  (``scipy.interpolate.make_smoothing_spline``), the Kalman (Rauch–Tung–Striebel)
  smoother of a state whose derivative is a Brownian motion — ``derivative.Kalman``'s
  model — with its noise ratio set from the data instead of by hand. :math:`\lambda` is
  chosen by generalised cross-validation unless that fit's residual RMS exceeds
  ``NOISE_FACTOR`` times the noise :math:`\hat\sigma` estimated from the data; then
  :math:`\lambda` is the largest whose residual is at most that (bisection in
  :math:`\log\lambda`): GCV over-smooths noise-free fast or chaotic states into nearly
  straight lines (derivative errors of 100 % on ODEBench's chaotic systems). The noise
  estimate is the MAD of the fourth differences, :math:`\hat\sigma = 1.4826\,
  \mathrm{MAD}(\Delta^4 x) / \sqrt{70}` (:math:`\mathrm{Var}\,\Delta^4 \epsilon =
  \binom{8}{4} \sigma^2` for white noise; a smooth signal's fourth differences are
  negligible at fine sampling).

``DEFAULT_METHOD`` is the one measured best at 1 % noise on ODEBench
(``experiments/derivatives.py``).

No estimator resolves a transient faster than the sampling (``x' = -x**3`` from
``x = 3.4`` at a step of 0.02: the first derivatives are off by 20 %), and a least-squares
search fits those few errors with a surrogate instead of the law. :func:`disagreement`
and :func:`reliability` flag them: where the spline's derivative :math:`f'(t_k)` and
the centred differences of its own values :math:`\delta_k = \mathrm{FD}(f)(t_k)` disagree by
:math:`D_k = |f'(t_k) - \delta_k|` (both are exact where the trajectory is locally
cubic at the step's scale), the sample's weight is

.. math:: w_k = 1 / (1 + (D_k / s)^4), \qquad
          s = \max(\mathrm{RELIABLE\_MEDIANS} \cdot \mathrm{median}_k D_k,
                    \mathrm{RELIABLE\_FLOOR} \cdot \mathrm{rms}_k f'(t_k)),

per state. On ODEBench's 63 systems (seed 100) the weighted RMS of the derivative errors
falls from 6.6e-4 to 4.3e-5 of their spread at noise 0 (median over systems; never up),
and from 6.4e-2 to 5.1e-2 at 1 % noise (a square instead of the fourth power: 8.4e-5,
5.3e-2; a bad sample then still weighs :math:`s^2`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from derivative import SavitzkyGolay
from scipy.interpolate import make_smoothing_spline

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "differentiate",
    "disagreement",
    "noise_error",
    "reliability",
    "smooth",
]

#: Samples on each side of a point in the ``"savgol"`` window.
SAVGOL_HALF_WIDTH = 7
#: Polynomial order of the ``"savgol"`` fit.
SAVGOL_ORDER = 3
#: The ``"spline"`` fit's residual RMS is kept at most this many noise estimates.
NOISE_FACTOR = 2.0
#: Order of the differences the noise is estimated from.
NOISE_DIFFERENCES = 4
#: :func:`reliability`'s scale: this many median disagreements ...
RELIABLE_MEDIANS = 3.0
#: ... and at least this share of the derivative's RMS.
RELIABLE_FLOOR = 1e-3
#: Bisection steps recovering the GCV spline's lambda (in log10, from a range of 40
#: decades: 40 / 2**22, 1e-5 decades).
LAMBDA_BISECTIONS = 22
#: Noise probes of :func:`noise_error`.
NOISE_PROBES = 32


def _finite_difference(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.gradient(x, t, axis=0, edge_order=2)


def _savgol(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    half = min(SAVGOL_HALF_WIDTH, (len(t) - 1) // 2)
    if half < 2:  # too few samples for a cubic window: differences
        return _finite_difference(x, t)
    method = SavitzkyGolay(order=min(SAVGOL_ORDER, 2 * half), left=half, right=half, iwindow=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # RankWarning of a truncated end window
        return np.column_stack([method.d(x[:, j], t) for j in range(x.shape[1])])


def noise_level(x: np.ndarray, t: np.ndarray | None = None) -> float:
    r""":math:`\hat\sigma` of one state's samples ``x`` at times ``t`` (module doc; None:
    evenly spaced). On an irregular grid the fourth divided differences
    :math:`d_k = \sum_j c_{kj} x_{k+j}` are normalised to unit noise gain,
    :math:`d_k / \|c_k\|`, before the MAD (for even spacing this is the module doc's
    formula; plain differences of irregular samples are not small on a smooth state)."""
    k = NOISE_DIFFERENCES
    x = np.asarray(x, dtype=np.float64)
    if t is None:
        d = np.diff(x, k) / math.sqrt(math.comb(2 * k, k))
    else:
        T = np.lib.stride_tricks.sliding_window_view(np.asarray(t, np.float64), k + 1)
        gaps = T[:, :, None] - T[:, None, :]
        gaps[:, np.arange(k + 1), np.arange(k + 1)] = 1.0
        c = 1.0 / np.prod(gaps, axis=2)  # c_kj = 1 / prod_{i != j} (t_j - t_i)
        X = np.lib.stride_tricks.sliding_window_view(x, k + 1)
        d = np.sum(c * X, axis=1) / np.linalg.norm(c, axis=1)
    return float(1.4826 * np.median(np.abs(d - np.median(d))))


def _rms(f, t, x) -> float:
    return float(np.sqrt(np.mean((f(t) - x) ** 2)))


def _smoothing_spline(t: np.ndarray, x: np.ndarray):
    r"""The smoothing spline of one state (module doc) and its :math:`\lambda` (None
    where generalised cross-validation chose it: :func:`_lam_of` recovers it)."""
    f = make_smoothing_spline(t, x)
    bound = NOISE_FACTOR * noise_level(x, t)
    if _rms(f, t, x) <= bound:
        return f, None
    lo, _ = _bisect_lam(t, x, bound, 40)
    return make_smoothing_spline(t, x, lam=10.0**lo), 10.0**lo


def _lam_of(t: np.ndarray, x: np.ndarray, residual: float) -> float:
    r"""The :math:`\lambda` whose spline leaves the residual RMS ``residual`` (the GCV
    choice, which scipy does not return)."""
    lo, hi = _bisect_lam(t, x, residual, LAMBDA_BISECTIONS)
    return 10.0 ** (0.5 * (lo + hi))


def _bisect_lam(t: np.ndarray, x: np.ndarray, residual: float, steps: int):
    r"""``(lo, hi)``: :math:`\log_{10}\lambda` bracketing the largest smoothing whose
    residual RMS is at most ``residual`` (it grows with :math:`\lambda`), after
    ``steps`` bisections of [-30, 10]."""
    lo, hi = -30.0, 10.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if _rms(make_smoothing_spline(t, x, lam=10.0**mid), t, x) > residual:
            hi = mid
        else:
            lo = mid
    return lo, hi


def _spline(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        out[:, j] = _smoothing_spline(t, x[:, j])[0].derivative()(t)
    return out


#: The estimators by name: ``f(x (n, d), t (n,)) -> x_dot (n, d)``.
METHODS = {
    "finite_difference": _finite_difference,
    "savgol": _savgol,
    "spline": _spline,
}
#: The estimator used unless ``differentiation=`` says otherwise.
DEFAULT_METHOD = "spline"


def differentiate(x, t, method: str = DEFAULT_METHOD) -> np.ndarray:
    """Estimates :math:`\\dot x` of one trajectory (module doc).

    Args:
        x: states, shape ``(n, d)`` (or ``(n,)`` for one state), ``n >= 5``.
        t: the ``n`` strictly increasing times.
        method: a key of :data:`METHODS`.

    Returns:
        The derivatives, shape ``(n, d)`` (``(n,)`` for a 1-D ``x``), float64.

    Example:
        >>> t = np.linspace(0.0, 1.0, 21)
        >>> x = np.column_stack([t**2, np.sin(t)])
        >>> np.allclose(differentiate(x, t, "finite_difference")[:, 0], 2 * t)
        True
    """
    if method not in METHODS:
        raise ValueError(f"differentiation must be one of {sorted(METHODS)}, got {method!r}")
    x = np.asarray(x, dtype=np.float64)
    flat = x.ndim == 1
    x2 = x[:, None] if flat else x
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1 or len(t) != len(x2) or len(t) < 5:
        raise ValueError(
            f"t must hold one time per sample (>= 5 samples), got {t.shape} for x {x.shape}"
        )
    out = METHODS[method](x2, t)
    return out[:, 0] if flat else out


def smooth(x: np.ndarray, t: np.ndarray, method: str = DEFAULT_METHOD) -> np.ndarray:
    """The states the estimator ``method`` differentiates: the smoothing spline's values
    for ``"spline"``, the samples themselves otherwise. ``x`` ``(n, d)``, ``t`` ``(n,)``."""
    x = np.asarray(x, dtype=np.float64)
    if method != "spline":
        return x.copy()
    t = np.asarray(t, dtype=np.float64)
    return np.column_stack([_smoothing_spline(t, x[:, j])[0](t) for j in range(x.shape[1])])


def noise_error(x, t, method: str = DEFAULT_METHOD, *, seed: int = 0) -> np.ndarray:
    r"""The squared error ``(n, d)`` that white noise passes into ``method``'s derivative
    estimates of one trajectory ``x`` ``(n, d)`` at times ``t``: per state,
    :math:`\mathbb E[(L\epsilon)_k^2]` for noise :math:`\epsilon` of the level
    :math:`\hat\sigma` estimated from the samples (module doc), with :math:`L` the
    estimator, linear in the data once its smoothing is fixed (the spline's
    :math:`\lambda` held), averaged over ``NOISE_PROBES`` draws (``seed``); for the spline
    plus the squared bias of re-smoothing its own curve. On noise-free samples
    :math:`\hat\sigma` is about 0 and so is this; at 1 % noise on ODEBench (seed 100,
    every fourth system, weighted by :func:`reliability`) its ratio to the estimates'
    actual squared error has median 1.08 and quartiles 0.79-1.40, where
    :func:`disagreement`, the discretisation's part, is about 1e-4 of it
    (``python -m experiments.noise_calibration``).

    Example:
        >>> t = np.linspace(0.0, 10.0, 512)
        >>> x = np.sin(t)[:, None] + 0.01 * np.random.default_rng(0).normal(size=(512, 1))
        >>> actual = np.mean((differentiate(x, t) - np.cos(t)[:, None]) ** 2)
        >>> bool(0.3 < np.mean(noise_error(x, t)) / actual < 3)
        True
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    rng = np.random.default_rng(seed)
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        probes = noise_level(x[:, j], t) * rng.normal(size=(len(t), NOISE_PROBES))
        if method == "spline":
            f, lam = _smoothing_spline(t, x[:, j])
            if lam is None:
                lam = _lam_of(t, x[:, j], _rms(f, t, x[:, j]))
            base = f(t)[:, None]  # column 0: the re-smoothing's bias
            g = make_smoothing_spline(t, np.hstack([base, base + probes]), lam=lam)
            d = g.derivative()(t) - f.derivative()(t)[:, None]
            out[:, j] = np.mean(d[:, 1:] ** 2, axis=1) + d[:, 0] ** 2
        else:
            out[:, j] = np.mean(METHODS[method](probes, t) ** 2, axis=1)
    return out


def disagreement(x: np.ndarray, t: np.ndarray, method: str = DEFAULT_METHOD) -> np.ndarray:
    r""":math:`D_k = |f'(t_k) - \mathrm{FD}(f)(t_k)|` ``(n, d)`` of one trajectory ``x``
    ``(n, d)`` at times ``t`` for the ``"spline"`` estimate (module doc): an upper bound
    of its error where the trajectory is smooth at the sampling's scale (on ODEBench at
    noise 0 the weighted mean of :math:`D^2` exceeds the squared error in 9 states of
    10); zeros for the other methods, which have no smooth curve to compare with."""
    x = np.asarray(x, dtype=np.float64)
    if method != "spline":
        return np.zeros_like(x)
    t = np.asarray(t, dtype=np.float64)
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        f = _smoothing_spline(t, x[:, j])[0]
        out[:, j] = np.abs(f.derivative()(t) - np.gradient(f(t), t, edge_order=2))
    return out


def reliability(D: np.ndarray, x_dot: np.ndarray) -> np.ndarray:
    r"""Weights ``(n, d)`` in (0, 1] of estimated derivatives ``x_dot`` ``(n, d)`` whose
    :func:`disagreement` is ``D``: :math:`1 / (1 + (D_k / s)^4)` per state (module doc).

    Example:
        >>> t = np.linspace(0.0, 10.0, 512)
        >>> x = (1 / np.sqrt(2 * t + 1 / 3.4**2))[:, None]  # x' = -x**3 from 3.4
        >>> w = reliability(disagreement(x, t), differentiate(x, t))
        >>> bool(w[0, 0] < 1e-3 < 0.5 < w[100:, 0].min())
        True
    """
    med = RELIABLE_MEDIANS * np.median(D, axis=0)
    s = np.maximum(med, RELIABLE_FLOOR * np.sqrt(np.mean(x_dot**2, axis=0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1.0 / (1.0 + (D / s) ** 4)
    return np.where(s > 0, w, 1.0)

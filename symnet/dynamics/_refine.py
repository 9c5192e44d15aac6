r"""Trajectory refinement: a system's constants refit against the trajectories themselves.

The search fits each right-hand side to *estimated* derivatives, whose errors (smoothing
bias, noise) pass into the constants. Refinement refits all constants :math:`\theta` of
the system at once against the measured states, by integrating it (diffrax, float64):
multiple shooting over short windows, so that a chaotic system, whose long trajectories
diverge from any model, stays fittable. Each trajectory is cut into windows of
``WINDOW`` samples (consecutive windows share an end sample; at most ``MAX_WINDOWS``,
evenly spread); window :math:`w` starts from the smoothed state
:math:`\tilde{\mathbf x}(t_{w,0})` (:func:`symnet.dynamics.smooth`) or from the sample
itself, whichever fits better after the refit, and the starts :math:`\mathbf x_{w,0}` are
refit with the constants (multiple shooting's unknowns: a start's error, a smoother's
bias or the sample's noise, would otherwise pass into the constants: on ODEBench's
``ode01`` at 1 % noise the slope came out 2 % off from fixed smoothed starts, 3e-5 from
fitted ones):

.. math::
    \min_{\theta, \{\mathbf x_{w,0}\}} \sum_w \sum_k \sum_i
    \Big(\frac{\hat x_i(t_{w,k}; \theta, \mathbf x_{w,0}) - x_i(t_{w,k})}{s_i}\Big)^2,

with :math:`s_i` the spread of state :math:`i`, by Levenberg–Marquardt (optimistix;
Jacobians by forward-mode differentiation through the solver). The refined constants
are kept only if this windowed error drops (the rounding below holds the fitted starts).
Then each constant, smallest first, takes 0 (a spurious small term goes) or else, of the
values of :func:`symnet._rounding.simpler_values` (pinned fractions such as ``21/10``),
the one that fits best among those that keep the windowed error :math:`E` (a mean over
:math:`N` scaled residuals) within the bound

.. math::
    E_0 + (\mathrm{SLACK} - 1) \max(E_0 - \nu, 0) + \chi^2_{k}\,\nu / N + \mathrm{FLOOR},

the others held (each trial is one evaluation of the compiled windowed solve), with
:math:`E_0` the better system's error, :math:`\nu = \mathrm{mean}_i \hat\sigma_i^2 /
s_i^2` the error the samples' noise alone leaves (:func:`symnet.dynamics._derivatives.
noise_level`) and :math:`\chi^2_k` the ``ROUNDING_LEVEL`` quantile of the chi-square
law with :math:`k` degrees of freedom, :math:`k` the constants rounded so far: the
model's own error may grow by ``ROUNDING_SLACK`` (the solver's imprecision on
noise-free data), the noise's part only as much as a likelihood-ratio test of the
rounded values allows (5 % of a noise-dominated error would let a 1 % noise hide
wrong simple numbers such as ``-9*x/2``).
Each trial moves the constants not yet rounded (and the starts) by one Gauss–Newton
step, :math:`\Delta z_F = -J_F^+ J_k \delta` (forward-difference Jacobian at the
refined values, no new compile), so correlated constants, an intercept and a slope, are
rounded together instead of each being refused while the other is held. After the
simpler values, a constant's short decimal (``DECIMAL_DIGITS`` significant digits:
``0.4302`` -> ``43/100``, and three digits, ``1.838`` -> ``46/25``, only when nothing
shorter passed: a noisy fit pins a constant no closer than its error, so a value within
it loses nothing the data can tell) is tried when within ``GATE_ERRORS`` of its
standard errors
(:math:`\sqrt{\mathrm{diag}(E_0 (J^\top J)^{-1})}`): a noisy fit pins a constant only
that far, and the bound judges it.

With ``time_left``, the refinement keeps to it: one evaluation of the windowed solve is
timed after its compile, Levenberg–Marquardt gets only the steps that fit in the time
left (a step costs about one evaluation per constant plus one; its compile is taken as
``COMPILE_FACTOR`` times the solve's), and is skipped below ``MIN_STEPS``; further starts
and rounding trials stop at the deadline.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import sympy
from scipy.stats import chi2

from symnet._rounding import FRACTION_RTOL, simpler_values
from symnet.dynamics._derivatives import noise_level
from symnet.dynamics._simulate import lifted_field, solve

__all__ = ["MAX_WINDOWS", "WINDOW", "refine_system", "shooting_windows"]

#: Samples per shooting window.
WINDOW = 64
#: Windows at most (evenly spread over all trajectories).
MAX_WINDOWS = 32
#: Levenberg–Marquardt steps at most.
MAX_STEPS = 60
#: A rounded system is kept if its windowed error is at most ``ROUNDING_SLACK`` times the
#: refined one's plus ``ROUNDING_FLOOR`` (a mean squared error relative to the states'
#: spreads: 1e-10 is 1e-5 in RMS, the solver's own accuracy on noise-free data).
ROUNDING_SLACK = 1.05
ROUNDING_FLOOR = 1e-10
#: After the simpler values, a constant's short decimal is tried if within this many of
#: its standard errors (a noisy fit pins a constant only to its error).
GATE_ERRORS = 2.0
#: Significant digits of the short decimals tried, in turn: the longer ones only when no
#: shorter value passed (ODEBench's constants have two or three: ``0.43``, ``1.84``).
DECIMAL_DIGITS = (2, 3)
#: Evaluations per constant kept for the rounding when Levenberg–Marquardt's steps are
#: sized to the time left.
ROUNDING_TRIALS = 40
#: Relative step of the forward-difference Jacobian the rounding uses.
JACOBIAN_STEP = 1e-7
#: The likelihood-ratio test's level for rounding noisy constants (module doc).
ROUNDING_LEVEL = 0.95
#: Under a time limit, Levenberg–Marquardt is skipped if fewer steps than this fit in it.
MIN_STEPS = 5
#: The least-squares program's compile, in multiples of the windowed solve's own compile.
COMPILE_FACTOR = 3.0


def shooting_windows(xs, ts, us, starts):
    """``(T (W, WINDOW), X (W, WINDOW, d), U (W, WINDOW, m) | None, X0 (W, d))``: the
    windows of the module doc (``starts`` are the smoothed states of each trajectory);
    empty (``W == 0``) when every trajectory is shorter than a window."""
    picks = []
    for k, x in enumerate(xs):
        for a in range(0, len(x) - WINDOW + 1, WINDOW - 1):
            picks.append((k, a))
    if not picks:
        return np.zeros((0, WINDOW)), None, None, None
    if len(picks) > MAX_WINDOWS:
        keep = np.unique(np.linspace(0, len(picks) - 1, MAX_WINDOWS).round().astype(int))
        picks = [picks[i] for i in keep]
    sl = [(k, slice(a, a + WINDOW)) for k, a in picks]
    T = np.array([ts[k][s] for k, s in sl]).reshape(len(sl), WINDOW)
    X = np.array([xs[k][s] for k, s in sl]).reshape(len(sl), WINDOW, -1)
    U = None if us is None else np.array([us[k][s] for k, s in sl])
    X0 = np.array([starts[k][s.start] for k, s in sl]).reshape(len(sl), -1)
    return T, X, U, X0


def _residuals(F, T, X, U, scale):
    """``r(theta, X0)``: the scaled differences of every window's simulation from the
    window starts ``X0`` (module doc); a window that blows up gives large finite
    residuals."""
    if U is None:
        windows = jax.vmap(lambda x0, t, th: solve(F, th, x0, t, forward=True), (0, 0, None))
    else:
        windows = jax.vmap(
            lambda x0, t, u, th: solve(F, th, x0, t, u, forward=True), (0, 0, 0, None)
        )

    def resid(theta, X0):
        sims = windows(X0, T, theta) if U is None else windows(X0, T, U, theta)
        r = ((sims - X) / scale).ravel()
        return jnp.where(jnp.isfinite(r), r, 1e6)  # a blown-up window: a large residual

    return resid


def _error(resid, theta, X0) -> float:
    r = np.asarray(resid(jnp.asarray(theta), jnp.asarray(X0)))
    return float(np.mean(r**2))


def _affordable_steps(resid, z, X0, compile_s: float, deadline: float | None) -> int:
    """Levenberg–Marquardt steps over the unknowns ``z`` (the constants, then the
    windows' starts ``X0``) that fit before ``deadline`` (module doc)."""
    if deadline is None:
        return MAX_STEPS
    t = time.monotonic()
    _error(resid, z[: len(z) - X0.size], X0)
    evaluation = time.monotonic() - t
    per_step = evaluation * (len(z) + 1)
    rounding = evaluation * (len(z) + ROUNDING_TRIALS * (len(z) - X0.size))
    left = deadline - time.monotonic() - COMPILE_FACTOR * compile_s - rounding
    steps = int(left / max(per_step, 1e-9))
    return min(MAX_STEPS, steps) if steps >= MIN_STEPS else 0


def refine_system(exprs, states, controls, xs, ts, us, starts, time_left=None):
    """The system ``exprs`` (right-hand sides over ``states`` and ``controls``) with its
    constants refit against the trajectories ``xs`` (times ``ts``, controls ``us``) and
    rounded (module doc): ``(exprs, info)``, ``info`` the windowed errors ``before`` and
    ``after`` (``None`` when nothing was refit), whether the refined constants were
    ``kept`` and whether the system was ``simplified``.

    ``starts``: alternatives for the states the windows start from, each one array per
    trajectory (the smoothed states, the samples): each is refit from, and the one
    with the lowest windowed error (before or after the refit) is kept, its index as
    ``info["start"]`` (on noise-free data the samples themselves are exact starts, where
    a smoother's small bias would pass into the constants).

    ``time_left``: seconds the refinement may take (None: no limit; module doc)."""
    deadline = None if time_left is None else time.monotonic() + time_left
    lifted, consts, values, F = lifted_field(exprs, states, controls)
    T, X, U, X0 = shooting_windows(xs, ts, us, starts[0])
    info = {"before": None, "after": None, "kept": False, "simplified": False}
    if not len(consts) or not len(T):
        return list(exprs), info
    scale = np.std(np.vstack(xs), axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    with jax.enable_x64(True):
        resid = jax.jit(_residuals(F, T, X, U, scale))
        p = len(values)

        def joint(z, shape):  # the constants and the windows' starts together
            return resid(z[:p], z[p:].reshape(shape))

        before, after, theta, info["start"] = np.inf, np.inf, values, 0
        for k, option in enumerate(starts):  # the start whose refit fits best
            if k and deadline is not None and time.monotonic() > deadline:
                break
            X0_k = jnp.asarray(shooting_windows(xs, ts, us, option)[3])
            t = time.monotonic()
            before_k = _error(resid, values, X0_k)
            z = np.concatenate([values, np.ravel(X0_k)])
            steps = _affordable_steps(resid, z, X0_k, time.monotonic() - t, deadline)
            theta_k = values
            if steps:
                sol = optx.least_squares(
                    joint,
                    optx.LevenbergMarquardt(rtol=1e-8, atol=1e-10),
                    jnp.asarray(z),
                    args=X0_k.shape,
                    max_steps=steps,
                    throw=False,
                )
                z = np.asarray(sol.value, dtype=np.float64)
                theta_k, X0_fit = z[: len(values)], z[len(values) :].reshape(X0_k.shape)
                if np.all(np.isfinite(X0_fit)):
                    X0_k = jnp.asarray(X0_fit)
            ok = steps > 0 and bool(np.all(np.isfinite(theta_k)))
            after_k = _error(resid, theta_k, X0_k) if ok else np.inf
            if min(after_k, before_k) < min(after, before):
                before, after, theta, X0, info["start"] = before_k, after_k, theta_k, X0_k, k
        info.update(before=before, after=after, kept=bool(after < before))
        best, error = values, before
        if after < before:
            best, error = theta, after
        bound = _rounding_bound(error, _noise_share(xs, ts, scale), X.size)
        z = np.concatenate([best, np.ravel(X0)])
        reps, z = _round(
            lambda z: np.asarray(joint(jnp.asarray(z), X0.shape)), z, p, bound, deadline
        )
        info["simplified"] = any(not isinstance(r, sympy.Float) for r in reps.values())
        info["after"] = float(np.mean(np.asarray(joint(jnp.asarray(z), X0.shape)) ** 2))
        return [e.xreplace({c: reps[k] for k, c in enumerate(consts)}) for e in lifted], info


def _noise_share(xs, ts, scale) -> float:
    r""":math:`\nu` of the module doc: the windowed error the samples' noise alone
    leaves."""
    pairs = zip(xs, ts, strict=True)
    sig2 = np.mean(
        [[noise_level(a[:, i], t) ** 2 for i in range(a.shape[1])] for a, t in pairs], 0
    )
    return float(np.mean(sig2 / scale**2))


def _rounding_bound(error: float, nu: float, n: int):
    """``k -> bound`` of the module doc for ``k`` rounded constants, from the refined
    error ``error``, the noise's share ``nu`` and ``n`` residuals."""

    def bound(k: int) -> float:
        model = (ROUNDING_SLACK - 1) * max(error - nu, 0.0)
        return error + model + float(chi2.ppf(ROUNDING_LEVEL, k)) * nu / n + ROUNDING_FLOOR

    return bound


def _jacobian(residual, z: np.ndarray, r0: np.ndarray) -> np.ndarray:
    """Forward differences of ``residual`` at ``z`` (``r0 = residual(z)``): one
    evaluation of the compiled windowed solve per unknown, no new compile."""
    J = np.empty((r0.size, z.size))
    for j in range(z.size):
        h = JACOBIAN_STEP * max(1.0, abs(z[j]))
        step = z.copy()
        step[j] += h
        J[:, j] = (residual(step) - r0) / h
    return J


def _standard_errors(J: np.ndarray, mse: float) -> np.ndarray:
    r"""The unknowns' standard errors :math:`\sqrt{\mathrm{diag}(\mathrm{mse}\,
    (J^\top J)^{-1})}` (a pseudo-inverse where :math:`J` is rank-deficient)."""
    with np.errstate(all="ignore"):
        cov = mse * np.linalg.pinv(J.T @ J)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return np.where(np.isfinite(se), se, 0.0)


def _short_decimal(v: float, gate: float, significant: int) -> list[tuple[sympy.Expr, bool]]:
    """``v`` to ``significant`` digits as a fraction (``0.4302`` -> ``43/100`` with 2)
    if within ``gate`` of it (counted simple then: the fit does not tell them apart),
    else nothing."""
    if v == 0 or not np.isfinite(v):
        return []
    digits = significant - 1 - int(np.floor(np.log10(abs(v))))
    short = round(v, digits)
    if short == 0 or abs(short - v) > gate:
        return []
    return [(sympy.nsimplify(short, rational=True), True)]


def _round(residual, z, p: int, bound, deadline: float | None = None):
    r"""``({constant index: value}, z)``: each of the first ``p`` unknowns ``z`` (the
    constants; the windows' starts follow) replaced, smallest first (spurious small terms
    go first), by 0 if that keeps the windowed error :math:`\mathrm{mean}(r^2)` within
    ``bound(k)`` (``k`` the constants rounded with it), else by the value of
    :func:`symnet._rounding.simpler_values` that keeps it lowest within the bound (on
    noisy data several do: at 1 % noise an intercept of 0.32 fitted as 0.3187 admits
    ``1/3`` as well as ``8/25``). The unknowns not yet rounded follow each trial by one
    Gauss–Newton step, :math:`\Delta z_F = -J_F^+ J_k \delta` (forward-difference
    Jacobian at the refined ``z``): correlated constants (an intercept and a slope) are
    rounded together instead of each being refused while the other is held; a trial
    with the others held is tried too. ``z``: the unknowns after rounding."""
    z = np.array(z, dtype=np.float64)
    reps = {k: sympy.Float(float(v)) for k, v in enumerate(z[:p])}

    def error(w):
        return float(np.mean(residual(w) ** 2))

    J, se = None, np.zeros(p)
    if deadline is None or time.monotonic() < deadline:
        r0 = residual(z)
        J = _jacobian(residual, z, r0)
        se = _standard_errors(J, float(np.mean(r0**2)))[:p]
    fixed: set[int] = set()
    for k in sorted(range(p), key=lambda k: abs(z[k])):
        v = z[k]
        if deadline is not None and time.monotonic() > deadline:
            break
        free = [j for j in range(z.size) if j != k and j not in fixed]
        gate = GATE_ERRORS * se[k]
        first, *longer = DECIMAL_DIGITS
        tiers = [simpler_values(v) + _short_decimal(v, gate, first)]
        tiers += [_short_decimal(v, gate, n) for n in longer]
        passed = []  # (error, candidate, unknowns) within the bound
        for tier in tiers:  # a longer decimal only when nothing shorter passed
            for cand, simple in tier:
                if not simple and abs(float(cand) - v) > FRACTION_RTOL * max(1.0, abs(v)):
                    continue
                held = z.copy()
                held[k] = float(cand)
                trials = [held]
                if J is not None and free:
                    moved = held.copy()
                    shift = J[:, k] * (float(cand) - v)
                    moved[free] -= np.linalg.lstsq(J[:, free], shift, rcond=None)[0]
                    trials.insert(0, moved)
                errors = [error(w) for w in trials]
                best = int(np.argmin(errors))
                if errors[best] <= bound(len(fixed) + 1):
                    passed.append((errors[best], cand, trials[best]))
                    if cand == 0:  # a term that goes: nothing simpler
                        break
            if passed:
                break
        if passed:
            _, reps[k], z = next((c for c in passed if c[1] == 0), min(passed, key=lambda c: c[0]))
            fixed.add(k)
    for k in range(p):
        if k not in fixed:
            reps[k] = sympy.Float(float(z[k]))
    return reps, z

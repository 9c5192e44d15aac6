r"""``SymbolicODE``: equations of a dynamical system from its trajectories.

Given trajectories :math:`\mathbf x(t)` (and optional controls :math:`\mathbf u(t)`), the
estimator finds :math:`\dot{\mathbf x} = F(\mathbf x, \mathbf u)`, one formula per state:

1. derivatives :math:`\dot{\mathbf x}(t_k)` are estimated trajectory by trajectory
   (:func:`symnet.dynamics.differentiate`, ``differentiation=``), unless given, each
   sample weighted by its estimate's :func:`~symnet.dynamics.reliability` (a transient
   faster than the sampling is not fitted by a surrogate), and each state's selection
   tolerance set to the estimate's error level, discretisation and noise (formulas that
   differ by less cannot be told apart by the estimated derivatives);
2. the rows of all trajectories are pooled and a :class:`symnet.SymbolicRegressor`
   (``regressor=``, a template whose settings are used; ``max_time`` and
   ``random_state`` here override its own) fits every state's derivative over all states
   and controls: one multi-output search, so the compiled training programs are shared
   across states and the time budget is split evenly between them;
3. with ``weak=True`` (``"auto"``, the default: on noisy data, step 1), every formula
   on each state's front has its constants refit to the weak (integral) form of the
   trajectories, and each state's formula is chosen on the weak loss
   (:mod:`symnet.dynamics._weak`): noisy data judge integrals, not estimated
   derivatives;
4. with ``refine=True`` (default), the selected system's constants are refit jointly
   against the trajectories by integrating it (multiple shooting) and re-rounded
   (:func:`symnet.dynamics._refine.refine_system`), kept only where the trajectories are
   fitted better; ``REFINE_SHARE`` of ``max_time`` is kept for this (skipped when less
   than ``REFINE_MIN_SECONDS`` is left; otherwise held to the time left).

The fitted system is plain data (sympy formulas, DataFrames): it pickles, and
``fit(..., run_dir=)`` saves it as :class:`symnet.SymbolicRegressor` does.
"""

from __future__ import annotations

import time

import numpy as np
import sympy
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted

from symnet import _persist
from symnet._estimator import SymbolicRegressor
from symnet._printing import formula_str
from symnet._refit import evaluate
from symnet.dynamics._derivatives import DEFAULT_METHOD, METHODS, differentiate, smooth
from symnet.dynamics._refine import refine_system
from symnet.dynamics._simulate import integrate, vector_field
from symnet.dynamics._tolerance import trust, widest
from symnet.dynamics._trajectories import arrays, as_list, trajectories
from symnet.dynamics._weak import weak_select, weak_windows

__all__ = ["SymbolicODE"]

METRICS = ("derivative", "trajectory")
#: Share of ``max_time`` kept for the trajectory refinement.
REFINE_SHARE = 0.2
#: With ``max_time``, the refinement is skipped when fewer seconds than this are left
#: (compiling the shooting solver alone takes seconds).
REFINE_MIN_SECONDS = 5.0


def _r2(truth: np.ndarray, pred: np.ndarray) -> float:
    """R^2 averaged over the states (columns); ``-inf`` where the prediction is not
    finite (a simulation that blew up)."""
    if not np.all(np.isfinite(pred)):
        return float("-inf")
    return float(r2_score(truth, pred))


class SymbolicODE(BaseEstimator):
    """Discovers :math:`\\dot{\\mathbf x} = F(\\mathbf x, \\mathbf u)` in closed form from
    trajectories (module doc), as pysindy's ``SINDy`` does with a fixed library.

    Args:
      regressor: a :class:`symnet.SymbolicRegressor` whose settings (operators, steps,
        presets, selection ...) the search of every state uses; None: the defaults.
      differentiation: how derivatives are estimated when ``fit`` gets no ``x_dot``: a
        key of :data:`symnet.dynamics.METHODS` (``"spline"``, the default, does best at
        1 % noise; ``"finite_difference"``, ``"savgol"``).
      weak: refit and choose each state's formula on the weak form (module doc, step 3):
        True, False, or ``"auto"`` (default): where the derivatives were estimated and
        the noise's part of their error exceeds the discretisation's in some state
        (:func:`~symnet.dynamics.noise_error`; on ODEBench every system at 1 % noise and
        none at noise 0, nor any chaotic flow at noise 0).
      refine: refit the selected system's constants against the trajectories (module
        doc, step 4).
      max_time: wall-clock budget of ``fit`` in seconds for the whole system (None:
        the regressor's own).
      random_state: seed (None: the regressor's own).

    Attributes:
      equations_: one Pareto front (DataFrame, as ``SymbolicRegressor.equations_``) per
        state, a list (the search's formulas, before refinement; with ``weak``, a
        ``weak_loss`` column: each formula's weak loss after its weak refit).
      system_: the selected right-hand sides (sympy, user names), refined.
      weak_: whether the weak form chose the formulas.
      refinement_: the refinement's windowed errors ``before`` and ``after`` and whether
        the refined constants were ``kept`` (empty without refinement).
      regressor_: the fitted multi-output :class:`symnet.SymbolicRegressor`.
      feature_names_in_: state names, then control names.
      state_names_, control_names_: the states' and controls' names.
      n_states_, n_controls_: their counts.

    Example:
      >>> t = np.linspace(0.0, 4.0, 81)
      >>> x = np.exp(-0.5 * t)[:, None]
      >>> model = SymbolicODE(
      ...     regressor=SymbolicRegressor(steps=400, n_restarts=2), random_state=0
      ... ).fit(x, t, feature_names=["x"])
      >>> print(model)
      x' = -x/2
    """

    def __init__(
        self,
        *,
        regressor: SymbolicRegressor | None = None,
        differentiation: str = DEFAULT_METHOD,
        weak: bool | str = "auto",
        refine: bool = True,
        max_time: float | None = None,
        random_state=None,
    ):
        self.regressor = regressor
        self.differentiation = differentiation
        self.weak = weak
        self.refine = refine
        self.max_time = max_time
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    def _template(self) -> SymbolicRegressor:
        if self.regressor is not None and not isinstance(self.regressor, SymbolicRegressor):
            raise ValueError(
                f"`regressor` must be a SymbolicRegressor or None, got {self.regressor!r}."
            )
        model = clone(self.regressor) if self.regressor is not None else SymbolicRegressor()
        if self.max_time is not None:
            model.set_params(max_time=self.max_time)
        if self.random_state is not None:
            model.set_params(random_state=self.random_state)
        if self.refine and model.max_time is not None:
            model.set_params(max_time=(1 - REFINE_SHARE) * model.max_time)
        return model

    def fit(self, x, t=None, *, x_dot=None, u=None, feature_names=None, run_dir=None):
        """Finds one formula per state; returns ``self``.

        Args:
          x: states, an array or DataFrame ``(n_times, n_states)`` (its columns name the
            states), or a list of them (several trajectories, lengths may differ), at
            least 5 times each.
          t: the times: a step (default 1), an array of strictly increasing times (may be
            irregular), or a list of arrays, one per trajectory.
          x_dot: the derivatives, shaped like ``x``; given, nothing is estimated.
          u: control inputs (arrays or DataFrames ``(n_times, n_controls)`` like ``x``),
            which enter the right-hand sides but are not modelled.
          feature_names: state names, overriding a DataFrame's columns (default
            ``x0, x1, ...``; controls ``u0, u1, ...`` or a DataFrame ``u``'s columns).
          run_dir: a new (or empty) directory receiving the equations, the selected
            system and the pickled model (never overwritten; see ``SymbolicRegressor``).
        """
        if self.weak not in (True, False, "auto"):
            raise ValueError(f"`weak` must be True, False or 'auto', got {self.weak!r}.")
        if self.differentiation not in METHODS:
            raise ValueError(
                f"`differentiation` must be one of {sorted(METHODS)}, "
                f"got {self.differentiation!r}."
            )
        start = time.monotonic()
        model = self._template()
        if run_dir is not None:
            _persist.check_new_run_dir(run_dir)
        data = trajectories(x, t, x_dot, u, feature_names)
        dots = self._derivatives(data)
        weights, noisy = None, False
        if not data.x_dot:  # estimated: transients faster than the sampling weigh less
            weights, tol, noisy = trust(data, dots, self.differentiation)
            model.set_params(selection_tolerance=widest(model.selection_tolerance, tol))
        columns = [np.vstack(data.x)]
        if data.u is not None:
            columns.append(np.vstack(data.u))
        names = data.states + data.controls
        Y = np.vstack(dots)
        if weights is not None and Y.shape[1] == 1:
            weights = weights[:, 0]
            model.set_params(selection_tolerance=model.selection_tolerance[0])
        model.fit(np.hstack(columns), Y, sample_weight=weights, variable_names=names)
        self.regressor_ = model
        self.state_names_ = list(data.states)
        self.control_names_ = list(data.controls)
        self.n_states_ = len(data.states)
        self.n_controls_ = len(data.controls)
        self.n_outputs_ = self.n_states_
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.equations_ = (
            list(model.equations_) if isinstance(model.equations_, list) else [model.equations_]
        )
        self.random_seed_ = model.random_seed_
        states, controls = self._symbols()
        system = [model.sympy(output=k) for k in range(self.n_states_)]
        self.weak_ = noisy if self.weak == "auto" else bool(self.weak)
        if self.weak_:
            system = self._weak(data, np.hstack(columns), states + controls)
        self.refinement_ = {}
        left = None if self.max_time is None else self.max_time - (time.monotonic() - start)
        if self.refine and (left is None or left >= REFINE_MIN_SECONDS):
            pairs = zip(data.x, data.t, strict=True)
            smoothed = [smooth(a, ts, self.differentiation) for a, ts in pairs]
            args = (states, controls, data.x, data.t, data.u, [smoothed, list(data.x)])
            system, self.refinement_ = refine_system(system, *args, time_left=left)
        self.system_ = system
        self.__dict__.pop("_field", None)  # a previous fit's compiled system
        if run_dir is not None:
            _persist.write_run(self, run_dir)
        return self

    def _weak(self, data, Z, symbols) -> list[sympy.Expr]:
        """Each state's front refit on the weak form and its formula chosen there (module
        doc, step 3); the weak losses become the fronts' ``weak_loss`` column."""
        form = weak_windows(data.t, data.x)
        system = []
        for k, front in enumerate(self.equations_):
            expr, table = weak_select(
                list(front["sympy_format"]),
                list(front["complexity"]),
                symbols,
                Z,
                k,
                form,
                self.regressor_.model_selection,
            )
            self.equations_[k] = front.assign(weak_loss=[loss for _, loss in table])
            system.append(expr)
        return system

    def _derivatives(self, data) -> list[np.ndarray]:
        """The given derivatives of each trajectory, else ``differentiation``'s estimate."""
        return data.x_dot or [
            differentiate(a, ts, self.differentiation)
            for a, ts in zip(data.x, data.t, strict=True)
        ]

    @classmethod
    def from_file(cls, run_dir) -> SymbolicODE:
        """Restores a model saved by ``fit(..., run_dir=...)``."""
        return _persist.read_run(run_dir, cls)

    # -- formulas --------------------------------------------------------------------------
    def _output(self, output):
        return None if self.n_states_ == 1 else output

    def sympy(self, index: int | None = None, output: int | None = None):
        """The selected (refined) right-hand side of state ``output``, or the ``index``-th
        formula of its front, over the user's names; without ``output``, the list over
        all states."""
        check_is_fitted(self, "equations_")
        if output is None:
            return [self.sympy(index, k) for k in range(self.n_states_)]
        if not 0 <= output < self.n_states_:
            raise ValueError(f"`output` must be in 0..{self.n_states_ - 1}, got {output!r}.")
        if index is None:
            return self.system_[output]
        return self.regressor_.sympy(index, self._output(output))

    def latex(self, index: int | None = None, output: int | None = None):
        """LaTeX of :meth:`sympy` (a list without ``output``)."""
        exprs = self.sympy(index, output)
        return [sympy.latex(e) for e in exprs] if output is None else sympy.latex(exprs)

    def equations(self) -> list[str]:
        """The selected system as lines ``x' = ...``."""
        return [
            f"{name}' = {formula_str(expr)}"
            for name, expr in zip(self.state_names_, self.sympy(), strict=True)
        ]

    def __str__(self) -> str:
        if not hasattr(self, "equations_"):
            return repr(self)
        return "\n".join(self.equations())

    def _symbols(self):
        states = [sympy.Symbol(n, real=True) for n in self.state_names_]
        controls = [sympy.Symbol(n, real=True) for n in self.control_names_]
        return states, controls

    # -- predictions -----------------------------------------------------------------------
    def predict(self, x, u=None):
        """The derivatives :math:`F(\\mathbf x, \\mathbf u)` at states ``x`` (an array
        ``(n, n_states)`` or a list of them, with controls ``u`` alike): ``(n,
        n_states)``, or a list."""
        check_is_fitted(self, "equations_")
        xs = arrays(x, "x", None)
        us = None if u is None else arrays(u, "u", len(xs))
        self._check_columns(xs, us)
        symbols = [s for group in self._symbols() for s in group]
        out = []
        for k, a in enumerate(xs):
            inputs = a if us is None else np.hstack([a, us[k]])
            out.append(np.column_stack([evaluate(e, symbols, inputs) for e in self.system_]))
        return out if as_list(x)[1] else out[0]

    def _check_columns(self, xs, us) -> None:
        d, m = xs[0].shape[1], 0 if us is None else us[0].shape[1]
        if d != self.n_states_:
            raise ValueError(f"`x` must have {self.n_states_} states (columns), got {d}.")
        if m != self.n_controls_:
            raise ValueError(f"`u` must have {self.n_controls_} controls (columns), got {m}.")

    def simulate(self, x0, t, u=None) -> np.ndarray:
        """Integrates the selected system from ``x0`` at ``t[0]`` and returns the states at
        the times ``t`` (strictly increasing): ``(len(t), n_states)``, float64 (diffrax,
        :func:`symnet.dynamics._simulate.integrate`); ``u`` the controls at the times
        ``t``, ``(len(t), n_controls)``. A blow-up leaves the states from there on NaN."""
        check_is_fitted(self, "equations_")
        x0 = np.asarray(x0, dtype=np.float64).ravel()
        if x0.shape != (self.n_states_,) or not np.all(np.isfinite(x0)):
            raise ValueError(
                f"`x0` must be {self.n_states_} finite values (one per state), got {x0!r}."
            )
        times = np.asarray(t, dtype=np.float64)
        if times.ndim != 1 or len(times) < 2 or np.any(np.diff(times) <= 0):
            raise ValueError(
                f"`t` must be a strictly increasing 1-D array of >= 2 times, got shape "
                f"{times.shape}."
            )
        controls = None
        if self.n_controls_ or u is not None:
            if u is None:
                raise ValueError(
                    f"`u` is required: the system has controls {self.control_names_}."
                )
            controls = np.asarray(u, dtype=np.float64).reshape(len(times), -1)
            if controls.shape[1] != self.n_controls_:
                raise ValueError(
                    f"`u` must have {self.n_controls_} columns, got {controls.shape[1]}."
                )
        if not hasattr(self, "_field"):
            self._field = vector_field(self.sympy(), *self._symbols())
        F, params = self._field
        return integrate(F, params, x0, times, controls)

    def score(self, x, t=None, u=None, *, x_dot=None, metric: str = "derivative") -> float:
        """R^2 of the system on trajectories ``x`` (times ``t``, controls ``u``, as
        ``fit`` takes them): ``"derivative"`` compares :meth:`predict` with ``x_dot``
        (estimated with ``differentiation`` when not given); ``"trajectory"`` simulates
        each trajectory from its first state and compares the states (``-inf`` when a
        simulation blows up)."""
        if metric not in METRICS:
            raise ValueError(f"`metric` must be one of {list(METRICS)}, got {metric!r}.")
        check_is_fitted(self, "equations_")
        data = trajectories(x, t, x_dot, u, self.state_names_)
        self._check_columns(data.x, data.u)
        if metric == "trajectory":
            sims = [
                self.simulate(a[0], ts, None if data.u is None else data.u[k])
                for k, (a, ts) in enumerate(zip(data.x, data.t, strict=True))
            ]
            return _r2(np.vstack(data.x), np.vstack(sims))
        dots = self._derivatives(data)
        preds = self.predict(data.x, data.u)
        return _r2(np.vstack(dots), np.vstack(preds))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_field", None)  # JAX functions: rebuilt on demand
        return state

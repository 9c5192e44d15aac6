"""``SymbolicRegressor``: the scikit-learn front door over :mod:`symnet.search`.

The estimator is a thin facade: ``__init__`` stores settings (their defaults are
:data:`symnet.search.DEFAULT_CONFIG`'s), ``fit`` builds a :class:`~symnet.SearchConfig`,
one validated :class:`~symnet.search.Data` per output and a
:class:`~symnet.search.Budget`, runs :func:`~symnet.search.search` per output, then keeps
the Pareto front of each output as a DataFrame (``equations_``). Its fitted state is plain
data (sympy expressions, arrays, a DataFrame): it pickles.
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import sympy
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from symnet import _persist
from symnet._export import jax_formula
from symnet._fit_inputs import (
    datasets_of,
    dimension_columns,
    in_training_order,
    unit_attributes,
)
from symnet._plotting import plot_row
from symnet._printing import formula_str
from symnet._progress import progress_bar
from symnet._refit import evaluate
from symnet._seeding import seed_from
from symnet._settings import output_tolerance, search_config
from symnet._validation import check_X
from symnet.search import (
    DEFAULT_CONFIG,
    DEFAULT_MAXSIZE,
    Budget,
    Scaling,
    SearchConfig,
    front_scores,
    pareto_front,
    restarts_for,
    search,
    select,
)

__all__ = ["SymbolicRegressor"]


class SymbolicRegressor(RegressorMixin, BaseEstimator):
    """Symbolic regression with a population of differentiable symbolic networks.

    Args:
      preset: network architecture, a key of :data:`symnet.layers.PRESETS`, or a tuple of
        them (each data view is searched with each architecture).
      rounds: passes over architectures x views with fresh initialisations; None (default)
        makes one pass without ``max_time`` and, with it, repeats passes while the budget
        allows (keeping 15% of it for simplification: :class:`symnet.search.Budget`).
      unary_operators, binary_operators: the primitives the networks are built of, by
        name, as in PySR (``["sin", "exp"]``, ``["+", "*", "/"]``; any primitive of
        :data:`symnet.PRIMITIVES`, including one added with
        :func:`symnet.register_primitive`); None (default) keeps the preset's units
        (identity, sin, exp, log, sqrt, mul, div). See :mod:`symnet._operators`.
      width: units per primitive group.
      n_restarts: independent initialisations per sparsity strength; ``"auto"``: sized from
        the devices (:func:`symnet._devices.auto_restarts`; probed with ``max_time``).
      sparsity: sparsity-penalty strengths (a population axis).
      steps: training steps (warm-up 1/4, sparsify 1/2, fine-tune 1/4).
      learning_rate: Adam step size.
      batch_size: minibatch size; None for full batch.
      max_candidates: network structures exported and refit per output.
      validation_fraction: share of samples held out to choose among formulas.
      views: data views searched (raw; log: LIES log-space, for positive data; square:
        y**2, for one-signed y; standard: standardised inputs), see :mod:`symnet.search._views`.
      model_selection: "best" (default), "accuracy" or "score", as in PySR.
      complexity_of_operators: PySR's option: ``{"sin": 3, "/": 2}`` makes each node of
        that operator count 3 (2) in a formula's complexity instead of 1 (names: operator
        names, ``+ - * / ^``, ``sqrt``, ``square``); None counts every node 1.
      maxsize: the largest complexity (nodes: symbols, numbers, operators; weighted by
        ``complexity_of_operators``) a formula on the front, and so the selected one, may
        have (PySR's ``maxsize``); larger candidates are searched but not offered. None: no
        limit.
      selection_tolerance: widens the "best" rule's window to formulas whose validation
        MSE / var(y) is at most this (e.g. a distilled network's own normalised error on
        held-out data: formulas that agree with it more closely than it agrees with the data
        cannot be told apart); None keeps PySR's 1.5 x the lowest loss. For a 2-D ``y``
        also a list, one tolerance per output.
      early_stop_condition: stop once a formula's validation MSE / var(y) is at most this
        (remaining data views are skipped), as PySR's option; None searches everything.
      oversample_worst: extra weight on the 10% of points the networks fit worst, for a
        short extra fine-tuning (LIES' worst-region oversampling); 0 disables it.
      warm_start: with ``fit(..., run_dir=)``, resume the training checkpoints an unfinished
        (killed) fit left in ``run_dir`` instead of refusing the non-empty directory.
      max_time: wall-clock budget of ``fit`` in seconds (None: unlimited). The search
        keeps training until only what polishing needs is left (:class:`symnet.search.
        Budget`); compiled programs are cached on disk (:func:`symnet.set_cache_dir`), so
        only the first fit on a machine pays for compiling them. How much is searched
        depends on the machine's speed, so answers may differ between runs.
      deterministic: replace the clock with a fixed amount of work (PySR's option): one
        pass of full schedules (``rounds`` passes if given), with no time-based cut except
        a 30 s safety limit on each sympy simplification; the same ``random_state`` then
        gives the same formulas in every process on the same machine and software.
        Excludes ``max_time``.
      dimensional_constants: with units (``fit(..., X_units=...)``), fitted constants may
        carry dimensions (PySR's default); False (default): constants are dimensionless,
        so ``v + 1.5`` with ``v`` in m/s is inconsistent and never selected.
      random_state: seed; with ``deterministic=True`` the same seed gives the same formulas.
      verbose: 0 is silent; 1 shows a progress bar (rich; works in notebooks too).

    Attributes:
      equations_: DataFrame of the Pareto front (one row per complexity), or a list of
        them for multi-output ``y``. Columns: complexity, loss (validation MSE), score,
        equation (a string :func:`sympy.sympify` reads back: names that are not plain
        identifiers, or that sympy reads as its own objects, as ``Symbol('x y')``),
        sympy_format, found_at (seconds into the search when the formula's
        structure had been trained and refit); with units also ``units`` (the formula's
        dimension, ``?`` where a dimensional constant sets it) and ``consistent``.
      X_units_, y_units_: the units the fit was given, as dimensions over base units (None
        without units).
      selection_: index of the selected row (a list for multi-output).
      n_restarts_: the restarts per sparsity strength the search ran (``n_restarts``, or
        what ``"auto"`` chose on this machine).
      feature_names_in_: variable names (DataFrame columns or ``x0, x1, ...``).
      named_features_: whether those names came from the user (a DataFrame or
        ``variable_names``); then ``predict`` matches a DataFrame's columns to them by name.

    Example:
      >>> import numpy as np
      >>> X = np.random.default_rng(0).uniform(1, 3, (200, 2))
      >>> model = SymbolicRegressor(steps=1500, n_restarts=4, random_state=0)
      >>> model.fit(X, X[:, 0] * X[:, 1]).sympy()
      x0*x1
    """

    def __init__(
        self,
        *,
        preset: str | tuple[str, ...] = DEFAULT_CONFIG.preset,
        rounds: int | None = DEFAULT_CONFIG.rounds,
        unary_operators: list[str] | None = None,
        binary_operators: list[str] | None = None,
        width: int = DEFAULT_CONFIG.width,
        n_restarts: int | str = DEFAULT_CONFIG.n_restarts,
        sparsity: tuple[float, ...] = DEFAULT_CONFIG.sparsity,
        steps: int = DEFAULT_CONFIG.train.steps,
        learning_rate: float = DEFAULT_CONFIG.train.learning_rate,
        batch_size: int | None = DEFAULT_CONFIG.train.batch_size,
        max_candidates: int = DEFAULT_CONFIG.max_candidates,
        validation_fraction: float = DEFAULT_CONFIG.validation_fraction,
        views: tuple[str, ...] = DEFAULT_CONFIG.views,
        model_selection: str = "best",
        maxsize: int | None = DEFAULT_MAXSIZE,
        complexity_of_operators: dict | None = None,
        selection_tolerance: float | None = None,
        early_stop_condition: float | None = DEFAULT_CONFIG.early_stop_condition,
        oversample_worst: float = DEFAULT_CONFIG.oversample_worst,
        warm_start: bool = False,
        max_time: float | None = None,
        deterministic: bool = False,
        dimensional_constants: bool = False,
        random_state=None,
        verbose: int = 0,
    ):
        self.preset = preset
        self.rounds = rounds
        self.unary_operators = unary_operators
        self.binary_operators = binary_operators
        self.width = width
        self.n_restarts = n_restarts
        self.sparsity = sparsity
        self.steps = steps
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_candidates = max_candidates
        self.validation_fraction = validation_fraction
        self.views = views
        self.model_selection = model_selection
        self.maxsize = maxsize
        self.complexity_of_operators = complexity_of_operators
        self.selection_tolerance = selection_tolerance
        self.early_stop_condition = early_stop_condition
        self.oversample_worst = oversample_worst
        self.warm_start = warm_start
        self.max_time = max_time
        self.deterministic = deterministic
        self.dimensional_constants = dimensional_constants
        self.random_state = random_state
        self.verbose = verbose

    # -- configuration ----------------------------------------------------------------------
    def _search_config(self) -> SearchConfig:
        return search_config(self)

    # -- fitting ---------------------------------------------------------------------------
    def __sklearn_tags__(self):
        """scikit-learn's tags: ``y`` may have several columns (one formula each)."""
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        variable_names=None,
        run_dir=None,
        X_units=None,
        y_units=None,
    ):
        """Searches formulas for ``y`` (n,) or (n, k) from ``X`` (n, d); returns ``self``.

        Args:
          X: array or DataFrame (its columns become the variable names).
          y: target(s); a 2-D ``y`` gets one formula per column.
          sample_weight: non-negative weights (n,), used in training, refits and selection;
            for a 2-D ``y`` also (n, k), one column per output.
          variable_names: names overriding the DataFrame columns.
          run_dir: if given, a new (or empty) directory receiving the equations CSV, the
            selected formula, metadata and the pickled model, and, while training, orbax
            checkpoints (``checkpoints/``) after every chunk of steps; an existing run is
            never overwritten. With ``warm_start=True`` a fit killed mid-way resumes from
            its last checkpoint when started again with the same ``run_dir``.
          X_units: the inputs' units, as PySR takes them: a list with one unit string per
            column (``"m/s"``, ``"kg*m^2/s^2"``, ``"1"``; any unit pint knows) or mapping of
            base dimensions to exponents (``{"m": 1, "s": -1}``), or a dict from variable
            names to those. The search then starts from Buckingham's dimensionless groups
            and only dimensionally consistent formulas are offered
            (:mod:`symnet.units`).
          y_units: the target's units (one per output for a 2-D ``y``); needs ``X_units``.
            ``ValueError`` if no product of the inputs has them (a dimensional constant
            is missing: add it as a column).
        """
        config = self._search_config()
        run_dir = _persist.claim_run_dir(run_dir, resume=bool(self.warm_start))
        seed = seed_from(self.random_state)
        budget = Budget.of(self.max_time)  # None (unlimited) when deterministic
        key = jax.random.key(seed)
        units = (X_units, y_units, self.dimensional_constants)
        datasets, names = datasets_of(X, y, sample_weight, variable_names, key, config, units)
        n_out = len(datasets)
        config = restarts_for(config, datasets[0], budget)  # n_restarts="auto": one size
        tols = [output_tolerance(self.selection_tolerance, k, n_out) for k in range(n_out)]
        self._internal_symbols = list(datasets[0].symbols)
        self._user_symbols = [sympy.Symbol(n, real=True) for n in names]
        fronts, selections, exprs, self._networks = [], [], [], []
        for k, data in enumerate(datasets):
            label = "fit" if len(datasets) == 1 else f"output {k}"
            ckpt = _persist.checkpoint_dir(run_dir, k)
            with progress_bar(self.verbose, label) as report:
                cands = search(
                    data,
                    config=config,
                    budget=budget.split(len(datasets) - k),  # what is left, evenly
                    progress=report,
                    checkpoint_dir=ckpt,
                )
            front = pareto_front(cands, self.maxsize)
            fronts.append(self._table(front, data.var_y, data))
            selections.append(select(front, self.model_selection, tols[k]))
            exprs.append([c.expr for c in front])
            self._networks.append([c.network for c in front])
        self.n_features_in_ = len(names)
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.named_features_ = variable_names is not None or hasattr(X, "columns")
        self.n_outputs_ = len(datasets)
        self._exprs = exprs
        self._scalings = [data.scaling for data in datasets]  # predict evaluates through them
        self.X_units_, self.y_units_ = unit_attributes(datasets)
        self.equations_ = fronts[0] if len(fronts) == 1 else fronts
        self.selection_ = selections[0] if len(fronts) == 1 else selections
        self.random_seed_ = seed
        self.n_restarts_ = config.n_restarts
        self.run_dir_ = None if run_dir is None else str(run_dir)
        if run_dir is not None:
            _persist.write_run(self, run_dir)
        return self

    @classmethod
    def from_file(cls, run_dir) -> SymbolicRegressor:
        """Restores a model saved by ``fit(..., run_dir=...)``."""
        return _persist.read_run(run_dir, cls)

    def _to_user(self, expr):
        return expr.xreplace(dict(zip(self._internal_symbols, self._user_symbols, strict=True)))

    def _table(self, front, var, data):
        rows = []
        for c, score in zip(front, front_scores(front), strict=True):
            user = self._to_user(c.expr)
            row = {
                "complexity": c.complexity,
                "loss": c.val_nmse * var,
                "score": float(score),
                "equation": formula_str(user),
                "sympy_format": user,
                "found_at": c.found_at,
            }
            if data.units is not None:
                row.update(dimension_columns(c.expr, data))
            rows.append(row)
        return pd.DataFrame(rows)

    # -- access ----------------------------------------------------------------------------
    def _pick(self, index, output):
        output, index = self._row(index, output)
        return self._exprs[output][index]

    def _row(self, index, output) -> tuple[int, int]:
        """``(output, row of its front)`` of the selected or ``index``-th formula."""
        check_is_fitted(self, "equations_")
        if self.n_outputs_ > 1 and output is None:
            raise ValueError(
                f"`output` must be given for a multi-output model (0..{self.n_outputs_ - 1})."
            )
        output = 0 if output is None else output
        if not 0 <= output < self.n_outputs_:
            raise ValueError(f"`output` must be in 0..{self.n_outputs_ - 1}, got {output!r}.")
        exprs = self._exprs[output]
        sel = self.selection_ if self.n_outputs_ == 1 else self.selection_[output]
        index = sel if index is None else index
        if not -len(exprs) <= index < len(exprs):
            raise ValueError(f"`index` must be in 0..{len(exprs) - 1}, got {index!r}.")
        return output, index % len(exprs)

    def plot(self, index: int | None = None, output: int | None = None, *, path=None, ax=None):
        """The matplotlib figure of the pruned network the selected (or ``index``-th)
        formula came from (:func:`symnet._plotting.plot_row`: saved to ``path`` or the
        fit's ``run_dir``; the best network for a formula another stage built)."""
        output, index = self._row(index, output)
        return plot_row(self, output, index, path=path, ax=ax)

    def sympy(self, index: int | None = None, output: int | None = None) -> sympy.Expr:
        """The selected (or ``index``-th) formula over the user's variable names."""
        return self._to_user(self._pick(index, output))

    def latex(self, index: int | None = None, output: int | None = None) -> str:
        """LaTeX of :meth:`sympy`."""
        return sympy.latex(self.sympy(index, output))

    def jax(self, index: int | None = None, output: int | None = None) -> dict:
        """``{"callable": f(X, params), "parameters": params}``: a pure, jittable function
        of ``X`` (n, d) and the formula's constants (PySR's convention)."""
        return jax_formula(self._pick(index, output), self._internal_symbols)

    def numpy(self, index: int | None = None, output: int | None = None):
        """A NumPy callable ``f(X) -> (n,)`` for the formula."""
        expr = self._pick(index, output)
        symbols = self._internal_symbols
        return lambda X: evaluate(expr, symbols, np.asarray(X, np.float64))

    def predict(self, X, index: int | None = None) -> np.ndarray:
        """Predictions of the selected formula(s): shape (n,) or (n, n_outputs)."""
        check_is_fitted(self, "equations_")
        named = getattr(self, "named_features_", True)
        X_arr = check_X(in_training_order(X, self.feature_names_in_, named))
        if X_arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X_arr.shape[1]} features, but SymbolicRegressor is expecting "
                f"{self.n_features_in_} features as input."
            )
        scalings = getattr(self, "_scalings", None) or [Scaling((), 0)] * self.n_outputs_
        outs = [
            scalings[k].predict(self._pick(index, k), self._internal_symbols, X_arr, evaluate)
            for k in range(self.n_outputs_)
        ]
        return outs[0] if self.n_outputs_ == 1 else np.column_stack(outs)

    def __str__(self) -> str:
        if not hasattr(self, "equations_"):
            return repr(self)
        tables = self.equations_ if self.n_outputs_ > 1 else [self.equations_]
        sels = self.selection_ if self.n_outputs_ > 1 else [self.selection_]
        parts = []
        for k, (table, sel) in enumerate(zip(tables, sels, strict=True)):
            head = f"output {k}:\n" if self.n_outputs_ > 1 else ""
            lines = [f"{'':2} {'complexity':>10} {'loss':>12} {'score':>9}  equation"]
            for i, row in table.iterrows():
                mark = ">>" if i == sel else "  "
                lines.append(
                    f"{mark} {row['complexity']:>10} {row['loss']:>12.4g} {row['score']:>9.3g}"
                    f"  {row['equation']}"
                )
            parts.append(head + "\n".join(lines))
        return "\n\n".join(parts)

"""Checks of ``distill_nbody.py``: is a distilled message formula the force law?

They use the true law, so they only *evaluate* the distillation, never steer it.
"""

from __future__ import annotations

import numpy as np
import sympy

import symnet
from experiments.nbody_sim import DIM, FORCE_EXPR, POSITIVE, R_OF_D, SYMS, mi_
from symnet._refit import evaluate
from symnet._sympy_utils import bounded_simplify, round_floats
from symnet.distill import lift_constants, linear_equivalence
from symnet.distill._linear import _normalized


def _implied_ok(implied, law):
    """Whether each implied per-pair acceleration is the true ``F / m_i`` (None: no
    linear node model, nothing implied)."""
    if implied is None:
        return None
    return [
        symnet.is_symbolic_solution(a, FORCE_EXPR[law][k] / mi_, positive=POSITIVE)
        for k, a in enumerate(implied)
    ]


def lin_r2(F, y):
    """R^2 of the least-squares map (F, 1) -> y, and the map's coefficients."""
    A = np.column_stack([F, np.ones(len(F))])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return symnet.r2_score(y, A @ coef), coef


def short(text, n=300):
    return text if len(text) <= n else text[: n - 3] + "..."


def bases(law):
    """The two candidate encodings of the law a message may carry: F and F/m_i."""
    F = FORCE_EXPR[law]
    return {"F": F, "F/m_i": tuple(f / mi_ for f in F)}


def basis_values(name, F, E):
    return F if name == "F" else F / E[:, 3:4]


def front_equivalence(reg, basis, X):
    """Smallest complexity on the regressor's Pareto front whose formula passes the
    symbolic linear-equivalence check (diagnostic only: never used to pick the formula)."""
    for _, row in reg.equations_.sort_values("complexity").iterrows():
        expr = row["sympy_format"]
        if expr.is_number:
            continue
        res = linear_equivalence(
            expr,
            basis,
            SYMS,
            X,
            positive=POSITIVE,
            substitutions=R_OF_D,
            seconds=3.0,
            min_r2=0.999,
        )
        if res.equivalent:
            return int(row["complexity"]), expr
    return None, None


def structure_check(expr, basis, X):
    """Evaluation only: can the formula's *structure* express the law? Its movable
    constants are refit (least squares, SciPy) to the best linear map (basis, 1) -> formula,
    and the symbolic check runs on the refit formula. Returns (passes, refit formula)."""
    from scipy.optimize import least_squares

    (lifted,), consts, vals = lift_constants([expr])
    B = np.column_stack([evaluate(b, SYMS, X) for b in basis])
    f = np.broadcast_to(np.asarray(evaluate(expr, SYMS, X), np.float64), len(X))
    coef, *_ = np.linalg.lstsq(np.column_stack([B, np.ones(len(X))]), f, rcond=None)
    target = np.column_stack([B, np.ones(len(X))]) @ coef
    refit = expr
    if consts:
        fn = sympy.lambdify([*SYMS, *consts], lifted, "numpy")

        def res(p):
            with np.errstate(all="ignore"):
                out = np.broadcast_to(np.asarray(fn(*X.T, *p), np.float64), len(X)) - target
            return np.where(np.isfinite(out), out, 1e6)

        sol = least_squares(res, vals, max_nfev=200 * (len(vals) + 1))
        refit = lifted.xreplace({s: sympy.Float(v) for s, v in zip(consts, sol.x, strict=True)})
    eq = linear_equivalence(refit, basis, SYMS, X, positive=POSITIVE, substitutions=R_OF_D)
    return eq.equivalent, refit


def implied_acceleration(model, formulas):
    """With the linear node model, the per-pair acceleration of the distilled network:
    ``(f_0, f_1) @ W`` (numerator over a denominator whose largest coefficient is 1, rounded
    to 3 decimals, simplified)."""
    W = np.asarray(model.node.kernel[...], np.float64)  # (msg_dim, 2)
    out = []
    for a in range(DIM):
        e = sum(sympy.Float(W[k, a]) * formulas[k] for k in range(len(formulas)))
        out.append(bounded_simplify(round_floats(_normalized(e, 1.0, 10.0)), 10.0))
    return out


def pysr_best(reg) -> int:
    """The front index PySR's plain ``best`` rule picks (loss within 1.5 x the smallest,
    largest score), for comparison with the widened window the script selects with."""
    tab = reg.equations_
    loss = tab["loss"].to_numpy()
    return int(np.argmax(np.where(loss <= 1.5 * loss.min(), tab["score"].to_numpy(), -np.inf)))

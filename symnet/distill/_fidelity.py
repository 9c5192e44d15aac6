"""How faithfully a formula reproduces its teacher.

For teacher outputs ``t_k(x)`` and formula outputs ``f_k(x)`` on fresh points ``x`` (never
used to fit the formula):

    R^2_k = 1 - sum_i (f_k(x_i) - t_k(x_i))^2 / sum_i (t_k(x_i) - mean(t_k))^2,
    max_err_k = max_i |f_k(x_i) - t_k(x_i)|.

Both are measured on the training distribution and, when a box is known, on the box widened
on each side (extrapolation: there the formula is compared to the *teacher*, not to a
ground truth).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import sympy

__all__ = ["Fidelity", "agreement"]


def agreement(teacher: np.ndarray, formula: np.ndarray) -> tuple[tuple, tuple]:
    """Per-output R^2 and max abs error of ``formula`` against ``teacher``, both (n, k)."""
    err = formula - teacher
    ss_res = (err**2).sum(0)
    ss_tot = ((teacher - teacher.mean(0)) ** 2).sum(0)
    with np.errstate(all="ignore"):
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), 0.0)
        r2 = np.where(np.isfinite(r2), r2, -np.inf)
        max_err = np.where(np.isfinite(err), np.abs(err), np.inf).max(0)
    return tuple(float(v) for v in r2), tuple(float(v) for v in max_err)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Fidelity:
    """Agreement of a distilled formula with its teacher, one entry per output.

    Attributes:
      formulas: the selected formula of each output.
      r2, max_abs_error: R^2 and max |formula - teacher| on ``n_eval`` fresh points from the
        training distribution.
      r2_wide, max_abs_error_wide: the same on the box widened by ``widen`` times its width
        on each side; None without a known box (``domain``).
      n_queries: teacher answers the formula was fitted on.
      n_teacher_calls: all points the teacher was evaluated at (fit points, candidate pools
        of the active rounds, evaluation points).
      rounds: fits made (1 + active-querying rounds actually run).
      best_round: the round (0-based) whose formula was kept: the best worst-output R^2
        against the teacher on a separate selection sample.
    """

    formulas: tuple[sympy.Expr, ...]
    r2: tuple[float, ...]
    max_abs_error: tuple[float, ...]
    r2_wide: tuple[float, ...] | None
    max_abs_error_wide: tuple[float, ...] | None
    widen: float
    n_eval: int
    n_queries: int
    n_teacher_calls: int
    rounds: int
    best_round: int

    def __str__(self) -> str:
        lines = [
            f"distilled from {self.n_queries} teacher queries (round {self.best_round + 1} of "
            f"{self.rounds}); "
            f"fidelity on {self.n_eval} fresh points"
        ]
        for k, f in enumerate(self.formulas):
            head = f"output {k}: " if len(self.formulas) > 1 else ""
            lines.append(f"  {head}{f}")
            lines.append(
                f"    training distribution: R^2 = {self.r2[k]:.6f}, "
                f"max |error| = {self.max_abs_error[k]:.3g}"
            )
            if self.r2_wide is not None:
                lines.append(
                    f"    box widened {self.widen:.0%} per side: R^2 = {self.r2_wide[k]:.6f}, "
                    f"max |error| = {self.max_abs_error_wide[k]:.3g}"
                )
        return "\n".join(lines)

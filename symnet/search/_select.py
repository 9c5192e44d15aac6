"""Choosing among candidate formulas: the Pareto front and PySR's selection rules."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import sympy

__all__ = [
    "Candidate",
    "DEFAULT_MAXSIZE",
    "NMSE_FLOOR",
    "UNSTABLE_PENALTY",
    "front_scores",
    "loss_front",
    "pareto_front",
    "select",
]

#: The most nodes a formula on a fit's front may have (PySR's ``maxsize``). Every law of
#: the packaged Feynman, bonus, Nguyen, Strogatz and SRSD suites has at most 37; larger
#: candidates are surrogates, which a small budget must not prefer to a simple formula
#: that is nearly as accurate.
DEFAULT_MAXSIZE = 50
#: Normalised losses below this are float64 round-off: treated as equal in scores.
NMSE_FLOOR = 1e-30
#: At or below this validation loss a fit is exact already: the stages that look for a
#: better formula (decomposition, reduction, residuals, rational fits) leave it alone.
EXACT_NMSE = 1e-12
#: How much more accurate a formula that is not finite on the widened box must be than a
#: stable one to stay on the front.
UNSTABLE_PENALTY = 100.0
#: What a fitted constant adds to a formula's complexity when the ``"best"`` rule weighs
#: two formulas of the window (:func:`select`).
FLOAT_COST = 2


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A refit formula and its scores (normalised MSE = MSE / var(y)); ``found_at``: seconds
    from the start of the search until its structure had been trained and refit;
    ``stable``: finite on the data's box widened by half (:data:`symnet.search.Data`'s
    ``wide`` probe), not only on the box itself, and, once polished, no sum cancelling by
    more than :data:`~symnet.search._polish.CANCELLATION` on the data. ``network``: the
    population member the formula was exported from (a
    :class:`~symnet._export.MemberNetwork`), None for formulas other stages built."""

    expr: sympy.Expr
    complexity: int
    val_nmse: float
    train_nmse: float
    member: int
    found_at: float = math.nan
    stable: bool = True
    network: object = dataclasses.field(default=None, compare=False, repr=False)


def _front(items, cost, loss) -> list:
    """The items no other item beats in both ``cost`` and ``loss``, by increasing cost
    (ties in both keep their order in ``items``)."""
    front, best = [], math.inf
    for it in sorted(items, key=lambda it: (cost(it), loss(it))):
        if loss(it) < best:
            front.append(it)
            best = loss(it)
    return front


def _selection_loss(c: Candidate) -> float:
    return c.val_nmse if c.stable else UNSTABLE_PENALTY * max(c.val_nmse, NMSE_FLOOR)


def pareto_front(cands: Sequence[Candidate], maxsize: int | None = None) -> list[Candidate]:
    """Candidates no other candidate beats in both complexity and validation loss, among
    those of at most ``maxsize`` nodes (None: all). A formula that is not finite just
    outside the data's box (not ``stable``) counts ``UNSTABLE_PENALTY`` times its loss
    here: it stays on the front only if it is that much more accurate than every stable
    formula at most as complex."""
    if maxsize is not None:
        cands = [c for c in cands if c.complexity <= maxsize]
    return _front(cands, lambda c: c.complexity, _selection_loss)


def loss_front(loss: np.ndarray, cost: np.ndarray, k: int) -> list[int]:
    """Indices on the (``cost``, ``loss``) Pareto front, then the rest by loss, up to ``k``
    (non-finite losses never): how a population's members are shortlisted for export."""
    finite = [int(i) for i in np.argsort(loss) if np.isfinite(loss[i])]
    front = _front(finite, lambda i: cost[i], lambda i: loss[i])
    rest = [i for i in finite if i not in front]
    return (front + rest)[:k]


def front_scores(front: Sequence[Candidate]) -> np.ndarray:
    """PySR's score of each front entry: ``-dlog(loss)/dcomplexity`` against the previous
    (simpler) entry; 0 for the first."""
    losses = np.array([max(c.val_nmse, NMSE_FLOOR) for c in front])
    scores = np.zeros(len(front))
    for i in range(1, len(front)):
        dc = front[i].complexity - front[i - 1].complexity
        scores[i] = -(np.log(losses[i]) - np.log(losses[i - 1])) / max(dc, 1)
    return scores


def select(front: Sequence[Candidate], rule: str = "best", tolerance: float | None = None) -> int:
    """Index into ``front`` chosen by PySR's ``model_selection`` rules.

    ``"accuracy"``: lowest loss. ``"score"``: largest ``-dlog(loss)/dcomplexity`` against
    the next simpler entry. ``"best"``: highest score among entries with
    ``loss <= max(1.5 * min(loss), tolerance)``; ``tolerance`` (a normalised loss, e.g. a
    distilled network's own error on held-out data, below which formulas cannot be told
    apart by the data) widens PySR's window; None keeps it. Then, as a fitted constant
    says more than a node: of the entries in the window at most as lossy as that one,
    the one of least complexity plus ``FLOAT_COST`` per fitted (float) constant, if that
    is less than the chosen one's (on noisy data, the law ``c*m/sqrt(c**2 - v**2)``,
    14 nodes, over the surrogate ``m*(0.026*exp(4*v/c) + 0.96)``, 13 nodes and two fitted
    constants, whose score is the larger).
    """
    if not front:
        raise ValueError("`front` is empty: no candidate formula to select.")
    if tolerance is not None and not (
        isinstance(tolerance, (int, float)) and 0 <= tolerance < math.inf
    ):
        raise ValueError(f"`tolerance` must be None or a finite number >= 0, got {tolerance!r}.")
    losses = np.array([max(c.val_nmse, NMSE_FLOOR) for c in front])
    if rule == "accuracy":
        return int(np.argmin(losses))
    scores = front_scores(front)
    if rule == "score":
        return int(np.argmax(scores))
    if rule == "best":
        ok = losses <= max(1.5 * losses.min(), tolerance or 0.0)
        i = int(np.argmax(np.where(ok, scores, -np.inf)))
        cost = [c.complexity + FLOAT_COST * len(c.expr.atoms(sympy.Float)) for c in front]
        window = [j for j in range(len(front)) if ok[j] and losses[j] <= losses[i]]
        j = min(window, key=lambda j: (cost[j], losses[j]))
        return j if cost[j] < cost[i] else i
    raise ValueError(f"`model_selection` must be 'accuracy', 'best' or 'score', got {rule!r}.")

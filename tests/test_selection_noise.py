"""Selection on noisy data: the law over a surrogate of equal loss with fitted constants,
and the widened box measured in the dimensionless groups when there are units."""

import numpy as np
import sympy

from symnet.search._data import within_groups
from symnet.search._select import Candidate, pareto_front, select


def _cand(expr, complexity, nmse):
    return Candidate(
        expr=expr, complexity=complexity, val_nmse=nmse, train_nmse=nmse, member=0, found_at=0.0
    )


def test_best_prefers_fewer_fitted_constants_at_no_worse_loss():
    m, v, c = sympy.symbols("m v c", positive=True)
    surrogate = m * (sympy.Float(0.0256) * sympy.exp(4 * v / c) + sympy.Float(0.9646))
    law = c * m / sympy.sqrt(c**2 - v**2)
    front = pareto_front(
        [
            _cand(sympy.Float(1.04) * m, 3, 1.3e-2),
            _cand(surrogate, 13, 8.4e-4),
            _cand(law, 14, 8.3e-4),
            _cand(sympy.Float(1.3) * law + sympy.Float(0.1) * m, 20, 8.2e-4),
        ]
    )
    # PySR's "best" alone: the largest score in the window, the surrogate's
    assert front[select(front, "score")].expr == surrogate
    assert front[select(front, "best")].expr == law
    # a law that fits clearly worse than the window is not taken
    worse = pareto_front(
        [
            _cand(sympy.Float(1.04) * m, 3, 1.3e-2),
            _cand(surrogate, 13, 8.4e-4),
            _cand(law, 14, 8.39e-4 * 1.6),
        ]
    )
    assert worse[select(worse, "best")].expr == surrogate


def test_wide_points_keep_the_groups_in_their_widened_range():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(1, 2, 500), rng.uniform(3, 10, 500)])  # v, c
    points = rng.uniform([1, 3], [3.5, 13.5], (4000, 2))  # the inputs' widened box
    kept = within_groups(X, points, [{0: 1, 1: -1}])  # v/c
    ratio = kept[:, 0] / kept[:, 1]
    assert 1000 < len(kept) < 4000
    assert ratio.max() <= (2 / 3) * 1.5 + 1e-9 and ratio.max() > 0.8  # widened by half
    assert np.all(np.isfinite(1 / np.sqrt(1 - ratio**2)))

"""How well ``symnet.dynamics.noise_error`` predicts the derivative estimates' error.

    .venv/bin/python -m experiments.noise_calibration --noise 0.01 --seed 100 --every 4

For every ``--every``-th ODEBench system (its fitting run, ODEBench's noise protocol),
each state's reliability-weighted mean of ``disagreement**2 + noise_error`` against the
weighted mean squared error of the spline's derivative estimate (the true right-hand
side at the clean states), printed per state with the ratio's quantiles. Development
seeds only (>= 100).
"""

from __future__ import annotations

import argparse

import numpy as np

from experiments.odebench import _data, _names
from symnet._refit import evaluate
from symnet.dynamics import differentiate, disagreement, noise_error, reliability


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--every", type=int, default=4)
    args = ap.parse_args(argv)
    ratios = []
    for name in _names("odebench")[:: args.every]:
        entry, t, x = _data("odebench", name, args.noise, args.seed)
        clean, symbols = entry.trajectory(0), entry.system.symbols()
        true = np.column_stack(
            [evaluate(e, symbols, clean) * np.ones(len(t)) for e in entry.system.exprs()]
        )
        est, D = differentiate(x, t), disagreement(x, t)
        W, N = reliability(D, est), noise_error(x, t)
        for k in range(x.shape[1]):
            w = W[:, k]
            actual = np.average((est[:, k] - true[:, k]) ** 2, weights=w)
            predicted = np.average(D[:, k] ** 2 + N[:, k], weights=w)
            ratios.append(predicted / actual)
            print(f"{name} state {k}: actual {actual:.2e} predicted {predicted:.2e}")
    q = np.quantile(ratios, [0.25, 0.5, 0.75])
    print(f"predicted / actual over {len(ratios)} states: quartiles {q.round(2).tolist()}")


if __name__ == "__main__":
    main()

"""The population run that ``test_devices.py`` and ``test_distributed.py`` start in fresh
processes (forced CPU devices, or several processes joined by ``symnet.init_distributed``):
8 members of the default preset trained in three one-step chunks, then a small
deterministic fit; prints one JSON line. Run as ``python population_script.py PORT N K``
(process ``K`` of ``N``; ``N = 1`` joins nothing)."""

from __future__ import annotations

import functools
import json
import sys


def main(port: str, n: int, k: int) -> dict:
    import symnet

    if n > 1:
        symnet.init_distributed(f"localhost:{port}", num_processes=n, process_id=k)
    import jax
    import numpy as np

    from symnet import SymbolicRegressor
    from symnet._train import TrainConfig, init_population, population_trainer
    from symnet.layers import PRESETS

    build = functools.partial(PRESETS["default"], 2, n_outputs=1, width=2)
    graphdef, params, masks = init_population(build, jax.random.key(0), 8)
    config = TrainConfig(steps=300)
    trainer = population_trainer(graphdef, config)
    state = trainer.init(params, masks, np.full(8, 1e-3, np.float32), jax.random.key(1))
    rng = np.random.default_rng(5)
    X = rng.uniform(0.5, 2.0, (200, 2))
    y = X[:, 0] * np.sin(X[:, 1]) + 0.5 * X[:, 0]
    shards = len(jax.tree.leaves(state.params)[0].sharding.device_set)
    losses = []
    for _ in range(3):
        state = trainer.run(state, X, y[:, None], config.schedule(), 1)
        losses.append(np.asarray(trainer.finalize(state).loss).tolist())
    model = SymbolicRegressor(
        deterministic=True, steps=300, n_restarts=2, rounds=1, views=("raw",), random_state=0
    ).fit(X, y)
    refused = None
    if n > 1:
        try:  # a clock would let the processes' searches differ
            SymbolicRegressor(max_time=5).fit(X, y)
        except ValueError as err:
            refused = str(err)
    return {
        "refused": refused,
        "processes": jax.process_count(),
        "devices": jax.device_count(),
        "local_devices": jax.local_device_count(),
        "shards": shards,
        "traces": trainer.n_traces,
        "loss": losses,
        "formulas": [str(e) for e in model.equations_.sympy_format],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))

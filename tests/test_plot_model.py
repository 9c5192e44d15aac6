"""The network behind a formula: kept by the search, rebuilt, drawn (``model.plot()``)."""

from __future__ import annotations

import functools
import os
import pickle

import jax
import matplotlib
import numpy as np
import pytest
import sympy

from symnet import SymbolicRegressor
from symnet._export import export_member, member_networks
from symnet._train import init_population
from symnet.layers import PRESETS

matplotlib.use("Agg")


@pytest.mark.parametrize("preset", ["default", "rational", "kan", "spline_kan"])
def test_member_network_rebuilds_the_exported_member(preset):
    build = functools.partial(PRESETS[preset], 2, n_outputs=1, width=2)
    graphdef, params, masks = init_population(build, jax.random.key(3), 4, group_keep_prob=0.7)
    x = np.random.default_rng(0).uniform(0.5, 2.0, (64, 2)).astype(np.float32)
    symbols = sympy.symbols("x0 x1", real=True)
    picks = [(0, 1), (0, 3)]
    records = member_networks(build, params, [masks], picks, x)
    for (_, i), record in zip(picks, records, strict=True):
        rebuilt = pickle.loads(pickle.dumps(record)).network().to_sympy(symbols)[0]
        exported = export_member(graphdef, params, masks, i, symbols, x)
        f = sympy.lambdify(symbols, rebuilt - exported, "numpy")
        with np.errstate(all="ignore"):
            gap = np.broadcast_to(f(*x.T.astype(np.float64)), (64,))
        assert np.all(np.abs(gap[np.isfinite(gap)]) < 1e-9)


def test_model_plot_draws_the_selected_network(tmp_path):
    rng = np.random.default_rng(102)
    X = rng.uniform(0.5, 2.0, (100, 2))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 0])
    model = SymbolicRegressor(
        preset="kan", deterministic=True, steps=400, n_restarts=2, rounds=1, views=("raw",)
    )
    model.fit(X, y, variable_names=["a", "b"], run_dir=tmp_path / "run")
    rows = [i for i, r in enumerate(model._networks[0]) if r is not None]
    assert rows == list(range(len(model.equations_)))  # every row shows a network
    fig = model.plot(rows[-1])
    assert os.path.exists(tmp_path / "run" / f"network_0_{rows[-1]}.png")
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"a", "b"} & texts  # inputs named by the user's variables
    again = pickle.loads(pickle.dumps(model))
    again.plot(rows[0], path=tmp_path / "again.png")
    assert os.path.exists(tmp_path / "again.png")
    proxies = [i for i, r in enumerate(model._networks[0]) if not r.own]
    for i in proxies[:1]:  # a formula another stage built: the best network, said so
        title = model.plot(i, path=tmp_path / "proxy.png").axes[0].get_title()
        assert "most accurate network" in title
    model._networks[0][rows[0]] = None
    with pytest.raises(ValueError, match="not exported from a network"):
        model.plot(rows[0], path=tmp_path / "none.png")
    with pytest.raises(ValueError, match="index"):
        model.plot(len(model.equations_) + 3)

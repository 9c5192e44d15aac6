"""A picture of a pruned symbolic network, pykan-style: nodes by layer, live edges drawn,
dead ones faded; on every live edge of a KAN layer a small plot of the edge's function
over the inputs it saw, titled with its primitive (for a spline edge, the primitive it
snaps to). EQL layers label each unit with its primitive."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from symnet.layers._kan import SymbolicKANLayer
from symnet.layers._network import SymbolicNetwork
from symnet.layers._spline import SplineKANLayer, snap_edge
from symnet.layers._symbolic import SymbolicLayer

__all__ = ["plot_network"]

#: Most edge insets drawn per layer (the largest edges by output spread first).
MAX_INSETS = 24


def _layer_edges(layer, h: np.ndarray):
    """``[(i, j, live, values or None, label)]`` for every input ``i`` and output ``j``."""
    out = []
    if isinstance(layer, SymbolicLayer):
        w = np.asarray(layer.kernel[...] * layer.kernel_mask[...])
        col_unit = np.asarray(layer.col_unit)
        for i in range(layer.in_features):
            for j in range(layer.n_units):
                out.append((i, j, bool((w[i, col_unit == j] != 0).any()), None, ""))
        if layer.skip:
            out += [(i, layer.n_units + i, True, None, "") for i in range(layer.in_features)]
        return out
    if isinstance(layer, SymbolicKANLayer):
        a, b, c, _ = (np.asarray(v, np.float64) for v in layer._weights())
        pre_out = np.asarray(layer.pre_out)
        for i in range(layer.in_features):
            for p in range(layer.n_pre):
                live = np.nonzero(a[i, p])[0]
                vals = sum(
                    a[i, p, k]
                    * np.asarray(
                        layer.prims[k].jax_fn(jnp.asarray(b[i, p, k] * h[:, i] + c[i, p, k]))
                    )
                    for k in live
                )
                # the dominant primitive; "~" marks an edge still mixing several
                main = live[np.argmax(np.abs(a[i, p, live]))] if len(live) else 0
                label = layer.prims[main].name + ("~" if len(live) > 1 else "")
                out.append((i, int(pre_out[p]), len(live) > 0, vals if len(live) else None, label))
        return out
    if isinstance(layer, SplineKANLayer):
        values = layer.edges(h, xp=np)
        gate = np.asarray(layer._gate())
        for i in range(layer.in_features):
            for j in range(layer.n_sum):
                live = bool(gate[i, j] != 0)
                label = snap_edge(h[:, i], values[:, i, j])[0] if live else ""
                out.append((i, j, live, values[:, i, j] if live else None, label))
        return out
    raise ValueError(f"plot_network cannot draw a {type(layer).__name__}.")


def _unit_names(layer) -> list[str]:
    if isinstance(layer, SymbolicLayer):
        names = [p.name for p, count in layer.groups for _ in range(count)]
        return names + ["skip"] * (layer.out_features - layer.n_units)
    if isinstance(layer, SymbolicKANLayer):
        return ["+"] * layer.n_sum + ["*"] * layer.n_mult
    return ["+"] * layer.out_features


def plot_network(
    network: SymbolicNetwork,
    x,
    *,
    names: Sequence[str] | None = None,
    ax=None,
    path: str | None = None,
):
    """Draws ``network`` (pruned or not) with the activations of the inputs ``x``
    (shape (n, in_features)); returns the matplotlib figure, saved to ``path`` if given.

    Example:
      >>> import matplotlib
      >>> matplotlib.use("Agg")
      >>> from flax import nnx
      >>> from symnet.layers import kan
      >>> x = np.linspace(0.5, 2.0, 16).reshape(8, 2)
      >>> fig = plot_network(kan(2, rngs=nnx.Rngs(0)), x)
      >>> len(fig.axes[0].child_axes) > 0
      True
    """
    import matplotlib.pyplot as plt

    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[1] != network.in_features:
        raise ValueError(f"`x` must have shape (n, {network.in_features}), got {tuple(x.shape)}.")
    names = list(names) if names is not None else [f"x{i}" for i in range(x.shape[1])]
    if len(names) != network.in_features:
        raise ValueError(f"`names` must hold {network.in_features} names, got {len(names)}.")
    h = x
    if network.constant_input:
        h = np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)
        names = [*names, "1"]
    widths = [h.shape[1]] + [layer.out_features for layer in network.layers]
    if ax is None:
        fig, ax = plt.subplots(figsize=(3 + 2.5 * len(widths), 1.5 + 0.9 * max(widths)))
    fig = ax.figure
    top = max(widths)

    def pos(col, row):
        return col, (top - widths[col]) / 2 + row

    labels = [names] + [_unit_names(layer) for layer in network.layers]
    for col, width in enumerate(widths):
        for row in range(width):
            cx, cy = pos(col, row)
            ax.scatter([cx], [cy], s=350, color="white", edgecolor="black", zorder=3)
            ax.annotate(labels[col][row], (cx, cy), ha="center", va="center", fontsize=7, zorder=4)
    for col, layer in enumerate(network.layers):
        h32 = h.astype(np.float32)
        edges = _layer_edges(layer, h32)
        spread = [np.ptp(v) if v is not None else 0.0 for *_, v, _ in edges]
        inset_rank = np.argsort(spread)[::-1][:MAX_INSETS]
        for e_idx, (i, j, live, vals, label) in enumerate(edges):
            (x0, y0), (x1, y1) = pos(col, i), pos(col + 1, j)
            ax.plot(
                [x0, x1],
                [y0, y1],
                color="black",
                lw=1.0 if live else 0.5,
                alpha=0.8 if live else 0.08,
                zorder=1,
            )
            if vals is None or e_idx not in inset_rank or spread[e_idx] < 1e-9:
                continue  # dead or constant (a dead node upstream): nothing to show
            t = 0.3 + 0.4 * (j + 0.5) / widths[col + 1]  # spread the insets along edges
            mx, my = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            inset = ax.inset_axes([mx - 0.09, my - 0.14, 0.18, 0.28], transform=ax.transData)
            order = np.argsort(h32[:, i])
            inset.plot(h32[order, i], np.asarray(vals)[order], lw=1.0)
            inset.set_title(label, fontsize=6, pad=1)
            inset.set_xticks([])
            inset.set_yticks([])
        h = np.asarray(layer(jnp.asarray(h32))[0], np.float64)
    ax.set_xlim(-0.5, len(widths) - 0.5)
    ax.set_ylim(-0.8, top - 0.2)
    ax.axis("off")
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig

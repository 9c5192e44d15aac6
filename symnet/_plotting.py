"""``SymbolicRegressor.plot``: the network behind a formula of the front, drawn."""

from __future__ import annotations

import os

from symnet.layers import plot_network

__all__ = ["plot_row"]


def plot_row(model, output: int, index: int, *, path=None, ax=None):
    """Draws the network that formula ``index`` of output ``output``'s front was exported
    from (:func:`symnet.layers.plot_network` on the rows it was trained on, inputs named
    by the user's variables), titled with the formula; for a formula another stage built,
    the search's most accurate network, titled so. Saved to ``path`` or, for a fit with a
    ``run_dir``, to ``<run_dir>/network_<output>_<index>.png``. ``ValueError`` when
    the search trained no network (its budget ended before the first population)."""
    rows = getattr(model, "_networks", None) or [[None] * len(e) for e in model._exprs]
    record = rows[output][index]
    if record is None:
        kept = [i for i, r in enumerate(rows[output]) if r is not None]
        raise ValueError(
            f"formula {index} (output {output}) was not exported from a network and the "
            f"search trained none (its budget ended first); `index` with a network: {kept}."
        )
    names = [str(model._to_user(label)) for label in record.labels]
    fig = plot_network(record.network(), record.x, names=names, ax=ax)
    formula = model.sympy(index, output if model.n_outputs_ > 1 else None)
    title = f"{formula}"
    if not record.own:
        title = (
            f"the search's most accurate network: {_short(model._to_user(record.formula))}\n"
            f"(formula {index}, {formula}, was built by another stage)"
        )
    fig.axes[0].set_title(title, fontsize=9)
    run_dir = getattr(model, "run_dir_", None)
    if path is None and run_dir is not None:
        path = os.path.join(run_dir, f"network_{output}_{index}.png")
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def _short(expr, limit: int = 100) -> str:
    """``expr`` with 3 significant digits, cut to ``limit`` characters."""
    text = str(expr.evalf(3))
    return text if len(text) <= limit else text[: limit - 3] + "..."

"""The n-body setting of ``distill_nbody.py``: particles, forces, and the graph network.

2-D systems of N = 4 particles (positions ~ U(-2, 2)^2, masses ~ U(0.5, 2), NumPy) labelled
with the accelerations ``a_i = sum_j F_ij / m_i``; a Flax NNX graph network (edge MLP ->
messages summed per receiver -> node model) trained on them with an MAE loss and an
optional L1 penalty on the messages.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import sympy
from flax import nnx

N = 4
DIM = 2
NAMES = ["dx", "dy", "r", "m_i", "m_j"]
SYMS = sympy.symbols(NAMES, real=True)
dx_, dy_, r_, mi_, mj_ = SYMS
POSITIVE = ("r", "m_i", "m_j")
R_OF_D = {r_: sympy.sqrt(dx_**2 + dy_**2)}
SEND = np.array([j for i in range(N) for j in range(N) if j != i])  # pairs by receiver i
RECV = np.array([i for i in range(N) for j in range(N) if j != i])
TRUE_FORCE = {
    "spring": "(r - 1)*(dx, dy)/r",
    "gravity": "m_i*m_j*(dx, dy)/r**3",
}
#: The true force (Fx, Fy) as sympy expressions (used only to *check* the formulas).
FORCE_EXPR = {
    "spring": ((r_ - 1) * dx_ / r_, (r_ - 1) * dy_ / r_),
    "gravity": (mi_ * mj_ * dx_ / r_**3, mi_ * mj_ * dy_ / r_**3),
}


def pair_force(law, dx, dy, r, mi, mj):
    """Force on particle i from particle j, components (Fx, Fy)."""
    if law == "spring":
        s = (r - 1.0) / r
    else:
        s = mi * mj / r**3
    return s * dx, s * dy


def systems(law, n, rng, half_width=2.0):
    """``n`` configurations: positions (n, N, 2), masses (n, N), accelerations (n, N, 2)."""
    pos = np.empty((0, N, DIM))
    while len(pos) < n:  # rejection keeps gravity away from r = 0
        p = rng.uniform(-half_width, half_width, (2 * n, N, DIM))
        r = np.linalg.norm(p[:, SEND] - p[:, RECV], axis=-1)
        pos = np.concatenate([pos, p[r.min(1) >= 0.5] if law == "gravity" else p])
    pos = pos[:n]
    m = rng.uniform(0.5, 2.0, (n, N))
    e = edge_features(pos, m)
    fx, fy = pair_force(law, *(e[..., k] for k in range(5)))
    force = np.stack([fx, fy], -1).reshape(n, N, N - 1, DIM).sum(2)
    return pos, m, force / m[..., None]


def edge_features(pos, m):
    """(n, P, 5): dx, dy, r, m_i, m_j for every ordered pair (receiver i, sender j)."""
    xp = jnp if isinstance(pos, jax.Array) else np
    d = pos[:, SEND] - pos[:, RECV]
    r = xp.sqrt((d**2).sum(-1))
    return xp.concatenate([d, r[..., None], m[:, RECV][..., None], m[:, SEND][..., None]], axis=-1)


def mlp(sizes, rngs):
    layers = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nnx.Linear(a, b, rngs=rngs))
        if k < len(sizes) - 2:
            layers.append(nnx.silu)
    return nnx.Sequential(*layers)


class GraphNet(nnx.Module):
    """Edge MLP -> messages summed per receiver -> node model.

    ``node="linear"``: ``a_i = sum_j msg_ij @ W`` (no bias); ``node="mlp"``: an MLP on the
    summed messages and the receiver's mass.
    """

    def __init__(self, *, msg_dim: int, hidden: int = 64, node: str = "linear", rngs: nnx.Rngs):
        self.node_kind = node
        self.edge = mlp([5, hidden, hidden, msg_dim], rngs)
        if node == "linear":
            self.node = nnx.Linear(msg_dim, DIM, use_bias=False, rngs=rngs)
        else:
            self.node = mlp([msg_dim + 1, hidden, hidden, DIM], rngs)

    def forward(self, pos, m):
        e = edge_features(pos, m)
        b, p, _ = e.shape
        msg = self.edge(e.reshape(b * p, 5)).reshape(b, p, -1)
        agg = msg.reshape(b, N, N - 1, -1).sum(2)
        if self.node_kind == "linear":
            return self.node(agg), msg
        return self.node(jnp.concatenate([agg, m[..., None]], -1)), msg

    def __call__(self, pos, m):
        return self.forward(pos, m)[0]


def train(law, args):
    rng = np.random.default_rng(args.seed)
    pos, m, acc = (jnp.asarray(a, jnp.float32) for a in systems(law, 20000, rng))
    model = GraphNet(msg_dim=args.msg_dim, node=args.node, rngs=nnx.Rngs(args.seed))
    sched = optax.cosine_decay_schedule(args.lr, args.steps, alpha=0.01)
    opt = nnx.Optimizer(model, optax.adam(sched), wrt=nnx.Param)
    l1 = args.l1

    @nnx.jit
    def step(model, opt, idx):
        def loss_fn(model):
            pred, msg = model.forward(pos[idx], m[idx])
            mae = jnp.abs(pred - acc[idx]).mean()
            return mae + l1 * jnp.abs(msg).sum(-1).mean(), mae

        (_, mae), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
        opt.update(model, grads)
        return mae

    key = jax.random.key(args.seed)
    t0 = time.perf_counter()
    for s in range(args.steps):
        idx = jax.random.randint(jax.random.fold_in(key, s), (args.batch,), 0, pos.shape[0])
        mae = step(model, opt, idx)
        if s % 2000 == 0 or s == args.steps - 1:
            print(f"  [{law}] step {s}: MAE {float(mae):.4f}", flush=True)
    return model, time.perf_counter() - t0

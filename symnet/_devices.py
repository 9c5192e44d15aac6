"""The population across devices: one policy, one place.

A population is a pytree whose leaves carry the members on their leading axis. With more
than one local device (GPUs, TPU cores, or CPU devices forced with
``XLA_FLAGS=--xla_force_host_platform_device_count=N``) the members are split over a
one-axis mesh named ``"population"`` (:func:`jax.make_mesh`): every leaf whose leading
axis is the population's size gets ``NamedSharding(mesh, P("population"))``, everything
else (the step counter, the data) is replicated. ``jax.jit`` then compiles one SPMD
program in which each device trains its share of the members; members never talk to each
other, so no collective runs inside a step. A population that does not split evenly
over the devices stays on one device.

Several hosts (:func:`init_distributed`, JAX's ``jax.distributed.initialize``): every
process runs the same script; the mesh then spans every process's devices, the members
are split over all of them, the training data are replicated to each, and a trained
population is gathered back to every process (:func:`to_host`) before its formulas are
exported, so each process holds the whole search. What decides how long to train is
process 0's (:func:`agree`), and before each population the processes check they are
about to train the same one (:func:`check_same`), so processes whose searches drift
apart all stop with an error instead of waiting for each other. (A deterministic
search still caps each sympy simplification at 30 s of wall time; a cap reached in one
process only would make the fronts differ, and the next population's check stop the
fit.)

``n_restarts="auto"`` (:func:`auto_restarts`) sizes the population from the hardware: the
smallest multiple of the device count at or above the default, so it splits evenly; on
an accelerator and in a fit with a deadline (the probe is timed) the members are then
doubled while a step of twice as many costs at most
``GROWTH`` times as long (the device had idle lanes) and fits in its memory, up to
``MAX_FACTOR`` times the default.

On one device the members can be trained a chunk at a time, each chunk all its steps
(:func:`member_chunk`, ``TrainConfig.member_chunk``): on a CPU, chunks of
``CPU_MEMBER_CHUNK`` keep a chunk's parameters and activations in cache (2.4x the
member-steps/s of one ``vmap`` at 256 members,
``experiments/results/population_throughput.md``); an accelerator takes the whole
population as one ``vmap``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = [
    "GROWTH",
    "MAX_FACTOR",
    "POPULATION_AXIS",
    "agree",
    "auto_restarts",
    "check_same",
    "CPU_MEMBER_CHUNK",
    "init_distributed",
    "member_chunk",
    "population_sharding",
    "replicate",
    "shard_population",
    "to_host",
]

#: The mesh axis the members are split over.
POPULATION_AXIS = "population"
#: ``n_restarts="auto"`` doubles the members while a step of twice as many costs at most
#: this factor of the time of one step of the current count ...
GROWTH = 1.3
#: ... and while the restarts stay at most this multiple of the default.
MAX_FACTOR = 64


#: ``member_chunk="auto"`` on a CPU: the best chunk of ``population_throughput.py``.
CPU_MEMBER_CHUNK = 8


def member_chunk(setting: int | str | None, like) -> int | None:
    """The members per chunk of a training step, or None for one ``vmap``.

    ``setting`` is ``TrainConfig.member_chunk``; ``like`` a population leaf (its sharding
    tells the devices). A population split over several devices is one ``vmap``;
    ``"auto"`` is ``CPU_MEMBER_CHUNK`` on a CPU and None elsewhere; a chunk at least the
    population's size is one ``vmap`` too.
    """
    sharding = getattr(like, "sharding", None)
    devices = sharding.device_set if sharding is not None else set(jax.devices()[:1])
    if setting is None or len(devices) > 1:
        return None
    if setting == "auto":
        setting = CPU_MEMBER_CHUNK if next(iter(devices)).platform == "cpu" else None
    return setting if setting is not None and setting < like.shape[0] else None


def auto_restarts(base: int, probe: Callable[[int], float] | None = None) -> int:
    """Restarts per sparsity strength for ``n_restarts="auto"``.

    ``n = ceil(base / d) * d`` with ``d`` the device count (every process's, with
    several; the population then splits evenly). With ``probe`` (seconds per training
    step of a population with a given number of restarts; ``inf`` or an exception when
    it does not fit in memory), ``n`` doubles while ``probe(2 n) <= GROWTH * probe(n)``
    and ``2 n <= MAX_FACTOR * base``: members are added while the device runs them
    nearly for free. On CPUs more
    members cost proportionally more time, so the search passes no probe there.

    Example:
      >>> auto_restarts(8) % jax.device_count()
      0
      >>> # a device that runs up to 64 restarts in the time of 8, then saturates:
      >>> auto_restarts(8, probe=lambda n: max(1.0, n / 64))
      64
    """
    d = jax.device_count()
    n = math.ceil(base / d) * d
    if probe is None:
        return n
    seconds = _probe(probe, n)
    while math.isfinite(seconds) and 2 * n <= MAX_FACTOR * base:
        more = _probe(probe, 2 * n)
        if not more <= GROWTH * seconds:  # slower, out of memory, or not finite
            break
        n, seconds = 2 * n, more
    return n


def _probe(probe: Callable[[int], float], n: int) -> float:
    try:
        return float(probe(n))
    except Exception as err:  # out of device memory: XLA raises its own runtime error
        if "RESOURCE_EXHAUSTED" in str(err) or isinstance(err, MemoryError):
            return math.inf
        raise


def init_distributed(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    **kwargs,
) -> None:
    """Joins this process to a multi-host run (``jax.distributed.initialize`` with the
    same arguments; on Slurm, Open MPI or TPU pods they are detected). Call it at the top
    of the script every process runs, before anything touches a device; later fits split
    their populations over every process's devices. Run every process with the same
    data, the same ``random_state`` and ``deterministic=True`` (a clock would let the
    processes' searches differ), and the same ``PYTHONHASHSEED`` (sympy's set orders).

    Example (two processes on one machine, each its own CPU device)::

        # process k of 2, started twice with K=0 and K=1
        symnet.init_distributed("localhost:12355", num_processes=2, process_id=K)
        model = symnet.SymbolicRegressor(deterministic=True, random_state=0).fit(X, y)
    """
    jax.distributed.initialize(coordinator_address, num_processes, process_id, **kwargs)


def _multi_process() -> bool:
    return jax.process_count() > 1


def population_sharding(size: int) -> NamedSharding | None:
    """The sharding of a population of ``size`` members over every device (every local
    one; with several processes, all of theirs), or None with one device or when ``size``
    is not a multiple of the device count."""
    devices = jax.devices() if _multi_process() else jax.local_devices()
    n = len(devices)
    if n < 2 or size % n:
        return None
    # Auto axes: the compiler partitions the vmapped step itself (GSPMD), the layers'
    # code needs no sharding annotations
    mesh = jax.make_mesh((n,), (POPULATION_AXIS,), axis_types=(AxisType.Auto,), devices=devices)
    return NamedSharding(mesh, P(POPULATION_AXIS))


def shard_population(tree, size: int):
    """``tree`` with the leaves whose leading axis has ``size`` members split over the
    devices (:func:`population_sharding`) and the others replicated; ``tree`` itself when
    the population stays on one device.

    Example:
      >>> import jax.numpy as jnp
      >>> out = shard_population({"w": jnp.ones((8, 3)), "step": jnp.zeros(())}, 8)
      >>> out["w"].shape
      (8, 3)
    """
    sharding = population_sharding(size)
    if sharding is None:
        return tree
    replicated = NamedSharding(sharding.mesh, P())

    def place(leaf):
        split = getattr(leaf, "ndim", 0) >= 1 and leaf.shape[0] == size
        return _put(leaf, sharding if split else replicated)

    return jax.tree.map(place, tree)


def _put(leaf, sharding: NamedSharding):
    if not _multi_process():
        return jax.device_put(leaf, sharding)
    # the same host value in every process: each process places its own devices' slices
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        data = np.asarray(jax.random.key_data(leaf))
        impl = jax.random.key_impl(leaf)
        raw = jax.make_array_from_callback(data.shape, sharding, lambda idx: data[idx])
        return jax.random.wrap_key_data(raw, impl=impl)
    host = np.asarray(leaf)
    return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])


def replicate(tree, like):
    """With several processes, ``tree``'s arrays (the same values in every process)
    replicated over the mesh of ``like`` (a sharded population leaf), so one jitted call
    takes them beside the population; otherwise ``tree`` itself."""
    sharding = getattr(like, "sharding", None)
    if not _multi_process() or not isinstance(sharding, NamedSharding):
        return tree
    replicated = NamedSharding(sharding.mesh, P())
    return jax.tree.map(lambda leaf: _put(leaf, replicated), tree)


def to_host(tree):
    """``tree`` with every array split over several processes gathered whole into each
    (``process_allgather``); arrays one process holds entirely are kept."""
    if not _multi_process():
        return tree

    def gather(leaf):
        if not isinstance(leaf, jax.Array) or leaf.is_fully_addressable:
            return leaf
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            data = multihost_utils.process_allgather(jax.random.key_data(leaf), tiled=True)
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
        return jax.numpy.asarray(multihost_utils.process_allgather(leaf, tiled=True))

    return jax.tree.map(gather, tree)


def agree(flag: bool) -> bool:
    """Process 0's ``flag`` in every process (a decision taken on a clock); ``flag``
    itself with one process."""
    if not _multi_process():
        return flag
    return bool(multihost_utils.broadcast_one_to_all(np.int32(flag)))


def check_same(*arrays, label: str) -> None:
    """Raises ``RuntimeError`` in every process unless all processes hold the same
    ``arrays`` (their digests are gathered and compared) before ``label``; nothing with
    one process."""
    if not _multi_process():
        return
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(np.ascontiguousarray(np.asarray(a)).tobytes())
    mine = np.frombuffer(digest.digest()[:8], np.int32)  # (jax without x64: 32-bit ints)
    every = np.asarray(multihost_utils.process_allgather(mine)).reshape(-1, mine.size)
    differ = [k for k in range(len(every)) if not np.array_equal(every[k], every[0])]
    if differ:
        raise RuntimeError(
            f"processes {differ} are about to train a different {label} than process 0: "
            "their searches drifted apart (run every process with the same data, "
            "random_state, deterministic=True and PYTHONHASHSEED)."
        )

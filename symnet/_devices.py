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
"""

from __future__ import annotations

import jax
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = ["POPULATION_AXIS", "population_sharding", "shard_population"]

#: The mesh axis the members are split over.
POPULATION_AXIS = "population"


def population_sharding(size: int) -> NamedSharding | None:
    """The sharding of a population of ``size`` members over every local device, or None
    with one device or when ``size`` is not a multiple of the device count."""
    n = jax.local_device_count()
    if n < 2 or size % n:
        return None
    # Auto axes: the compiler partitions the vmapped step itself (GSPMD), the layers'
    # code needs no sharding annotations
    mesh = jax.make_mesh(
        (n,), (POPULATION_AXIS,), axis_types=(AxisType.Auto,), devices=jax.local_devices()
    )
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
        return jax.device_put(leaf, sharding if split else replicated)

    return jax.tree.map(place, tree)

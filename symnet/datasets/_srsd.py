r"""SRSD-Feynman (Matsubara et al. 2022): the Feynman equations with realistic sampling.

*Rethinking Symbolic Regression Datasets and Benchmarks for Scientific Discovery*
(arXiv 2206.10540) re-samples the 120 AI-Feynman equations (100 + 20 bonus) over
physically meaningful ranges, mostly log-uniform over two decades, and splits them into
30 easy, 40 medium and 50 hard problems. The packaged table
``symnet/data/srsd_feynman.csv`` was transcribed from the public benchmark source
(``omron-sinicx/srsd-benchmark``: ``datasets/feynman.py`` at commit ``467090bf``, the
classes' ``sampling_objs``, and ``configs/datasets/feynman/{easy,medium,hard}_set.yaml``
for the groups). Its columns:

- ``name``: the SRSD equation id (``I.6.20``, ``II.11.3``, ..., ``B1`` to ``B20`` for the
  bonus equations; SRSD renames AI-Feynman's ``I.6.2*`` to ``I.6.20*``).
- ``group``: ``easy``, ``medium`` or ``hard``; ``srsd_class``: the SRSD class name.
- ``formula``: the ground truth with SRSD's physical constants written as numbers.
- ``samplers``: ``var:kind:low:high:sign`` per variable, ``;``-separated, in SRSD's column
  order (see :mod:`symnet.datasets._sampling`). SRSD's ``DefaultSampling(l, h)`` is
  ``log:l:h:both`` (``pos`` with ``uses_negative=False``, ``neg`` with
  ``uses_positive=False``), ``SimpleSampling`` is ``uniform`` and ``IntegerSampling``
  is ``int``.
- ``note``: where the formula or a range departs from the SRSD code, and why.

Task names are ``"srsd_<group>/<name>"``; rows whose target is not a valid float32 are
redrawn, as SRSD does. ``n_default`` is 1000 rows (SRSD generates 10,000 and splits them
8:1:1).

Dummy-variable suites ``"srsd_<group>_dummy"`` follow SRSD's ``dummy_column_mixer.py``:
each task gains 1, 2 or 3 irrelevant columns ``dummy_1, dummy_2, ...`` inserted at random
positions, each :math:`10^{U[k - 1, k + 1]}` with :math:`k` uniform in
:math:`\{-32, \dots, 32\}`, with a random sign half of the time. The count, positions,
exponents and signs are drawn once per task from a generator seeded by a CRC-32 of the
task id, so they are fixed across runs.
"""

from __future__ import annotations

import functools
import io
import zlib
from importlib.resources import files

import numpy as np
import pandas as pd

from symnet.datasets._sampling import Sampler, parse_sampler
from symnet.datasets._task import Task

__all__ = ["SRSD_GROUPS", "SRSD_N_DEFAULT", "srsd_tasks"]

SRSD_GROUPS = ("easy", "medium", "hard")
SRSD_N_DEFAULT = 1000

# dummy_column_mixer.py: new_col_sizes = [1, 2, 3], exponents random.randint(-32, 32).
_DUMMY_COUNTS = (1, 2, 3)
_DUMMY_EXPONENTS = (-32, 32)


@functools.cache
def _table() -> pd.DataFrame:
    text = files("symnet.data").joinpath("srsd_feynman.csv").read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _samplers(spec: str, where: str) -> tuple[tuple[str, ...], tuple[Sampler, ...]]:
    names: list[str] = []
    samplers: list[Sampler] = []
    for item in spec.split(";"):
        name, _, rule = item.strip().partition(":")
        try:
            samplers.append(parse_sampler(rule))
        except ValueError as exc:
            raise ValueError(f"srsd_feynman.csv, {where}, variable {name!r}: {exc}") from exc
        names.append(name)
    return tuple(names), tuple(samplers)


def _dummies(
    key: str, names: tuple[str, ...], samplers: tuple[Sampler, ...]
) -> tuple[tuple[str, ...], tuple[Sampler, ...]]:
    """Insert SRSD-style dummy columns at positions fixed by a CRC-32 of ``key``."""
    rng = np.random.default_rng([zlib.crc32(key.encode("utf-8")), 7])
    count = int(rng.choice(_DUMMY_COUNTS))
    columns = list(zip(names, samplers, strict=True))
    for k in range(1, count + 1):
        exponent = int(rng.integers(_DUMMY_EXPONENTS[0], _DUMMY_EXPONENTS[1] + 1))
        sign = "both" if rng.random() < 0.5 else "pos"
        dummy = Sampler("log", 10.0 ** (exponent - 1), 10.0 ** (exponent + 1), sign)
        position = int(rng.integers(0, len(columns) + 1))
        columns.insert(position, (f"dummy_{k}", dummy))
    return tuple(c[0] for c in columns), tuple(c[1] for c in columns)


@functools.cache
def srsd_tasks(group: str, dummy: bool = False) -> tuple[Task, ...]:
    """The tasks of one SRSD group, in file order.

    Args:
        group: ``"easy"``, ``"medium"`` or ``"hard"``.
        dummy: add 1-3 irrelevant columns per task (suite ``"srsd_<group>_dummy"``).
    """
    if group not in SRSD_GROUPS:
        raise ValueError(f"group must be one of {list(SRSD_GROUPS)}, got {group!r}")
    suite = f"srsd_{group}_dummy" if dummy else f"srsd_{group}"
    table = _table()
    tasks = []
    for _, row in table[table["group"].str.strip() == group].iterrows():
        name = row["name"].strip()
        names, samplers = _samplers(row["samplers"], name)
        if dummy:
            names, samplers = _dummies(f"srsd/{name}", names, samplers)
        tasks.append(
            Task(
                name=f"{suite}/{name}",
                suite=suite,
                formula=row["formula"].strip(),
                variables=names,
                ranges=tuple(s.bounds() for s in samplers),
                n_default=SRSD_N_DEFAULT,
                samplers=samplers,
            )
        )
    return tuple(tasks)

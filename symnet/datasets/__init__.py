"""Deterministic, offline symbolic-regression benchmark tasks.

All suites are generated locally from packaged tables (nothing is downloaded). The four
classic suites, :data:`SUITES`:

- ``"feynman"``: the 100 AI-Feynman equations (Udrescu & Tegmark, *Sci. Adv.* 2020);
  inputs :math:`x_j \\sim U[l_j, h_j]` i.i.d. over the published ranges, 1000 rows.
- ``"bonus"``: the 20 AI-Feynman bonus equations, same design.
- ``"nguyen"``: Nguyen-1 ... Nguyen-12 (Uy et al. 2011), 20 rows (one variable) or 100
  rows (two variables).
- ``"strogatz"``: the 14 right-hand sides :math:`F_i(x, y)` of the 7 planar ODE-Strogatz
  systems, sampled along 4 simulated trajectories of 101 points (404 rows).

and the later ones, :data:`EXTRA_SUITES` (:data:`ALL_SUITES` holds both):

- ``"chaotic"``: the 119 state derivatives of 39 chaotic flows from dysts (Gilpin 2021),
  ``"chaotic/<System>_<state>"``, e.g. ``"chaotic/Lorenz_z"``; sampled on the attractor
  along 4 trajectories of 101 points integrated locally (404 rows).
- ``"srsd_easy"``, ``"srsd_medium"``, ``"srsd_hard"``: SRSD-Feynman (Matsubara et al.
  2022), 30 / 40 / 50 equations, ``"srsd_<group>/<id>"``, e.g. ``"srsd_easy/I.12.1"``,
  with inputs drawn log-uniformly over decades, uniformly or as integers, each positive,
  negative or of random sign (:class:`Sampler`), 1000 rows.
- ``"srsd_easy_dummy"``, ``"srsd_medium_dummy"``, ``"srsd_hard_dummy"``: the same tasks
  with 1-3 irrelevant columns ``dummy_<k>`` each, as in SRSD's dummy-variable sets.

A :class:`Task` samples :math:`(X, y)` with :math:`y_i = f(x_i) + \\varepsilon_i`, where the
noise (:func:`add_noise`) is :math:`\\varepsilon_i \\sim \\mathcal N(0, (\\gamma\\,
\\mathrm{RMS}(f(x)))^2)`, the SRBench convention with :math:`\\gamma` in
:data:`NOISE_LEVELS`. Sampling is a pure function of (task name, n, noise, seed,
extrapolate): the generators are seeded from ``seed`` and a CRC-32 of the task name.
``extrapolate=True`` widens each range :math:`[l, h]` to :math:`[l, h + \\tfrac12(h-l)]`
(in :math:`\\log_{10}` of the magnitude for log-uniform SRSD inputs); chaotic tasks then
start from a box 1.5 times the attractor's and keep the transient.

Example:
    >>> from symnet.datasets import get_task
    >>> task = get_task("nguyen/1")
    >>> X, y = task.sample(5, seed=0)
    >>> list(X.columns), y.shape
    (['x'], (5,))
    >>> task.expr()
    x**3 + x**2 + x
"""

from __future__ import annotations

from symnet.datasets._noise import NOISE_LEVELS, add_noise
from symnet.datasets._registry import ALL_SUITES, EXTRA_SUITES, SUITES, get_task, load_suite
from symnet.datasets._sampling import Sampler
from symnet.datasets._task import Task

__all__ = [
    "ALL_SUITES",
    "EXTRA_SUITES",
    "NOISE_LEVELS",
    "SUITES",
    "Sampler",
    "Task",
    "add_noise",
    "get_task",
    "load_suite",
]

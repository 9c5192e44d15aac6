"""Where a fit's time goes: the shares of a default fit's wall time by stage (issue 18).

    # four Feynman tasks, 60 s each, a fresh process per fit, on one core
    taskset -c 0 .venv/bin/python -m experiments.profile_fit run [--time 60] [--cold]
    .venv/bin/python -m experiments.profile_fit report

Each fit is the default :class:`symnet.SymbolicRegressor` (``max_time``, ``random_state``
= the seed) on 1000 rows of a task in ``TASKS``, timed inside a fresh process after the
imports. The stages are timed by wrapping the search's stage functions in this process
(the library is not changed): each wrapper adds its *exclusive* time (its own, less that
of wrapped calls nested in it, e.g. the training inside a decomposition's sub-search) to
its category:

- ``compile``: building or loading training programs (the warm-up probe, which also
  runs 100 steps, and each slot's zero-step call before its clock starts);
- ``training``: the populations' compiled training steps (``Trained.seconds``);
- ``export``: shortlisting members and exporting them to sympy (the rest of
  ``train_population``);
- ``refit``: float64 refits and scoring of the exported formulas (``refit_slot``);
- ``library``: the sparse library, rational, product, group, symmetry and residual stages;
- ``decompose``: decomposition and reduction (exclusive of the sub-searches' own stages);
- ``polish``: simplification and rounding of the front (``polish_front``);
- ``selection``: units consistency, Pareto front, selection and the equations table;
- ``data``: validation, splitting and scaling of the inputs;
- ``other``: the fit's wall time not in any of these (the search's own loop, Python).

``--cold`` points the persistent compilation cache at an empty directory, so every
compile is paid; without it the machine's cache is used as a user's second fit would.
Records go to ``experiments/results/profile_fit/profile.jsonl`` (a (task, seed, time,
cold) already recorded is skipped); ``report`` writes ``README.md`` there.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np

from experiments.run import commit, load_records

OUT = os.path.join(os.path.dirname(__file__), "results", "profile_fit")
TASKS = ("feynman/I.6.2a", "feynman/I.13.4", "feynman/II.11.3", "feynman/I.34.27")
CATEGORIES = (
    "compile",
    "training",
    "export",
    "refit",
    "library",
    "decompose",
    "polish",
    "selection",
    "data",
    "other",
)
#: (module, attribute, category) of the wrapped stage functions.
STAGES = (
    ("symnet.search._slot", "probe_rate", "compile"),
    ("symnet.search._slot", "train_population", None),  # split by its Trained record
    ("symnet.search._discover", "refit_slot", "refit"),
    ("symnet.search._discover", "library_stage", "library"),
    ("symnet.search._discover", "rational_stage", "library"),
    ("symnet.search._discover", "product_stage", "library"),
    ("symnet.search._discover", "group_library_stage", "library"),
    ("symnet.search._discover", "symmetry_fits", "library"),
    ("symnet.search._discover", "residual_stage", "library"),
    ("symnet.search._discover", "decompose", "decompose"),
    ("symnet.search._discover", "reduce", "decompose"),
    ("symnet.search._discover", "polish_front", "polish"),
    ("symnet.search._discover", "consistent", "selection"),
    ("symnet.search._discover", "consistent_front", "selection"),
    ("symnet._estimator", "pareto_front", "selection"),
    ("symnet._estimator", "select", "selection"),
    ("symnet._estimator", "datasets_of", "data"),
)


class Profile:
    """Exclusive seconds per category, from wrappers that keep a stack of open calls."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self._stack: list[list[float]] = []  # [start, seconds of nested wrapped calls]

    def wrap(self, fn, category):
        def timed(*args, **kwargs):
            self._stack.append([time.monotonic(), 0.0])
            try:
                out = fn(*args, **kwargs)
            finally:
                start, nested = self._stack.pop()
                elapsed = time.monotonic() - start
                if self._stack:
                    self._stack[-1][1] += elapsed
            own = elapsed - nested
            if category is None:  # train_population: compile, training, export
                self.seconds["compile"] += out.warmup
                self.seconds["training"] += out.seconds
                self.seconds["export"] += own - out.warmup - out.seconds
            else:
                self.seconds[category] += own
            return out

        return timed

    def install(self) -> None:
        import importlib

        for module, name, category in STAGES:
            mod = importlib.import_module(module)
            setattr(mod, name, self.wrap(getattr(mod, name), category))


def one_fit(task_name: str, seed: int, max_time: float) -> dict:
    """Runs in a fresh process: one profiled fit, timed after the imports."""
    import symnet
    from symnet.datasets import get_task

    profile = Profile()
    profile.install()
    X, y = get_task(task_name).sample(1000, seed=seed)
    model = symnet.SymbolicRegressor(max_time=max_time, random_state=seed)
    t0 = time.monotonic()
    model.fit(X, y)
    wall = time.monotonic() - t0
    shares = dict(profile.seconds)
    shares["other"] = wall - sum(shares.values())
    return {
        "task": task_name,
        "seed": seed,
        "max_time": max_time,
        "wall": wall,
        "seconds": {c: shares.get(c, 0.0) for c in CATEGORIES},
        "found": str(model.sympy()),
        "cache_dir": symnet.cache_dir(),
        "commit": commit(),
        "version": symnet.__version__,
    }


def _records() -> list[dict]:
    return load_records(os.path.join(OUT, "profile.jsonl"))


def run(seed: int, max_time: float, cold: bool) -> None:
    done = {(r["task"], r["seed"], r["max_time"], r["cold"]) for r in _records()}
    for task in TASKS:
        if (task, seed, max_time, cold) in done:
            continue
        env = dict(os.environ)
        with tempfile.TemporaryDirectory() as empty:
            if cold:
                env["SYMNET_CACHE_DIR"] = empty
            cmd = [sys.executable, "-m", "experiments.profile_fit", "one", task]
            cmd += ["--seed", str(seed), "--time", str(max_time)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        record = {**json.loads(out.stdout.strip().splitlines()[-1]), "cold": cold}
        os.makedirs(OUT, exist_ok=True)
        with open(os.path.join(OUT, "profile.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")
        share = record["seconds"]["training"] / record["wall"]
        print(f"{task:22s} cold={cold} wall {record['wall']:.1f} s, training {share:.0%}")


def report() -> str:
    records = _records()
    lines = [
        "# Where a fit's time goes (issue 18)",
        "",
        f"Written {datetime.date.today()}; python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs; commits "
        f"{sorted({r['commit'] for r in records})}.",
        "",
        "Reproduce: `taskset -c 0 .venv/bin/python -m experiments.profile_fit run [--cold]`, "
        "then `.venv/bin/python -m experiments.profile_fit report` (categories: the module "
        "docstring). Shares of each fit's wall time (`fit`, after imports). Order of the "
        "runs: warm seed 0 (the machine's cache, which lacked some of these shapes), cold "
        "seed 0 (an empty cache each fit), warm seed 1 (the same shapes, now cached), all "
        "before the faster training step; then warm seed 2 after it (21f8a7c: feature-major "
        "layers, chunks of 8 members, the CPU sine series; `-dirty` from an edit to an "
        "experiment script, the package as committed); then warm seed 3 after the second "
        "(54e6b38: one product per layer split by rows, chunks that run all their steps; "
        "`-dirty` from uncommitted docs; `taskset -c 1` while a one-core refit benchmark "
        "ran on the other core). Each fit fills its budget, so a faster step shows as more "
        "training done and more exported formulas to refit, not as a smaller training share.",
        "",
        "| task | seed | max_time | cache | wall (s) | " + " | ".join(CATEGORIES) + " | commit |",
        "|---|---|---|---|---|" + "---|" * len(CATEGORIES) + "---|",
    ]
    for r in records:
        shares = [f"{r['seconds'][c] / r['wall']:.1%}" for c in CATEGORIES]
        cache = "cold" if r["cold"] else "warm"
        lines.append(
            f"| {r['task']} | {r['seed']} | {r['max_time']:.0f} | {cache} | {r['wall']:.1f} | "
            + " | ".join(shares)
            + f" | {r['commit']} |"
        )
    for cold, seed in sorted({(r["cold"], r["seed"]) for r in records}):
        rs = [r for r in records if (r["cold"], r["seed"]) == (cold, seed)]
        if rs:
            mean = [np.mean([r["seconds"][c] / r["wall"] for r in rs]) for c in CATEGORIES]
            lines.append(
                f"| **mean** ({len(rs)} fits) | {seed} | | {'cold' if cold else 'warm'} | "
                f"{np.mean([r['wall'] for r in rs]):.1f} | "
                + " | ".join(f"**{m:.1%}**" for m in mean)
                + " | |"
            )
    text = "\n".join(lines) + "\n"
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["run", "report", "one"])
    parser.add_argument("task", nargs="?")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time", type=float, default=60.0)
    parser.add_argument("--cold", action="store_true")
    a = parser.parse_args()
    if a.what == "one":
        print(json.dumps(one_fit(a.task, a.seed, a.time)))
    elif a.what == "run":
        run(a.seed, a.time, a.cold)
    else:
        print(report())


if __name__ == "__main__":
    main()

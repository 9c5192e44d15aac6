"""Re-check the ``exact`` column of a results file with the current scorer.

    .venv/bin/python -m experiments.rescore experiments/results/srsd_v1/srsd_easy.jsonl

For records written before a change of :func:`experiments.run.score`'s symbolic check:
each finished record's formula (``found``) is checked again against its task's law; a
record whose verdict changes keeps the old one as ``exact_as_run`` (and is printed), so
nothing the run measured is lost. Fitting is not repeated (formulas, R^2 and times stay
as they were run). The file and its markdown report are then rewritten.
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import re

import sympy

from experiments.run import load_records, score, write_report
from symnet.datasets import get_task


def _parse(text: str, symbols) -> sympy.Expr:
    """``text`` (a formula as ``str`` printed it) over ``symbols``; names that are Python
    keywords (SRSD's ``lambda``) are read as the task's symbols too."""
    local = {}
    for s in symbols:
        name = s.name
        if keyword.iskeyword(name):
            name = f"{name}_kw_"
            text = re.sub(rf"\b{s.name}\b", name, text)
        local[name] = s
    return sympy.parse_expr(text, local_dict=local)


def rescore(path: str) -> list[dict]:
    """The records of ``path`` with ``exact`` re-checked (see the module doc)."""
    records = load_records(path)
    for r in records:
        if r.get("status") != "ok" or "found" not in r:
            continue
        task = get_task(r["task"])
        formula = _parse(r["found"], task.symbols())
        exact = bool(score(task, formula, seed=int(r["seed"]))["exact"])
        if exact != bool(r.get("exact")):
            r.setdefault("exact_as_run", r.get("exact"))
            print(f"{r['task']:>28} seed {r['seed']}: exact {r.get('exact')} -> {exact}")
            r["exact"] = exact
    return records


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", help="a results file OUT/<suite>.jsonl of experiments.run")
    args = ap.parse_args(argv)
    records = rescore(args.path)
    tmp = args.path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    os.replace(tmp, args.path)
    suite = os.path.basename(args.path).removesuffix(".jsonl")
    command = f"python -m experiments.rescore {args.path} (after experiments.run)"
    write_report(records, suite, os.path.dirname(args.path), command)


if __name__ == "__main__":
    main()

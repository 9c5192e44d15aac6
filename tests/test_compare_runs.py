"""The before/after report of two benchmark runs: exact counts, lost tasks and whether the
records agree (what a Ray sweep and a process-pool sweep of a deterministic method must)."""

from __future__ import annotations

import json

from experiments.compare_runs import main


def _write(path, rows):
    with open(path, "w") as f:
        for task, found, exact in rows:
            rec = {"task": task, "noise": 0.0, "seed": 0, "found": found, "exact": exact}
            f.write(json.dumps(rec) + "\n")


def test_report_counts_exact_lost_and_differing_records(tmp_path):
    _write(tmp_path / "a.jsonl", [("t1", "x + 1", True), ("t2", "x*y", True), ("t3", "x", False)])
    _write(tmp_path / "b.jsonl", [("t1", "x + 1", True), ("t2", "x*y + 0.1", False)])
    out = tmp_path / "compare.md"
    main([str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--out", str(out)])
    text = out.read_text()
    assert "| 0.0 | 0 | 2 | 2 | 1 |" in text  # t3 is in one run only: not compared
    assert "- t2 (noise 0.0): + -> ." in text  # recovered before, lost after
    assert "Same selected formula and exact flag: 1/2." in text
    assert "- t2 (noise 0.0, seed 0): `x*y` -> `x*y + 0.1`" in text

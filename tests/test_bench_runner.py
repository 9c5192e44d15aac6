"""The benchmark runner (experiments/run.py): scorer, peers' formula parsing, resumable runs."""

import json
import os
import sys

import numpy as np
import pytest
import sympy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from experiments import peers, run  # noqa: E402
from symnet.datasets import get_task  # noqa: E402


def test_score_marks_the_truth_exact_and_a_near_miss_not():
    task = get_task("feynman/I.14.4")
    k, x = task.symbols()
    good = run.score(task, 0.5000001 * k * x**2, seed=0)
    assert good["exact"] and good["r2_test"] > 0.999999 and good["r2_extrap"] > 0.999999
    near = run.score(task, 0.5 * k * x**2 + 0.01 * x, seed=0)
    assert not near["exact"] and near["r2_test"] > 0.99
    assert good["complexity"] < near["complexity"]


@pytest.mark.parametrize(
    ("model", "exact"),
    [
        ("sqrt((x1 - x2)**2 + (y1 - y2)**2)", True),  # same distance, other order
        ("1.0*sqrt(x1**2 - 2*x1*x2 + x2**2 + y1**2 - 2*y1*y2 + y2**2)", True),
        ("sqrt((x2-x1)**2+(y2-y1)**2) + 2.5", True),  # an additive constant is allowed
        ("sqrt((x2-x1)**2+(y2-y1)**2 + 1)", False),
        ("abs(x2-x1) + abs(y2-y1)", False),
    ],
)
def test_score_on_known_equivalent_and_different_pairs(model, exact):
    task = get_task("feynman/I.8.14")
    local = {str(s): s for s in task.symbols()}
    assert run.score(task, sympy.parse_expr(model, local_dict=local), seed=0)["exact"] is exact


@pytest.mark.parametrize(
    ("model", "exact"),
    [
        ("4.427e-12*Ef**2", True),  # SRBench's rounding alone zeroes the constant
        ("8.854e-12*Ef**2 + 1e-12*Ef", False),  # an extra term of about 1 % of y
    ],
)
def test_score_checks_physical_scales_in_units_of_the_data(model, exact):
    """SRSD's II.8.31 (``8.854e-12*Ef**2/2``, target near 1e-8): checked in units of the
    data's magnitudes too, as if it were of order 1."""
    II_10_9 = get_task("srsd_easy/II.10.9")  # exact as it is; its scaled rounding is not
    local = {str(s): s for s in II_10_9.symbols()}
    law = sympy.parse_expr("94413541901.9652*sigma_den/(0.8359375*chi + 0.8359375)", local)
    assert run.score(II_10_9, law, seed=0)["exact"]
    task = get_task("srsd_easy/II.8.31")
    local = {str(s): s for s in task.symbols()}
    assert run.score(task, sympy.parse_expr(model, local_dict=local), seed=0)["exact"] is exact
    X, y = task.sample(100, seed=0)
    assert run.magnitudes(X.to_numpy(), np.asarray(y)) == ([100.0], 1e-7)
    I_29_4 = get_task("srsd_medium/I.29.4")  # omega/c: omega near 1e9, the target near 1
    omega = I_29_4.symbols()[0]
    assert run.score(I_29_4, 3.33564095198152e-9 * omega, seed=0)["exact"]
    X, y = get_task("feynman/I.14.4").sample(100, seed=0)
    assert run.magnitudes(X.to_numpy(), np.asarray(y)) == ([1.0, 1.0], 1.0)  # ordinary


def test_rescore_rechecks_exact_and_keeps_the_verdict_as_run(tmp_path, capsys):
    from experiments import rescore

    base = {"method": "symnet", "noise": 0.0, "seed": 0, "max_time": 60.0, "status": "ok"}
    base.update(r2_test=1.0, r2_extrap=1.0, complexity=5, wall=1.0, time_to_selected=1.0)
    records = [
        dict(base, task="srsd_easy/II.8.31", found="4.427e-12*Ef**2", exact=False),
        dict(base, task="srsd_easy/I.30.5", found="lambda/(n*sin(theta))", exact=True),
    ]
    path = tmp_path / "srsd_easy.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    rescore.main([str(path)])
    again = run.load_records(str(path))
    assert [r["exact"] for r in again] == [True, True]
    assert again[0]["exact_as_run"] is False and "exact_as_run" not in again[1]
    assert "II.8.31 seed 0: exact False -> True" in capsys.readouterr().out
    assert (tmp_path / "srsd_easy.md").exists()


def test_gplearn_programs_become_sympy():
    a, b = sympy.symbols("a b", real=True)
    expr = peers.gplearn_to_sympy("add(mul(X0, X1), sin(div(X1, 0.5)))", [a, b])
    assert sympy.simplify(sympy.nsimplify(expr) - (a * b + sympy.sin(2 * b))) == 0
    assert peers.gplearn_to_sympy("sqrt(X0)", [a, b]) == sympy.sqrt(sympy.Abs(a))


def test_runner_records_skips_finished_tasks_and_reports(tmp_path, capsys):
    out = str(tmp_path)
    argv = ["--suite", "nguyen", "--only", "1", "12", "--methods", "linear", "--time", "5"]
    run.main([*argv, "--out", out])
    records = run.load_records(os.path.join(out, "nguyen.jsonl"))
    assert sorted(r["task"] for r in records) == ["nguyen/1", "nguyen/12"]
    assert all(r["status"] == "ok" and not r["exact"] for r in records)
    with open(os.path.join(out, "nguyen.md")) as f:
        report = f.read()
    assert "| linear | 0.0 | 5 | 2 | 0 | 0.0% |" in report
    assert os.path.exists(os.path.join(out, "nguyen_recovery.png"))
    # A second run finds both finished and launches nothing.
    capsys.readouterr()
    run.main([*argv, "--out", out])
    assert capsys.readouterr().out == ""
    with open(os.path.join(out, "nguyen.jsonl")) as f:
        assert len([json.loads(line) for line in f]) == 2


def test_seeded_sample_is_fixed():
    first = run.select_tasks("feynman", sample=30, sample_seed=0)
    assert len(first) == 30 == len(set(first))
    assert first == run.select_tasks("feynman", sample=30, sample_seed=0)
    assert first != run.select_tasks("feynman", sample=30, sample_seed=1)


def test_reports_of_ode_suites_count_recovery_per_system(tmp_path):
    records = [
        {
            "task": f"strogatz/{t}",
            "method": "symnet",
            "noise": 0.0,
            "max_time": 60.0,
            "status": "ok",
            "exact": e,
            "r2_test": 1.0,
            "r2_extrap": 1.0,
            "complexity": 5,
            "wall": 1.0,
            "time_to_selected": 1.0,
            "found": "x",
        }
        for t, e in [("vdp_x", True), ("vdp_y", True), ("bacres_x", True), ("bacres_y", False)]
    ]
    run.write_report(records, "strogatz", str(tmp_path), "cmd")
    with open(os.path.join(tmp_path, "strogatz.md")) as f:
        report = f.read()
    assert "1/2 systems with every right-hand side exact." in report
    assert "| vdp | 2/2 |" in report and "| bacres | 1/2 |" in report


def test_score_counts_dimensionally_inconsistent_formulas():
    task = get_task("feynman/I.14.4")  # U = k_spring * x**2 / 2
    k, x = task.symbols()
    assert run.score(task, 0.5 * k * x**2, seed=0)["consistent"]
    assert not run.score(task, 0.5 * k * x**2 + 0.01 * x, seed=0)["consistent"]


def test_units_switch_names_the_methods_that_take_units(tmp_path):
    argv = ["--suite", "feynman", "--only", "I.14.4", "--units", "--out", str(tmp_path)]
    with pytest.raises(SystemExit, match="take no units"):
        run.main([*argv, "--methods", "linear"])
    assert peers.UNIT_METHODS["symnet"] in peers.METHODS


def test_odebench_data_are_seeded_noisy_and_subsampled(tmp_path):
    from experiments import odebench

    entry, t, x = odebench._data("odebench_sub50", "ode24", 0.01, seed=3)
    again = odebench._data("odebench_sub50", "ode24", 0.01, seed=3)[2]
    assert x.shape == (256, 2) and len(t) == 256 and (x == again).all()
    clean = entry.trajectory(0)[np.searchsorted(odebench.ODEBENCH_TIMES, t)]
    rel = np.std(x - clean, axis=0) / np.sqrt(np.mean(clean**2, axis=0))
    assert np.allclose(rel, 0.01, rtol=0.2)
    # the truth itself is exact and simulates perfectly from both starts
    assert odebench._r2(list(entry.system.exprs()), entry, 1) > 0.999999
    rec = {"task": "odebench/ode24", "method": "symnet", "noise": 0.0, "seed": 0}
    rec.update(status="ok", exact=True, exact_states=[True, True], r2_recon=1.0, r2_gen=0.5)
    odebench.write_report([rec], "odebench", str(tmp_path), "cmd")
    text = (tmp_path / "odebench.md").read_text()
    assert "| symnet | 0 | 0 | 1 | 1 (100%) | 2/2 | 1 (100%) | 0 (0%) |" in text

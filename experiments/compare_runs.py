"""Before/after table of two benchmark runs of the same tasks (same suite, seeds, noise).

    .venv/bin/python -m experiments.compare_runs \\
        experiments/results/pipeline_check/before/feynman.jsonl \\
        experiments/results/pipeline_check/after/feynman.jsonl \\
        --labels 9c6380d HEAD --out experiments/results/pipeline_check/compare.md

Per (noise, seed): exact recoveries of each run; per noise: mean and min over seeds; per
task: a mark per seed; the check the search redesign must pass: no task lost that the
old run recovered on every seed; and how many records agree on the selected formula and
the exact flag. Only records present in both runs are compared.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform


def load(path: str) -> dict[tuple[str, float, int], dict]:
    """Records by (task, noise, seed); a later record of the same key wins."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                out[(r["task"], float(r["noise"]), int(r["seed"]))] = r
    return out


def compare(before: dict, after: dict, labels: tuple[str, str]) -> list[str]:
    keys = sorted(set(before) & set(after))
    noises = sorted({k[1] for k in keys})
    lines = ["| noise | seed | tasks | " + " | ".join(f"exact {lb}" for lb in labels) + " |"]
    lines.append("|---|---|---|---|---|")
    for g in noises:
        per_seed = collections.defaultdict(lambda: [0, 0, 0])
        for task, noise, seed in keys:
            if noise != g:
                continue
            row = per_seed[seed]
            row[0] += 1
            row[1] += bool(before[(task, noise, seed)].get("exact"))
            row[2] += bool(after[(task, noise, seed)].get("exact"))
        for seed, (n, b, a) in sorted(per_seed.items()):
            lines.append(f"| {g} | {seed} | {n} | {b} | {a} |")
        if len(per_seed) > 1:
            bs = [v[1] for v in per_seed.values()]
            as_ = [v[2] for v in per_seed.values()]
            lines.append(
                f"| {g} | mean / min | | {sum(bs) / len(bs):.1f} / {min(bs)} | "
                f"{sum(as_) / len(as_):.1f} / {min(as_)} |"
            )
    lines += ["", "Per task (seeds in order; `+` exact, `.` not; before -> after):", ""]
    lines += ["| task | noise | " + " -> ".join(labels) + " |", "|---|---|---|"]
    lost = []
    for g in noises:
        tasks = sorted({k[0] for k in keys if k[1] == g})
        for task in tasks:
            seeds = sorted(k[2] for k in keys if k[0] == task and k[1] == g)
            b = [bool(before[(task, g, s)].get("exact")) for s in seeds]
            a = [bool(after[(task, g, s)].get("exact")) for s in seeds]
            marks = ["".join("+" if v else "." for v in run) for run in (b, a)]
            lines.append(f"| {task} | {g} | {marks[0]} -> {marks[1]} |")
            if all(b) and not all(a):
                lost.append(f"{task} (noise {g}): {marks[0]} -> {marks[1]}")
    lines += ["", "Tasks the first run recovered on every seed and the second did not:", ""]
    lines += [f"- {t}" for t in lost] or ["- none"]
    return lines + same_records(before, after, keys)


def same_records(before: dict, after: dict, keys: list) -> list[str]:
    """How many records agree on the selected formula and the exact flag (what two runs of
    a deterministic method on different engines must do), and the ones that do not."""
    differ = [
        k
        for k in keys
        if (before[k].get("found"), before[k].get("exact"))
        != (after[k].get("found"), after[k].get("exact"))
    ]
    lines = ["", f"Same selected formula and exact flag: {len(keys) - len(differ)}/{len(keys)}."]
    for task, noise, seed in differ:
        b, a = before[(task, noise, seed)], after[(task, noise, seed)]
        lines.append(
            f"- {task} (noise {noise}, seed {seed}): `{b.get('found')}` -> `{a.get('found')}`"
        )
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--labels", nargs=2, default=["before", "after"])
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    before, after = load(args.before), load(args.after)
    commits = {
        lb: sorted({str(r.get("commit")) for r in run.values()})
        for lb, run in zip(args.labels, (before, after), strict=True)
    }
    head = [
        "# Same results before and after",
        "",
        f"Written {datetime.date.today()}; python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs. Commits: {commits}.",
        f"Records: {args.before} ({len(before)}), {args.after} ({len(after)}); "
        f"compared: {len(set(before) & set(after))}.",
        "",
    ]
    text = "\n".join(head + compare(before, after, tuple(args.labels))) + "\n"
    if os.path.exists(args.out):
        os.remove(args.out)  # a report, rewritten from the records on every call
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()

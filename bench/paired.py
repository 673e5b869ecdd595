"""Run one benchmark in this tree and in a base commit, alternating, and compare (issue 19: machines are noisy).

Usage: python bench/paired.py [--base REF] [--runs N] [--keys K ...] [--script-from-this-tree] SCRIPT [ARG ...]

SCRIPT is a bench/ script that prints one JSON line per measurement with ``--json`` (plan_bench.py does); each
tree runs its own copy of it, with its own code, N times, in the order base, this, this, base, ... Prints min /
median / max of each key and the ratio of the medians. With ``--script-from-this-tree`` both trees run this
tree's copy of SCRIPT (for a script the base does not have yet), each with its own code on PYTHONPATH. Examples:

    python bench/paired.py --base HEAD~1 --runs 5 plan_bench.py --sizes 2000 --latency-ms 0
    python bench/paired.py --base ec730fc --runs 3 --script-from-this-tree --keys per_second throttled \
        pacing_bench.py --scenarios d --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from startup_bench import worktree

TREE = Path(__file__).resolve().parent.parent


def once(tree: Path, script: str, args: list[str], *, script_tree: Path | None = None) -> dict[str, Any]:
    """The last JSON line of one run of ``script`` (``script_tree``'s copy, else ``tree``'s) on ``tree``'s code."""
    environ = {**os.environ, "PYTHONPATH": str(tree)}
    bench = (script_tree or tree) / "bench"
    done = subprocess.run(
        [sys.executable, str(bench / script), "--json", *args],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        cwd=bench,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return rows[-1]


PLAN_KEYS = ["total", "files", "read", "diff", "cpu_ms_per_assistant"]


def default_keys(row: dict[str, Any]) -> list[str]:
    """plan_bench's figures, or every number another script prints."""
    if all(key in row for key in PLAN_KEYS):
        return PLAN_KEYS
    return [k for k, v in row.items() if isinstance(v, int | float) and not isinstance(v, bool)]


def figures(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="HEAD~1")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--keys",
        nargs="+",
        help="The figures to compare (default: plan_bench's, else every number the script prints)",
    )
    parser.add_argument(
        "--script-from-this-tree",
        action="store_true",
        help="Run this tree's copy of SCRIPT in both trees (the base may not have it).",
    )
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    base = subprocess.run(
        ["git", "-C", str(TREE), "rev-parse", options.base], capture_output=True, text=True, check=True
    ).stdout.strip()
    with worktree(base) as old:
        rows: dict[Path, list[dict[str, Any]]] = {old: [], TREE: []}
        for run in range(options.runs):
            for tree in (old, TREE) if run % 2 == 0 else (TREE, old):
                script_tree = TREE if options.script_from_this_tree else None
                rows[tree].append(once(tree, options.script, options.args, script_tree=script_tree))
    whose = " (this tree's script in both)" if options.script_from_this_tree else ""
    print(
        f"{options.script} {' '.join(options.args)}: base {base[:12]} against this tree, {options.runs} runs each"
        + whose
    )
    print("min / median / max\n")
    print("| measure | base | this tree | median ratio |")
    print("|---|---:|---:|---:|")
    for key in options.keys or default_keys(rows[TREE][0]):
        before = [row[key] for row in rows[old]]
        after = [row[key] for row in rows[TREE]]
        then, now = statistics.median(before), statistics.median(after)
        ratio = f"{now / then:.0%}" if then else "-"  # a count that was 0 (no 429) has no ratio
        print(f"| {key} | {figures(before)} | {figures(after)} | {ratio} |")


if __name__ == "__main__":
    main()

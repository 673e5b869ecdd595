"""Run one benchmark in this tree and in a base commit, alternating, and compare (issue 19: machines are noisy).

Usage: python bench/paired.py [--base REF] [--runs N] [--keys K ...] [--script-from-this-tree] SCRIPT [ARG ...]

SCRIPT is a bench/ script that prints one JSON line per measurement with ``--json`` (plan_bench.py does); each
tree runs its own copy of it, with its own code, N times, in the order base, this, this, base, ... Prints min /
median / max of each key and the ratio of the medians, for each line (each size) the script prints. --keys
defaults to plan_bench.py's; for a script without them, every number its lines carry.
--script-from-this-tree: both trees run this tree's copy of SCRIPT, with PYTHONPATH naming the tree under test
(for a script the base commit does not have yet, such as scale_bench.py). Examples:

    python bench/paired.py --base HEAD~1 --runs 5 plan_bench.py --sizes 2000 --latency-ms 0
    python bench/paired.py --base ec730fc --runs 3 --script-from-this-tree scale_bench.py --sizes 10000
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


PLAN_KEYS = ["total", "files", "read", "diff", "cpu_ms_per_assistant"]


def once(tree: Path, script: str, args: list[str], script_tree: Path | None = None) -> list[dict[str, Any]]:
    """The JSON lines of one run of ``script`` against ``tree``'s code (from ``script_tree``'s copy, if given)."""
    home = script_tree or tree
    environ = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(home / "bench" / script), "--json", *args],
        env=environ,
        capture_output=True,
        text=True,
        cwd=home / "bench",
    )
    if done.returncode != 0:
        raise SystemExit(f"{script} against {tree} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def paired(
    base: str, script: str, args: list[str], runs: int, script_from_this_tree: bool = False
) -> tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]:
    """Every run's lines, the base's and this tree's, in the order base, this, this, base, ..."""
    with worktree(base) as old:
        rows: dict[Path, list[list[dict[str, Any]]]] = {old: [], TREE: []}
        home = TREE if script_from_this_tree else None
        for run in range(runs):
            for tree in (old, TREE) if run % 2 == 0 else (TREE, old):
                rows[tree].append(once(tree, script, args, home))
        return rows[old], rows[TREE]


def numbers(row: dict[str, Any]) -> list[str]:
    """The keys of a line's measurements: its numbers, but not the size and latency that name it."""
    measured = [
        key for key, value in row.items() if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    return [key for key in measured if key not in ("assistants", "latency_ms")]


def figures(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="HEAD~1")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keys", nargs="+")
    parser.add_argument("--script-from-this-tree", action="store_true")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    base = subprocess.run(
        ["git", "-C", str(TREE), "rev-parse", options.base], capture_output=True, text=True, check=True
    ).stdout.strip()
    old, new = paired(base, options.script, options.args, options.runs, options.script_from_this_tree)
    print(
        f"{options.script} {' '.join(options.args)}: base {base[:12]} against this tree, {options.runs} runs each"
    )
    print("min / median / max")
    for line, first in enumerate(new[0]):
        keys = options.keys or (PLAN_KEYS if set(PLAN_KEYS) <= first.keys() else numbers(first))
        if len(new[0]) > 1:
            print(f"\n{first['assistants']:,} assistants" if "assistants" in first else f"\nline {line + 1}")
        print("\n| measure | base | this tree | median ratio |")
        print("|---|---:|---:|---:|")
        for key in keys:
            before = [run[line][key] for run in old]
            after = [run[line][key] for run in new]
            middle = statistics.median(before)
            ratio = f"{statistics.median(after) / middle:.0%}" if middle else "-"
            print(f"| {key} | {figures(before)} | {figures(after)} | {ratio} |")


if __name__ == "__main__":
    main()

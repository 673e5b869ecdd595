"""Run one benchmark in this tree and in a base commit, alternating, and compare (issue 19: machines are noisy).

Usage: python bench/paired.py [--base REF] [--runs N] [--keys K ...] SCRIPT [ARG ...]

SCRIPT is a bench/ script that prints one JSON line per measurement with ``--json`` (plan_bench.py does); each
tree runs its own copy of it, with its own code, N times, in the order base, this, this, base, ... Prints min /
median / max of each key and the ratio of the medians. Example:

    python bench/paired.py --base HEAD~1 --runs 5 plan_bench.py --sizes 2000 --latency-ms 0
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


def once(tree: Path, script: str, args: list[str]) -> dict[str, Any]:
    environ = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(tree / "bench" / script), "--json", *args],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        cwd=tree / "bench",
    )
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return rows[-1]


def figures(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="HEAD~1")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--keys", nargs="+", default=["total", "files", "read", "diff", "cpu_ms_per_assistant"]
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
                rows[tree].append(once(tree, options.script, options.args))
    print(
        f"{options.script} {' '.join(options.args)}: base {base[:12]} against this tree, {options.runs} runs each"
    )
    print("min / median / max\n")
    print("| measure | base | this tree | median ratio |")
    print("|---|---:|---:|---:|")
    for key in options.keys:
        before = [row[key] for row in rows[old]]
        after = [row[key] for row in rows[TREE]]
        ratio = statistics.median(after) / statistics.median(before)
        print(f"| {key} | {figures(before)} | {figures(after)} | {ratio:.0%} |")


if __name__ == "__main__":
    main()

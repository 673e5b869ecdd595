"""Benchmark: start-up of the CLI, this tree against a base commit, side by side (issue 19).

Usage: python bench/startup_bench.py [--base REF] [--runs N]

Runs ``python -m reconciler --help`` and ``python -m reconciler validate`` of this tree's assistants.d/ (three
files), N times each, alternating between this tree and a ``git worktree`` of REF (default: the previous
commit, HEAD~1), so that both see the same moments of a noisy machine. Prints min/median/max wall seconds of each, the
ratio of the medians, and checks that both trees print the same. Target: under 60% of the base's time.

Bytecode is cached (in a directory of its own, PYTHONPYCACHEPREFIX), as after ``pip install``: with
PYTHONDONTWRITEBYTECODE set, as on the machines these sessions run on, every run would also compile every module,
which no installed copy does. ``--no-bytecode`` measures that way too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
FILES = TREE / "assistants.d"
COMMANDS = {
    "--help": ["--help"],
    "validate": ["validate", "--dir", str(FILES)],
}


@contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """A checkout of ``ref`` beside this one, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "base"
        git = ["git", "-C", str(TREE)]
        subprocess.run([*git, "worktree", "add", "--detach", str(path), ref], check=True, capture_output=True)
        try:
            yield path
        finally:
            subprocess.run(
                [*git, "worktree", "remove", "--force", str(path)], check=True, capture_output=True
            )


def once(tree: Path, args: list[str], bytecode: str | None) -> tuple[float, bytes]:
    """Wall seconds of one run of the CLI from ``tree``, and what it printed (stdout and stderr)."""
    environ = {**os.environ, "PYTHONPATH": str(tree), "CALCOM_API_KEY": "startup-bench-key"}
    if bytecode is not None:
        environ.pop("PYTHONDONTWRITEBYTECODE", None)
        environ["PYTHONPYCACHEPREFIX"] = bytecode
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args], env=environ, capture_output=True, cwd=tree, check=False
    )
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{tree}: reconciler {' '.join(args)} exited {done.returncode}:\n{done.stderr.decode()}"
        )
    return took, done.stdout + b"\0" + done.stderr


def figures(times: list[float]) -> str:
    return f"{min(times):.3f} / {statistics.median(times):.3f} / {max(times):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="HEAD~1", help="The commit to compare with (default: HEAD~1).")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-bytecode", action="store_true", help="Compile every module on every run.")
    args = parser.parse_args()
    base = subprocess.run(
        ["git", "-C", str(TREE), "rev-parse", args.base], capture_output=True, text=True, check=True
    ).stdout.strip()
    with worktree(base) as old, tempfile.TemporaryDirectory() as cache:
        bytecode = None if args.no_bytecode else cache
        cached = "compiled every run" if args.no_bytecode else "bytecode cached"
        print(
            f"base {base[:12]} against this tree; {args.runs} runs each, alternating, {cached}; min / median / max\n"
        )
        print("| command | base | this tree | median ratio |")
        print("|---|---:|---:|---:|")
        for name, command in COMMANDS.items():
            timed: dict[Path, list[float]] = {old: [], TREE: []}
            printed: dict[Path, bytes] = {}
            (
                once(old, command, bytecode),
                once(TREE, command, bytecode),
            )  # warm the page cache and the bytecode of both
            for run in range(args.runs):
                order = (old, TREE) if run % 2 == 0 else (TREE, old)
                for tree in order:
                    took, printed[tree] = once(tree, command, bytecode)
                    timed[tree].append(took)
            if printed[old] != printed[TREE]:
                raise SystemExit(f"reconciler {name}: the two trees print different things")
            ratio = statistics.median(timed[TREE]) / statistics.median(timed[old])
            print(f"| {name} | {figures(timed[old])} | {figures(timed[TREE])} | {ratio:.0%} |")


if __name__ == "__main__":
    main()

"""bench/scale_bench.py end to end at tiny sizes: the whole plan CLI against the emulator, and its pairing.

The figures it reports are read off the emulator's access log and the plan process's own rusage; these tests pin
what must hold whatever the machine: the keys, the exit code 2 of a plan with changes, one list request per 100
assistants and nothing else (the files give ids, not names), and the floor those requests make.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
KEYS = {
    "assistants",
    "latency_ms",
    "tree",
    "exit_code",
    "wall",
    "cpu",
    "cpu_ms_per_assistant",
    "peak_rss_mib",
    "rss_kib_per_assistant",
    "requests",
    "list_requests",
    "other_requests",
    "list_pages_needed",
    "floor",
    "sequential_floor",
    "wall_over_floor",
}


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=BENCH,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )


def test_scale_bench_plans_through_the_cli_and_counts_the_requests_it_sent() -> None:
    done = bench("scale_bench.py", "--sizes", "30", "250", "--latency-ms", "10", "--json")
    assert done.returncode == 0, done.stderr
    small, large = [json.loads(line) for line in done.stdout.splitlines()]
    assert set(small) == set(large) == KEYS
    assert (small["assistants"], small["tree"], small["exit_code"]) == (30, str(ROOT), 2)
    counted = [
        (r["requests"], r["list_requests"], r["other_requests"], r["list_pages_needed"])
        for r in (small, large)
    ]
    assert counted == [(1, 1, 0, 1), (3, 3, 0, 3)]
    assert (small["floor"], large["floor"]) == (0.01, 0.02)  # page 1, then pages 2 and 3 at once
    assert (small["sequential_floor"], large["sequential_floor"]) == (0.01, 0.03)
    assert large["cpu"] > 0
    assert large["wall"] > large["floor"]
    assert large["peak_rss_mib"] > 20  # the plan process's own: an interpreter with the CLI loaded
    assert large["rss_kib_per_assistant"] == pytest.approx(large["peak_rss_mib"] * 1024 / 250)


def test_the_cli_under_test_is_the_tree_pythonpath_names_and_the_emulator_is_this_one(tmp_path: Path) -> None:
    """As paired.py --script-from-this-tree runs it: a base tree's plan against this tree's emulator."""
    fake = tmp_path / "reconciler"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text("raise SystemExit(2)  # a plan that reads nothing and finds changes\n")
    done = subprocess.run(
        [sys.executable, "scale_bench.py", "--sizes", "30", "--latency-ms", "0", "--json"],
        capture_output=True,
        text=True,
        cwd=BENCH,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    assert (row["tree"], row["exit_code"], row["requests"]) == (str(tmp_path), 2, 0)


def test_paired_runs_this_trees_scale_bench_against_the_base_tree() -> None:
    done = bench(
        "paired.py", "--base", "HEAD", "--runs", "1", "--keys", "requests", "exit_code", "--script-from-this-tree",
        "scale_bench.py", "--sizes", "30", "--latency-ms", "0",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == [
        "| requests | 1.000 / 1.000 / 1.000 | 1.000 / 1.000 / 1.000 | 100% |",
        "| exit_code | 2.000 / 2.000 / 2.000 | 2.000 / 2.000 / 2.000 | 100% |",
    ]

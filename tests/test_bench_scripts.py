"""The benchmark scripts still start: they import the package's internals, which a refactor can move.

Issue 13 moved ``read_account`` and ``keyed_digest`` out of ``reconcile.py`` and ``bench/plan_bench.py`` stopped
starting, with every test green. Each script is started with ``--help`` in its own interpreter: that imports all
of it and runs nothing heavy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(path.name for path in (ROOT / "bench").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_script_starts(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


TINY = ["--sizes", "150", "--updates", "5", "--runs", "1", "--json"]


def test_the_emulator_scale_benchmark_runs_at_a_tiny_size() -> None:
    """It seeds, lists every page and updates, against this tree's emulator in its own process."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "emulator_scale_bench.py"), *TINY],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert (row["assistants"], row["emulator"], row["updates"]) == (150, "this tree", [5])


def test_the_layers_benchmark_runs_at_a_tiny_size() -> None:
    """Layered and flat directories of the same assistants plan alike (it asserts so), against the emulator."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "layers_bench.py"), "--sizes", "30", "--runs", "1", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert (row["assistants"], row["runs"]) == (30, 1)
    assert row["validate"]["layered"]["median"] > 0
    assert row["plan"]["flat"]["median"] > 0


def test_the_pacing_benchmark_runs_at_a_tiny_size() -> None:
    done = subprocess.run(
        [sys.executable, "pacing_bench.py", "--updates", "5", "--runs", "1", "--scenarios", "a,d"],
        capture_output=True,
        text=True,
        cwd=ROOT / "bench",
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "5 updates, 1 runs each; min / median / max"
    assert lines[3].startswith("| a | 600 per 60 s | ")
    assert " of the limit | 0 / 0 / 0 | " in lines[3]  # no answer 429
    assert lines[4].startswith("| d | no limit, 50 ms a request | ")

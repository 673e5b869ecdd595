"""A short soak in the suite (bench/soak.py runs it for minutes): random edits on both sides, applied under
faults, converge every round with no duplicate and nothing lost. Loopback only; bounded by SOAK_SECONDS."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from soak import soak


def test_random_edits_on_both_sides_converge_every_round() -> None:
    counts = soak(seconds=float(os.environ.get("SOAK_SECONDS", "12")), seed=3)
    assert counts["rounds"] >= 2
    assert counts["applies"] == counts["rounds"]
    assert counts["file edits"] > 0
    assert counts["platform edits"] > 0
    assert counts["assistants written"] > 0

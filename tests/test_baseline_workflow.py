"""The pull request workflow plans against its base branch (``plan --baseline``), through the composite action."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support import emulator
from test_github import ROOT, WORKFLOWS, action_step, load, run_sh, steps


def test_the_plan_workflow_fetches_and_passes_the_base_branch() -> None:
    workflow = load(WORKFLOWS / "plan.yml")
    (checkout,) = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout")]
    assert checkout["with"] == {"persist-credentials": False, "fetch-depth": 0}  # origin/<base> exists
    assert action_step(workflow)["with"]["baseline"] == "origin/${{ github.base_ref }}"


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "-C", str(repo), *identity, *args], capture_output=True, check=True)


def test_pr_plan_with_a_baseline_shows_the_changes_made_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALCOM_API_KEY", "cal_live_from_secrets_123")
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "assistants.d", checkout / "assistants.d")
    git(checkout, "init", "-q", "-b", "main")
    git(checkout, "add", ".")
    git(checkout, "commit", "-q", "-m", "base")
    with emulator(monkeypatch, seed="demo"):
        code, outputs, log = run_sh(
            "pr-plan", tmp_path, cwd=checkout, RECONCILER_DIR="assistants.d", RECONCILER_BASELINE="main"
        )
    assert (code, outputs["exitcode"]) == (0, "2"), log
    report = Path(outputs["report"]).read_text()
    # the files are as on main, so everything the plan would do was changed on the platform
    assert "#### Changed outside the repository\n" in report
    origins = {
        f["origin"] for c in json.loads(Path(outputs["plan"]).read_text())["changes"] for f in c["fields"]
    }
    assert origins == {"platform"}


def test_pr_plan_with_an_unknown_baseline_reports_the_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALCOM_API_KEY", "cal_live_from_secrets_123")
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "assistants.d", checkout / "assistants.d")
    git(checkout, "init", "-q", "-b", "main")
    with emulator(monkeypatch, seed="demo"):
        code, outputs, _ = run_sh(
            "pr-plan",
            tmp_path,
            cwd=checkout,
            RECONCILER_DIR="assistants.d",
            RECONCILER_BASELINE="origin/main",
        )
    assert (code, outputs["exitcode"]) == (1, "1")
    assert (
        "error: --baseline 'origin/main': no such commit in the repository"
        in Path(outputs["report"]).read_text()
    )

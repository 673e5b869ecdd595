"""The drift job's pull-request mode, through the composite action's run.sh against the emulator, with the git
side in a temporary repository (a clone of a bare "origin"): drift is adopted into the files, committed as
``reconciler adopt`` on ``reconciler/drift`` and pushed; the body is the plan of what it adopts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from support import emulator, run
from test_github import ROOT, run_sh


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout of main with the example assistants, its origin a bare repository beside it."""
    origin = tmp_path / "origin.git"
    work = tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(tmp_path, "clone", "--quiet", str(origin), str(work))
    shutil.copytree(ROOT / "assistants.d", work / "assistants.d")
    git(work, "add", ".")
    git(work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "files")
    git(work, "push", "--quiet", "origin", "HEAD:main")
    monkeypatch.setenv("CALCOM_API_KEY", "cal_live_from_secrets_123")
    monkeypatch.setenv("RECONCILER_OWNER", "github.com/acme/assistants/assistants.d")
    return work


def test_drift_opens_a_branch_with_the_adopted_files(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = checkout / "assistants.d"
    with emulator(monkeypatch, seed="demo") as api:
        code, _, log = run_sh("apply", tmp_path, cwd=checkout, RECONCILER_DIR="assistants.d")
        assert code == 0, log
        api.update(1, {"speech_speed": 1.1})  # tuned in the dashboard
        code, outputs, log = run_sh(
            "drift", tmp_path, cwd=checkout, RECONCILER_DIR="assistants.d", RECONCILER_DRIFT="pull-request"
        )
        assert (code, outputs["exitcode"], outputs["adopted"]) == (0, "2", "true"), log
        code, out, err = run(capsys, "plan", "--dir", str(directory), "--detailed-exitcode")
        assert (code, err) == (0, ""), out
    assert outputs["branch"] == "reconciler/drift"
    origin = tmp_path / "origin.git"
    assert git(origin, "log", "--format=%s", "reconciler/drift").splitlines() == ["reconciler adopt", "files"]
    assert git(origin, "log", "-1", "--format=%b", "reconciler/drift") == (
        "adopted speech_speed of sales-outbound into assistants.d/sales-outbound.yaml:22\n"
        "Adopted 1 field into 1 file.\n\n"
    )
    diff = git(origin, "diff", "main", "reconciler/drift")
    assert "-speech_speed: 1.05\n+speech_speed: 1.1\n" in diff
    body = Path(outputs["body"]).read_text()
    assert body == Path(outputs["report"]).read_text()  # the plan of what it adopts, nothing left over
    assert "`speech_speed`" in body
    assert git(checkout, "status", "--porcelain") == ""


def test_drift_of_a_secret_only_adopts_nothing_and_keeps_the_issue(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator(monkeypatch, seed="demo"):
        code, _, log = run_sh("apply", tmp_path, cwd=checkout, RECONCILER_DIR="assistants.d")
        assert code == 0, log
        monkeypatch.setenv("CALCOM_API_KEY", "cal_live_rotated_456")  # the platform keeps the old key
        code, outputs, log = run_sh(
            "drift", tmp_path, cwd=checkout, RECONCILER_DIR="assistants.d", RECONCILER_DRIFT="pull-request"
        )
    assert (code, outputs["exitcode"], outputs["adopted"]) == (0, "2", "false"), log
    assert "branch" not in outputs
    assert "reconciler/drift" not in git(tmp_path / "origin.git", "branch", "--list")


def test_the_drift_workflow_passes_the_mode_and_keeps_the_issue_when_nothing_was_adopted() -> None:
    from test_github import WORKFLOWS, action_step, load

    workflow = load(WORKFLOWS / "drift.yml")
    step = action_step(workflow)
    assert step["with"]["drift"] == "${{ vars.RECONCILER_DRIFT || 'issue' }}"
    assert step["env"]["RECONCILER_GIT_TOKEN"] == (
        "${{ vars.RECONCILER_DRIFT == 'pull-request' && github.token || '' }}"
    )
    report = workflow["jobs"]["drift"]["steps"][-1]
    assert report["env"]["ADOPTED"] == "${{ steps.reconciler.outputs.adopted }}"
    script = report["with"]["script"]
    assert step["env"]["RECONCILER_DRIFT_BRANCH"] == "${{ matrix.branch }}"  # one branch per account
    assert report["env"]["BRANCH"] == "${{ matrix.branch }}"
    assert "const head = `${owner}:${process.env.BRANCH}`;" in script
    assert "head: process.env.BRANCH, base: 'main'" in script
    assert "process.env.EXITCODE === '2' && process.env.ADOPTED === 'true'" in script
    assert "labels: [label]" in script
    assert "const label = 'reconciler-drift';" in script
    # a pull request closed unmerged with the same adoption falls through to the issue, as without the mode
    assert "p.state === 'closed' && !p.merged_at" in script
    assert script.index("if (!declined)") < script.index("const issue = open.find")

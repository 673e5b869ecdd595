"""The GitHub integration: every workflow's structure, and the exact commands they run, against the emulator."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from html import escape
from pathlib import Path
from typing import Any

import cmarkgfm  # type: ignore[import-untyped]
import pytest
import yaml
from markdown_it import MarkdownIt
from support import emulator

from reconciler.plan import Change, FieldChange, Plan
from reconciler.render import MARKER, render_markdown

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / ".github" / "actions" / "reconciler"


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if True in data:  # PyYAML reads the key `on` as a YAML 1.1 boolean
        data["on"] = data.pop(True)
    return dict(data)


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def action_step(workflow: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in steps(workflow) if s.get("uses") == "./.github/actions/reconciler"]
    return step


def script_of(workflow: dict[str, Any]) -> str:
    return "\n".join(
        s["with"]["script"] for s in steps(workflow) if s.get("uses", "").startswith("actions/github-script")
    )


# Every third-party action by the commit of a release, the release in a comment: (action, commit, version).
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")


def every_step() -> list[tuple[str, dict[str, Any]]]:
    """(file, step) for every step of every workflow and of the composite action."""
    found = [(path.name, step) for path in WORKFLOWS.glob("*.yml") for step in steps(load(path))]
    action = yaml.safe_load((ACTION / "action.yml").read_text())
    return found + [("action.yml", step) for step in action["runs"]["steps"]]


def test_every_workflow_parses_and_pins_its_actions_by_commit() -> None:
    names = sorted(p.name for p in WORKFLOWS.glob("*.yml"))
    assert names == ["apply.yml", "ci.yml", "drift.yml", "plan.yml"]
    for path in [*WORKFLOWS.glob("*.yml"), ACTION / "action.yml"]:
        if path.parent == WORKFLOWS:
            assert {"name", "on", "permissions", "jobs"} <= set(load(path)), path.name
        for line in path.read_text().splitlines():
            if "uses:" in line and "uses: ./" not in line:
                assert PINNED.match(line), (
                    f"{path.name}: not pinned to a commit with its version: {line.strip()}"
                )
    used = {step["uses"].split("@")[0] for _, step in every_step() if "uses" in step}
    assert used == {
        "./.github/actions/reconciler",
        "actions/checkout",
        "actions/setup-python",
        "actions/upload-artifact",
        "actions/github-script",
    }


def test_every_checkout_leaves_no_credentials_behind() -> None:
    checkouts = [(f, s) for f, s in every_step() if s.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == 4
    for name, step in checkouts:
        assert step["with"]["persist-credentials"] is False, name


def test_permissions_are_granted_per_job_only() -> None:
    expected = {
        "ci.yml": {"test": {"contents": "read"}},
        "plan.yml": {"plan": {"contents": "read", "pull-requests": "write"}},
        "apply.yml": {"apply": {"contents": "read"}},
        "drift.yml": {
            # contents and pull-requests: the pull-request mode pushes reconciler/drift and opens its pull request
            "drift": {"actions": "read", "contents": "write", "issues": "write", "pull-requests": "write"}
        },
    }
    for name, jobs in expected.items():
        workflow = load(WORKFLOWS / name)
        assert workflow["permissions"] == {}, name
        assert {job: spec["permissions"] for job, spec in workflow["jobs"].items()} == jobs, name


def test_ci_runs_the_checks_on_three_pythons() -> None:
    workflow = load(WORKFLOWS / "ci.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert workflow["jobs"]["test"]["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]
    assert [s["run"] for s in steps(workflow) if "run" in s] == [
        "pip install --require-hashes -r requirements/test.txt && pip install --no-deps --no-build-isolation -e .",
        "scripts/check",
    ]


def test_plan_workflow_comments_once_and_handles_forks() -> None:
    workflow = load(WORKFLOWS / "plan.yml")
    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    job = workflow["jobs"]["plan"]
    assert (
        job["env"]["FROM_FORK"] == "${{ github.event.pull_request.head.repo.full_name != github.repository }}"
    )
    step = action_step(workflow)
    assert step["with"]["mode"] == "pr-plan"
    assert step["with"]["no-env"] == "${{ env.FROM_FORK }}"
    assert step["env"]["GLORIA_API_TOKEN"] == "${{ secrets.GLORIA_API_TOKEN }}"
    script = script_of(workflow)
    assert f"const marker = '{MARKER}';" in script  # the renderer's hidden marker finds the comment again
    assert "updateComment" in script
    assert "createComment" in script
    uploads = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads[0]["with"]["path"] == "${{ steps.reconciler.outputs.plan }}"


# --- the comment step, run by node against a fake GitHub ------------------------------------------------------

#: Runs a github-script step's script as the action does (the body of an async function given ``require``,
#: ``github`` and ``context``) against an issue's comments, and prints the writes it made as JSON.
GITHUB_SCRIPT = r"""
const fs = require('fs');
const { script, comments } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const writes = [];
const listComments = async () => { throw new Error('listComments is read through github.paginate'); };
const github = {
  paginate: async (method, params) => {
    if (method !== listComments) throw new Error('paginate of an unexpected method');
    if (params.issue_number !== 7) throw new Error(`comments of issue ${params.issue_number}`);
    return comments;
  },
  rest: {
    issues: {
      listComments,
      updateComment: async (params) => { writes.push(['update', params]); return { data: {} }; },
      createComment: async (params) => { writes.push(['create', params]); return { data: {} }; },
    },
  },
};
const context = { repo: { owner: 'acme', repo: 'assistants' }, issue: { number: 7 } };
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
new AsyncFunction('require', 'github', 'context', script)(require, github, context)
  .then(() => process.stdout.write(JSON.stringify(writes)))
  .catch((error) => { process.stderr.write(String(error)); process.exit(1); });
"""

needs_node = pytest.mark.skipif(
    shutil.which("node") is None, reason="node is not installed: the github-script step cannot be run"
)
BOT = {"login": "github-actions[bot]", "type": "Bot"}  # who writes a comment with the workflow's GITHUB_TOKEN
REPORT = MARKER + "\n### reconciler plan: 0 to create, 1 to update, 0 to delete, 2 unchanged\n"
#: The marker line of the comment of the account ``production`` (one comment per account of the matrix).
HEAD = MARKER + "<!-- account: production -->"
COMMENT = HEAD + REPORT.removeprefix(MARKER)


def comment_step_writes(
    comments: list[dict[str, Any]], tmp_path: Path, account: str = "production"
) -> list[Any]:
    """The writes the plan workflow's comment step of ``account`` makes on a pull request with these comments."""
    report = tmp_path / "report.md"
    report.write_text(REPORT)
    given = tmp_path / "given.json"
    given.write_text(json.dumps({"script": script_of(load(WORKFLOWS / "plan.yml")), "comments": comments}))
    harness = tmp_path / "github-script.js"
    harness.write_text(GITHUB_SCRIPT)
    done = subprocess.run(
        ["node", str(harness), str(given)],
        env={**os.environ, "REPORT": str(report), "ACCOUNT": account},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def update(comment_id: int, body: str = COMMENT) -> list[Any]:
    return ["update", {"owner": "acme", "repo": "assistants", "comment_id": comment_id, "body": body}]


CREATE = ["create", {"owner": "acme", "repo": "assistants", "issue_number": 7, "body": COMMENT}]


@needs_node
def test_the_plan_comment_updates_the_bots_comment_not_one_planted_before_it(tmp_path: Path) -> None:
    planted = {
        "id": 11,
        "user": {"login": "mallory", "type": "User"},
        "body": HEAD + "\nLooks good, approve",
    }
    ours = {"id": 12, "user": BOT, "body": HEAD + "\n### reconciler plan: the previous push"}
    assert comment_step_writes([planted, ours], tmp_path) == [update(12)]


@needs_node
def test_a_comment_carrying_the_marker_is_never_taken_for_the_plan(tmp_path: Path) -> None:
    planted: list[dict[str, Any]] = [
        {"id": 21, "user": {"login": "mallory", "type": "User"}, "body": f"{HEAD}\n"},
        {"id": 22, "user": {"login": "github-actions[bot]", "type": "User"}, "body": f"{HEAD}\n"},
        {"id": 23, "user": {"login": "other-app[bot]", "type": "Bot"}, "body": f"{HEAD}\n"},
        {"id": 24, "user": BOT, "body": f"A workflow quoting the plan's marker: {HEAD}\n"},
        {"id": 25, "user": None, "body": f"{HEAD}\n"},  # a deleted account ("ghost")
        {"id": 26, "user": BOT, "body": None},
    ]
    assert comment_step_writes(planted, tmp_path) == [CREATE]  # a new comment; none of those is edited


@needs_node
def test_each_account_of_the_matrix_updates_its_own_comment(tmp_path: Path) -> None:
    staging = {"id": 31, "user": BOT, "body": f"{MARKER}<!-- account: staging -->\n### the previous push"}
    production = {"id": 32, "user": BOT, "body": f"{HEAD}\n### the previous push"}
    eu = {"id": 33, "user": BOT, "body": f"{MARKER}<!-- account: production-eu -->\n### the previous push"}
    comments = [staging, production, eu]
    assert comment_step_writes(comments, tmp_path, "production") == [update(32)]
    staging_body = f"{MARKER}<!-- account: staging -->" + REPORT.removeprefix(MARKER)
    assert comment_step_writes(comments, tmp_path, "staging") == [update(31, staging_body)]
    assert comment_step_writes([production], tmp_path, "production-eu") == [
        ["create", {"owner": "acme", "repo": "assistants", "issue_number": 7, "body": HEAD.replace(
            "production", "production-eu") + REPORT.removeprefix(MARKER)}]
    ]  # fmt: skip


# --- one job per account directory (README, "Environments") --------------------------------------------------


def test_plan_apply_and_drift_run_once_per_account_directory() -> None:
    matrices = []
    for name, mode in (("plan.yml", "pr-plan"), ("apply.yml", "apply"), ("drift.yml", "drift")):
        workflow = load(WORKFLOWS / name)
        (job,) = workflow["jobs"].values()
        # a failed account must not cancel another's job: for apply, that would stop a write half-way
        assert job["strategy"]["fail-fast"] is False, name
        matrices.append(job["strategy"]["matrix"])
        assert job["environment"] == "${{ matrix.account }}", (
            name
        )  # each account's secrets, its environment's
        assert "(${{ matrix.account }})" in job["name"], name
        step = action_step(workflow)
        assert (step["with"]["mode"], step["with"]["directory"]) == (mode, "${{ matrix.directory }}"), name
    # the same accounts everywhere: what a pull request plans is what the merge applies and drift watches
    accounts = [[(e["account"], e["directory"]) for e in m["include"]] for m in matrices]
    assert accounts == [[("production", "assistants.d")]] * 3
    drift = load(WORKFLOWS / "drift.yml")["jobs"]["drift"]["strategy"]["matrix"]["include"]
    assert [e["branch"] for e in drift] == ["reconciler/drift"]  # pull-request mode: a branch per account
    apply = load(WORKFLOWS / "apply.yml")
    assert apply["concurrency"] == {
        "group": "reconciler-apply",
        "cancel-in-progress": False,
    }  # one run, all jobs
    plan = load(WORKFLOWS / "plan.yml")
    (upload,) = [s for s in steps(plan) if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload["with"]["name"] == "reconciler-plan-${{ matrix.account }}"  # names are unique per run
    (comment,) = [s for s in steps(plan) if s.get("uses", "").startswith("actions/github-script")]
    assert comment["env"]["ACCOUNT"] == "${{ matrix.account }}"


def test_pr_plan_of_each_account_of_the_example_shows_a_change_to_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "environments"
    shutil.copytree(ROOT / "examples" / "environments", tree)
    company = tree / "base" / "_company.yaml"
    company.write_text(company.read_text().replace("speech_speed: 1.05", "speech_speed: 1.1"))
    headings = {}
    for account, offset in (("staging", 0), ("production", 500)):
        out = tmp_path / account
        out.mkdir()
        with emulator(monkeypatch, seed="demo", catalog_offset=offset):
            code, outputs, log = run_sh(
                "pr-plan",
                out,
                cwd=tree,
                RECONCILER_DIR=f"accounts/{account}",
                RECONCILER_OUT=str(out / "out"),
            )
        assert (code, outputs["exitcode"]) == (0, "2"), log
        report = Path(outputs["report"]).read_text()
        headings[account] = report.splitlines()[:2]
        assert "+ speech_speed: 1.1 on 2 assistants (from base/_company.yaml:5)\n" in report, report
    assert headings == {
        account: [MARKER, "### reconciler plan: 0 to create, 2 to update, 0 to delete, 0 unchanged"]
        for account in ("staging", "production")
    }


# --- no merge is ever left unapplied (README, "Why every merge is applied") ---------------------------------


def test_applies_have_a_concurrency_group_of_their_own() -> None:
    # GitHub cancels a group's pending run when another run joins the group, whatever cancel-in-progress says:
    # any other workflow in the applies' group could cancel the pending apply of a merge.
    apply = load(WORKFLOWS / "apply.yml")
    assert apply["concurrency"] == {"group": "reconciler-apply", "cancel-in-progress": False}
    assert "concurrency" not in apply["jobs"]["apply"]
    assert (
        "timeout-minutes" not in apply["jobs"]["apply"]
    )  # stopping an apply half-way is what the group avoids
    for name in ("ci.yml", "plan.yml", "drift.yml"):
        workflow = load(WORKFLOWS / name)
        groups = [workflow.get("concurrency", {}).get("group")]
        groups += [job.get("concurrency", {}).get("group") for job in workflow["jobs"].values()]
        assert "reconciler-apply" not in groups, name
    assert load(WORKFLOWS / "drift.yml")["concurrency"] == {
        "group": "reconciler-drift",
        "cancel-in-progress": False,
    }


def test_an_apply_applies_main_as_it_is_when_it_starts() -> None:
    # A pending apply replaced by a newer one is safe only because the newer one applies a superset: the whole
    # directory at main's newest commit, whichever push queued it.
    workflow = load(WORKFLOWS / "apply.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in workflow["on"]
    (checkout, reconciler) = workflow["jobs"]["apply"]["steps"]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"] == {"ref": "main", "persist-credentials": False}
    assert reconciler == action_step(workflow)
    assert reconciler["with"] == {
        "mode": "apply",
        "directory": "${{ matrix.directory }}",
        "force": "${{ inputs.force || false }}",
    }


def test_drift_waits_for_applies_and_reports_only_if_none_ran_meanwhile() -> None:
    workflow = load(WORKFLOWS / "drift.yml")
    job = workflow["jobs"]["drift"]
    ids = [step.get("id") for step in job["steps"]]
    assert ids == ["before", "checkout", "reconciler", "after", None]
    before, checkout, reconciler, after, issue = job["steps"]
    for step in (checkout, reconciler, after):
        assert step["if"] == "steps.before.outputs.clear == 'true'"
    assert checkout["with"] == {"ref": "main", "persist-credentials": False}  # main after the last apply
    unfinished = "for (const status of ['requested', 'queued', 'pending', 'waiting', 'in_progress'])"
    for step in (before, after):
        assert "const workflow_id = 'apply.yml';" in step["with"]["script"]
        assert unfinished in step["with"]["script"]
    assert (WORKFLOWS / "apply.yml").exists()
    assert "core.setOutput('newest-apply', seen);" in before["with"]["script"]
    assert after["env"] == {
        "NEWEST_APPLY": "${{ steps.before.outputs.newest-apply }}",
        "PLANNED_COMMIT": "${{ steps.checkout.outputs.commit }}",
    }
    assert "main.commit.sha === process.env.PLANNED_COMMIT" in after["with"]["script"]
    assert issue["if"] == "steps.after.outputs.quiet == 'true'"


def test_drift_workflow_keeps_one_issue() -> None:
    workflow = load(WORKFLOWS / "drift.yml")
    assert workflow["on"]["schedule"][0]["cron"] == "17 3 * * *"
    assert "workflow_dispatch" in workflow["on"]
    assert action_step(workflow)["with"]["mode"] == "drift"
    script = workflow["jobs"]["drift"]["steps"][-1]["with"]["script"]
    assert "const title = `Drift detected in ${process.env.ACCOUNT}`;" in script
    assert workflow["jobs"]["drift"]["steps"][-1]["env"]["ACCOUNT"] == "${{ matrix.account }}"
    assert "process.env.EXITCODE === '2'" in script
    assert "state: 'closed'" in script


def test_composite_action_passes_inputs_through_the_environment() -> None:
    action = yaml.safe_load((ACTION / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == {
        "mode",
        "directory",
        "targets",
        "no-env",
        "baseline",
        "force",
        "prune",
        "drift",
        "python-version",
    }
    run = action["runs"]["steps"][-1]
    assert run["run"] == 'bash "$GITHUB_ACTION_PATH/run.sh" "$RECONCILER_MODE"'
    assert "${{" not in run["run"]  # no input is spliced into script text
    assert run["env"]["RECONCILER_MODE"] == "${{ inputs.mode }}"
    assert set(action["outputs"]) == {"exitcode", "report", "plan", "adopted", "body"}


def pre_commit(changed: list[str], repo: Path) -> subprocess.CompletedProcess[str]:
    """Run the hook as pre-commit does: its entry and args, then the changed files its pattern selects."""
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["language"]) == ("reconciler-validate", "python")
    selected = [
        name
        for name in changed
        if re.search(hook.get("files", ""), name) and not re.search(hook.get("exclude", "^$"), name)
    ]
    command = [*shlex.split(hook["entry"]), *hook.get("args", [])]
    if hook.get("pass_filenames", True):
        command += selected
    assert command[0] == "reconciler"  # the console script; the same as python -m reconciler
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *command[1:]],
        cwd=repo,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def accounts(tmp_path: Path) -> Path:
    """A repository with the example account at the top and a second one under accounts/prod/."""
    shutil.copytree(ROOT / "assistants.d", tmp_path / "assistants.d")
    shutil.copytree(ROOT / "assistants.d", tmp_path / "accounts" / "prod" / "assistants.d")
    (tmp_path / "README.md").write_text("# assistants\n")
    return tmp_path


def test_pre_commit_hook_checks_the_directory_of_each_changed_file(accounts: Path) -> None:
    broken = "accounts/prod/assistants.d/sales-outbound.yaml"
    (accounts / broken).write_text("name: Sales Assistant\nspeech_speed: 2\n")
    done = pre_commit(["README.md", broken], accounts)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"{broken}:2: speech_speed: must be between 0.7 and 1.2 (got 2)",
        "error: 1 problem in 1 of 3 files",
    ]


def test_pre_commit_hook_checks_every_changed_directory_once(accounts: Path) -> None:
    changed = [
        "assistants.d/sales-outbound.yaml",
        "assistants.d/support-inbound.yaml",
        "accounts/prod/assistants.d/sales-outbound.yaml",
        "accounts/prod/assistants.d/notes/old.yaml",  # not an assistant file: the directory reads none below it
    ]
    done = pre_commit(changed, accounts)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "accounts/prod/assistants.d: 3 assistant files valid (placeholders not resolved: --no-env)",
        "assistants.d: 3 assistant files valid (placeholders not resolved: --no-env)",
    ]


# --- the commands the workflows run, against the emulator ----------------------------------------------------


def run_sh(
    mode: str, tmp_path: Path, *, cwd: Path | None = None, **env: str
) -> tuple[int, dict[str, str], str]:
    outputs = tmp_path / "outputs.txt"
    outputs.write_text("")
    environ = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "RECONCILER_OUT": str(tmp_path / "out"),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        **env,
    }
    done = subprocess.run(
        ["bash", str(ACTION / "run.sh"), mode],
        env=environ,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    pairs = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return done.returncode, pairs, done.stdout + done.stderr


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "assistants.d"
    shutil.copytree(ROOT / "assistants.d", directory)
    monkeypatch.setenv("CALCOM_API_KEY", "cal_live_from_secrets_123")
    return directory


def test_pr_plan_writes_the_comment_and_the_json_plan(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator(monkeypatch, seed="demo"):
        code, outputs, log = run_sh("pr-plan", tmp_path, RECONCILER_DIR=str(repo))
    assert code == 0, log
    assert outputs["exitcode"] == "2"
    report = Path(outputs["report"]).read_text()
    assert report.startswith(
        MARKER + "\n### reconciler plan: 1 to create, 2 to update, 0 to delete, 0 unchanged"
    )
    assert Path(outputs["plan"]).exists()
    assert "cal_live_from_secrets_123" not in report + Path(outputs["plan"]).read_text() + log


def test_pr_plan_from_a_fork_validates_offline(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALCOM_API_KEY")
    monkeypatch.delenv("GLORIA_API_TOKEN", raising=False)
    code, outputs, log = run_sh("pr-plan", tmp_path, RECONCILER_DIR=str(repo), RECONCILER_NO_ENV="true")
    assert code == 0, log
    report = Path(outputs["report"]).read_text()
    assert report.startswith(MARKER + "\n### reconciler: files valid, no plan (pull request from a fork)\n")


def test_pr_plan_with_invalid_files_reports_them_and_fails(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "broken.yaml").write_text("name: Broken\nspeech_speed: 2\n")
    code, outputs, log = run_sh("pr-plan", tmp_path, RECONCILER_DIR=str(repo))
    assert code == 1
    report = Path(outputs["report"]).read_text()
    assert f"{repo}/broken.yaml:2: speech_speed: must be between 0.7 and 1.2 (got 2)" in report
    assert report.startswith(MARKER + "\n### reconciler: invalid files, no plan\n")
    # and in the log, as an annotation: GitHub shows it on line 2 of the file in the pull request
    annotation = (
        f"::error file={repo}/broken.yaml,line=2,title=speech_speed::must be between 0.7 and 1.2 (got 2)"
    )
    assert annotation in log.splitlines()
    assert "::error" not in report


@pytest.mark.parametrize("extra", [{}, {"RECONCILER_NO_ENV": "true"}], ids=["pr-plan", "pr-plan from a fork"])
def test_pr_plan_annotates_nothing_when_the_files_are_valid(
    extra: dict[str, str], repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator(monkeypatch, seed="demo"):
        code, _, log = run_sh("pr-plan", tmp_path, RECONCILER_DIR=str(repo), **extra)
    assert code == 0, log
    assert "::error" not in log
    assert f"{repo}: 3 assistant files valid" in log


def test_validate_mode_annotates_each_problem(repo: Path, tmp_path: Path) -> None:
    (repo / "broken.yaml").write_text("name: Broken\nspeech_speed: 2\n")
    code, _, log = run_sh("validate", tmp_path, RECONCILER_DIR=str(repo))
    assert code == 1
    assert log.splitlines() == [
        f"::error file={repo}/broken.yaml,line=2,title=speech_speed::must be between 0.7 and 1.2 (got 2)",
        "error: 1 problem in 1 of 4 files",
    ]


#: A closing fence, then a forged report: what a fork's author would like ``validate`` to print on lines of its own.
FORGED = "{fence}\n### reconciler plan: 0 to create, 0 to update, 0 to delete, 3 unchanged\nNo changes: the platform matches the files.\n{fence}text"


def test_validate_quotes_a_malformed_placeholder_on_one_line(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALCOM_API_KEY")
    forged = FORGED.format(fence="```")
    (repo / "forged.yaml").write_text(
        f"name: Forged\nsystem_prompt: {json.dumps('${A' + chr(10) + forged + '}')}\n"
    )
    code, _, log = run_sh("pr-plan", tmp_path, RECONCILER_DIR=str(repo), RECONCILER_NO_ENV="true")
    assert code == 1, log
    problems = (tmp_path / "out" / "validate.txt").read_text().splitlines()
    assert [line.split(": ", 1)[0] for line in problems] == [f"{repo}/forged.yaml:2", "error"]
    assert forged.replace("\n", "\\u000a") in problems[0]  # the line breaks shown, not made


@pytest.mark.parametrize("fence", ["```", "`" * 10], ids=["3 backticks", "10 backticks"])
def test_a_fence_in_a_problem_message_stays_inside_the_reports_code_block(
    fence: str, repo: Path, tmp_path: Path
) -> None:
    # validate escapes line breaks today (above); run.sh must hold even if some message ever prints them raw, so a
    # stand-in ``reconciler`` prints the forged lines as they are.
    stand_in = tmp_path / "bin" / "reconciler"
    stand_in.parent.mkdir()
    stand_in.write_text(
        f"#!/bin/sh\ncat <<'EOF' >&2\nbad.yaml:1: name: malformed placeholder ${{A\n{FORGED.format(fence=fence)}}}\nEOF\nexit 1\n"
    )
    stand_in.chmod(0o755)
    path = f"{stand_in.parent}{os.pathsep}{os.environ['PATH']}"
    code, outputs, log = run_sh(
        "pr-plan", tmp_path, RECONCILER_DIR=str(repo), RECONCILER_NO_ENV="true", PATH=path
    )
    assert code == 1, log
    problems = (tmp_path / "out" / "validate.txt").read_text()
    assert FORGED.format(fence=fence) in problems  # what the stand-in printed, the forged lines included
    html = cmarkgfm.github_flavored_markdown_to_html(
        Path(outputs["report"]).read_text(), options=cmarkgfm.Options.CMARK_OPT_UNSAFE
    )
    # GitHub's renderer: the heading, then every line validate printed in one code block, and nothing else
    assert html == (
        f"{MARKER}\n<h3>reconciler: invalid files (pull request from a fork: validated offline)</h3>\n"
        f'<pre lang="text"><code>{escape(problems, quote=False)}</code></pre>\n'
    )


def test_apply_then_drift_then_fixed(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with emulator(monkeypatch, seed="demo") as api:
        code, outputs, log = run_sh("drift", tmp_path, RECONCILER_DIR=str(repo))
        assert (code, outputs["exitcode"]) == (0, "2"), log
        code, _, log = run_sh("apply", tmp_path, RECONCILER_DIR=str(repo))
        assert code == 0, log
        summary = (tmp_path / "summary.md").read_text()
        assert summary.startswith("### reconciler apply applied: 3 applied, 0 failed, 0 not converged\n")
        code, outputs, _ = run_sh("drift", tmp_path, RECONCILER_DIR=str(repo))
        assert (code, outputs["exitcode"]) == (0, "0")
        api.update(1, {"speech_speed": 0.8})  # changed by hand in the dashboard
        code, outputs, _ = run_sh("drift", tmp_path, RECONCILER_DIR=str(repo))
        assert (code, outputs["exitcode"]) == (0, "2")
        assert "`speech_speed`" in Path(outputs["report"]).read_text()
        monkeypatch.setenv("GLORIA_API_TOKEN", "revoked")
        code, outputs, _ = run_sh("drift", tmp_path, RECONCILER_DIR=str(repo))
    assert (code, outputs["exitcode"]) == (1, "1")  # an error fails the job instead of touching the issue


def test_targets_accept_globs(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with emulator(monkeypatch, seed="demo"):
        code, outputs, log = run_sh(
            "pr-plan", tmp_path, RECONCILER_DIR=str(repo), RECONCILER_TARGETS="sales-* support-*"
        )
    assert code == 0, log
    report = Path(outputs["report"]).read_text()
    assert "0 to create, 2 to update" in report


@pytest.mark.parametrize("targets", ["*", "sales-*\n*-inbound\nbooking-*", "  ?*  "])
def test_targets_reach_the_reconciler_unexpanded_by_the_shell(
    targets: str, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The action runs in the checkout: a glob the shell expanded would become its file names.
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    for name in ("README.md", "pyproject.toml", "sales-notes.txt"):
        (workdir / name).write_text("")
    with emulator(monkeypatch, seed="demo"):
        code, outputs, log = run_sh(
            "pr-plan", tmp_path, cwd=workdir, RECONCILER_DIR=str(repo), RECONCILER_TARGETS=targets
        )
    report = Path(outputs["report"]).read_text()
    assert code == 0, report + log
    assert report.startswith(
        MARKER + "\n### reconciler plan: 1 to create, 2 to update, 0 to delete, 0 unchanged"
    )


# --- the markdown comment ---------------------------------------------------------------------------------------


def rendered(plan: Plan) -> str:
    stream = io.StringIO()
    render_markdown(plan, stream)
    return stream.getvalue()


def demo_plan(count: int) -> Plan:
    changes = []
    for i in range(count):
        fields = (
            FieldChange("speech_speed", 1.0, 0.9),
            FieldChange("system_prompt", "Be kind.\nBe brief.", "Be kind.\nBe brief and warm | friendly."),
            FieldChange("voice_id", 102, 101, before_name="Ethan", after_name="Maya"),
        )
        changes.append(
            Change(
                f"assistant-{i:04d}",
                f"assistants.d/assistant-{i:04d}.yaml",
                "update",
                i + 1,
                f"Assistant {i}",
                {},
                fields,
            )
        )
    changes.append(
        Change(
            "new-one",
            "assistants.d/new-one.yaml",
            "create",
            None,
            "New | One",
            {},
            (FieldChange("name", None, "New | One", False),),
        )
    )
    return Plan.of(changes)


def test_markdown_comment_renders_as_a_table_and_collapsible_sections() -> None:
    text = rendered(demo_plan(3))
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    kinds = [t.type for t in tokens]
    assert kinds[0] == "html_block"
    assert tokens[0].content.strip() == MARKER
    heading = tokens[kinds.index("heading_open") + 1].content
    assert heading == "reconciler plan: 1 to create, 3 to update, 0 to delete, 0 unchanged"
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == 1 + 4  # header + one row per changed assistant, the | in a name escaped
    cells = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "td_open"]
    # rows in key order; the escaped | stays inside its cell
    assert cells[-5:] == ["+ create", "`new-one`", "New | One", "", "`name`"]
    details = [t.content for t in tokens if t.type == "html_block" and "<details>" in t.content]
    assert len(details) == 4
    fences = [t for t in tokens if t.type == "fence"]
    assert [f.info for f in fences] == [
        "diff"
    ] * 5  # the changes the three updates share, then a section each
    assert fences[0].content == (
        "- speech_speed: 1.0\n"
        "+ speech_speed: 0.9 on 3 assistants\n"
        "~ system_prompt on 3 assistants:\n"
        "    Be kind.\n"
        "-   Be brief.\n"
        "+   Be brief {+and warm | friendly+}.\n"
        "- voice_id: 102 (Ethan)\n"
        "+ voice_id: 101 (Maya) on 3 assistants\n"
    )
    assert fences[2].content == (
        "~ speech_speed: the shared change above\n"
        "~ system_prompt: the shared change above\n"
        "~ voice_id: the shared change above\n"
    )


def test_markdown_comment_of_2000_assistants_fits_githubs_limit() -> None:
    text = rendered(demo_plan(2000))
    assert len(text) <= 60_000 < 65_536
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    opened = sum(t.content.count("<details>") for t in tokens if t.type == "html_block")
    closed = sum(t.content.count("</details>") for t in tokens if t.type == "html_block")
    assert opened == closed > 0
    assert text.rstrip().endswith("more assistants are not shown here; the JSON plan has every change.")


def test_one_default_changed_for_2000_assistants_is_one_shared_line_within_githubs_limit() -> None:
    changes = [
        Change(
            f"assistant-{i:04d}",
            f"assistants.d/assistant-{i:04d}.yaml",
            "update",
            i + 1,
            f"Assistant {i}",
            {"speech_speed": 1.05},
            (FieldChange("speech_speed", 1.0, 1.05),),
        )
        for i in range(2000)
    ]
    text = rendered(Plan.of(changes))  # type: ignore[arg-type]
    assert len(text) <= 60_000 < 65_536
    html = cmarkgfm.github_flavored_markdown_to_html(text, options=cmarkgfm.cmark.Options.CMARK_OPT_UNSAFE)
    shared = html.split("<h4>Changes shared by several assistants</h4>")[1].split("</pre>")[0]
    assert shared == (
        '\n<pre lang="diff"><code>- speech_speed: 1.0\n+ speech_speed: 1.05 on 2000 assistants\n</code>'
    )
    assert html.count("<details>") == html.count("</details>") > 0


def test_multi_account_pattern_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "matrix" in readme
    assert "accounts/" in readme

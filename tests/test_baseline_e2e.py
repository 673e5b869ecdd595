"""`reconciler plan --baseline GIT_REF` end to end: a git repository, the emulator over HTTP, the CLI.

What a pull request changed in the files is the files' own change; what differs on the platform while the file
is as it was at the baseline was changed outside the repository, and is shown apart (apply restores it).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cmarkgfm  # type: ignore[import-untyped]
import pytest
from cmarkgfm.cmark import Options
from support import PIPELINE, emulator, run, write_files

FILE = """\
name: Pipeline One
type: outbound
mode: pipeline
language_id: 1
voice_id: 101
llm_model_id: 2
timezone: Europe/Berlin
initial_message: Hello there.
system_prompt: You are helpful.
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose main branch has assistants.d/one.yaml; the working tree is the pull request."""
    git(tmp_path, "init", "-q", "-b", "main")
    write_files(tmp_path / "assistants.d", {"one": FILE})
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    monkeypatch.chdir(tmp_path)
    return tmp_path


PR = FILE.replace("You are helpful.", "You are brief.")
TWO = FILE.replace("Pipeline One", "Two")


def test_a_dashboard_change_is_shown_apart_from_the_pull_requests_own(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        one = api.create(PIPELINE)
        api.update(one, {"initial_message": "Hi from the dashboard."})  # by hand, outside the repository
        write_files(repo / "assistants.d", {"one": PR, "two": TWO})
        code, out, err = run(capsys, "plan", "--baseline", "main")
    assert (code, err) == (0, "")
    assert out == (
        "Changed outside the repository (their files are as they were at the baseline; apply restores "
        "the files' values):\n\n"
        '  ~ update one "Pipeline One" (id 1)    assistants.d/one.yaml\n'
        '      ~ initial_message: "Hi from the dashboard." → "Hello there."\n\n'
        "reconciler will make these changes:\n\n"
        '  ~ update one "Pipeline One" (id 1)    assistants.d/one.yaml\n'
        '      ~ system_prompt: "You are helpful." → "You are brief."\n'
        "      note: adopts assistant 1 by name: no record says which file manages it\n\n"
        '  + create two "Two"    assistants.d/two.yaml\n'
        '      + name: "Two"\n'
        '      + type: "outbound"\n'
        '      + mode: "pipeline"\n'
        "      + voice_id: 101 (Maya)\n"
        "      + language_id: 1 (English)\n"
        '      + timezone: "Europe/Berlin"\n'
        "      + llm_model_id: 2 (GPT-4.1)\n"
        '      + initial_message: "Hello there."\n'
        '      + system_prompt: "You are helpful."\n\n'
        "Plan: 1 to create, 1 to update, 0 to delete, 0 unchanged.\n"
    )


def origins(plan: dict[str, object]) -> dict[tuple[str, str], str | None]:
    return {
        (change["key"], f["path"]): f.get("origin")
        for change in plan["changes"]  # type: ignore[attr-defined]
        for f in change["fields"]
    }


def test_the_json_plan_marks_every_field_change_and_the_body_restores_the_files(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        one = api.create(PIPELINE)
        api.update(one, {"initial_message": "Hi from the dashboard.", "timezone": "Europe/Paris"})
        write_files(repo / "assistants.d", {"one": PR, "two": TWO})
        code, out, err = run(capsys, "plan", "--baseline", "main", "--format", "json", "--out", "saved.json")
    assert (code, err) == (0, "Saved the plan to saved.json; apply it with: reconciler apply saved.json\n")
    plan = json.loads(out)
    assert plan["changes"][0]["body"] == {
        "timezone": "Europe/Berlin",
        "initial_message": "Hello there.",
        "system_prompt": "You are brief.",
    }
    assert plan["changes"][0]["fields"][0] == {
        "path": "timezone",
        "before": "Europe/Paris",
        "after": "Europe/Berlin",
        "origin": "platform",
    }
    assert origins(plan) == {
        ("one", "timezone"): "platform",
        ("one", "initial_message"): "platform",
        ("one", "system_prompt"): "files",  # the pull request changed it
        **{("two", f["path"]): "files" for f in plan["changes"][1]["fields"]},  # a file new since main
    }
    assert len(plan["changes"][1]["fields"]) == 9
    assert json.loads((repo / "saved.json").read_text()) == plan


def test_without_baseline_no_field_has_an_origin(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        api.update(api.create(PIPELINE), {"initial_message": "Hi from the dashboard."})
        code, out, _ = run(capsys, "plan", "--format", "json")
    assert code == 0
    assert set(origins(json.loads(out)).values()) == {None}


def test_a_directory_new_since_the_baseline_is_all_the_files_own(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        api.update(api.create(PIPELINE), {"initial_message": "Hi from the dashboard."})
        write_files(repo / "sales.d", {"one": FILE})
        code, out, err = run(capsys, "plan", "--dir", "sales.d", "--baseline", "main", "--format", "json")
    assert (code, err) == (0, "")
    assert origins(json.loads(out)) == {("one", "initial_message"): "files"}


def test_an_unknown_ref_is_one_line_and_exit_1_before_reading_the_platform(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        code, out, err = run(capsys, "plan", "--baseline", "origin/nowhere")
        assert api.journal() == []
    assert (code, out) == (1, "")
    assert err == "error: --baseline 'origin/nowhere': no such commit in the repository\n"


def test_a_directory_outside_git_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(tmp_path / "loose" / "assistants.d", {"one": FILE})
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # the test's own checkout is not above it
    with emulator(monkeypatch):
        code, out, err = run(capsys, "plan", "--dir", str(files), "--baseline", "main")
    assert (code, out) == (1, "")
    assert err == f"error: --baseline needs a git repository: {files} is not in one\n"


def test_baseline_files_read_secrets_from_the_environment_and_never_print_them(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "greeting-secret-7d1c"
    monkeypatch.setenv("GREETING", secret)
    write_files(repo / "assistants.d", {"one": FILE.replace("Hello there.", "${GREETING}")})
    git(repo, "commit", "-q", "-am", "the greeting from the environment")
    with emulator(monkeypatch) as api:
        api.update(api.create({**PIPELINE, "initial_message": secret}), {"initial_message": "Hi."})
        write_files(
            repo / "assistants.d",
            {
                "one": FILE.replace("Hello there.", "${GREETING}").replace(
                    "You are helpful.", "You are brief."
                )
            },
        )
        code, out, err = run(capsys, "plan", "--baseline", "HEAD", "--format", "json")
        text = run(capsys, "plan", "--baseline", "HEAD")[1]
    assert (code, err) == (0, "")
    assert origins(json.loads(out)) == {
        ("one", "initial_message"): "platform",
        ("one", "system_prompt"): "files",
    }
    assert secret not in out + text
    # a field that takes a secret is masked whole, the platform's value too; the new one is said to differ
    assert '~ initial_message: "(sensitive)" → "(sensitive value changed)"' in text


def test_the_markdown_comment_shows_the_outside_changes_first(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        api.update(api.create(PIPELINE), {"initial_message": "Hi from the dashboard."})
        write_files(repo / "assistants.d", {"one": PR})
        code, out, _ = run(capsys, "plan", "--baseline", "main", "--format", "markdown")
    assert code == 0
    html = cmarkgfm.github_flavored_markdown_to_html(out, options=Options.CMARK_OPT_UNSAFE)
    assert html.index("<h4>Changed outside the repository</h4>") < html.index("<h4>All changes</h4>")
    outside, own = html.split("</table>")[1].split("<h4>All changes</h4>")  # the summary table comes first
    assert '<pre lang="diff"><code>- initial_message: &quot;Hi from the dashboard.&quot;\n' in outside
    assert "system_prompt" not in outside
    assert "- system_prompt: &quot;You are helpful.&quot;\n+ system_prompt: &quot;You are brief.&quot;" in own
    assert "initial_message: &quot;" not in own

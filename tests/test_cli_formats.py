"""The command line's machine formats, ``show``, ``--color`` and the global options, end to end: through ``main``,
over loopback HTTP to the emulator where a command reads the platform."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from support import PIPELINE, Terminal, emulator, pipeline_file, run, write_files

from reconciler.cli import cli, main
from reconciler.commandline import hoisted, value_options

BAD_SPEED = pipeline_file("A", "speech_speed: 5\n")  # line 10


# ---- validate --format -------------------------------------------------------------------------------------


def test_validate_github_prints_one_annotation_per_problem_and_the_summary_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(tmp_path / "d", {"a": BAD_SPEED, "b": pipeline_file("B", "speech_speed: 0.1\n")})
    code, out, err = run(capsys, "validate", "--dir", str(files), "--format", "github")
    assert code == 1
    assert out == (
        f"::error file={files}/a.yaml,line=10,title=speech_speed::must be between 0.7 and 1.2 (got 5)\n"
        f"::error file={files}/b.yaml,line=10,title=speech_speed::must be between 0.7 and 1.2 (got 0.1)\n"
    )
    assert err == "error: 2 problems in 2 of 2 files\n"


def test_validate_github_of_valid_files_is_the_text_line_and_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    assert run(capsys, "validate", "--dir", str(files), "--format", "github") == (
        0,
        f"{files}: 1 assistant file valid\n",
        "",
    )


def test_validate_github_escapes_a_hostile_directory_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a directory name is the user's, and it lands in the file= property: it must not add a property
    files = write_files(tmp_path / "d,line=1,title=forged::x", {"a": BAD_SPEED})
    code, out, _ = run(capsys, "validate", "--dir", str(files), "--format", "github")
    escaped = str(files).replace(",", "%2C").replace(":", "%3A")
    assert code == 1
    assert (
        out
        == f"::error file={escaped}/a.yaml,line=10,title=speech_speed::must be between 0.7 and 1.2 (got 5)\n"
    )


def test_validate_json_is_one_document_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_files(tmp_path / "bad", {"a": BAD_SPEED})
    good = write_files(tmp_path / "good", {"b": pipeline_file("B"), "c": pipeline_file("C")})
    code, out, err = run(capsys, "validate", str(bad / "a.yaml"), str(good), "--format", "json")
    assert code == 1
    assert json.loads(out) == {
        "format_version": 1,
        "valid": False,
        "files_checked": 3,
        "environment_read": True,
        "directories": [{"directory": str(good), "assistants": 2}],
        "problems": [
            {
                "file": f"{bad}/a.yaml",
                "line": 10,
                "field": "speech_speed",
                "message": "must be between 0.7 and 1.2 (got 5)",
            }
        ],
    }
    assert err == "error: 1 problem in 1 of 3 files\n"


# ---- plan --out and show -----------------------------------------------------------------------------------


def test_plan_out_says_where_the_plan_went_and_how_to_apply_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(tmp_path / "my dir", {"a": pipeline_file("A")})
    saved = tmp_path / "plan.json"
    with emulator(monkeypatch) as api:
        code, out, err = run(capsys, "plan", "--dir", str(files), "--format", "json", "--out", str(saved))
        assert code == 0
        assert json.loads(out) == json.loads(saved.read_text())  # stdout stays JSON: the note is on stderr
        assert err == f"Saved the plan to {saved}; apply it with: reconciler apply {saved} --dir '{files}'\n"
        code, _, _ = run(capsys, "apply", str(saved), "--dir", str(files))  # the command, as it says
        assert code == 0
        assert [item["name"] for item in api.items()] == ["A"]


def test_plan_out_with_the_emulator_names_it_in_the_apply_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path / "assistants.d", {"a": pipeline_file("A")})
    code, _, err = run(capsys, "plan", "--emulator", "--out", "p.json")
    assert code == 0
    assert err == "Saved the plan to p.json; apply it with: reconciler apply p.json --emulator\n"


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_show_renders_a_saved_plan_as_plan_printed_it(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(
        tmp_path / "d", {"a": pipeline_file("A"), "b": pipeline_file("B", "speech_speed: 0.9\n")}
    )
    saved = tmp_path / "plan.json"
    with emulator(monkeypatch) as api:
        api.create(_pipeline("B"))
        code, planned, _ = run(capsys, "plan", "--dir", str(files), "--format", fmt, "--out", str(saved))
        assert code == 0
    monkeypatch.delenv("GLORIA_API_TOKEN")  # offline: show reads no platform
    assert run(capsys, "show", str(saved), "--format", fmt) == (0, planned, "")


def _pipeline(name: str) -> dict[str, object]:
    return {**PIPELINE, "name": name}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("{}\n", "error: {path}: not a reconciler plan of format_version 1\n"),
        (
            "name: A\n",
            "error: {path} is not a saved plan: not JSON (Expecting value: line 1 column 1 (char 0))\n",
        ),
        (
            '{"format_version": 1, "changes": [{"key": "a"}]}',
            "error: {path}: the plan's changes are damaged (KeyError: 'action')\n",
        ),
    ],
    ids=["not-a-plan", "not-json", "damaged"],
)
def test_show_of_a_file_that_is_not_a_plan_is_one_line_and_exit_1(
    content: str, error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    assert run(capsys, "show", str(path)) == (1, "", error.format(path=path))


# ---- --color -----------------------------------------------------------------------------------------------

GREEN = "\033[32m"


@pytest.fixture
def saved_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    saved = tmp_path / "plan.json"
    with emulator(monkeypatch):
        assert run(capsys, "plan", "--dir", str(files), "--out", str(saved))[0] == 0
    return saved


@pytest.mark.parametrize(
    ("choice", "terminal", "no_color", "force_color", "coloured"),
    [
        ("auto", True, "", "", True),
        ("auto", False, "", "", False),
        ("auto", True, "1", "", False),  # NO_COLOR, set and not empty
        ("auto", False, "", "1", True),  # FORCE_COLOR: into a pipe too
        ("auto", False, "", "0", True),  # any value but empty forces it (force-color.org)
        ("auto", True, "1", "1", False),  # both: NO_COLOR wins
        ("always", False, "1", "", True),  # the flag wins over the environment
        ("never", True, "", "1", False),
        ("never", True, "", "", False),
    ],
)
def test_colour_of_the_plan_text_for_each_choice_and_environment(
    choice: str,
    terminal: bool,
    no_color: str,
    force_color: str,
    coloured: bool,
    saved_plan: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setenv("FORCE_COLOR", force_color)
    monkeypatch.delenv("TERM", raising=False)
    stdout = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr("sys.stdout", stdout)
    assert main(["show", str(saved_plan), "--color", choice]) == 0
    shown = stdout.getvalue()
    assert (f'{GREEN}  + create a "A"\033[0m' in shown) is coloured
    assert ("\033[" in shown) is coloured
    assert (
        shown.replace(GREEN, "")
        .replace("\033[0m", "")
        .startswith('reconciler will make these changes:\n\n  + create a "A"')
    )


def test_a_dumb_terminal_gets_no_colour_under_auto(saved_plan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    stdout = Terminal()
    monkeypatch.setattr("sys.stdout", stdout)
    assert main(["show", str(saved_plan)]) == 0
    assert "\033[" not in stdout.getvalue()


def test_plan_and_apply_take_the_colour_choice_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    with emulator(monkeypatch):
        _, planned, _ = run(capsys, "plan", "--dir", str(files), "--color", "always")
        _, applied, _ = run(capsys, "--color=always", "apply", "--dir", str(files), "--auto-approve")
    assert f'{GREEN}  + create a "A"' in planned
    assert f"{GREEN}  + a (id 1): created" in applied


# ---- global options after the command ----------------------------------------------------------------------


def test_debug_after_the_command_is_the_same_run_as_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    with emulator(monkeypatch):
        before = run(capsys, "--debug", "plan", "--dir", str(files))
        after = run(capsys, "plan", "--dir", str(files), "--debug")
    assert before[:2] == after[:2]
    for code, _, err in (before, after):
        assert code == 0
        assert err.startswith("debug: reconciler.http: GET /user/assistants/get -> 200 (")
        assert all(line.startswith("debug: reconciler.http: GET ") for line in err.splitlines())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "--debug"], ["--debug", "plan"]),
        (["plan", "--color", "never", "--dir", "x"], ["--color", "never", "plan", "--dir", "x"]),
        (["plan", "--color=never"], ["--color=never", "plan"]),
        (["--debug", "plan", "--color", "always"], ["--debug", "--color", "always", "plan"]),
        (["--color", "never", "plan"], ["--color", "never", "plan"]),
        (["emulator", "serve", "--debug"], ["--debug", "emulator", "serve"]),
        (["validate", "--", "--debug"], ["validate", "--", "--debug"]),  # after --: a PATH
        (["plan", "--color"], ["--color", "plan"]),  # click then says --color needs a value
        (["validate", "--dir", "--debug"], ["validate", "--dir", "--debug"]),  # a directory named --debug
        (["validate", "--dir=x", "--debug"], ["--debug", "validate", "--dir=x"]),
        (
            ["plan", "--target", "--color", "--color", "never"],
            ["--color", "never", "plan", "--target", "--color"],
        ),
    ],
)
def test_global_options_move_before_the_command(args: list[str], expected: list[str]) -> None:
    assert hoisted(args, value_options(cli)) == expected


def test_the_options_whose_value_never_moves_are_those_of_the_commands() -> None:
    names = value_options(cli)
    assert {
        "--dir",
        "--target",
        "--format",
        "--out",
        "--owner",
        "--api-url",
        "--port",
        "--secret-name",
    } <= names
    assert not {"--debug", "--emulator", "--auto-approve", "--prune", "--no-env"} & names


def test_an_unknown_colour_choice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", "--color", "sometimes")
    assert (code, out) == (1, "")
    assert err.endswith(
        "Error: Invalid value for '--color': 'sometimes' is not one of 'auto', 'always', 'never'.\n"
    )


# ---- apply --format json -----------------------------------------------------------------------------------


def test_apply_json_reports_each_assistant_on_stdout_and_the_plan_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(
        tmp_path / "d", {"a": pipeline_file("A"), "b": pipeline_file("B", "speech_speed: 0.9\n")}
    )
    with emulator(monkeypatch) as api:
        api.create(_pipeline("B"))
        code, out, err = run(capsys, "apply", "--dir", str(files), "--auto-approve", "--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "format_version": 1,
        "ok": True,
        "already_applied": False,
        "interrupted": False,
        "summary": {"applied": 2, "failed": 0},
        "assistants": [
            {
                "key": "a",
                "file": f"{files}/a.yaml",
                "action": "create",
                "status": "applied",
                "id": 2,
                "name": "A",
                "fields": [
                    "name",
                    "type",
                    "mode",
                    "voice_id",
                    "language_id",
                    "timezone",
                    "llm_model_id",
                    "initial_message",
                    "system_prompt",
                ],
                "not_converged": [],
                "error": None,
            },
            {
                "key": "b",
                "file": f"{files}/b.yaml",
                "action": "update",
                "status": "applied",
                "id": 1,
                "name": "B",
                "fields": ["speech_speed"],
                "not_converged": [],
                "error": None,
            },
        ],
        "read_back_failed": None,
        "duplicates": [],
        "pinned": [],
        "pin_refused": [],
    }
    assert err.startswith("reconciler will make these changes:\n")


def test_apply_json_without_changes_lists_every_assistant_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    with emulator(monkeypatch):
        assert run(capsys, "apply", "--dir", str(files), "--auto-approve")[0] == 0
        code, out, _ = run(capsys, "apply", "--dir", str(files), "--auto-approve", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert (data["ok"], data["summary"]) == (True, {"applied": 0, "failed": 0})
    assert [(a["key"], a["action"], a["status"], a["id"]) for a in data["assistants"]] == [
        ("a", "noop", "unchanged", 1)
    ]


def test_apply_json_asks_nothing_so_it_needs_auto_approve_or_a_plan_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    with emulator(monkeypatch) as api:
        code, out, err = run(capsys, "apply", "--dir", str(files), "--format", "json")
        assert api.journal() == []
    assert (code, out) == (1, "")
    assert err == "error: apply --format json asks nothing: give --auto-approve, or a PLAN_FILE\n"


def test_validate_github_says_placeholders_were_not_resolved_under_no_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(tmp_path / "d", {"a": pipeline_file("A", "webhook_url: ${HOOK}\n")})
    assert run(capsys, "validate", "--dir", str(files), "--no-env", "--format", "github") == (
        0,
        f"{files}: 1 assistant file valid (placeholders not resolved: --no-env)\n",
        "",
    )

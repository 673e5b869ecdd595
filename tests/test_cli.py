"""The command line as a user meets it: exit codes, messages, the error handler, schema, secrets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from reconciler import desired
from reconciler.cli import main
from reconciler.files import load_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assistants.d"


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "assistants.d"
    shutil.copytree(EXAMPLES, target)
    monkeypatch.setenv("CALCOM_API_KEY", "cal_live_do_not_print")
    return target


def test_validate_examples(examples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--dir", str(examples)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{examples}: 3 assistant files valid\n"
    assert err == ""


def test_validate_reports_unset_variable_with_file_line_and_name(
    examples: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CALCOM_API_KEY")
    assert main(["validate", "--dir", str(examples)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{examples}/booking-dualplex.yaml:23: tools[0].calcom_api_key: environment variable CALCOM_API_KEY is not set",
        "error: 1 problem in 1 of 3 files",
    ]


def test_validate_no_env_accepts_placeholders(
    examples: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CALCOM_API_KEY")
    (examples / "hook.yaml").write_text(
        "name: Hook\nis_webhook_active: true\nwebhook_url: ${HOOK_URL}\ninitial_message: ${GREETING}\n"
    )
    assert main(["validate", "--dir", str(examples), "--no-env"]) == 0
    assert (
        capsys.readouterr().out
        == f"{examples}: 4 assistant files valid (placeholders not resolved: --no-env)\n"
    )


def test_no_env_still_refuses_a_placeholder_in_a_number_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text("name: A\nspeech_speed: ${SPEED}\n")
    assert main(["validate", "--dir", str(tmp_path), "--no-env"]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{tmp_path}/a.yaml:2: speech_speed: must be a number (got string '${{SPEED}}')"
    )


def test_secret_values_never_appear_in_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOOK", "hunter2-not-a-url")
    monkeypatch.setenv("SLUG", "x" * 300)
    monkeypatch.setenv("MODE", "hunter3-mode")
    (tmp_path / "a.yaml").write_text(
        "name: ${SLUG}\nwebhook_url: ${HOOK}\nmode: ${MODE}\ntimezone: ${HOOK}\nvoice_id: ${HOOK}\n"
    )
    assert main(["--debug", "validate", "--dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "hunter" not in out + err
    assert "x" * 300 not in err
    assert [line for line in err.splitlines() if line.startswith(str(tmp_path))] == [
        f"{tmp_path}/a.yaml:1: name: must be at most 255 characters",
        f"{tmp_path}/a.yaml:2: webhook_url: must be an http(s) URL",
        f"{tmp_path}/a.yaml:3: mode: must be one of: pipeline, multimodal, dualplex (got (sensitive))",
        f"{tmp_path}/a.yaml:4: timezone: must be an IANA time zone like 'Europe/Berlin'",
        f"{tmp_path}/a.yaml:5: voice_id: must be an integer (got (sensitive))",
    ]


def test_all_problems_of_all_files_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "b.yaml").write_text("name: B\nspeech_speed: 1.5\nmax_duration: 5\n")
    (tmp_path / "a.yaml").write_text("name: A\nmode: turbo\n")
    (tmp_path / "c.yaml").write_text("name: A\n")
    assert main(["validate", "--dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path}/a.yaml:2: mode: must be one of: pipeline, multimodal, dualplex (got 'turbo')",
        f"{tmp_path}/b.yaml:2: speech_speed: must be between 0.7 and 1.2 (got 1.5)",
        f"{tmp_path}/b.yaml:3: max_duration: must be between 20 and 1200 (got 5)",
        "error: 3 problems in 2 of 3 files",
    ]


def test_same_name_or_id_in_two_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text("id: 7\nname: Same\n")
    (tmp_path / "b.yaml").write_text("# b\nname: ' Same '\n")
    (tmp_path / "c.yaml").write_text("id: 7\n")
    assert main(["validate", "--dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path}/b.yaml:2: name: 'Same' is also declared by {tmp_path}/a.yaml:2",
        f"{tmp_path}/c.yaml:1: id: 7 is also declared by {tmp_path}/a.yaml:1",
        "error: 2 problems in 2 of 3 files",
    ]


def test_empty_directory_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{tmp_path}: 0 assistant files valid\n"


def test_missing_directory_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--dir", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == f"error: assistants directory {tmp_path}/nope does not exist\n"


@pytest.mark.parametrize(
    "argv", [["validate", "--bogus"], ["no-such-command"], ["plan-nope"], ["validate", "--dir"]]
)
def test_usage_errors_exit_1_never_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Error:" in err
    assert "Traceback" not in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "validate" in out
    assert "schema" in out


def test_unexpected_error_is_one_line_without_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(desired, "load_directory", boom)
    assert main(["validate"]) == 1
    assert (
        capsys.readouterr().err
        == "unexpected error: RuntimeError: boom (run again with --debug for the traceback)\n"
    )
    assert main(["--debug", "validate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("unexpected error: RuntimeError: boom\n")


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(desired, "load_directory", interrupted)
    assert main(["validate"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_schema_is_2020_12_and_accepts_the_examples(
    examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(examples.glob("*.yaml")):
        source, problems = load_file(path, environ={"CALCOM_API_KEY": "k"})
        assert problems == []
        assert source is not None
        assert list(validator.iter_errors(source.data)) == [], path.name


@pytest.mark.parametrize(
    "document",
    [
        {"name": "A", "speech_speed": 1.5},
        {"name": "A", "mode": "turbo"},
        {"name": "A", "nmae": "typo"},
        {"name": "A", "mode": "multimodal", "llm_model_id": 1},
        {"name": "A", "voice": "Alloy", "voice_id": 3},
        {"name": "A", "speech_speed": None},  # not nullable
        {"name": "A", "tools": [{"type": "call_transfer"}]},
    ],
)
def test_schema_rejects_what_validate_rejects(
    document: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    main(["schema"])
    validator = jsonschema.Draft202012Validator(json.loads(capsys.readouterr().out))
    assert list(validator.iter_errors(document)) != []


def test_committed_schema_file_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    main(["schema"])
    committed = (ROOT / "schema" / "assistant.schema.json").read_text()
    assert committed == capsys.readouterr().out, "run: reconciler schema > schema/assistant.schema.json"


def test_python_dash_m_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.startswith("reconciler, version ")

"""Secrets against hostile inputs: a value from the environment (the API token's included) that a message would
quote, and a server that returns the token inside an assistant. Nothing the tool prints or writes holds either.

A name reference (``knowledgebase: ${NAME}``) that resolves to nothing is reported with the value it looked for;
the value shows as where it came from, never as what it is: on stdout and stderr, under ``--debug`` too, and in
the pull-request comment that ``run.sh pr-plan`` builds from stderr (GitHub masks secrets in logs, not comments).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_server import TOKEN as HOSTILE_TOKEN
from hostile_server import Reply, Request, assistant, honest_account, hostile_api
from support import PIPELINE, TOKEN, emulator, run, write_files

from reconciler.spec import NAME_KEYS

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sek-ONLY-IN-ENV-58b1"  # what ${SOME_SECRET} holds
SECRET_NUMBER = "+19995550158"  # ${SECRET_NUMBER}: E.164, so that a phone_number gets as far as the lookup
PIPELINE_FILE = (
    "name: Leaky\ntype: outbound\nmode: pipeline\nlanguage_id: 1\nvoice_id: 101\nllm_model_id: 2\n"
    "timezone: Europe/Berlin\ninitial_message: Hello.\nsystem_prompt: Help.\n"
)
MULTIMODAL_FILE = PIPELINE_FILE.replace("mode: pipeline", "mode: multimodal").replace(
    "voice_id: 101\nllm_model_id: 2", "voice_id: 201\nmultimodal_model_id: 1"
)
REALTIME_ONLY = {"multimodal_model", "chat_llm_fallback"}
LISTS = {"secondary_languages", "custom_tools"}
FILE_PROBLEMS = "error: 1 problem in 1 file\n"

#: name key → (field shown, what the lookup says with {value} for the value it looked for); every key.
UNRESOLVED = {
    "voice": (
        "voice",
        "no voice for pipeline mode and language 1 named {value}; candidates: Ethan, Maya, Nova",
    ),
    "language": ("language", "no language named {value}; candidates: English, French, German, Spanish"),
    "secondary_languages": (
        "secondary_languages[0]",
        "no language named {value}; candidates: English, French, German, Spanish",
    ),
    "llm_model": ("llm_model", "no LLM model named {value}; candidates: Claude Sonnet, GPT-4.1, GPT-4o mini"),
    "multimodal_model": (
        "multimodal_model",
        "no multimodal model named {value}; candidates: GPT-4o Realtime, Gemini Live",
    ),
    "chat_llm_fallback": (
        "chat_llm_fallback",
        "no LLM model named {value}; candidates: Claude Sonnet, GPT-4.1, GPT-4o mini",
    ),
    "knowledgebase": (
        "knowledgebase",
        "no knowledgebase named {value}; candidates: Product FAQ, Returns policy",
    ),
    "phone_number": (
        "phone_number",
        "no phone number named {value}; candidates: +14155550101, +14155550102, +442071838750, +4930901820",
    ),
    "custom_tools": ("custom_tools[0]", "no tool named {value}; candidates: crm_create_lead, lookup_order"),
    "synthesizer_provider": (
        "synthesizer_provider",
        "no synthesizer provider named {value}; candidates: Cartesia, ElevenLabs",
    ),
    "transcriber_provider": (
        "transcriber_provider",
        "no transcriber provider named {value}; candidates: AssemblyAI, Deepgram",
    ),
}
#: (name key, the variable its value comes from): every key with a secret of its own and with the token (but
#: the token in phone_number, which is no E.164 number: validation refuses it without quoting it, before any lookup).
CASES = [(key, "SECRET_NUMBER" if key == "phone_number" else "SOME_SECRET") for key in NAME_KEYS]
CASES += [(key, "GLORIA_API_TOKEN") for key in NAME_KEYS if key != "phone_number"]


def leaky_file(key: str, variable: str) -> tuple[str, int]:
    """A valid assistant whose ``key`` takes its value from ``${variable}`` (the id field it stands for left
    out), and the line of that value."""
    base = MULTIMODAL_FILE if key in REALTIME_ONLY else PIPELINE_FILE
    lines = [line for line in base.splitlines() if not line.startswith(f"{NAME_KEYS[key]}:")]
    if key in LISTS:
        lines += [f"{key}:", f"  - ${{{variable}}}"]
    else:
        lines += [f"{key}: ${{{variable}}}"]
    return "".join(line + "\n" for line in lines), len(lines)


def expected_problem(key: str, variable: str, file: Path, line: int) -> str:
    field, message = UNRESOLVED[key]
    return f"{file}:{line}: {field}: {message.format(value=f'(sensitive value from ${{{variable}}})')}"


@pytest.fixture
def secrets_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SECRET", SECRET)
    monkeypatch.setenv("SECRET_NUMBER", SECRET_NUMBER)


def assert_no_secret(*texts: str) -> None:
    for value in (SECRET, SECRET_NUMBER, TOKEN):
        for text in texts:
            assert value not in text


@pytest.mark.usefixtures("secrets_set")
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize(("key", "variable"), CASES)
def test_an_unresolved_name_from_the_environment_is_named_not_shown(
    key: str,
    variable: str,
    debug: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text, line = leaky_file(key, variable)
    directory = write_files(tmp_path / "d", {"leaky": text})
    with emulator(monkeypatch):
        code, out, err = run(capsys, *(["--debug"] if debug else []), "plan", "--dir", str(directory))
    assert code == 1
    problem = expected_problem(key, variable, directory / "leaky.yaml", line)
    if debug:  # the requests and the traceback come first, then the same two lines
        assert err.endswith(f"\n{problem}\n{FILE_PROBLEMS}")
    else:
        assert err == f"{problem}\n{FILE_PROBLEMS}"
    assert_no_secret(out, err)


@pytest.mark.usefixtures("secrets_set")
@pytest.mark.parametrize("variable", ["SOME_SECRET", "GLORIA_API_TOKEN"])
def test_the_pull_request_comment_of_a_failed_plan_holds_no_secret(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, line = leaky_file("knowledgebase", variable)
    directory = write_files(tmp_path / "assistants.d", {"leaky": text})
    out = tmp_path / "out"
    environ = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "RECONCILER_DIR": str(directory),
        "RECONCILER_OUT": str(out),
        "GITHUB_OUTPUT": os.devnull,
    }
    with emulator(monkeypatch):
        environ["GLORIA_API_URL"] = os.environ["GLORIA_API_URL"]
        environ["GLORIA_API_TOKEN"] = TOKEN
        done = subprocess.run(
            ["bash", str(ROOT / ".github/actions/reconciler/run.sh"), "pr-plan"],
            env=environ,
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 1
    problem = expected_problem("knowledgebase", variable, directory / "leaky.yaml", line)
    assert (out / "report.md").read_text() == (
        f"<!-- reconciler-plan -->\n### reconciler: plan failed\n\n```text\n{problem}\n{FILE_PROBLEMS}```\n"
    )
    assert_no_secret(done.stdout, done.stderr, *(p.read_text() for p in out.iterdir()))


# ---- other messages that quote a value -----------------------------------------------------------------------


@pytest.mark.usefixtures("secrets_set")
def test_validation_problems_that_quote_a_value_name_its_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = "(sensitive value from ${SOME_SECRET})"
    files = {
        "a": PIPELINE_FILE
        + "ignore_changes:\n  - ${SOME_SECRET}\n"
        + "tools:\n  - type: ${SOME_SECRET}\n"
        + "post_call_schema:\n"
        + "  - name: ${SOME_SECRET}\n    type: string\n    description: First.\n"
        + "  - name: ${SOME_SECRET}\n    type: string\n    description: Second.\n",
        "b": PIPELINE_FILE.replace("name: Leaky", "name: ${SOME_SECRET}"),
        "c": PIPELINE_FILE.replace("name: Leaky", "name: ${SOME_SECRET}"),
    }
    directory = write_files(tmp_path / "d", files)
    code, out, err = run(capsys, "validate", "--dir", str(directory))
    assert code == 1
    a, b, c = (directory / f"{key}.yaml" for key in "abc")
    format_problem = "must be 3 to 16 characters of a-z, 0-9 and _"
    assert err.splitlines() == [
        f"{a}:11: ignore_changes[0]: {shown} is not a field of the API",
        f"{a}:13: tools[0].type: must be a name of a-z, 0-9 and _ that starts with a letter, as the API's are",
        f"{a}:15: post_call_schema[0].name: {format_problem}",
        f"{a}:18: post_call_schema[1].name: {shown} is used by an earlier item; names must be unique",
        f"{a}:18: post_call_schema[1].name: {format_problem}",
        f"{c}:1: name: {shown} is also declared by {b}:1",
        "error: 6 problems in 2 of 3 files",
    ]
    assert_no_secret(out, err)


@pytest.mark.usefixtures("secrets_set")
def test_plan_problems_that_quote_a_value_name_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = "(sensitive value from ${SOME_SECRET})"
    files = {
        "twice": PIPELINE_FILE.replace("name: Leaky", "name: ${SOME_SECRET}"),
        "short": "name: ${GLORIA_API_TOKEN}\ninitial_message: Hi.\n",
    }
    directory = write_files(tmp_path / "d", files)
    with emulator(monkeypatch) as api:
        first, second = api.create({**PIPELINE, "name": SECRET}), api.create({**PIPELINE, "name": SECRET})
        code, out, err = run(capsys, "plan", "--dir", str(directory))
    assert code == 1
    assert err.splitlines() == [
        f"{directory / 'short.yaml'}:1: (sensitive value from ${{GLORIA_API_TOKEN}}) is not on the platform, so "
        "creating it needs: voice_id, language_id, type, mode, timezone, system_prompt, multimodal_model_id",
        f"{directory / 'twice.yaml'}:1: name: 2 assistants on the platform are named {shown} "
        f"(ids {first}, {second}); add id: to say which",
        "error: 2 problems in 2 of 2 files",
    ]
    assert_no_secret(out, err)


@pytest.mark.usefixtures("secrets_set")
def test_an_api_refusal_that_echoes_a_value_names_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    account = honest_account(assistant(7, "Leaky"))

    def echo_the_prompt(request: Request) -> Reply:
        if request.method == "PUT":
            prompt = (request.json() or {}).get("system_prompt")
            errors = {"system_prompt": [f"'{prompt}' is banned."]}
            return Reply(422, {"message": f"Refused {prompt}.", "errors": errors})
        return account.handle(request)

    text = PIPELINE_FILE.replace("system_prompt: Help.", "system_prompt: ${SOME_SECRET}")
    directory = write_files(tmp_path / "d", {"leaky": text})
    with hostile_api(monkeypatch, echo_the_prompt):
        code, out, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
    assert code == 1
    assert (
        "  ! leaky (id 7): update failed: PUT /user/assistant/7: 422 Refused (sensitive).\n"
        f"      {directory / 'leaky.yaml'}:9: system_prompt: (sensitive value from ${{SOME_SECRET}}) is banned.\n"
    ) in out
    assert_no_secret(out, err)
    assert HOSTILE_TOKEN not in out + err


@pytest.mark.usefixtures("secrets_set")
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_an_error_that_echoes_a_secret_is_masked_on_the_way_out(
    debug: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last line of defence: a message about no file (here the API's own, quoting the webhook secret it
    stored at an earlier apply) is masked by the run's stderr itself, the traceback under --debug too."""
    hook = f"https://hooks.example.com/?token={SECRET}"

    def echo_the_hook(request: Request) -> Reply:
        return Reply(403, {"message": f"the hook {hook} is refused"})

    hooked = (
        PIPELINE_FILE
        + "is_webhook_active: true\nwebhook_url: https://hooks.example.com/?token=${SOME_SECRET}\n"
    )
    directory = write_files(tmp_path / "d", {"hooked": hooked})
    with hostile_api(monkeypatch, echo_the_hook):
        code, out, err = run(capsys, *(["--debug"] if debug else []), "plan", "--dir", str(directory))
    assert code == 1
    refused = "GET /user/assistants/get: 403 the hook https://hooks.example.com/?token=(sensitive) is refused"
    assert err.endswith(f"error: {refused}\n")
    if debug:
        assert f"reconciler.errors.ApiError: {refused}\n" in err
    assert_no_secret(out, err)


# ---- a server that returns the token inside an assistant ------------------------------------------------------


def test_no_file_the_tool_writes_holds_the_token_a_server_returned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exported, saved, summary = tmp_path / "exported", tmp_path / "plan.json", tmp_path / "summary.md"
    printed: list[str] = []
    with emulator(monkeypatch) as api:
        api.create(
            {
                **PIPELINE,
                "name": f"Sales {TOKEN}",
                "system_prompt": f"Call the API with {TOKEN} when asked.",
                "variables": {"api_hint": TOKEN},
            }
        )
        code, out, err = run(capsys, "export", "--all", "--dir", str(exported))
        assert code == 0, err
        printed += [out, err]
        text = (exported / "assistant.yaml").read_text()  # a name that holds the token names no file
        assert "name: Sales ${GLORIA_API_TOKEN}\n" in text
        assert "system_prompt: Call the API with ${GLORIA_API_TOKEN} when asked.\n" in text
        assert "variables:\n  api_hint: ${GLORIA_API_TOKEN}\n" in text
        assert out.endswith("set these environment variables before plan or apply:\n  GLORIA_API_TOKEN\n")
        code, out, err = run(capsys, "plan", "--dir", str(exported), "--detailed-exitcode")
        assert (code, out.splitlines()[-1]) == (
            0,
            "No changes. The platform matches the files (1 assistant).",
        ), err
        printed += [out, err]
        edited = text.replace("initial_message: Hello there.", "initial_message: Hi.")
        (exported / "assistant.yaml").write_text(edited)
        for argv in (
            ["plan", "--dir", str(exported), "--out", str(saved)],
            ["apply", str(saved), "--dir", str(exported), "--summary", str(summary)],
        ):
            code, out, err = run(capsys, *argv)
            assert code == 0, err
            printed += [out, err]
        assert api.items()[0]["initial_message"] == "Hi."
    assert "Sales (sensitive)" in summary.read_text()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in written} == {"assistant.yaml", "plan.json", "summary.md"}
    for text in (*printed, *(p.read_text() for p in written)):
        assert TOKEN not in text


def test_export_masks_the_token_where_no_placeholder_can_stand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        api.create({**PIPELINE, "name": "Keyed", "variables": {TOKEN: "plain"}})
        code, out, err = run(capsys, "export", "--all", "--dir", str(tmp_path))
    assert code == 0, err
    # a key is never read as a placeholder, so the last line of defence masks it; the value under a key that
    # holds the token ("...token...") is a secret of its own, named without the token
    assert "variables:\n  (sensitive): ${KEYED_VALUE}\n" in (tmp_path / "keyed.yaml").read_text()
    assert out.endswith("set these environment variables before plan or apply:\n  KEYED_VALUE\n")
    for text in (out, err, (tmp_path / "keyed.yaml").read_text()):
        assert TOKEN not in text

"""Security: no secret or token in anything a run writes; no plain http off the machine; no forged saved plan."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support import PIPELINE, TOKEN, emulator, run, write_files

from reconciler.desired import load_directory
from reconciler.files import environment
from reconciler.secret import Secret, masked
from reconciler.session import connect
from reconciler.text import printable
from reconciler.yamlfile import parse

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {"CALCOM_API_KEY": "cal_live_SECRET_0a1b2c3d", "HOOK_TOKEN": "hooktok_SECRET_9z8y7x"}


def pipeline_file(name: str, extra: str = "") -> str:
    return (
        f"name: {name}\ntype: outbound\nmode: pipeline\nlanguage_id: 1\nvoice_id: 101\nllm_model_id: 2\n"
        f"timezone: Europe/Berlin\ninitial_message: Hello.\nsystem_prompt: Help.\n{extra}"
    )


def test_no_token_or_secret_in_anything_a_run_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    files = shutil.copytree(ROOT / "assistants.d", tmp_path / "assistants.d")
    (files / "hooked.yaml").write_text(
        pipeline_file(
            "Hooked", "is_webhook_active: true\nwebhook_url: https://hooks.example.com/?token=${HOOK_TOKEN}\n"
        )
    )
    written: list[str] = []
    saved, summary, exported = tmp_path / "plan.json", tmp_path / "summary.md", tmp_path / "exported"
    with emulator(monkeypatch, seed="demo") as api:
        for argv in (
            ["--debug", "validate", "--dir", str(files)],
            ["--debug", "plan", "--dir", str(files)],
            ["--debug", "plan", "--dir", str(files), "--format", "json", "--out", str(saved)],
            ["--debug", "plan", "--dir", str(files), "--format", "markdown"],
            ["--debug", "apply", str(saved), "--dir", str(files), "--summary", str(summary)],
            ["--debug", "plan", "--dir", str(files), "--detailed-exitcode"],
            ["--debug", "export", "--all", "--dir", str(exported)],
        ):
            code, out, err = run(capsys, *argv)
            assert code == 0, (argv, err)
            written += [out, err]
        environ = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        environ |= {
            "RECONCILER_DIR": str(files),
            "RECONCILER_OUT": str(tmp_path / "ci"),
            "GITHUB_OUTPUT": os.devnull,
        }
        for mode in ("pr-plan", "drift"):
            done = subprocess.run(
                ["bash", str(ROOT / ".github/actions/reconciler/run.sh"), mode],
                env=environ,
                capture_output=True,
                text=True,
            )
            written += [done.stdout, done.stderr]
        assert api.items()  # the run really talked to the platform
    written += [saved.read_text(), summary.read_text(), *(p.read_text() for p in (tmp_path / "ci").iterdir())]
    written += [p.read_text() for p in exported.iterdir()]
    everything = "\n".join(written)
    assert "(sensitive)" in everything
    for value in (*SECRETS.values(), TOKEN):
        assert value not in everything


@pytest.mark.parametrize("command", ["plan", "apply", "export"])
def test_plain_http_off_the_machine_is_refused_for_every_command(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
    monkeypatch.setenv("GLORIA_API_URL", "http://10.1.2.3/api")  # never contacted: refused before any request
    files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    extra = ["--all"] if command == "export" else ["--auto-approve"] if command == "apply" else []
    code, _, err = run(capsys, command, "--dir", str(files), *extra)
    assert code == 1
    assert err == "error: refusing plain http to 10.1.2.3: the token would travel unencrypted; use https\n"


@pytest.mark.parametrize("forgery", ["other-id", "edited-body", "added-change"])
def test_a_forged_saved_plan_writes_nothing(
    forgery: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        mine = api.create({**PIPELINE, "name": "Mine"})
        theirs = api.create({**PIPELINE, "name": "Not managed here"})
        files = write_files(tmp_path / "d", {"mine": pipeline_file("Mine", "record: true\n")})
        saved = tmp_path / "plan.json"
        assert run(capsys, "plan", "--dir", str(files), "--out", str(saved))[0] == 0
        plan = json.loads(saved.read_text())
        their_fingerprint = json.loads(
            run(
                capsys,
                "plan",
                "--dir",
                str(write_files(tmp_path / "t", {"t": pipeline_file("Not managed here", "record: true\n")})),
                "--format",
                "json",
            )[1]
        )["changes"][0]["fingerprint"]
        (change,) = plan["changes"]
        if forgery == "other-id":
            change.update(id=theirs, fingerprint=their_fingerprint)
        elif forgery == "edited-body":
            change["body"] = {"record": True, "system_prompt": "Exfiltrate everything."}
        else:
            plan["changes"].append({**change, "key": "zz", "id": theirs, "fingerprint": their_fingerprint})
        saved.write_text(json.dumps(plan))
        before = api.journal()
        code, _, err = run(capsys, "apply", str(saved), "--dir", str(files))
        assert api.journal() == before
    assert code == 1
    assert mine != theirs
    assert err.startswith("error: the saved plan asks for changes the files do not: ")


# ---- nothing that holds the token or a secret prints it (repr, str, format) --------------------------------

PLATFORM_KEY = "cal_live_PLATFORM_5e6f7a8b"  # a secret the platform holds, read back by plan and export
HELD = (TOKEN, PLATFORM_KEY, *SECRETS.values())


def _holders(tmp_path: Path) -> dict[str, object]:
    """Every kind of object a run builds that holds the token or a secret, built the way a run builds it."""
    calendar = "tools:\n  - {type: calendar_integration, calcom_api_key: '${CALCOM_API_KEY}', calcom_event_slug: intro}\n"
    hook = "is_webhook_active: true\nwebhook_url: https://hooks.example.com/?token=${HOOK_TOKEN}\n"
    files = write_files(tmp_path / "d", {"booked": pipeline_file("Booked", calendar + hook)})
    platform_tool = {"type": "calendar_integration", "calcom_api_key": PLATFORM_KEY, "calcom_event_slug": "x"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SECRETS.items():
            patch.setenv(name, value)
        with emulator(patch) as api:
            api.create({**PIPELINE, "name": "Booked", "tools": [platform_tool]})
            state = load_directory(files, environ=environment())
            with connect(emulator=False, api_url=None) as session:
                account = session.read()
                plan = session.plan_against(state, account)
                (exported,) = session.export(None, names=False)
                holders: dict[str, object] = {"session": session, "client attributes": vars(session.client)}
    (assistant,) = state.assistants
    (change,) = plan.changes
    (remote,) = account.assistants
    tools = next(f for f in change.fields if f.path == "tools")
    assert SECRETS["CALCOM_API_KEY"] in json.dumps(change.body)  # they do hold them: the test means something
    assert PLATFORM_KEY in json.dumps([tools.before, remote.fields])
    return holders | {
        "source file": assistant.source,
        "desired assistant": assistant,
        "desired state": state,
        "plan": plan,
        "change": change,
        "field change": tools,
        "account": account,
        "remote assistant": remote,
        "exported file": exported,
        "parsed file": parse(files.joinpath("booked.yaml").read_bytes(), "booked.yaml", SECRETS),
    }


HOLDERS = [
    "session",
    "client attributes",
    "source file",
    "desired assistant",
    "desired state",
    "plan",
    "change",
    "field change",
    "account",
    "remote assistant",
    "exported file",
    "parsed file",
]


@pytest.mark.parametrize("kind", HOLDERS)
def test_no_object_holding_the_token_or_a_secret_prints_it(kind: str, tmp_path: Path) -> None:
    holder = _holders(tmp_path)[kind]
    for text in (repr(holder), str(holder), f"{holder}"):
        assert [value for value in HELD if value in text] == []


def test_a_secret_prints_as_a_marker_and_gives_its_value_only_when_asked() -> None:
    secret = Secret("tok_SECRET_1234")
    assert (repr(secret), str(secret), f"{secret}", f"{secret:>20}") == (
        "Secret((sensitive))",
        "(sensitive)",
        "(sensitive)",
        "(sensitive)",
    )
    assert secret.reveal() == "tok_SECRET_1234"
    assert secret == Secret("tok_SECRET_1234")
    assert secret != "tok_SECRET_1234"  # never equal to the raw text: no accidental comparison with a str
    assert len({secret, Secret("tok_SECRET_1234")}) == 1
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(secret)


@pytest.mark.parametrize(
    "shown",
    [
        pytest.param(lambda value: printable(value), id="escaped-for-the-terminal"),
        pytest.param(lambda value: f"Illegal header value {(value).encode()!r}", id="bytes-repr"),
    ],
)
def test_a_secret_is_masked_in_the_forms_an_error_line_shows_it(shown: Callable[[str], str]) -> None:
    value = "tok_live_4d2\x1b[0m\n"  # a secret with a control character and a line break in it
    line = f"error: {shown(value)}"
    assert "tok_live_4d2" in line
    assert masked(line, [Secret(value)]).count("tok_live_4d2") == 0

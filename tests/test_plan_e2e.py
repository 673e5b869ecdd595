"""`reconciler plan` end to end: CLI → real HTTP on loopback → the emulator, in both read modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import PIPELINE, TOKEN, bodies, emulator, plan_json, run, write_files

BASE = """\
name: {name}
type: outbound
mode: pipeline
language_id: 1
voice_id: 101
llm_model_id: 2
timezone: Europe/Berlin
initial_message: Hello there.
system_prompt: You are helpful.
"""


def base(name: str = "Pipeline One", extra: str = "") -> str:
    return BASE.format(name=name) + extra


@pytest.fixture(params=["read", "symmetric"])
def read_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_seed_example_remove_optional_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, read_mode="symmetric") as api:
        api.create(
            {
                **PIPELINE,
                "knowledgebase_id": 10,
                "tool_ids": [31, 32],
                "webhook_url": "https://hooks.example.com/a",
                "voice_mail_message": "Call us back.",
                "max_initial_silence_duration": 15,
            }
        )
        files = write_files(tmp_path / "d", {"one": base()})
        plan = plan_json(capsys, files)
    assert plan["summary"] == {"create": 0, "update": 1, "delete": 0, "noop": 0}
    assert json.dumps(bodies(plan)["one"]) == json.dumps(
        {
            "knowledgebase_id": None,
            "tool_ids": [],
            "max_initial_silence_duration": None,
            "voice_mail_message": None,
            "webhook_url": None,
        }
    )


def test_seed_example_switch_to_multimodal_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, read_mode="symmetric") as api:
        api.create(PIPELINE)
        text = (
            base()
            .replace("mode: pipeline", "mode: multimodal")
            .replace("llm_model_id: 2", "multimodal_model_id: 2")
        )
        files = write_files(tmp_path / "d", {"one": text.replace("voice_id: 101", "voice_id: 201")})
        plan = plan_json(capsys, files)
        assert bodies(plan)["one"] == {"mode": "multimodal", "voice_id": 201, "multimodal_model_id": 2}
        api.apply_plan(plan)
        assert plan_json(capsys, files)["summary"]["noop"] == 1


def test_seed_example_update_reengagement_and_voicemail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = (
        "reengagement_interval: 45\n"
        "reengagement_prompt: Still there?\n"
        "end_call_on_voicemail: false\n"
        "voice_mail_message: |\n  Sorry we missed you.\n"
    )
    with emulator(monkeypatch, read_mode="symmetric") as api:
        api.create(PIPELINE)
        files = write_files(tmp_path / "d", {"one": base(extra=extra)})
        plan = plan_json(capsys, files)
    assert bodies(plan)["one"] == {
        "reengagement_interval": 45,
        "reengagement_prompt": "Still there?",
        "end_call_on_voicemail": False,
        "voice_mail_message": "Sorry we missed you.",  # trimmed as the API would store it
    }


def test_mode_change_resends_declared_mode_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, read_mode="symmetric") as api:
        realtime = {k: v for k, v in PIPELINE.items() if k != "llm_model_id"}
        assistant = api.create({**realtime, "mode": "multimodal", "voice_id": 302, "multimodal_model_id": 1})
        api.update(assistant, {"synthesizer_provider_id": 2})
        text = (
            base()
            .replace("mode: pipeline", "mode: dualplex")
            .replace("llm_model_id: 2", "multimodal_model_id: 3")
        )
        text = text.replace("voice_id: 101", "voice_id: 302") + "synthesizer_provider_id: 2\n"
        files = write_files(tmp_path / "d", {"one": text})
        plan = plan_json(capsys, files)
        change = plan["changes"][0]
        # synthesizer_provider_id is unchanged, but the mode change resets it on the platform: sent anyway
        assert change["body"] == {"mode": "dualplex", "multimodal_model_id": 3, "synthesizer_provider_id": 2}
        reasons = {f["path"]: f.get("reason") for f in change["fields"]}
        assert reasons["synthesizer_provider_id"] == "re-sent: changing mode resets it on the platform"
        api.apply_plan(plan)
        assert plan_json(capsys, files)["summary"]["noop"] == 1


def test_unchanged_account_is_all_noop(
    read_mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = (
        "speech_speed: 1.05\nfillers: true\nend_call_on_voicemail: false\nvariables: {a: b}\n"
        "tools:\n  - {type: end_call, description: '  Bye  '}\n"
        "post_call_schema:\n  - {name: ok_flag, type: bool, description: Whether it went well.}\n"
        "tool_ids: [32, 31]\nsecondary_language_ids: [3, 2]\nvoice_mail_message: '  hi  '\n"
        "system_prompt: |\n  Line one.\n  Line two.\n"
    )
    with emulator(monkeypatch, read_mode=read_mode) as api:
        files = write_files(
            tmp_path / "d", {"one": base(extra=extra.replace("system_prompt", "system_prompt_x"))}
        )
        files = write_files(
            tmp_path / "d", {"one": base().replace("system_prompt: You are helpful.\n", "") + extra}
        )
        first = plan_json(capsys, files)
        assert first["summary"]["create"] == 1
        api.apply_plan(first)
        second = plan_json(capsys, files)
    assert second["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 1}
    assert second["changes"][0]["body"] == {}


def test_new_file_is_a_create_with_the_full_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, read_mode="symmetric") as api:
        api.create({**PIPELINE, "name": "Someone Else"})
        files = write_files(tmp_path / "d", {"one": base(extra="record: true\n")})
        plan = plan_json(capsys, files)
    change = plan["changes"][0]
    assert change["action"] == "create"
    assert change["id"] is None
    # every field is readable (the other assistant shows it), so the record holds no digests: only who
    # manages the new assistant (a later plan finds it by record even after a rename), and the optional
    # fields a missing key does not clear, so that deleting `record: true` later is said, not silent
    record = '{"fields":{},"key":"one","managed":["record"],"owner":"","v":1}'
    assert change["body"] == {**PIPELINE, "record": True, "variables": {"_reconciler": record}}


def test_create_missing_required_fields_fails_before_any_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"one": "name: Lonely\nmode: pipeline\nvoice_id: 101\n"})
        code, _, err = run(capsys, "plan", "--dir", str(files))
        assert api.items() == []
    assert code == 1
    assert err.splitlines() == [
        f"{files}/one.yaml:1: 'Lonely' is not on the platform, so creating it needs: "
        "language_id, type, timezone, initial_message, system_prompt, llm_model_id",
        "error: 1 problem in 1 file",
    ]


def test_ambiguous_name_lists_the_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        first, second = api.create(PIPELINE), api.create(PIPELINE)
        files = write_files(tmp_path / "d", {"one": "# twins\n" + base()})
        code, _, err = run(capsys, "plan", "--dir", str(files))
    assert code == 1
    assert err.splitlines()[0] == (
        f"{files}/one.yaml:2: name: 2 assistants on the platform are named 'Pipeline One' "
        f"(ids {first}, {second}); add id: to say which"
    )


def test_an_unknown_id_in_a_file_that_cannot_create_says_what_creating_it_again_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch):
        files = write_files(tmp_path / "d", {"one": "id: 999\nname: Gone\n"})
        code, _, err = run(capsys, "plan", "--dir", str(files))
    assert code == 1
    assert err.splitlines()[0] == (
        f"{files}/one.yaml:1: assistant 999 is not on the platform any more, so creating it again needs: "
        "voice_id, language_id, type, mode, timezone, initial_message, system_prompt, multimodal_model_id"
    )


def test_detailed_exitcode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, read_mode="symmetric") as api:
        api.create(PIPELINE)
        files = write_files(tmp_path / "d", {"one": base()})
        assert run(capsys, "plan", "--dir", str(files), "--detailed-exitcode")[0] == 0
        write_files(files, {"one": base(extra="record: true\n")})
        assert run(capsys, "plan", "--dir", str(files), "--detailed-exitcode")[0] == 2
        assert run(capsys, "plan", "--dir", str(files))[0] == 0  # without the flag changes are success too
        write_files(files, {"one": base(extra="record: maybe\n")})
        assert run(capsys, "plan", "--dir", str(files), "--detailed-exitcode")[0] == 1
        assert run(capsys, "plan", "--dir", str(files), "--detailed-exitcode", "--bogus")[0] == 1
        monkeypatch.setenv("GLORIA_API_TOKEN", "wrong-token")  # an API failure
        write_files(files, {"one": base()})
        code, _, err = run(capsys, "plan", "--dir", str(files), "--detailed-exitcode")
    assert code == 1
    assert err == "error: GET /user/assistants/get: 401 Unauthenticated. (check GLORIA_API_TOKEN)\n"


def test_missing_token_is_an_error_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GLORIA_API_TOKEN", raising=False)
    monkeypatch.setenv("GLORIA_API_URL", "http://127.0.0.1:9/api")
    files = write_files(tmp_path / "d", {"one": base()})
    code, _, err = run(capsys, "plan", "--dir", str(files))
    assert code == 1
    assert err == "error: GLORIA_API_TOKEN is not set: export the account's API key (or use --emulator)\n"


def test_plain_http_to_a_remote_host_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
    files = write_files(tmp_path / "d", {"one": base()})
    code, _, err = run(capsys, "plan", "--dir", str(files), "--api-url", "http://api.example.com/api")
    assert code == 1
    assert err == (
        "error: refusing plain http to api.example.com: the token would travel unencrypted; use https\n"
    )


def test_no_secret_and_no_token_in_any_output(
    read_mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret, prompt_secret = "cal_live_9f8e7d6c5b4a", "whisper-a1b2c3"
    monkeypatch.setenv("CALCOM_KEY", secret)
    monkeypatch.setenv("PROMPT_PART", prompt_secret)
    extra = (
        "voice_mail_message: call ${PROMPT_PART} back\n"
        "tools:\n  - {type: calendar_integration, calcom_api_key: '${CALCOM_KEY}', calcom_event_slug: intro}\n"
    )
    with emulator(monkeypatch, read_mode=read_mode) as api:
        api.create(PIPELINE)
        files = write_files(tmp_path / "d", {"one": base(extra=extra)})
        saved = tmp_path / "plan.json"
        outputs = []
        for fmt in ("text", "json", "markdown"):
            code, out, err = run(
                capsys, "--debug", "plan", "--dir", str(files), "--format", fmt, "--out", str(saved)
            )
            assert code == 0, err
            outputs += [out, err, saved.read_text()]
    everything = "\n".join(outputs)
    assert "(sensitive)" in everything
    assert "debug: reconciler.http: GET /user/assistants/get -> 200" in everything  # the --debug request log
    for value in (secret, prompt_secret, TOKEN):
        assert value not in everything


def test_target_selects_keys_and_globs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch):
        files = write_files(
            tmp_path / "d", {"sales-a": base("A"), "sales-b": base("B"), "support": base("C")}
        )
        plan = plan_json(capsys, files, "--target", "sales-*")
        assert [c["key"] for c in plan["changes"]] == ["sales-a", "sales-b"]
        code, _, err = run(capsys, "plan", "--dir", str(files), "--target", "nope")
    assert code == 1
    assert err == f"error: --target 'nope' matches no file in {files}\n"


def test_text_output_reads_like_terraform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, read_mode="symmetric") as api:
        api.create(PIPELINE)
        text = base(extra="speech_speed: 0.9\n").replace(
            "You are helpful.", "|\n  You are helpful.\n  Be brief."
        )
        files = write_files(tmp_path / "d", {"one": text, "two": base("Second")})
        code, out, _ = run(capsys, "plan", "--dir", str(files))
    assert code == 0
    assert out == (
        "reconciler will make these changes:\n\n"
        f'  ~ update one "Pipeline One" (id 1)    {files}/one.yaml\n'
        "      ~ system_prompt:\n"
        "            You are helpful.\n"
        "          + Be brief.\n"
        "      ~ speech_speed: 1.0 → 0.9\n"
        "      note: adopts assistant 1 by name: no record says which file manages it\n\n"
        f'  + create two "Second"    {files}/two.yaml\n'
        '      + name: "Second"\n'
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


def test_json_plan_follows_the_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, read_mode="symmetric") as api:
        api.create({**PIPELINE, "webhook_url": "https://old.example/hook", "speech_speed": 1.0})
        files = write_files(tmp_path / "d", {"sales": base(extra="speech_speed: 0.9\n")})
        saved = tmp_path / "plan.json"
        code, out, _ = run(capsys, "plan", "--dir", str(files), "--format", "json", "--out", str(saved))
    assert code == 0
    plan = json.loads(out)
    assert json.loads(saved.read_text()) == plan
    assert plan["format_version"] == 1
    assert plan["summary"] == {"create": 0, "update": 1, "delete": 0, "noop": 0}
    (change,) = plan["changes"]
    assert {k: change[k] for k in ("key", "file", "action", "id", "name", "body", "fields")} == {
        "key": "sales",
        "file": f"{files}/sales.yaml",
        "action": "update",
        "id": 1,
        "name": "Pipeline One",
        "body": {"speech_speed": 0.9, "webhook_url": None},
        "fields": [
            {"path": "speech_speed", "before": 1.0, "after": 0.9},
            {"path": "webhook_url", "before": "https://old.example/hook", "after": None},
        ],
    }
    assert len(change["fingerprint"]) == 16

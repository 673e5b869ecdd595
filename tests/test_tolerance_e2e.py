"""When the API grows (docs/contract.md#when-the-api-grows), end to end against the emulator: a built-in tool
type this version does not know goes through export → validate → plan (empty) → apply; fields the API returns
that it does not know are ignored; ``extra_fields`` is sent as written, diffed, and refused for a known key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import PIPELINE, Api, emulator, pipeline_file, plan_json, run, write_files

WARM = {
    "type": "warm_call_transfer",
    "supervisor_phone": "+14155550100",
    "outbound_phone_id": 7,
    "description": "To a person.",
    "hold_music_volume": 40,
}
KEYPAD = {"type": "collect_keypad", "timeout": 10, "stop_key": "#"}
EXPORTED_TOOLS = """\
tools:
- type: warm_call_transfer
  supervisor_phone: '+14155550100'
  outbound_phone_id: 7
  description: To a person.
  hold_music_volume: 40
- type: collect_keypad
  timeout: 10
  stop_key: '#'
- type: end_call
"""
UNKNOWN = "(this version of reconciler does not know it; it is sent as written)"


def writes(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, body) for method, path, body, _ in api.journal()]


def test_an_unknown_tool_type_goes_through_export_validate_plan_and_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "d"
    with emulator(monkeypatch, api_version="newer") as api:
        ident = api.create({**PIPELINE, "tools": [WARM, KEYPAD, {"type": "end_call"}]})
        # the newer API reads the id back as a string, nested under data
        assert api.items()[0]["tools"][0]["data"]["outbound_phone_id"] == "7"
        code, _, err = run(capsys, "export", "--all", "--dir", str(directory))
        assert (code, err) == (0, "")
        path = directory / "pipeline-one.yaml"
        text = path.read_text()
        assert text.endswith(EXPORTED_TOOLS)  # flat, and the id an integer: the write shape
        line = text.splitlines().index("- type: warm_call_transfer") + 1

        code, out, err = run(capsys, "validate", "--dir", str(directory))
        assert (code, out) == (0, f"{directory}: 1 assistant file valid\n")
        assert err == (
            f"warning: {path}:{line}: tools[0].type: unknown tool type 'warm_call_transfer' {UNKNOWN}\n"
            f"warning: {path}:{line + 5}: tools[1].type: unknown tool type 'collect_keypad' {UNKNOWN}\n"
        )

        plan = plan_json(capsys, directory)
        assert plan["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 1}

        path.write_text(text.replace("description: To a person.", "description: To a supervisor."))
        before = len(writes(api))
        code, _, err = run(capsys, "apply", "--auto-approve", "--dir", str(directory))
        assert code == 0, err
        assert writes(api)[before:] == [
            (
                "PUT",
                f"/api/user/assistant/{ident}",
                {
                    "tools": [
                        {**WARM, "description": "To a supervisor."},
                        KEYPAD,
                        {"type": "end_call"},
                    ]
                },
            )
        ]
        assert plan_json(capsys, directory)["summary"]["noop"] == 1


def test_an_unknown_tool_type_is_warned_about_once_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = "tools:\n  - type: collect_keypad\n    timeout: 5\n  - type: end_cal\n"
    directory = write_files(tmp_path / "d", {"a": pipeline_file("A", tools), "b": pipeline_file("B", tools)})
    code, _, err = run(capsys, "validate", "--dir", str(directory))
    assert code == 0
    a = directory / "a.yaml"
    assert err == (
        f"warning: {a}:11: tools[0].type: unknown tool type 'collect_keypad' {UNKNOWN}\n"
        f"warning: {a}:13: tools[1].type: unknown tool type 'end_cal' {UNKNOWN}; did you mean 'end_call'?\n"
    )


def test_the_documented_api_refuses_an_unknown_tool_type_and_apply_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = "tools:\n  - type: collect_keypad\n    timeout: 5\n"
    directory = write_files(tmp_path / "d", {"a": pipeline_file("A", tools)})
    with emulator(monkeypatch) as api:
        code, out, err = run(capsys, "apply", "--auto-approve", "--dir", str(directory))
        sent = writes(api)
    assert code == 1
    tools = [{"type": "collect_keypad", "timeout": 5}]
    assert [(method, path, body["tools"]) for method, path, body in sent] == [
        ("POST", "/api/user/assistant", tools)
    ]
    a = directory / "a.yaml"
    assert f"      {a}:11: tools[0].type: The selected tools.0.type is invalid.\n" in out
    assert err == f"warning: {a}:11: tools[0].type: unknown tool type 'collect_keypad' {UNKNOWN}\n"


def test_an_unknown_tool_with_a_nested_value_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = "tools:\n  - type: collect_keypad\n    keys: ['#', '*']\n"
    directory = write_files(tmp_path / "d", {"a": pipeline_file("A", tools)})
    code, _, err = run(capsys, "validate", "--dir", str(directory))
    assert code == 1
    assert err.splitlines()[0] == (
        f"{directory}/a.yaml:12: tools[0].keys: must be a string, a number, true, false or null: a tool of a "
        "type this version does not know is sent as written, and built-in tools are flat"
    )


def test_fields_the_api_returns_that_this_version_does_not_know_are_ignored_by_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_files(tmp_path / "d", {"a": pipeline_file("Pipeline One")})
    with emulator(monkeypatch, api_version="newer") as api:
        api.create({**PIPELINE, "folder_id": 4, "label_ids": [1, 2], "conversation_inactivity_timeout": 90})
        item = api.items()[0]
        assert item["compliance_blocked_at"] is None
        assert item["inbound_webhook_url"].endswith(item["uuid"])
        plan = plan_json(capsys, directory)
        assert plan["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 1}
        code, _, err = run(capsys, "apply", "--auto-approve", "--dir", str(directory))
        assert code == 0, err
        assert [(method, path) for method, path, _ in writes(api)] == [("POST", "/api/user/assistant")]


EXTRA = "extra_fields:\n  conversation_inactivity_timeout: 90\n  filler_config:\n    words: [um, uh]\n"


def test_extra_fields_are_sent_as_written_diffed_when_returned_and_empty_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_files(tmp_path / "d", {"a": pipeline_file("Pipeline One", EXTRA)})
    with emulator(monkeypatch, api_version="newer") as api:
        ident = api.create(PIPELINE)
        plan = plan_json(capsys, directory)
        (change,) = plan["changes"]
        body = {"conversation_inactivity_timeout": 90, "filler_config": {"words": ["um", "uh"]}}
        assert change["body"] == body
        assert [(f["path"], f["before"], f["after"]) for f in change["fields"]] == [
            ("conversation_inactivity_timeout", 60, 90),
            ("filler_config", None, {"words": ["um", "uh"]}),
        ]
        code, _, err = run(capsys, "apply", "--auto-approve", "--dir", str(directory))
        assert code == 0, err
        assert writes(api)[-1] == ("PUT", f"/api/user/assistant/{ident}", body)
        assert plan_json(capsys, directory)["summary"]["noop"] == 1

        api.update(ident, {"conversation_inactivity_timeout": "120"})  # changed in the dashboard
        (change,) = plan_json(capsys, directory)["changes"]
        assert change["body"] == {"conversation_inactivity_timeout": 90}
        assert [(f["path"], f["before"], f["after"]) for f in change["fields"]] == [
            ("conversation_inactivity_timeout", 120, 90)
        ]


def test_extra_fields_go_into_a_create_and_a_numeric_string_read_back_is_no_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_files(
        tmp_path / "d", {"a": pipeline_file("A", "extra_fields:\n  folder_id: '4'\n  label_ids: [3]\n")}
    )
    with emulator(monkeypatch, api_version="newer") as api:
        code, _, err = run(capsys, "apply", "--auto-approve", "--dir", str(directory))
        assert code == 0, err
        method, path, body = writes(api)[0]
        assert (method, path) == ("POST", "/api/user/assistant")
        assert {k: body[k] for k in ("folder_id", "label_ids")} == {"folder_id": "4", "label_ids": [3]}
        assert api.items()[0]["folder_id"] == 4  # stored as the integer
        assert plan_json(capsys, directory)["summary"]["noop"] == 1


def test_an_extra_field_the_api_does_not_return_is_tracked_by_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The documented API drops the field (Laravel ignores unknown keys) and never returns it: like a write-only
    field, it is sent once and then compared by the record, so the plan after is empty."""
    directory = write_files(tmp_path / "d", {"a": pipeline_file("Pipeline One", EXTRA)})
    with emulator(monkeypatch) as api:
        ident = api.create(PIPELINE)
        (change,) = plan_json(capsys, directory)["changes"]
        assert change["body"]["conversation_inactivity_timeout"] == 90
        assert set(change["body"]) == {"conversation_inactivity_timeout", "filler_config", "variables"}
        code, _, err = run(capsys, "apply", "--auto-approve", "--dir", str(directory))
        assert code == 0, err
        assert writes(api)[-1][:2] == ("PUT", f"/api/user/assistant/{ident}")
        assert plan_json(capsys, directory)["summary"]["noop"] == 1


def test_an_extra_field_that_this_version_knows_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = (
        "extra_fields:\n  speech_speed: 1.1\n  voice: Alloy\n  ignore_changes: []\n  uuid: x\n  Folder: 1\n"
    )
    directory = write_files(tmp_path / "d", {"a": pipeline_file("A", extra)})
    code, out, err = run(capsys, "validate", "--dir", str(directory))
    assert (code, out) == (1, "")
    a = directory / "a.yaml"
    assert err.splitlines() == [
        f"{a}:11: extra_fields.speech_speed: speech_speed is a field this version of reconciler knows: write it "
        "at the top level of the file, where it is checked",
        f"{a}:12: extra_fields.voice: voice is a field this version of reconciler knows: write it at the top "
        "level of the file, where it is checked",
        f"{a}:13: extra_fields.ignore_changes: ignore_changes is a key of the file itself, not an API field",
        f"{a}:14: extra_fields.uuid: uuid is set by the platform (read-only): it cannot be sent",
        f"{a}:15: extra_fields.Folder: must be a name of a-z, 0-9 and _ that starts with a letter, as the "
        "API's are (got 'Folder')",
        "error: 5 problems in 1 file",
    ]


def test_a_secret_in_extra_fields_is_masked_in_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CRM_TOKEN", "crm-secret-value-81f2")
    extra = "extra_fields:\n  crm_sync: ${CRM_TOKEN}\n"
    directory = write_files(tmp_path / "d", {"a": pipeline_file("Pipeline One", extra)})
    with emulator(monkeypatch, api_version="newer") as api:
        api.create(PIPELINE)
        code, out, err = run(capsys, "plan", "--dir", str(directory), "--format", "json")
        assert code == 0, err
        assert "crm-secret-value-81f2" not in out + err
        (change,) = json.loads(out)["changes"]
        assert change["body"]["crm_sync"] == "(sensitive)"
        assert change["secret_paths"] == ["crm_sync"]
        code, _, err = run(capsys, "apply", "--auto-approve", "--dir", str(directory))
        assert code == 0, err
        assert writes(api)[-1][2]["crm_sync"] == "crm-secret-value-81f2"  # the real value is what is sent


@pytest.mark.parametrize("read_mode", ["read", "symmetric"])
def test_the_newer_emulator_takes_the_new_fields_and_tools_and_the_documented_one_drops_them(
    read_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {**PIPELINE, "folder_id": 4, "filler_config": {"words": ["um"]}, "tools": [WARM]}
    with emulator(monkeypatch, read_mode=read_mode, api_version="newer") as api:
        api.create(body)
        (item,) = api.items()
    assert (item["folder_id"], item["filler_config"], item["label_ids"]) == (4, {"words": ["um"]}, [])
    assert item["compliance_blocked_at"] is None
    assert item["inbound_webhook_url"] == f"https://app.gloriagent.ai/api/webhooks/inbound/{item['uuid']}"
    flat = {k: v for k, v in WARM.items() if k != "type"}
    if read_mode == "read":  # nested, and the id a string: the read shape
        assert item["tools"] == [{"type": "warm_call_transfer", "data": {**flat, "outbound_phone_id": "7"}}]
    else:
        assert item["tools"] == [WARM]
    with emulator(monkeypatch, read_mode=read_mode) as api:
        api.create({**body, "tools": []})
        (item,) = api.items()
        with api.http() as http:
            refused = http.post("/user/assistant", json=body)
    assert not {"folder_id", "filler_config", "compliance_blocked_at", "inbound_webhook_url"} & set(item)
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"tools.0.type": ["The selected tools.0.type is invalid."]}

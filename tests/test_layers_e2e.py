"""Layered files end to end (docs/contract.md#layers): CLI → real HTTP on loopback → the emulator.

Every test runs in its own directory (the repository boundary is the current directory, as outside git), with
the assistants in ``d/``, so that files and sources print as a person sees them: ``d/_defaults.yaml:3``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import PIPELINE, Api, emulator, run, write_tree

HEAD = "".join(f"{key}: {json.dumps(value)}\n" for key, value in PIPELINE.items() if key != "name")
REALTIME = (
    "type: outbound\nmode: multimodal\nlanguage_id: 1\nvoice_id: 201\nmultimodal_model_id: 1\n"
    "timezone: Europe/Berlin\ninitial_message: Hello there.\nsystem_prompt: You are helpful.\n"
)


pytestmark = pytest.mark.usefixtures("in_tmp")  # conftest: the test's directory is the working one


def plan(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code, out, err = run(capsys, "plan", "--dir", "d", "--format", "json", *extra)
    assert (code, err) == (0, "")
    return dict(json.loads(out))


def change(plan_data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(c for c in plan_data["changes"] if c["key"] == key)


def sources(item: dict[str, Any]) -> dict[str, Any]:
    return {f["path"]: f["source"] for f in item["fields"]}


def layered(item: dict[str, Any]) -> list[str]:
    return [f["path"] for f in item["fields"] if f.get("from_layer")]


def apply(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "apply", "--dir", "d", "--auto-approve")
    assert (code, err) == (0, ""), err


def refused(capsys: pytest.CaptureFixture[str], api: Api, expected: list[str], files: int) -> None:
    """validate and plan both refuse with exactly these problems, and nothing is sent."""
    noun = "problem" if len(expected) == 1 else "problems"
    shown = len({line.split(":")[0] for line in expected})
    summary = f"error: {len(expected)} {noun} in {shown} of {files} files"
    for command in ("validate", "plan"):
        code, out, err = run(capsys, command, "--dir", "d")
        assert (code, out) == (1, ""), command
        assert err.splitlines() == [*expected, summary], command
    assert api.journal() == []


# ---- the merge, as the platform receives it ------------------------------------------------------------------


def test_defaults_only_reach_every_assistant_and_an_edit_updates_them_all(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        {
            "d/_defaults.yaml": "speech_speed: 1.05\nrecord: true\n",
            "d/a.yaml": f"name: A\n{HEAD}",
            "d/b.yaml": f"name: B\n{HEAD}record: false\n",
        }
    )
    with emulator(monkeypatch):
        created = plan(capsys)
        a, b = change(created, "a"), change(created, "b")
        assert a["body"]["speech_speed"] == 1.05
        assert a["body"]["record"] is True
        assert b["body"]["speech_speed"] == 1.05
        assert b["body"]["record"] is False
        assert sources(a) == {
            "name": "d/a.yaml:1",
            **{key: f"d/a.yaml:{line}" for line, key in enumerate(PIPELINE, start=1) if key != "name"},
            "speech_speed": "d/_defaults.yaml:1",
            "record": "d/_defaults.yaml:2",
        }
        assert layered(a) == ["speech_speed", "record"]
        assert layered(b) == ["speech_speed"]
        apply(capsys)
        assert plan(capsys)["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 2}

        write_tree({"d/_defaults.yaml": "speech_speed: 1.1\nrecord: true\n"})
        updated = plan(capsys)
        for key in ("a", "b"):
            assert change(updated, key)["fields"] == [
                {
                    "path": "speech_speed",
                    "before": 1.05,
                    "after": 1.1,
                    "source": "d/_defaults.yaml:1",
                    "from_layer": True,
                }
            ]
        code, out, _ = run(capsys, "plan", "--dir", "d")
    assert code == 0
    # one default changed for both: shown once, with the layer's line, and each detail points to it
    assert "  ~ speech_speed: 1.05 → 1.1 on 2 assistants (from d/_defaults.yaml:1)\n" in out
    assert out.count("      ~ speech_speed: the shared change above\n") == 2


def test_a_profile_chain_of_three_layers_applies_depth_first_and_the_file_wins(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        {
            "base/_common.yaml": f"{HEAD}speech_speed: 0.8\nvoice_stability: 0.1\nllm_temperature: 0.1\n",
            "base/_sales.yaml": "extends: _common.yaml\nspeech_speed: 0.9\nvoice_stability: 0.2\n",
            "d/_loud.yaml": "extends: ../base/_sales.yaml\nspeech_speed: 1.0\n",
            "d/a.yaml": "extends: _loud.yaml\nname: A\nmax_duration: 300\n",
        }
    )
    with emulator(monkeypatch):
        item = change(plan(capsys), "a")
        apply(capsys)
        assert plan(capsys)["summary"]["noop"] == 1
    body = item["body"]
    assert (body["speech_speed"], body["voice_stability"], body["llm_temperature"]) == (1.0, 0.2, 0.1)
    assert body["max_duration"] == 300
    assert body["mode"] == "pipeline"
    found = sources(item)
    assert (found["speech_speed"], found["voice_stability"], found["llm_temperature"]) == (
        "d/_loud.yaml:2",
        "base/_sales.yaml:3",
        "base/_common.yaml:11",
    )
    assert (found["mode"], found["name"], found["max_duration"]) == (
        "base/_common.yaml:2",
        "d/a.yaml:2",
        "d/a.yaml:3",
    )


def test_variables_merge_key_by_key_and_null_removes_an_inherited_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        {
            "d/_defaults.yaml": "variables:\n  company: Acme\n  region: EU\n  tier: gold\n",
            "d/a.yaml": f"name: A\n{HEAD}variables:\n  region: null\n  tier: silver\n",
        }
    )
    with emulator(monkeypatch):
        item = change(plan(capsys), "a")
    variables = {k: v for k, v in item["body"]["variables"].items() if k != "_reconciler"}
    assert variables == {"company": "Acme", "tier": "silver"}
    assert sources(item)["variables"] == "d/a.yaml:10"


def test_a_list_is_replaced_whole_by_a_higher_layer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        {
            "d/_defaults.yaml": "secondary_language_ids: [2, 3]\ntool_ids: [31, 32]\n",
            "d/a.yaml": f"name: A\n{HEAD}secondary_language_ids: [4]\n",
        }
    )
    with emulator(monkeypatch):
        item = change(plan(capsys), "a")
    assert (item["body"]["secondary_language_ids"], item["body"]["tool_ids"]) == ([4], [31, 32])
    assert (sources(item)["secondary_language_ids"], sources(item)["tool_ids"]) == (
        "d/a.yaml:10",
        "d/_defaults.yaml:2",
    )


def test_a_name_key_overrides_an_inherited_id_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    head = HEAD.replace("voice_id: 101\n", "")
    write_tree(
        {
            "d/_defaults.yaml": "voice_id: 102\n",
            "d/a.yaml": f"name: A\n{head}voice: Maya\n",
            "d/b.yaml": f"name: B\n{head}",
        }
    )
    with emulator(monkeypatch):
        created = plan(capsys)
    a, b = change(created, "a"), change(created, "b")
    assert (a["body"]["voice_id"], b["body"]["voice_id"]) == (101, 102)
    assert (sources(a)["voice_id"], sources(b)["voice_id"]) == ("d/a.yaml:9", "d/_defaults.yaml:1")


def test_a_mode_only_field_from_a_layer_is_left_out_for_the_other_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        {
            "d/_defaults.yaml": "fillers: true\nllm_model: GPT-4.1\n",
            "d/pipe.yaml": f"name: Pipe\n{HEAD.replace('llm_model_id: 2', 'record: true')}",
            "d/real.yaml": f"name: Real\n{REALTIME}",
        }
    )
    with emulator(monkeypatch):
        created = plan(capsys)
        apply(capsys)
        again = plan(capsys)
        write_tree({"d/real.yaml": f"name: Real\n{REALTIME}fillers: false\n"})
        code, out, err = run(capsys, "validate", "--dir", "d")
    pipe, real = change(created, "pipe")["body"], change(created, "real")["body"]
    assert (pipe["fillers"], pipe["llm_model_id"]) == (True, 2)
    assert "fillers" not in real
    assert "llm_model_id" not in real
    assert again["summary"]["noop"] == 2
    # written in the assistant file itself, the field stays an error
    assert (code, out, err) == (
        1,
        "",
        "d/real.yaml:10: fillers: applies only to pipeline assistants, and this one is multimodal\n"
        "error: 1 problem in 1 of 3 files\n",
    )


def test_a_cleared_field_has_no_source_and_a_file_without_layers_no_sources_at_all(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/a.yaml": f"name: A\n{HEAD}webhook_url: https://hooks.example.com/a\n"})
    with emulator(monkeypatch):
        apply(capsys)
        write_tree({"d/a.yaml": f"extends: _base.yaml\nname: A\n{HEAD}", "d/_base.yaml": "record: true\n"})
        item = change(plan(capsys), "a")
        write_tree({"d/a.yaml": f"name: A\n{HEAD}record: true\n"})
        Path("d/_base.yaml").unlink()
        flat = change(plan(capsys), "a")
    assert item["fields"] == [
        {"path": "record", "before": False, "after": True, "source": "d/_base.yaml:1", "from_layer": True},
        {"path": "webhook_url", "before": "https://hooks.example.com/a", "after": None, "source": None},
    ]
    assert flat["fields"] == [
        {"path": "record", "before": False, "after": True},
        {"path": "webhook_url", "before": "https://hooks.example.com/a", "after": None},
    ]


def test_secrets_from_a_layer_stay_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOOK_TOKEN", "s3cret-hook-token")
    write_tree(
        {
            "d/_defaults.yaml": "webhook_url: https://hooks.example.com/${HOOK_TOKEN}\n",
            "d/a.yaml": f"name: A\n{HEAD}",
        }
    )
    with emulator(monkeypatch) as api:
        code, out, err = run(capsys, "plan", "--dir", "d", "--format", "json")
        apply(capsys)
        sent = api.journal()
    assert code == 0
    assert "s3cret" not in out + err
    assert json.loads(out)["changes"][0]["body"]["webhook_url"] == "https://hooks.example.com/(sensitive)"
    assert sent[0][2]["webhook_url"] == "https://hooks.example.com/s3cret-hook-token"


# ---- warnings and problems ------------------------------------------------------------------------------------


def test_a_layer_no_assistant_uses_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/_old.yaml": "record: true\n", "d/a.yaml": f"name: A\n{HEAD}"})
    code, out, err = run(capsys, "validate", "--dir", "d")
    assert (code, out, err) == (
        0,
        "d: 1 assistant file valid\n",
        "warning: d/_old.yaml: no assistant file uses this layer\n",
    )
    with emulator(monkeypatch):
        code, _, err = run(capsys, "plan", "--dir", "d")
    assert (code, err) == (0, "warning: d/_old.yaml: no assistant file uses this layer\n")


def test_each_bad_layer_input_is_one_problem_with_file_and_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    write_tree(
        {
            "d/missing.yaml": f"name: Missing\n{HEAD}extends: [_ok.yaml, ../base/_gone.yaml]\n",
            "d/absolute.yaml": f"name: Absolute\n{HEAD}extends: /etc/passwd\n",
            "d/number.yaml": f"extends: 3\nname: Number\n{HEAD}",
            "d/item.yaml": f"extends: [_ok.yaml, 7]\nname: Item\n{HEAD}",
            "d/cycle.yaml": f"extends: _a.yaml\nname: Cycle\n{HEAD}",
            "d/_a.yaml": "record: true\nextends: _b.yaml\n",
            "d/_b.yaml": "extends:\n  - _ok.yaml\n  - _a.yaml\n",
            "d/_ok.yaml": "record: true\n",
            "d/_list.yaml": "- record: true\n",
            "d/_id.yaml": "record: true\nid: 5\n",
        }
    )
    outside = in_tmp.parent / f"{in_tmp.name}-outside.yaml"
    outside.write_text("record: true\n")
    Path("d/out.yaml").write_text(f"name: Out\n{HEAD}extends: ../../{outside.name}\n")
    with emulator(monkeypatch) as api:
        refused(
            capsys,
            api,
            [
                "d/_b.yaml:3: extends[1]: a cycle: d/_a.yaml → d/_b.yaml → d/_a.yaml",
                "d/_id.yaml:2: id: a layer may not set id (identity belongs to the assistant file)",
                "d/_list.yaml:1: expected a mapping of assistant fields at the top",
                "d/absolute.yaml:10: extends: /etc/passwd is an absolute path; write it relative to this file",
                "d/item.yaml:1: extends[1]: must be a path (got integer)",
                "d/missing.yaml:10: extends[1]: no such file: base/_gone.yaml",
                "d/number.yaml:1: extends: must be a path or a list of paths (got integer)",
                f"d/out.yaml:10: extends: ../../{outside.name} resolves to {outside}, outside the repository "
                f"{in_tmp}; refusing to read it",
            ],
            files=11,
        )


def test_a_layer_is_checked_field_by_field_at_its_own_lines_even_where_overridden(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        {
            "d/_defaults.yaml": "record: true\nspeech_speed: 5\nambient_sound: loud\n",
            "d/a.yaml": f"name: A\n{HEAD}speech_speed: 1.0\n",
            "d/b.yaml": f"name: B\n{HEAD}speech_speed: 1.0\n",
        }
    )
    with emulator(monkeypatch) as api:
        refused(
            capsys,
            api,
            [
                "d/_defaults.yaml:2: speech_speed: must be between 0.7 and 1.2 (got 5)",
                "d/_defaults.yaml:3: ambient_sound: must be one of: off, office, city, forest, crowded_room, cafe, "
                "nature (got 'loud')",
            ],
            files=3,
        )


def test_cross_field_rules_run_on_the_merged_assistant_and_name_each_origin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    head = HEAD.replace('mode: "pipeline"\n', "")
    write_tree(
        {
            "base/_pipeline.yaml": "record: true\nllm_model_id: 2\n",
            "d/a.yaml": f"extends: ../base/_pipeline.yaml\nname: A\n{head.replace('llm_model_id: 2', 'record: false')}",
            "d/_defaults.yaml": "is_webhook_active: true\n",
        }
    )
    with emulator(monkeypatch) as api:
        refused(
            capsys,
            api,
            [
                "d/a.yaml: is_webhook_active (from _defaults.yaml:1): is true, so webhook_url must be set in this "
                "file too",
                "d/a.yaml: llm_model_id (from ../base/_pipeline.yaml:2): applies only to pipeline assistants; "
                "declare mode in this file",
            ],
            files=3,
        )


def test_two_files_that_merge_to_the_same_name_are_reported_as_today(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        {
            "d/_shared.yaml": "name: Shared\n",
            "d/a.yaml": f"extends: _shared.yaml\n{HEAD}",
            "d/b.yaml": f"extends: _shared.yaml\n{HEAD}",
        }
    )
    with emulator(monkeypatch) as api:
        refused(
            capsys,
            api,
            ["d/b.yaml: name (from _shared.yaml:1): 'Shared' is also declared by d/_shared.yaml:1"],
            files=3,
        )


# ---- saved plans ----------------------------------------------------------------------------------------------


def test_editing_a_layer_makes_a_saved_plan_stale(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/_defaults.yaml": "record: true\n", "d/a.yaml": f"name: A\n{HEAD}"})
    with emulator(monkeypatch) as api:
        code, _, _ = run(capsys, "plan", "--dir", "d", "--out", "plan.json")
        assert code == 0
        saved = json.loads(Path("plan.json").read_text())
        write_tree({"d/_defaults.yaml": "record: false\n"})
        code, out, err = run(capsys, "apply", "plan.json", "--dir", "d")
        assert api.journal() == []
    assert saved["file_digests"].keys() == {"a.yaml", "_defaults.yaml"}
    assert (code, out, err) == (
        1,
        "",
        "error: the assistant files changed since this plan was made: d/_defaults.yaml (edited); run reconciler "
        "plan again\n",
    )


def test_a_saved_plan_of_layered_files_applies_and_keeps_its_sources(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/_defaults.yaml": "record: true\n", "d/a.yaml": f"name: A\n{HEAD}"})
    with emulator(monkeypatch) as api:
        code, shown, _ = run(capsys, "plan", "--dir", "d", "--out", "plan.json")
        saved = json.loads(Path("plan.json").read_text())
        applied = run(capsys, "apply", "plan.json", "--dir", "d")
        assert [(method, path) for method, path, _, _ in api.journal()] == [("POST", "/api/user/assistant")]
    assert code == 0
    assert applied[0] == 0
    assert "      + record: true  # from d/_defaults.yaml:1\n" in shown
    record = next(f for f in saved["changes"][0]["fields"] if f["path"] == "record")
    assert record == {
        "path": "record",
        "before": None,
        "after": True,
        "before_known": False,
        "source": "d/_defaults.yaml:1",
        "from_layer": True,
    }

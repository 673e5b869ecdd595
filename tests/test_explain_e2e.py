"""``reconciler explain KEY`` end to end through the CLI (docs/contract.md#layers): the merged assistant, each
value with the file and line it came from, each field left out with the reason, secrets masked, offline.

Every test runs in its own directory (the repository boundary is the current directory, as outside git), with
the assistants in ``d/``, so that origins print as a person sees them: ``d/_defaults.yaml:3``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import run, write_tree

CORE = "type: outbound\nmode: pipeline\nlanguage_id: 1\nvoice_id: 101\nllm_model_id: 2\ntimezone: Europe/Berlin\n"
PROMPTS = "initial_message: Hello there.\nsystem_prompt: You are helpful.\n"
DEFAULTS = "speech_speed: 1.05\nrecord: true\nvariables:\n  company: Northwind Solar\n"

#: What a pipeline assistant that sets the fields above leaves out, as explain lists it (after "left out:").
PIPELINE_LEFT_OUT = """\
  multimodal_model_id             multimodal or dualplex only (this assistant is pipeline)
  chat_llm_fallback_id            multimodal or dualplex only (this assistant is pipeline)
  turn_detection_threshold        multimodal or dualplex only (this assistant is pipeline)
  secondary_language_ids          not set in any layer (the platform keeps its value; write-only)
  synthesizer_provider_id         not set in any layer (cleared to null)
  transcriber_provider_id         not set in any layer (cleared to null)
  tts_emotion_enabled             not set in any layer (the platform keeps its value; write-only)
  voice_stability                 not set in any layer (the platform keeps its value)
  voice_similarity                not set in any layer (the platform keeps its value)
  llm_temperature                 not set in any layer (the platform keeps its value)
  knowledgebase_id                not set in any layer (cleared to null)
  knowledgebase_mode              not set in any layer (the platform keeps its value)
  allow_interruptions             not set in any layer (the platform keeps its value)
  fillers                         not set in any layer (the platform keeps its value)
  enable_noise_cancellation       not set in any layer (the platform keeps its value)
  wait_for_customer               not set in any layer (the platform keeps its value)
  endpoint_type                   not set in any layer (the platform keeps its value)
  endpoint_sensitivity            not set in any layer (the platform keeps its value)
  interrupt_sensitivity           not set in any layer (the platform keeps its value)
  min_interrupt_words             not set in any layer (cleared to null)
  ambient_sound                   not set in any layer (the platform keeps its value)
  ambient_sound_volume            not set in any layer (the platform keeps its value)
  max_duration                    not set in any layer (the platform keeps its value)
  max_silence_duration            not set in any layer (the platform keeps its value)
  max_initial_silence_duration    not set in any layer (cleared to null)
  ringing_time                    not set in any layer (the platform keeps its value)
  reengagement_interval           not set in any layer (the platform keeps its value)
  reengagement_prompt             not set in any layer (the platform keeps its value; write-only)
  phone_number_id                 not set in any layer (cleared to null)
  end_call_on_voicemail           not set in any layer (the platform keeps its value)
  voice_mail_message              not set in any layer (the platform keeps its value; write-only)
  is_webhook_active               not set in any layer (the platform keeps its value)
  webhook_url                     not set in any layer (cleared to null)
  send_webhook_only_on_completed  not set in any layer (the platform keeps its value)
  include_recording_in_webhook    not set in any layer (the platform keeps its value)
  post_call_evaluation            not set in any layer (the platform keeps its value)
  post_call_schema                not set in any layer (cleared to [])
  tool_ids                        not set in any layer (the platform keeps its value; write-only)
  tools                           not set in any layer (cleared to [])
"""


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In a directory of its own, with no token and an API that cannot be reached: explain reads no API."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GLORIA_API_TOKEN", raising=False)
    monkeypatch.setenv("GLORIA_API_URL", "http://127.0.0.1:9/api")
    return tmp_path


def explain(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, "explain", *argv)
    assert (code, err) == (0, ""), err
    return out


def special(text: str) -> list[str]:
    """The lines of an explanation but the fields no layer sets (each test of those lists them all once)."""
    return [line for line in text.splitlines() if "not set in any layer" not in line]


def test_defaults_only(capsys: pytest.CaptureFixture[str]) -> None:
    write_tree({"d/_defaults.yaml": DEFAULTS, "d/a.yaml": f"name: A\n{CORE}{PROMPTS}"})
    assert explain(capsys, "a", "--dir", "d") == (
        """\
a (d/a.yaml)
  name                            "A"                 d/a.yaml:1
  type                            "outbound"          d/a.yaml:2
  mode                            "pipeline"          d/a.yaml:3
  language_id                     1                   d/a.yaml:4
  voice_id                        101                 d/a.yaml:5
  llm_model_id                    2                   d/a.yaml:6
  timezone                        "Europe/Berlin"     d/a.yaml:7
  speech_speed                    1.05                d/_defaults.yaml:1
  initial_message                 "Hello there."      d/a.yaml:8
  system_prompt                   "You are helpful."  d/a.yaml:9
  record                          true                d/_defaults.yaml:2
  variables.company               "Northwind Solar"   d/_defaults.yaml:4
left out:
"""
        + PIPELINE_LEFT_OUT
    )


def test_a_chain_of_three_layers_names_the_layer_each_value_won_in(
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_tree(
        {
            "profiles/_base.yaml": f"{CORE}speech_speed: 0.9\nvariables:\n  tier: base\n",
            "profiles/_sales.yaml": "extends: _base.yaml\nname: Sales\n"
            f"{PROMPTS}speech_speed: 1.1\nvariables:\n  tier: sales\n",
            "d/_defaults.yaml": DEFAULTS,
            "d/sales.yaml": "extends: ../profiles/_sales.yaml\nname: Sales North\n",
        }
    )
    assert explain(capsys, "sales", "--dir", "d") == (
        """\
sales (d/sales.yaml)
  name                            "Sales North"       d/sales.yaml:2
  type                            "outbound"          profiles/_base.yaml:1
  mode                            "pipeline"          profiles/_base.yaml:2
  language_id                     1                   profiles/_base.yaml:3
  voice_id                        101                 profiles/_base.yaml:4
  llm_model_id                    2                   profiles/_base.yaml:5
  timezone                        "Europe/Berlin"     profiles/_base.yaml:6
  speech_speed                    1.1                 profiles/_sales.yaml:5
  initial_message                 "Hello there."      profiles/_sales.yaml:3
  system_prompt                   "You are helpful."  profiles/_sales.yaml:4
  record                          true                d/_defaults.yaml:2
  variables.company               "Northwind Solar"   d/_defaults.yaml:4
  variables.tier                  "sales"             profiles/_sales.yaml:7
left out:
"""
        + PIPELINE_LEFT_OUT
    )


def test_a_mode_only_field_of_a_layer_is_left_out_of_a_multimodal_assistant_and_the_layer_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_tree(
        {
            "d/_defaults.yaml": "fillers: true\nllm_model: GPT-4o\n",
            "d/rt.yaml": "name: RT\ntype: outbound\nmode: multimodal\nlanguage_id: 1\nvoice_id: 201\n"
            f"multimodal_model_id: 1\ntimezone: Europe/Berlin\n{PROMPTS}",
        }
    )
    out = explain(capsys, "rt", "--dir", "d")
    assert special(out) == [
        "rt (d/rt.yaml)",
        '  name                            "RT"                d/rt.yaml:1',
        '  type                            "outbound"          d/rt.yaml:2',
        '  mode                            "multimodal"        d/rt.yaml:3',
        "  language_id                     1                   d/rt.yaml:4",
        "  voice_id                        201                 d/rt.yaml:5",
        "  multimodal_model_id             1                   d/rt.yaml:6",
        '  timezone                        "Europe/Berlin"     d/rt.yaml:7',
        '  initial_message                 "Hello there."      d/rt.yaml:8',
        '  system_prompt                   "You are helpful."  d/rt.yaml:9',
        "left out:",
        "  llm_model                       pipeline only (this assistant is multimodal), from d/_defaults.yaml:2",
        "  transcriber_provider_id         pipeline only (this assistant is multimodal)",
        "  fillers                         pipeline only (this assistant is multimodal), from d/_defaults.yaml:1",
    ]
    assert (
        "  chat_llm_fallback_id            not set in any layer (the platform keeps its value; write-only)"
        in (out.splitlines())
    )


def test_ignore_changes_and_a_removed_variable_are_listed_with_the_lines_that_say_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_tree(
        {
            "d/_defaults.yaml": f"{DEFAULTS}  region: eu\nignore_changes: [record]\n",
            "d/a.yaml": f"name: A\n{CORE}{PROMPTS}ignore_changes: [voice_id, ambient_sound]\n"
            "variables:\n  region: null\n",
        }
    )
    assert special(explain(capsys, "a", "--dir", "d")) == [
        "a (d/a.yaml)",
        '  name                            "A"                 d/a.yaml:1',
        '  type                            "outbound"          d/a.yaml:2',
        '  mode                            "pipeline"          d/a.yaml:3',
        "  language_id                     1                   d/a.yaml:4",
        "  voice_id                        101                 d/a.yaml:5",
        "  llm_model_id                    2                   d/a.yaml:6",
        '  timezone                        "Europe/Berlin"     d/a.yaml:7',
        "  speech_speed                    1.05                d/_defaults.yaml:1",
        '  initial_message                 "Hello there."      d/a.yaml:8',
        '  system_prompt                   "You are helpful."  d/a.yaml:9',
        "  record                          true                d/_defaults.yaml:2",
        '  variables.company               "Northwind Solar"   d/_defaults.yaml:4',
        "left out:",
        "  voice_id                        ignored (ignore_changes, d/a.yaml:10); the value set is sent only on create",
        "  record                          ignored (ignore_changes, d/_defaults.yaml:6); the value set is sent only "
        "on create",
        "  ambient_sound                   ignored (ignore_changes, d/a.yaml:10)",
        "  variables.region                removed (null, d/a.yaml:12)",
        "  multimodal_model_id             multimodal or dualplex only (this assistant is pipeline)",
        "  chat_llm_fallback_id            multimodal or dualplex only (this assistant is pipeline)",
        "  turn_detection_threshold        multimodal or dualplex only (this assistant is pipeline)",
    ]


SECRET_KEY = "cal_live_9f8e7d6c5b4a"
SECRET_HOOK = "hook-token-3c2b1a0f"


def test_a_secret_is_never_shown_whole_or_in_part(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAL_KEY", SECRET_KEY)
    monkeypatch.setenv("HOOK_TOKEN", SECRET_HOOK)
    write_tree(
        {
            "d/_defaults.yaml": "webhook_url: https://hooks.example/in?token=${HOOK_TOKEN}\n",
            "d/a.yaml": f"name: A\n{CORE}{PROMPTS}tools:\n  - type: calendar_integration\n"
            "    calcom_api_key: ${CAL_KEY}\n    calcom_event_slug: intro\n",
        }
    )
    text = explain(capsys, "a", "--dir", "d")
    assert [line for line in text.splitlines() if "hooks" in line or "tools" in line] == [
        '  webhook_url                     "https://hooks.example/in?token=(sens...  d/_defaults.yaml:1',
        '  tools[0].type                   "calendar_integration"                    d/a.yaml:11',
        "  tools[0].calcom_api_key         (sensitive)                               d/a.yaml:12",
        '  tools[0].calcom_event_slug      "intro"                                   d/a.yaml:13',
    ]
    document = json.loads(explain(capsys, "a", "--dir", "d", "--format", "json"))
    values = {item["path"]: item["value"] for item in document["fields"]}
    assert values["webhook_url"] == "https://hooks.example/in?token=(sensitive)"
    assert values["tools[0].calcom_api_key"] == "(sensitive)"
    for secret in (SECRET_KEY, SECRET_HOOK, SECRET_HOOK[:5]):
        assert secret not in text
        assert secret not in json.dumps(document)


def test_a_secret_in_a_bad_file_is_named_by_its_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODE", "pipelined-secretly")
    write_tree({"d/a.yaml": f"name: A\n{CORE.replace('mode: pipeline', 'mode: ${MODE}')}{PROMPTS}"})
    code, out, err = run(capsys, "explain", "a", "--dir", "d")
    assert (code, out) == (1, "")
    assert "pipelined-secretly" not in err
    assert err.splitlines()[-1] == "error: 1 problem in 1 file"


def test_format_json(capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(
        {
            "d/_defaults.yaml": f"{DEFAULTS}fillers: true\n",
            "d/rt.yaml": "name: RT\ntype: inbound\nmode: multimodal\nlanguage_id: 1\nvoice: Alloy\n"
            f"multimodal_model_id: 1\ntimezone: Europe/Berlin\n{PROMPTS}ignore_changes: [ambient_sound]\n",
        }
    )
    document = json.loads(explain(capsys, "rt", "--dir", "d", "--format", "json"))
    not_set = [item for item in document["left_out"] if item["reason"] == "not_set"]
    document["left_out"] = [item for item in document["left_out"] if item["reason"] != "not_set"]
    assert document == {
        "format_version": 1,
        "key": "rt",
        "file": "d/rt.yaml",
        "fields": [
            {"path": "name", "value": "RT", "source": "d/rt.yaml:1"},
            {"path": "type", "value": "inbound", "source": "d/rt.yaml:2"},
            {"path": "mode", "value": "multimodal", "source": "d/rt.yaml:3"},
            {"path": "language_id", "value": 1, "source": "d/rt.yaml:4"},
            {"path": "voice", "value": "Alloy", "source": "d/rt.yaml:5"},
            {"path": "multimodal_model_id", "value": 1, "source": "d/rt.yaml:6"},
            {"path": "timezone", "value": "Europe/Berlin", "source": "d/rt.yaml:7"},
            {"path": "speech_speed", "value": 1.05, "source": "d/_defaults.yaml:1"},
            {"path": "initial_message", "value": "Hello there.", "source": "d/rt.yaml:8"},
            {"path": "system_prompt", "value": "You are helpful.", "source": "d/rt.yaml:9"},
            {"path": "record", "value": True, "source": "d/_defaults.yaml:2"},
            {"path": "variables.company", "value": "Northwind Solar", "source": "d/_defaults.yaml:4"},
        ],
        "left_out": [
            {
                "path": "ambient_sound",
                "reason": "ignored",
                "detail": "ignored (ignore_changes, d/rt.yaml:10)",
                "source": "d/rt.yaml:10",
            },
            {
                "path": "llm_model_id",
                "reason": "other_mode",
                "detail": "pipeline only (this assistant is multimodal)",
                "source": None,
            },
            {
                "path": "transcriber_provider_id",
                "reason": "other_mode",
                "detail": "pipeline only (this assistant is multimodal)",
                "source": None,
            },
            {
                "path": "fillers",
                "reason": "other_mode",
                "detail": "pipeline only (this assistant is multimodal), from d/_defaults.yaml:5",
                "source": "d/_defaults.yaml:5",
            },
        ],
    }
    assert len(not_set) == 35  # 51 fields: 12 set, 4 left out above
    assert not_set[0] == {
        "path": "secondary_language_ids",
        "reason": "not_set",
        "detail": "not set in any layer (the platform keeps its value; write-only)",
        "source": None,
    }
    assert {"path": "webhook_url", "reason": "not_set", "detail": "not set in any layer (cleared to null)",
            "source": None} in not_set  # fmt: skip


def test_an_unknown_key_is_one_line_with_the_closest_key(capsys: pytest.CaptureFixture[str]) -> None:
    write_tree({"d/sales-outbound.yaml": f"name: A\n{CORE}{PROMPTS}", "d/_defaults.yaml": DEFAULTS})
    assert run(capsys, "explain", "sales-outbond", "--dir", "d") == (
        1,
        "",
        "error: no assistant file has the key 'sales-outbond' in d/; did you mean 'sales-outbound'?\n",
    )
    assert run(capsys, "explain", "_defaults", "--dir", "d") == (
        1,
        "",
        "error: no assistant file has the key '_defaults' in d/: a file whose name starts with _ is a layer, "
        "never an assistant\n",
    )


def test_a_file_with_problems_prints_them_as_validate_does(capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(
        {
            "d/_defaults.yaml": "speech_speed: 3\n",
            "d/a.yaml": f"name: A\n{CORE}{PROMPTS}record: maybe\n",
            "d/b.yaml": "name: [broken\n",
        }
    )
    assert run(capsys, "explain", "a", "--dir", "d") == (
        1,
        "",
        "d/_defaults.yaml:1: speech_speed: must be between 0.7 and 1.2 (got 3)\n"
        "d/a.yaml:10: record: must be true or false (got string 'maybe')\n"
        "error: 2 problems in 2 of 2 files\n",
    )

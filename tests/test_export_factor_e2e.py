"""`reconciler export --all --factor` end to end: `_defaults.yaml` holds what at least half of the assistants share,
each file keeps what is its own (cleared values explicitly), and the next plan is empty (docs/contract.md#layers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import assistant, names, property_settings
from support import PIPELINE, TOKEN, Api, emulator, plan_json, run

CRM = "crm-shared-0123456789"
GAMMA_CRM = "crm-gamma-9876543210"
#: Alpha and Beta share most values; Gamma (multimodal) differs, and has no knowledge base and no ``company``.
ACCOUNT: list[dict[str, Any]] = [
    {**PIPELINE, "name": "Alpha", "speech_speed": 1.1, "knowledgebase_id": 10, "fillers": True,
     "variables": {"company": "Northwind", "region": "eu", "crm_api_key": CRM}},
    {**PIPELINE, "name": "Beta", "speech_speed": 1.1, "knowledgebase_id": 10, "fillers": True,
     "variables": {"company": "Northwind", "crm_api_key": CRM}},
    {**{k: v for k, v in PIPELINE.items() if k != "llm_model_id"}, "name": "Gamma", "mode": "multimodal",
     "voice_id": 201, "multimodal_model_id": 1, "variables": {"crm_api_key": GAMMA_CRM}},
]  # fmt: skip

DEFAULTS = """\
# Written by `reconciler export --factor`: the values at least half of the exported assistants share.
# The lowest layer of every assistant file in this directory; a file sets what differs (null clears).

# identity
type: outbound
mode: pipeline

# engine and voice
language_id: 1
voice_id: 101
llm_model_id: 2
timezone: Europe/Berlin
voice_stability: 0.7
voice_similarity: 0.5
speech_speed: 1.1
llm_temperature: 0.1

# prompts
initial_message: Hello there.
system_prompt: You are helpful.
knowledgebase_id: 10
knowledgebase_mode: function_call

# behaviour
allow_interruptions: true
fillers: true
record: false
enable_noise_cancellation: true
wait_for_customer: false
endpoint_type: vad
endpoint_sensitivity: 0.5
interrupt_sensitivity: 0.5
ambient_sound: 'off'
ambient_sound_volume: 0.5

# timing
max_duration: 600
max_silence_duration: 40
ringing_time: 30
reengagement_interval: 30

# telephony and voicemail
end_call_on_voicemail: true

# webhooks
is_webhook_active: false
send_webhook_only_on_completed: true
include_recording_in_webhook: true

# post-call analysis
post_call_evaluation: true

# variables
variables:
  company: Northwind
  crm_api_key: ${CRM_API_KEY}
"""

GAMMA = """\
# Exported by `reconciler export --factor`. A field left out comes from _defaults.yaml; one it does not
# set is cleared if the API can clear it (null, [] or {}), and otherwise kept as it is on the platform.
# Write-only (the API never returns them), so not exported; left out, the platform keeps them:
# secondary_language_ids, chat_llm_fallback_id, turn_detection_threshold, tts_emotion_enabled,
# reengagement_prompt, voice_mail_message, tool_ids
id: 3

# identity
name: Gamma
mode: multimodal

# engine and voice
voice_id: 201
multimodal_model_id: 1
speech_speed: 1.0

# prompts
knowledgebase_id: null

# variables
variables:
  crm_api_key: ${GAMMA_CRM_API_KEY}
  company: null
"""


def below_the_schema_line(path: Path) -> str:
    """The file's text after its first line, which is the schema's (its path depends on where the test runs)."""
    first, rest = path.read_text().split("\n", 1)
    assert first.startswith("# yaml-language-server: $schema=")
    assert first.endswith("assistant.schema.json")
    return rest


def small_account(api: Api) -> None:
    for body in ACCOUNT:
        api.create(body)


def test_factor_writes_the_shared_values_once_and_the_next_plan_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "d"
    with emulator(monkeypatch) as api:
        small_account(api)
        code, out, err = run(capsys, "export", "--all", "--factor", "--dir", str(directory))
        assert (code, err) == (0, "")
        assert out == (
            f"Exported 3 assistants to {directory}/\n"
            "  _defaults.yaml: what at least half of the 3 assistants share\n"
            "  alpha.yaml: id 1 (write-only, not exported: secondary_language_ids, tts_emotion_enabled, "
            "reengagement_prompt, voice_mail_message, tool_ids)\n"
            "  beta.yaml: id 2 (write-only, not exported: secondary_language_ids, tts_emotion_enabled, "
            "reengagement_prompt, voice_mail_message, tool_ids)\n"
            "  gamma.yaml: id 3 (write-only, not exported: secondary_language_ids, chat_llm_fallback_id, "
            "turn_detection_threshold, tts_emotion_enabled, reengagement_prompt, voice_mail_message, tool_ids)\n"
            "Secrets were written as placeholders; set these environment variables before plan or apply:\n"
            "  CRM_API_KEY\n  GAMMA_CRM_API_KEY\n"
        )
        assert below_the_schema_line(directory / "_defaults.yaml") == DEFAULTS
        # Gamma overrides what it does not share, says null where it has nothing (knowledgebase_id, the
        # company variable), keeps its own secret, and is given no pipeline-only field (the merge drops them)
        assert below_the_schema_line(directory / "gamma.yaml") == GAMMA
        alpha = (directory / "alpha.yaml").read_text()
        assert alpha.endswith("id: 1\n\n# identity\nname: Alpha\n\n# variables\nvariables:\n  region: eu\n")
        assert (directory / "beta.yaml").read_text().endswith("id: 2\n\n# identity\nname: Beta\n")
        monkeypatch.setenv("CRM_API_KEY", CRM)
        monkeypatch.setenv("GAMMA_CRM_API_KEY", GAMMA_CRM)
        assert run(capsys, "plan", "--dir", str(directory)) == (
            0,
            "No changes. The platform matches the files (3 assistants).\n",
            "",
        )
    for text in (p.read_text() for p in directory.iterdir()):
        assert CRM not in text
        assert GAMMA_CRM not in text
        assert TOKEN not in text


def test_factor_with_names_shares_the_names_and_plans_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        small_account(api)
        code, _, err = run(capsys, "export", "--all", "--factor", "--names", "--dir", str(tmp_path))
        assert code == 0, err
        defaults = (tmp_path / "_defaults.yaml").read_text()
        assert "voice: Maya\nllm_model: GPT-4.1\n" in defaults
        assert "knowledgebase: Product FAQ\n" in defaults
        gamma = (tmp_path / "gamma.yaml").read_text()
        assert "\nid: " not in gamma
        assert "voice: Alloy\nmultimodal_model: GPT-4o Realtime\n" in gamma
        assert "knowledgebase_id: null\n" in gamma  # no name to give: the id field, cleared
        monkeypatch.setenv("CRM_API_KEY", CRM)
        monkeypatch.setenv("GAMMA_CRM_API_KEY", GAMMA_CRM)
        assert run(capsys, "plan", "--dir", str(tmp_path))[1] == (
            "No changes. The platform matches the files (3 assistants).\n"
        )


def test_a_secret_is_shared_only_by_assistants_holding_the_same_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two of four share one Cal.com key, two hold keys of their own: half share the tools list, and the
    others' files keep their own placeholders."""

    def tools(key: str) -> list[dict[str, Any]]:
        return [{"type": "calendar_integration", "calcom_api_key": key, "calcom_event_slug": "intro"}]

    keys = ["cal_team_0123456789", "cal_team_0123456789", "cal_own_1111111111", "cal_own_2222222222"]
    with emulator(monkeypatch) as api:
        for i, key in enumerate(keys):
            api.create({**PIPELINE, "name": f"Cal {i}", "tools": tools(key)})
        code, out, err = run(capsys, "export", "--all", "--factor", "--dir", str(tmp_path))
        assert code == 0, err
        assert "  calcom_api_key: ${CALCOM_API_KEY}\n" in (tmp_path / "_defaults.yaml").read_text()
        assert "tools" not in (tmp_path / "cal-0.yaml").read_text()
        assert "  calcom_api_key: ${CAL_2_CALCOM_API_KEY}\n" in (tmp_path / "cal-2.yaml").read_text()
        assert "  calcom_api_key: ${CAL_3_CALCOM_API_KEY}\n" in (tmp_path / "cal-3.yaml").read_text()
        for variable, key in zip(
            ["CALCOM_API_KEY", "CAL_2_CALCOM_API_KEY", "CAL_3_CALCOM_API_KEY"], keys[1:], strict=True
        ):
            monkeypatch.setenv(variable, key)
        assert plan_json(capsys, tmp_path)["summary"]["noop"] == 4
    assert not any(key in p.read_text() + out for key in keys for p in tmp_path.iterdir())


def test_a_value_held_by_one_assistant_of_two_is_not_shared_and_nothing_shared_leaves_an_empty_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        api.create({**PIPELINE, "name": "Only", "speech_speed": 1.2})
        code, _, err = run(capsys, "export", "--all", "--factor", "--dir", str(tmp_path))
        assert code == 0, err
        assert (tmp_path / "_defaults.yaml").read_text().endswith("(null clears).\n{}\n")
        assert "speech_speed: 1.2\n" in (tmp_path / "only.yaml").read_text()
        assert plan_json(capsys, tmp_path)["summary"]["noop"] == 1


def test_factor_refusals_write_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    usage = "error: --factor needs --all (and no --id): _defaults.yaml holds what the whole account shares\n"
    with emulator(monkeypatch) as api:
        small_account(api)
        for args in (["--id", "1"], ["--unmanaged"], ["--all", "--id", "1"]):
            assert run(capsys, "export", "--factor", *args, "--dir", str(tmp_path)) == (1, "", usage)
        assert list(tmp_path.iterdir()) == []

        (tmp_path / "_defaults.yml").write_text("record: true\n")
        assert run(capsys, "export", "--all", "--factor", "--dir", str(tmp_path)) == (
            1,
            "",
            f"error: 1 file exists already ({tmp_path}/_defaults.yaml); nothing was written. "
            "Use --force to overwrite\n",
        )
        (tmp_path / "later.yaml").write_text("name: Later\n")  # an assistant yet to be created
        assert run(capsys, "export", "--all", "--factor", "--force", "--dir", str(tmp_path)) == (
            1,
            "",
            f"error: {tmp_path}/later.yaml would inherit the new _defaults.yaml too, and this export does not "
            "write it; nothing was written. Move it out of --dir to export with --factor\n",
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["_defaults.yml", "later.yaml"]
        (tmp_path / "later.yaml").unlink()
        assert run(capsys, "export", "--all", "--factor", "--force", "--dir", str(tmp_path))[0] == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "_defaults.yaml", "alpha.yaml", "beta.yaml", "gamma.yaml"
        ]  # fmt: skip
        monkeypatch.setenv("CRM_API_KEY", CRM)
        monkeypatch.setenv("GAMMA_CRM_API_KEY", GAMMA_CRM)
        assert plan_json(capsys, tmp_path)["summary"]["noop"] == 3


def similar(index: int) -> dict[str, Any]:
    """One of a fleet: everything shared but the name, the greeting, and every tenth one's speech speed."""
    return {
        **PIPELINE,
        "name": f"Store {index:03d}",
        "initial_message": f"Welcome to store {index}.",
        "system_prompt": "You answer questions about opening hours, orders and returns.\nBe brief.\n",
        "speech_speed": 1.1 if index % 10 else 0.9,
        "record": True,
        "max_duration": 900,
        "variables": {"company": "Northwind", "store": str(index)},
        "tools": [{"type": "end_call", "description": "End the call when the caller says goodbye."}],
        "post_call_schema": [{"name": "resolved", "type": "bool", "description": "Was it resolved?"}],
    }


def test_two_hundred_similar_assistants_shrink_to_what_is_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        for index in range(200):
            api.create(similar(index))
        assert run(capsys, "export", "--all", "--dir", str(tmp_path / "flat"))[0] == 0
        assert run(capsys, "export", "--all", "--factor", "--dir", str(tmp_path / "factored"))[0] == 0
        assert run(capsys, "plan", "--dir", str(tmp_path / "factored"))[1] == (
            "No changes. The platform matches the files (200 assistants).\n"
        )
    flat = sum(len(p.read_bytes()) for p in (tmp_path / "flat").iterdir())
    factored = sum(len(p.read_bytes()) for p in (tmp_path / "factored").iterdir())
    print(f"flat {flat} bytes, factored {factored} bytes")
    assert factored < flat / 3, (flat, factored)
    store = (tmp_path / "factored" / "store-010.yaml").read_text()
    assert store.endswith(
        "id: 11\n\n# identity\nname: Store 010\n\n# engine and voice\nspeech_speed: 0.9\n\n"
        "# prompts\ninitial_message: Welcome to store 10.\n\n# variables\nvariables:\n  store: '10'\n"
    )


@pytest.fixture(scope="module", params=["read", "symmetric"])
def account(request: pytest.FixtureRequest) -> Any:
    with pytest.MonkeyPatch.context() as patch, emulator(patch, read_mode=request.param) as api:
        yield api


@property_settings(12)
@given(data=st.data())
def test_generated_accounts_export_factored_then_plan_empty(
    data: st.DataObject,
    account: Api,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Random assistants (few values to draw from, so they share some): the factored export plans empty.
    With the symmetric read shape the write-only fields are returned, and shared, too."""
    monkeypatch.setenv("GLORIA_API_URL", account.url)
    monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
    for item in account.items():
        account.delete(item["id"])
    for _ in range(data.draw(st.integers(2, 5), label="assistants")):
        account.create(data.draw(assistant(f"Generated {next(names)}")))
    directory = tmp_path / f"x{next(names)}"
    use_names = data.draw(st.booleans(), label="--names")
    args = ["export", "--all", "--factor", "--dir", str(directory), *(["--names"] if use_names else [])]
    code, _, err = run(capsys, *args)
    assert code == 0, err
    plan = plan_json(capsys, directory)
    changed = [c for c in plan["changes"] if c["action"] != "noop"]
    assert not changed, json.dumps(changed, indent=1)

"""`reconciler export` and name references end to end: export then plan is empty, names travel, no secret leaks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import assistant, names, newer_assistant, property_settings
from support import PIPELINE, TOKEN, Api, emulator, plan_json, run, write_files

from reconciler.emulator.catalog import DEMO_ASSISTANTS


@pytest.fixture(params=["read", "symmetric"])
def read_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def export_then_plan(capsys: pytest.CaptureFixture[str], directory: Path, *extra: str) -> dict[str, Any]:
    code, _, err = run(capsys, "export", "--all", "--dir", str(directory), *extra)
    assert code == 0, err
    return plan_json(capsys, directory)


def all_noop(plan: dict[str, Any]) -> bool:
    return all(c["action"] == "noop" for c in plan["changes"])


@pytest.mark.parametrize("use_names", [False, True])
def test_demo_account_export_then_plan_is_empty(
    read_mode: str,
    use_names: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with emulator(monkeypatch, read_mode=read_mode, seed="demo"):
        plan = export_then_plan(capsys, tmp_path / "d", *(["--names"] if use_names else []))
    assert plan["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": len(DEMO_ASSISTANTS)}
    files = sorted(p.name for p in (tmp_path / "d").iterdir())
    assert files == ["legacy-survey.yaml", "sales-assistant.yaml", "support-line.yaml"]
    text = (tmp_path / "d" / "support-line.yaml").read_text()
    if use_names:
        assert "id: 2" not in text
        assert "voice: Shimmer\n" in text
        assert "knowledgebase: Product FAQ\n" in text
    else:
        assert "id: 2\n" in text
        assert "voice_id: 202\n" in text


def test_export_file_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, seed="demo"):
        code, out, _ = run(capsys, "export", "--id", "2", "--dir", str(tmp_path))
    assert code == 0
    text = (tmp_path / "support-line.yaml").read_text()
    headings = [line for line in text.splitlines()[3:] if line.startswith("# ") and ":" not in line]
    assert headings == [
        "# identity",
        "# engine and voice",
        "# prompts",
        "# behaviour",
        "# timing",
        "# telephony and voicemail",
        "# webhooks",
        "# post-call analysis",
        "# tools",
    ]
    assert "system_prompt: |-\n  You are the support assistant for Northwind Solar customers.\n" in text
    assert (
        "# tool_ids: write-only (the API never returns it), so not exported; left out, the platform keeps it\n"
        in text
    )
    assert out.startswith(
        f"Exported 1 assistant to {tmp_path}/\n  support-line.yaml: id 2 (write-only, not exported:"
    )


def test_existing_files_need_force_and_nothing_is_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "support-line.yml").write_text("name: mine\n")
    with emulator(monkeypatch, seed="demo"):
        code, _, err = run(capsys, "export", "--all", "--dir", str(tmp_path))
        assert code == 1
        assert err == (
            f"error: 1 file exists already ({tmp_path}/support-line.yaml); nothing was written. "
            "Use --force to overwrite\n"
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["support-line.yml"]
        assert run(capsys, "export", "--all", "--dir", str(tmp_path), "--force")[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "legacy-survey.yaml",
        "sales-assistant.yaml",
        "support-line.yaml",
    ]


def test_export_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, seed="demo"):
        assert run(capsys, "export", "--dir", str(tmp_path))[2] == (
            "error: say which assistants to export: --all, --unmanaged, or --id ID (repeatable)\n"
        )
        assert run(capsys, "export", "--id", "99", "--id", "1", "--dir", str(tmp_path))[2] == (
            "error: no assistant with id 99 on the platform\n"
        )
    assert list(tmp_path.iterdir()) == []


def test_colliding_names_get_deterministic_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        for name in ("Sales Bot", "sales-bot", "SALES  BOT!"):
            api.create({**PIPELINE, "name": name})
        run(capsys, "export", "--all", "--dir", str(tmp_path))
    ids = {p.name: p.read_text().split("id: ")[1].split("\n")[0] for p in tmp_path.iterdir()}
    assert ids == {"sales-bot.yaml": "1", "sales-bot-2.yaml": "2", "sales-bot-3.yaml": "3"}


def test_export_writes_no_secret_value(
    read_mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = {
        "cal": "cal_live_0123456789",
        "crm": "crm-secret-9876543210",
        "literal": "price is ${NOT_ENV}",
        "hook": "https://hooks.example.com/in?sig=hooksig0987654321",
    }
    with emulator(monkeypatch, read_mode=read_mode) as api:
        api.create(
            {
                **PIPELINE,
                "name": "Booking Bot",
                "tools": [
                    {
                        "type": "calendar_integration",
                        "calcom_api_key": secrets["cal"],
                        "calcom_event_slug": "intro",
                    }
                ],
                "variables": {"crm_api_key": secrets["crm"], "greeting": "Hi"},
                "system_prompt": secrets["literal"],
                "webhook_url": secrets["hook"],
            }
        )
        code, out, err = run(capsys, "--debug", "export", "--all", "--dir", str(tmp_path))
        assert code == 0, err
        text = (tmp_path / "booking-bot.yaml").read_text()
        assert secrets["cal"] not in text + out + err
        assert secrets["crm"] not in text + out + err
        assert "hooksig0987654321" not in text + out + err
        assert "webhook_url: ${BOOKING_BOT_WEBHOOK_URL}" in text  # a URL carrying a credential
        assert TOKEN not in text + out + err
        assert "calcom_api_key: ${BOOKING_BOT_CALCOM_API_KEY}" in text
        assert "crm_api_key: ${BOOKING_BOT_CRM_API_KEY}" in text
        assert "system_prompt: price is $${NOT_ENV}" in text  # a literal ${ stays literal
        assert out.endswith(
            "set these environment variables before plan or apply:\n  BOOKING_BOT_CALCOM_API_KEY\n"
            "  BOOKING_BOT_CRM_API_KEY\n  BOOKING_BOT_WEBHOOK_URL\n"
        )
        monkeypatch.setenv("BOOKING_BOT_CALCOM_API_KEY", secrets["cal"])
        monkeypatch.setenv("BOOKING_BOT_CRM_API_KEY", secrets["crm"])
        monkeypatch.setenv("BOOKING_BOT_WEBHOOK_URL", secrets["hook"])
        assert plan_json(capsys, tmp_path)["summary"]["noop"] == 1


def test_names_travel_between_accounts_with_different_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "name: Portable\ntype: inbound\nmode: multimodal\nlanguage: en\nsecondary_languages: [Spanish, de]\n"
        "voice: Alloy\nmultimodal_model: GPT-4o Realtime\nchat_llm_fallback: gpt-4o-mini\nknowledgebase: Product FAQ\n"
        "phone_number: '+14155550101'\ncustom_tools: [lookup_order]\nsynthesizer_provider: ElevenLabs\n"
        "timezone: UTC\ninitial_message: Hello.\nsystem_prompt: Help.\n"
    )
    directory = write_files(tmp_path / "d", {"portable": text})
    plans = []
    for offset in (0, 1000):
        with emulator(monkeypatch, catalog_offset=offset) as api:
            first = plan_json(capsys, directory)
            assert run(capsys, "apply", "--dir", str(directory), "--auto-approve")[0] == 0
            plans.append((first, plan_json(capsys, directory), api.items()[0]))
    (create_a, after_a, item_a), (create_b, after_b, item_b) = plans
    assert item_a["phone_number_id"] == 501
    assert create_a["changes"][0]["body"]["voice_id"] == 201
    assert create_b["changes"][0]["body"]["voice_id"] == 1201
    assert item_b["phone_number_id"] == 1501
    labels = [
        [(f["path"], f.get("after_name")) for f in p["changes"][0]["fields"]] for p in (create_a, create_b)
    ]
    assert labels[0] == labels[1]
    assert after_a["summary"] == after_b["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 1}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "voice: Maya\n",
            "voice: no voice for multimodal mode and language 1 named 'Maya'; candidates: Alloy, Echo, Orion, Shimmer",
        ),
        (
            "knowledgebase: FAQ\n",
            "knowledgebase: no knowledgebase named 'FAQ'; candidates: Product FAQ, Returns policy",
        ),
        (
            "custom_tools: [lookup_order, nope]\n",
            "custom_tools[1]: no tool named 'nope'; candidates: crm_create_lead, lookup_order",
        ),
    ],
)
def test_unknown_names_list_the_candidates_before_any_write(
    line: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = (
        "name: N\ntype: outbound\nmode: multimodal\nlanguage_id: 1\nmultimodal_model_id: 1\ntimezone: UTC\n"
        "initial_message: Hi.\nsystem_prompt: Help.\n"
    )
    with emulator(monkeypatch) as api:
        directory = write_files(
            tmp_path / "d", {"n": text + ("" if "voice" in line else "voice_id: 201\n") + line}
        )
        code, _, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
        assert api.journal() == []
    assert code == 1
    assert (
        err.splitlines()[0]
        == f"{directory}/n.yaml:{text.count(chr(10)) + 1 + ('voice' not in line)}: {message}"
    )


def test_ambiguous_name_lists_the_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "name: N\ntype: outbound\nmode: pipeline\nlanguage: English\nvoice_id: 101\nllm_model: GPT\n"
        "timezone: UTC\ninitial_message: Hi.\nsystem_prompt: Help.\n"
    )
    with emulator(monkeypatch):
        directory = write_files(tmp_path / "d", {"n": text})
        code, _, err = run(capsys, "plan", "--dir", str(directory))
    assert code == 1
    assert (
        err.splitlines()[0]
        == f"{directory}/n.yaml:6: llm_model: no LLM model named 'GPT'; candidates: Claude Sonnet, GPT-4.1, GPT-4o mini"
    )


@pytest.fixture(scope="module", params=["read", "symmetric", "newer"])
def account(request: pytest.FixtureRequest) -> Iterator[tuple[Api, bool]]:
    """An emulated account, and whether it plays a newer API than the reconciler knows (read shape)."""
    newer = request.param == "newer"
    read_mode = "read" if newer else request.param
    version = "newer" if newer else "documented"
    with (
        pytest.MonkeyPatch.context() as patch,
        emulator(patch, read_mode=read_mode, api_version=version) as api,
    ):
        yield api, newer


@property_settings(25)
@given(data=st.data())
def test_generated_accounts_export_then_plan_empty(
    data: st.DataObject,
    account: tuple[Api, bool],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api, newer = account
    monkeypatch.setenv("GLORIA_API_URL", api.url)
    monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
    generated = newer_assistant if newer else assistant
    ids = [
        api.create(data.draw(generated(f"Generated {next(names)}")))
        for _ in range(data.draw(st.integers(1, 3)))
    ]
    directory = tmp_path / f"x{next(names)}"
    use_names = data.draw(st.booleans(), label="--names")
    args = [
        "export",
        "--dir",
        str(directory),
        *(f"--id={i}" for i in ids),
        *(["--names"] if use_names else []),
    ]
    code, _, err = run(capsys, *args)
    assert code == 0, err
    plan = plan_json(capsys, directory)
    assert all_noop(plan), json.dumps([c for c in plan["changes"] if c["action"] != "noop"], indent=1)


#: Strings that PyYAML's YAML 1.1 emitter writes unquoted and a YAML 1.2 reader (the loader) reads as numbers.
NUMBER_LOOKING = ("1e3", "0o17", "-2E5", "+.5", "1.5e3", ".5", "-.5", "09", "1e+3")


def test_strings_that_yaml_1_2_reads_as_numbers_are_exported_quoted(
    read_mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, read_mode=read_mode) as api:
        api.create(
            {
                **PIPELINE,
                "name": "1.5e3",
                "initial_message": "1e3",
                "system_prompt": "-2E5",
                "reengagement_prompt": "+.5",
                "voice_mail_message": "0o17",
                "tools": [{"type": "end_call", "description": "1e+3"}],
                "post_call_schema": [{"name": "score", "type": "number", "description": "-.5"}],
                "variables": {f"v{i}": value for i, value in enumerate(NUMBER_LOOKING)},
            }
        )
        code, _, err = run(capsys, "export", "--all", "--dir", str(tmp_path))
        assert code == 0, err
        text = (tmp_path / "1-5e3.yaml").read_text()
        assert "variables:\n" + "".join(f"  v{i}: '{v}'\n" for i, v in enumerate(NUMBER_LOOKING)) in text
        assert "name: '1.5e3'\n" in text
        assert "initial_message: '1e3'\n" in text
        assert "system_prompt: '-2E5'\n" in text
        assert "  description: '1e+3'\n" in text
        assert "  description: '-.5'\n" in text
        if read_mode == "symmetric":  # the read shape leaves these two out
            assert "reengagement_prompt: '+.5'\n" in text
            assert "voice_mail_message: '0o17'\n" in text
        assert run(capsys, "validate", "--dir", str(tmp_path)) == (
            0,
            f"{tmp_path}: 1 assistant file valid\n",
            "",
        )
        plan = plan_json(capsys, tmp_path)
    assert plan["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 1}


def test_a_prompt_with_a_unicode_line_separator_exports_and_plans_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        api.create({**PIPELINE, "system_prompt": "Greet.\u2028Then help.", "variables": {"note": "a\u2029b"}})
        code, _, err = run(capsys, "export", "--all", "--dir", str(tmp_path))
        assert code == 0, err
        text = (tmp_path / "pipeline-one.yaml").read_text()
        assert 'system_prompt: "Greet.\\LThen help."\n' in text
        assert '  note: "a\\Pb"\n' in text
        plan = plan_json(capsys, tmp_path)
    assert plan["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 1}

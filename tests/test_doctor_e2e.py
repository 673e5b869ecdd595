"""`reconciler doctor` end to end (CLI → loopback HTTP → the emulator, or a server bent one way): the report's
exact lines, its exit code (1 only when the account cannot be used), and no token anywhere in it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hostile_server import Reply, Request, assistant, honest_account, hostile_api
from support import PIPELINE, TOKEN, emulator, run

LOOKUPS = [
    "  ok    lookup languages              4 entries",
    "  ok    lookup voices                 10 entries",
    "  ok    lookup llm_models             3 entries",
    "  ok    lookup mode_models            2 entries",
    "  ok    lookup knowledgebases         2 entries",
    "  ok    lookup phone_numbers          4 entries",
    "  ok    lookup tools                  2 entries",
    "  ok    lookup synthesizer_providers  2 entries",
    "  ok    lookup transcriber_providers  2 entries",
]
WRITE_ONLY = (
    "secondary_language_ids, chat_llm_fallback_id, turn_detection_threshold, tool_ids, tts_emotion_enabled, "
    "reengagement_prompt, voice_mail_message"
)
LATENCY = re.compile(r"  ok    latency                       \d+ requests: median \d+ ms, slowest \d+ ms")


def lines(out: str) -> list[str]:
    """The report with its one varying line (the latency) checked and left out."""
    found = out.splitlines()
    latency = [line for line in found if "latency" in line]
    assert len(latency) == 1
    assert LATENCY.fullmatch(latency[0])
    return [line for line in found if "latency" not in line]


def test_the_emulator_in_its_read_shape_is_fit_and_every_quirk_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, seed="demo") as api:
        code, out, err = run(capsys, "doctor")
        assert api.journal() == []  # it reads only
    assert (code, err) == (0, "")
    assert lines(out) == [
        f"reconciler doctor: {api.url}",
        "  ok    token                         the token works: the account is Demo Account <demo@example.com>",
        "  ok    list                          a paginator: 3 of 3 assistants on page 1",
        "  ok    per_page                      per_page=100 is honoured",
        f"  ok    fields                        44 of 51 API fields come back; write-only, as expected: {WRITE_ONLY}",
        "  ok    shapes                        read shape: numbers as strings (ambient_sound_volume, llm_temperature, "
        "speech_speed, voice_similarity, voice_stability); 0/1 booleans (end_call_on_voicemail, fillers); built-in "
        "tools nested under data (plan undoes each)",
        *LOOKUPS,
        "  note  rate limit                    no rate-limit headers: apply paces by the answers alone",
        "  ok    pacer                         no limit learned",
        "Doctor: this version can plan and apply against this account (1 note above).",
    ]
    assert TOKEN not in out


def test_a_symmetric_emulator_reads_back_as_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, seed="demo", read_mode="symmetric", rate_limit=600):
        code, out, _ = run(capsys, "doctor")
    assert code == 0
    shown = lines(out)
    assert "  ok    shapes                        read shape: as written (plan undoes each)" in shown
    assert shown[-3].startswith("  ok    rate limit                    the platform announces its limit (")
    assert "x-ratelimit-limit: 600" in shown[-3]
    assert shown[-2] == "  ok    pacer                         pacing at most 600 requests a minute"


def test_a_refused_token_is_a_failure_that_ends_the_examination(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch):
        monkeypatch.setenv("GLORIA_API_TOKEN", "not-the-token-4f1b")
        code, out, _ = run(capsys, "doctor", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert [(f["check"], f["status"]) for f in report["findings"]] == [
        ("token", "fail"),
        ("rate limit", "note"),
        ("pacer", "ok"),
        ("latency", "ok"),
    ]
    assert report["findings"][0]["detail"].startswith("GET /user/me: 401")
    assert "not-the-token-4f1b" not in out


def newer_platform(request: Request) -> Reply:
    """An account on a newer API: fields and a tool type this version does not know, ten to a page whatever
    is asked, and a limit announced in the headers."""
    if request.path == "/user/me":
        return Reply(200, {"name": "Acme", "email": "ops@acme.example", "total_balance": 1.5})
    if request.path == "/user/assistants/get":
        items = [
            assistant(
                i,
                f"A{i}",
                folder_id=3,
                compliance_blocked_at=None,
                tools=[{"type": "collect_keypad", "data": {"timeout": "5"}}],
            )
            for i in range(1, 13)
        ]
        body = {"current_page": 1, "data": items[:10], "per_page": 10, "total": 12, "last_page": 2}
        return Reply(200, body, {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "97"})
    return honest_account().handle(request)


def test_what_this_version_does_not_know_is_a_note_not_a_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile_api(monkeypatch, newer_platform):
        code, out, _ = run(capsys, "doctor")
    assert code == 0
    shown = lines(out)
    assert shown[2:4] == [
        "  ok    list                          a paginator: 10 of 12 assistants on page 1",
        "  note  per_page                      asked for 100 a page, got 10: a plan reads that many a page",
    ]
    assert (
        "  note  unknown fields                fields this version does not know (plan ignores them): "
        "compliance_blocked_at, folder_id"
    ) in shown
    assert (
        "  note  unknown tool types            tool types this version does not know: collect_keypad" in shown
    )
    assert (
        "  ok    rate limit                    the platform announces its limit (x-ratelimit-limit: 100, "
        "x-ratelimit-remaining: 97)" in shown
    )
    assert shown[-1] == "Doctor: this version can plan and apply against this account (4 notes above)."


def test_a_list_that_is_not_a_paginator_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def bare_list(request: Request) -> Reply:
        if request.path == "/user/assistants/get":
            return Reply(200, [{**PIPELINE, "id": 1}])
        return newer_platform(request)

    with hostile_api(monkeypatch, bare_list):
        code, out, _ = run(capsys, "doctor")
    assert code == 1
    shown = lines(out)
    assert shown[2] == (
        "  fail  list                          GET /user/assistants/get did not answer with a paginator (no data list)"
    )
    assert shown[-1] == "Doctor: this account cannot be used yet: list failed."


def _keys(data: Any) -> set[str]:
    return set(data) if isinstance(data, dict) else set()


def test_the_json_report_has_its_version_and_every_finding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, seed="demo"):
        code, out, _ = run(capsys, "doctor", "--format", "json")
    report = json.loads(out)
    assert code == 0
    assert _keys(report) == {"format_version", "api_url", "ok", "findings"}
    assert report["format_version"] == 1
    assert all(_keys(f) == {"check", "status", "detail", "data"} for f in report["findings"])
    assert report["findings"][0]["data"] == {"name": "Demo Account", "email": "demo@example.com"}


def test_against_a_newer_api_the_fields_this_version_does_not_know_are_listed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, seed="demo", api_version="newer"):
        code, out, _ = run(capsys, "doctor")
    assert code == 0
    assert (
        "  note  unknown fields                fields this version does not know (plan ignores them): "
        "compliance_blocked_at, conversation_inactivity_timeout, filler_config, folder_id, inbound_webhook_url, "
        "label_ids"
    ) in lines(out)

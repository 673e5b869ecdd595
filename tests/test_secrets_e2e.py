"""A rotated secret, and a secret inside a longer string, through the CLI against the emulator: the plan says a
secret changed without printing it, hides only the secret part of a URL in every format, and apply sends the
new value (docs/contract.md, secrets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support import PIPELINE, emulator, run, write_files

CALENDAR = {
    "type": "calendar_integration",
    "calcom_api_key": "${CALCOM_API_KEY}",
    "calcom_event_slug": "intro",
}
HOOK = "https://hooks.example/x?token=${HOOK_TOKEN}"


def _file(**extra: object) -> str:
    return yaml.safe_dump({**PIPELINE, **extra}, sort_keys=False)


def _applied(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], directory: Path) -> None:
    monkeypatch.setenv("CALCOM_API_KEY", "cal_first_key_1234")
    monkeypatch.setenv("HOOK_TOKEN", "hooktoken_first")
    write_files(directory, {"one": _file(tools=[CALENDAR], is_webhook_active=True, webhook_url=HOOK)})
    code, _, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
    assert code == 0, err
    monkeypatch.setenv("CALCOM_API_KEY", "cal_second_key_5678")
    monkeypatch.setenv("HOOK_TOKEN", "hooktoken_second")


def test_a_rotated_secret_shows_as_changed_and_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with emulator(monkeypatch):
        _applied(monkeypatch, capsys, tmp_path / "a")
        code, out, err = run(capsys, "plan", "--dir", str(tmp_path / "a"), "--format", "text")
    assert (code, err) == (0, "")
    changes = [line.strip() for line in out.splitlines() if line.startswith("      ")]
    assert changes == [
        "~ tools:",
        "~ calendar_integration:",
        '~ calcom_api_key: "(sensitive)" → "(sensitive value changed)"',
        '~ webhook_url: "https://hooks.example/x?token=(sensitive)"'
        ' → "https://hooks.example/x?token=(sensitive value changed)"',
    ]
    for value in ("cal_first_key_1234", "cal_second_key_5678", "hooktoken_first", "hooktoken_second"):
        assert value not in out


def test_only_the_secret_part_of_a_url_is_hidden_in_json_and_markdown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with emulator(monkeypatch):
        _applied(monkeypatch, capsys, tmp_path / "a")
        _, out, _ = run(capsys, "plan", "--dir", str(tmp_path / "a"), "--format", "json")
        _, markdown, _ = run(capsys, "plan", "--dir", str(tmp_path / "a"), "--format", "markdown")
    change = json.loads(out)["changes"][0]
    assert change["body"]["webhook_url"] == "https://hooks.example/x?token=(sensitive)"
    assert change["fields"][1] == {
        "path": "webhook_url",
        "before": "https://hooks.example/x?token=(sensitive)",
        "after": "https://hooks.example/x?token=(sensitive value changed)",
    }
    assert change["fields"][0]["after"][0]["calcom_api_key"] == "(sensitive value changed)"
    assert change["body"]["tools"][0]["calcom_api_key"] == "(sensitive)"
    assert '- webhook_url: "https://hooks.example/x?token=(sensitive)"\n' in markdown
    assert '+ webhook_url: "https://hooks.example/x?token=(sensitive value changed)"\n' in markdown


def test_a_saved_plan_hides_the_secret_part_and_apply_sends_the_whole_new_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    with emulator(monkeypatch) as api:
        _applied(monkeypatch, capsys, tmp_path / "a")
        code, _, err = run(capsys, "plan", "--dir", str(tmp_path / "a"), "--out", str(saved))
        assert code == 0, err
        text = saved.read_text()
        code, _out, err = run(capsys, "apply", "--dir", str(tmp_path / "a"), str(saved))
        assert code == 0, err
        method, path, body, status = api.journal()[-1]
        _, after, _ = run(capsys, "plan", "--dir", str(tmp_path / "a"))
    assert "hooktoken_second" not in text
    assert "cal_second_key_5678" not in text
    assert '"webhook_url": "https://hooks.example/x?token=(sensitive)"' in text
    assert (method, path, status) == ("PUT", "/api/user/assistant/1", 200)
    assert body["webhook_url"] == "https://hooks.example/x?token=hooktoken_second"
    assert body["tools"][0]["calcom_api_key"] == "cal_second_key_5678"
    assert after.startswith("No changes.")

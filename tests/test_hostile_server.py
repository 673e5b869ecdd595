"""The hostile-API harness itself: an honest account plans clean, and every request is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_server import SEVEN_FILE, Reply, Request, assistant, honest_account, hostile_api
from support import run, write_files


def test_an_honest_account_plans_clean_and_the_requests_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_files(tmp_path / "assistants.d", {"seven": SEVEN_FILE})
    with hostile_api(monkeypatch, honest_account(assistant(7, "Seven")).handle) as server:
        code, out, err = run(capsys, "plan", "--dir", str(directory))
    assert (code, err) == (0, "")
    assert "No changes" in out
    assert [(r.method, r.path, r.query) for r in server.requests] == [
        ("GET", "/user/assistants/get", {"per_page": "100", "page": "1"})
    ]
    assert server.writes() == []


def test_a_reply_can_be_raw_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_files(tmp_path / "assistants.d", {"seven": SEVEN_FILE})

    def garbage(request: Request) -> Reply:
        return Reply(raw=b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")

    with hostile_api(monkeypatch, garbage):
        code, _, err = run(capsys, "plan", "--dir", str(directory))
    assert code == 1
    assert err.startswith("error: ")

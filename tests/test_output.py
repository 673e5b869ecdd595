"""What a run writes around its results, as a user sees it on a terminal: the progress line, colour, and outputs
that cannot be written (refused before the first request)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support import TOKEN, Terminal, emulator, run, screen_rows, write_files

from reconciler.cli import main

SLOW_MS = 600  # every emulator answer takes this long, so that the progress line shows (after half a second)


def on_screen(written: str) -> str:
    """What a terminal shows after ``written``."""
    return "\n".join(screen_rows(written))


def pipeline_file(name: str, extra: str = "") -> str:
    return (
        f"name: {name}\ntype: outbound\nmode: pipeline\nlanguage_id: 1\nvoice_id: 101\nllm_model_id: 2\n"
        f"timezone: Europe/Berlin\ninitial_message: Hello.\nsystem_prompt: Help.\n{extra}"
    )


# ---- the progress line -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["plan"],
            "{files}/one.yaml:1: assistant 999 is not on the platform any more, so creating it again needs: name, "
            "voice_id, language_id, type, mode, timezone, initial_message, system_prompt, multimodal_model_id\n"
            "error: 1 problem in 1 file",
        ),
        (
            ["apply", "--auto-approve"],
            "{files}/one.yaml:1: assistant 999 is not on the platform any more, so creating it again needs: name, "
            "voice_id, language_id, type, mode, timezone, initial_message, system_prompt, multimodal_model_id\n"
            "error: 1 problem in 1 file",
        ),
        (["export", "--id", "999"], "error: no assistant with id 999 on the platform"),
    ],
    ids=["plan", "apply", "export"],
)
def test_an_error_after_reading_leaves_no_progress_text_on_the_terminal(
    argv: list[str], error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("NO_COLOR", "1")
    files = write_files(tmp_path / "d", {"one": "id: 999\n"})
    with emulator(monkeypatch, latency_ms=SLOW_MS):
        code = main([*argv, "--dir", str(files if argv[0] != "export" else tmp_path / "out")])
    written = terminal.getvalue()
    assert "\rreading the platform: page 1/1" in written  # the line was drawn ...
    assert on_screen(written) == error.format(files=files) + "\n"  # ... and is gone before the error
    assert code == 1


def test_apply_clears_its_progress_line_before_printing_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("NO_COLOR", "1")
    files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    with emulator(monkeypatch, latency_ms=SLOW_MS) as api:
        code = main(["apply", "--auto-approve", "--dir", str(files)])
        assert [item["name"] for item in api.items()] == ["A"]
    written = terminal.getvalue()
    assert code == 0
    assert "\rreading the platform: page 1/1" in written
    assert on_screen(written).startswith("reconciler will make these changes:\n")


# ---- colour ------------------------------------------------------------------------------------------------


def test_colour_is_off_only_when_no_color_has_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """no-color.org: "when present and not an empty string"; ``NO_COLOR=`` leaves colour on."""
    files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    monkeypatch.delenv("TERM", raising=False)
    shown = {}
    with emulator(monkeypatch):
        for value in ("", "1"):
            terminal = Terminal()
            monkeypatch.setattr("sys.stdout", terminal)
            monkeypatch.setenv("NO_COLOR", value)
            assert main(["plan", "--dir", str(files)]) == 0
            shown[value] = terminal.getvalue()
    assert '\n\033[32m  + create a "A"\033[0m    ' in shown[""]
    assert '\n  + create a "A"    ' in shown["1"]
    assert "\033[" not in shown["1"]


# ---- outputs that cannot be written ------------------------------------------------------------------------


@contextmanager
def counting_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A loopback "API" that records every request it gets (and refuses each with a 401)."""
    seen: list[str] = []

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.command} {self.path}")
            body = b'{"message": "Unauthenticated."}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_PUT = do_DELETE = do_GET

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GLORIA_API_URL", f"http://127.0.0.1:{server.server_port}/api")
    monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["plan", "--out", "{tmp}/missing/p.json"],
            "cannot write --out {tmp}/missing/p.json: {tmp}/missing does not exist",
        ),
        (
            ["plan", "--out", "{tmp}/a-file/p.json"],
            "cannot write --out {tmp}/a-file/p.json: {tmp}/a-file is not a directory",
        ),
        (
            ["apply", "--auto-approve", "--summary", "{tmp}/missing/s.md"],
            "cannot write --summary {tmp}/missing/s.md: {tmp}/missing does not exist",
        ),
        (
            ["export", "--all", "--dir", "{tmp}/a-file/exported"],
            "cannot write --dir {tmp}/a-file/exported: {tmp}/a-file is not a directory",
        ),
    ],
    ids=["plan-out-missing-directory", "plan-out-under-a-file", "apply-summary", "export-dir-under-a-file"],
)
def test_an_output_that_cannot_be_written_is_refused_before_any_request(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "a-file").write_text("not a directory\n")
    files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    dir_option = ["--dir", str(files)] if argv[0] != "export" else []
    with counting_api(monkeypatch) as requests:
        code, out, err = run(capsys, *[arg.format(tmp=tmp_path) for arg in argv], *dir_option)
        assert requests == []
        assert (code, out, err) == (1, "", f"error: {message.format(tmp=tmp_path)}\n")
        # the same command with a writable output does reach the counter: the empty list above means something
        writable = [arg.format(tmp=tmp_path).replace("/missing", "").replace("/a-file", "") for arg in argv]
        run(capsys, *writable, *dir_option)
        assert requests[:1] == ["GET /api/user/assistants/get?per_page=100&page=1"]

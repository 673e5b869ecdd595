"""Helpers shared by end-to-end tests: an emulator on loopback, files on disk, the CLI, raw API calls."""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.cli import main
from reconciler.emulator.server import EmulatorOptions, running_emulator
from reconciler.emulator.store import Store

TOKEN = "e2e-token-do-not-print-7f3a"

PIPELINE = {
    "name": "Pipeline One",
    "type": "outbound",
    "mode": "pipeline",
    "language_id": 1,
    "voice_id": 101,
    "llm_model_id": 2,
    "timezone": "Europe/Berlin",
    "initial_message": "Hello there.",
    "system_prompt": "You are helpful.",
}


def pipeline_file(name: str, extra: str = "", *, assistant_id: int | None = None) -> str:
    """An assistant file that declares PIPELINE under another name (and ``id:``, when given), then ``extra``."""
    lines = [f"id: {assistant_id}"] if assistant_id is not None else []
    lines += [f"{key}: {json.dumps(value)}" for key, value in {**PIPELINE, "name": name}.items()]
    return "\n".join(lines) + "\n" + extra


@dataclass
class Api:
    """A running emulator and raw access to it (bypassing the reconciler)."""

    url: str
    state: Path

    def journal(self) -> list[tuple[str, str, dict[str, Any], int]]:
        """Every write the emulator processed: (method, path, body, status)."""
        with Store.reading(self.state) as store:
            return store.journal()

    def http(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def create(self, body: dict[str, Any]) -> int:
        with self.http() as http:
            response = http.post("/user/assistant", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["data"]["id"])

    def update(self, assistant_id: int, body: dict[str, Any]) -> None:
        with self.http() as http:
            response = http.put(f"/user/assistant/{assistant_id}", json=body)
        assert response.status_code == 200, response.text

    def delete(self, assistant_id: int) -> None:
        """A deletion in the dashboard."""
        with self.http() as http:
            response = http.delete(f"/user/assistant/{assistant_id}")
        assert response.status_code in (200, 204), response.text

    def items(self) -> list[dict[str, Any]]:
        with self.http() as http:
            return list(http.get("/user/assistants/get", params={"per_page": 100}).json()["data"])

    def apply_plan(self, plan: dict[str, Any]) -> None:
        """Send a JSON plan's bodies as they are (the test stand-in for ``apply``)."""
        for change in plan["changes"]:
            if change["action"] == "update":
                self.update(change["id"], change["body"])
            elif change["action"] == "create":
                self.create(change["body"])


@contextmanager
def emulator(
    monkeypatch: pytest.MonkeyPatch,
    *,
    read_mode: str = "read",
    seed: str = "empty",
    state: Path | None = None,
    **faults: Any,
) -> Iterator[Api]:
    with tempfile.TemporaryDirectory() as scratch:
        path = state or Path(scratch) / "state.sqlite"
        options = EmulatorOptions(seed=seed, read_mode=read_mode, token=TOKEN, state=path, **faults)  # type: ignore[arg-type]
        with running_emulator(options) as url:
            monkeypatch.setenv("GLORIA_API_URL", url)
            monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
            yield Api(url, path)


def write_tree(files: dict[str, str]) -> None:
    """Each file at its path, relative to the working directory (a test's own, see ``in_tmp``), with its
    folders: a repository of assistant files and the layers they extend."""
    for name, text in files.items():
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def write_files(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    for key, text in files.items():
        (directory / f"{key}.yaml").write_text(text)
    return directory


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def plan_json(capsys: pytest.CaptureFixture[str], directory: Path, *extra: str) -> dict[str, Any]:
    code, out, err = run(capsys, "plan", "--dir", str(directory), "--format", "json", *extra)
    assert code == 0, err
    return dict(json.loads(out))


def bodies(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["key"]: c["body"] for c in plan["changes"]}


class Terminal(io.StringIO):
    """A stream that says it is a terminal, like stdout and stderr of a run in a shell."""

    def isatty(self) -> bool:
        return True


def screen_rows(written: str) -> list[str]:
    """The lines a terminal shows after ``written``: ``\\r`` goes back to the line's start, ``ESC [K`` erases to
    its end."""
    rows = []
    for line in written.split("\n"):
        row: list[str] = []
        column = 0
        for part in re.split(r"(\r|\x1b\[K)", line):
            if part == "\r":
                column = 0
            elif part == "\x1b[K":
                del row[column:]
            else:
                row[column : column + len(part)] = part
                column += len(part)
        rows.append("".join(row))
    return rows

"""A field a missing key cannot clear (``record: true``), deleted from its file: the platform keeps its value,
and the plan says in one line that the field is no longer managed (docs/contract.md#what-a-missing-key-means)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support import PIPELINE, emulator, run, write_files


def _file(**extra: object) -> str:
    return yaml.safe_dump({**PIPELINE, **extra}, sort_keys=False)


def test_a_deleted_non_clearable_field_is_said_to_be_no_longer_managed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    directory = tmp_path / "a"
    with emulator(monkeypatch) as api:
        write_files(directory, {"one": _file(record=True)})
        code, _, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
        assert code == 0, err
        write_files(directory, {"one": _file()})
        writes = len(api.journal())
        code, out, err = run(capsys, "plan", "--dir", str(directory))
        _, data, _ = run(capsys, "plan", "--dir", str(directory), "--format", "json")
        _, markdown, _ = run(capsys, "plan", "--dir", str(directory), "--format", "markdown")
        code_apply, _, _ = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
        assert len(api.journal()) == writes  # nothing to send: the platform keeps record: true
    note = "record: no longer in the file, so no longer managed (the platform keeps true)"
    assert (code, err, code_apply) == (0, "", 0)
    assert out == (f"No changes. The platform matches the files (1 assistant).\n  note: one: {note}\n")
    assert json.loads(data)["changes"][0]["notes"] == [note]
    assert "- note: one: record: no longer in the file, so no longer managed (the platform keeps true)\n" in (
        markdown
    )


def test_a_field_the_file_never_declared_gets_no_note(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    directory = tmp_path / "a"
    with emulator(monkeypatch):
        write_files(directory, {"one": _file()})
        code, _, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
        assert code == 0, err
        code, out, _ = run(capsys, "plan", "--dir", str(directory))
    assert (code, out) == (0, "No changes. The platform matches the files (1 assistant).\n")

"""Counts agree with their nouns and verbs, for one and for two, wherever a message counts something."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import emulator, pipeline_file, run, write_files

from reconciler.errors import FilesInvalid, Problem
from reconciler.text import counted

ONE_TWO = pytest.mark.parametrize("count", [1, 2])


@pytest.mark.parametrize(
    ("count", "singular", "plural", "expected"),
    [(0, "file", None, "0 files"), (1, "file", None, "1 file"), (2, "file", None, "2 files")],
)
def test_counted(count: int, singular: str, plural: str | None, expected: str) -> None:
    assert counted(count, singular, plural) == expected


@pytest.mark.parametrize(
    ("problems", "files_checked", "summary"),
    [
        (1, 1, "1 problem in 1 file"),
        (2, 1, "2 problems in 1 file"),
        (1, 2, "1 problem in 1 of 2 files"),
        (2, 2, "2 problems in 2 of 2 files"),
    ],
)
def test_the_files_invalid_summary(problems: int, files_checked: int, summary: str) -> None:
    found = [Problem(f"f{n % files_checked}.yaml", n + 1, "x", "bad") for n in range(problems)]
    assert str(FilesInvalid(found, files_checked)) == summary


@ONE_TWO
def test_validate_counts_the_valid_files(
    count: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(tmp_path / "d", {f"a{n}": pipeline_file(f"A{n}") for n in range(count)})
    noun = "assistant file" if count == 1 else "assistant files"
    assert run(capsys, "validate", "--dir", str(files)) == (0, f"{files}: {count} {noun} valid\n", "")


@ONE_TWO
def test_validate_counts_the_problems_and_files(
    count: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_files(
        tmp_path / "d", {f"a{n}": pipeline_file(f"A{n}", "speech_speed: 5\n") for n in range(count)}
    )
    code, _, err = run(capsys, "validate", "--dir", str(files))
    summary = "1 problem in 1 file" if count == 1 else "2 problems in 2 of 2 files"
    assert (code, err.splitlines()[-1]) == (1, f"error: {summary}")


@ONE_TWO
def test_export_counts_what_it_wrote(
    count: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [arg for n in range(1, count + 1) for arg in ("--id", str(n))]
    with emulator(monkeypatch, seed="demo"):
        code, out, _ = run(capsys, "export", "--dir", str(tmp_path / "out"), *ids)
    noun = "assistant" if count == 1 else "assistants"
    assert (code, out.splitlines()[0]) == (0, f"Exported {count} {noun} to {tmp_path / 'out'}/")


@ONE_TWO
def test_export_counts_the_files_in_the_way(
    count: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    with emulator(monkeypatch, seed="demo"):
        ids = [arg for n in range(1, count + 1) for arg in ("--id", str(n))]
        assert run(capsys, "export", "--dir", str(out), *ids)[0] == 0
        for path in out.glob("*.yaml"):  # files that manage nothing, in the way of the export
            path.write_text("name: mine\n")
        code, _, err = run(capsys, "export", "--dir", str(out), *ids)
    verb = "1 file exists" if count == 1 else "2 files exist"
    assert code == 1
    assert err.startswith(f"error: {verb} already (")

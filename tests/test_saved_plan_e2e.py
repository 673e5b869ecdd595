"""`reconciler apply PLAN_FILE` end to end (CLI → loopback HTTP → the emulator): a saved plan refused because
something changed says what changed (the files, the assistants and their fields), and a plan applied already
is not refused at all: it says so and exits 0 without a write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import PIPELINE, emulator, pipeline_file, run, write_files

AGAIN = "Run reconciler plan --out FILE again and review it\n"


def saved_plan(capsys: pytest.CaptureFixture[str], files: Path, path: Path) -> Path:
    code, _, _ = run(capsys, "plan", "--dir", str(files), "--out", str(path))
    assert code == 0
    return path


def test_the_stale_refusal_names_the_fields_the_platform_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        first = api.create({**PIPELINE, "name": "A", "speech_speed": 1.0})
        second = api.create({**PIPELINE, "name": "B"})
        files = write_files(
            tmp_path / "d",
            {
                "a": pipeline_file("A", "record: true\nspeech_speed: 1.0\n"),
                "b": pipeline_file("B", "record: true\n"),
            },
        )
        saved = saved_plan(capsys, files, tmp_path / "plan.json")
        api.update(first, {"speech_speed": 0.8, "record": True})  # a managed field, and one the plan changes
        api.update(second, {"max_duration": 900})  # a field the files do not manage
        before = api.journal()
        code, _, err = run(capsys, "apply", str(saved), "--dir", str(files))
        assert api.journal() == before
    assert code == 1
    assert err == (
        f"error: the platform changed since this plan was made: a (id {first}): record, speech_speed; "
        f"b (id {second}): outside the fields this plan changes; nothing was changed. {AGAIN}"
    )


def test_the_stale_refusal_names_a_deleted_assistant_and_a_name_taken_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        first = api.create({**PIPELINE, "name": "A"})
        files = write_files(
            tmp_path / "d", {"a": pipeline_file("A", "record: true\n"), "new": pipeline_file("New")}
        )
        saved = saved_plan(capsys, files, tmp_path / "plan.json")
        api.delete(first)
        # someone creates it by hand, with another prompt
        taken = api.create({**PIPELINE, "name": "New", "system_prompt": "Be brief."})
        before = api.journal()
        code, _, err = run(capsys, "apply", str(saved), "--dir", str(files))
        assert api.journal() == before
    assert code == 1
    assert err == (
        f"error: the platform changed since this plan was made: a (id {first}): deleted; "
        f"new: an assistant named 'New' exists now (id {taken}); nothing was changed. {AGAIN}"
    )


def test_the_files_refusal_names_each_file_and_how_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        files = write_files(
            tmp_path / "d", {"a": pipeline_file("A"), "b": pipeline_file("B"), "c": pipeline_file("C")}
        )
        saved = saved_plan(capsys, files, tmp_path / "plan.json")
        # write_files replaces the directory's files: c is gone
        write_files(
            files,
            {"a": pipeline_file("A", "record: true\n"), "b": pipeline_file("B"), "d": pipeline_file("D")},
        )
        code, _, err = run(capsys, "apply", str(saved), "--dir", str(files))
        assert api.journal() == []
    assert code == 1
    assert err == (
        f"error: the assistant files changed since this plan was made: {files}/a.yaml (edited), "
        f"{files}/c.yaml (removed), {files}/d.yaml (new); run reconciler plan again\n"
    )


def test_a_plan_saved_without_file_digests_is_still_refused_in_general_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        saved = saved_plan(capsys, files, tmp_path / "plan.json")
        data = json.loads(saved.read_text())
        del data["file_digests"]  # as an earlier version saved it
        saved.write_text(json.dumps(data))
        write_files(files, {"a": pipeline_file("A", "record: true\n")})
        code, _, err = run(capsys, "apply", str(saved), "--dir", str(files))
        assert api.journal() == []
    assert (code, err) == (
        1,
        "error: the assistant files changed since this plan was made; run reconciler plan again\n",
    )


def test_a_plan_applied_twice_says_it_is_applied_already_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        first = api.create({**PIPELINE, "name": "A"})
        files = write_files(
            tmp_path / "d", {"a": pipeline_file("A", "record: true\n"), "new": pipeline_file("New")}
        )
        saved = saved_plan(capsys, files, tmp_path / "plan.json")
        setup = api.journal()
        code, _, _ = run(capsys, "apply", str(saved), "--dir", str(files))
        assert code == 0
        written = api.journal()
        summary = tmp_path / "summary.md"
        code, out, err = run(capsys, "apply", str(saved), "--dir", str(files), "--summary", str(summary))
        assert api.journal() == written
        assert sorted(entry[:2] for entry in written[len(setup) :]) == [
            ("POST", "/api/user/assistant"),
            ("PUT", f"/api/user/assistant/{first}"),
        ]
    assert (code, err) == (0, "")
    assert out == "This plan is applied already: the platform holds every change it makes. Nothing to do.\n"
    assert summary.read_text() == "### reconciler apply: the saved plan is applied already, nothing to do\n"


def test_a_plan_partly_applied_by_hand_is_refused_naming_what_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        first = api.create({**PIPELINE, "name": "A"})
        api.create({**PIPELINE, "name": "B"})
        files = write_files(
            tmp_path / "d",
            {"a": pipeline_file("A", "record: true\n"), "b": pipeline_file("B", "record: true\n")},
        )
        saved = saved_plan(capsys, files, tmp_path / "plan.json")
        api.update(first, {"record": True})  # exactly what the plan would write to A, done in the dashboard
        before = api.journal()
        code, _, err = run(capsys, "apply", str(saved), "--dir", str(files))
        assert api.journal() == before
    assert code == 1
    assert (
        err
        == f"error: this plan was partly applied already (a); nothing was changed. {AGAIN[:-1]} for the rest\n"
    )

"""Identity end to end: which assistant a file manages, through the CLI against the emulator on loopback.

A file binds by ``id``; without one, by the record every create writes (owner, key), so a rename is an update;
failing that, by name, but never over an assistant whose record says someone else manages it
(docs/contract.md#identity).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import PIPELINE, emulator, pipeline_file, plan_json, run, write_files


def recorded(owner: str, key: str) -> dict[str, str]:
    record = {"v": 1, "fields": {}, "owner": owner, "key": key}
    return {"_reconciler": json.dumps(record, sort_keys=True, separators=(",", ":"))}


def apply(capsys: pytest.CaptureFixture[str], files: Path, *extra: str) -> None:
    code, _, err = run(capsys, "apply", "--dir", str(files), "--auto-approve", *extra)
    assert code == 0, err


def test_a_name_match_that_another_repository_records_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        api.create({**PIPELINE, "name": "Front Desk", "variables": recorded("github.com/acme/other", "desk")})
        files = write_files(tmp_path / "d", {"desk": pipeline_file("Front Desk", "speech_speed: 0.9\n")})
        writes = len(api.journal())
        code, out, err = run(
            capsys, "apply", "--dir", str(files), "--auto-approve", "--owner", "github.com/acme/mine"
        )
        assert len(api.journal()) == writes
    assert (code, out) == (1, "")
    assert err == (
        f"{files}/desk.yaml:1: name: matches assistant 1 by name, but its record says "
        "'github.com/acme/other' manages it as 'desk'; add id: 1 to take it over on purpose\n"
        "error: 1 problem in 1 file\n"
    )


def test_id_takes_over_on_purpose_and_the_record_is_left_alone_without_prune(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        api.create({**PIPELINE, "name": "Front Desk", "variables": recorded("github.com/acme/other", "desk")})
        files = write_files(
            tmp_path / "d", {"desk": "id: 1\n" + pipeline_file("Front Desk", "speech_speed: 0.9\n")}
        )
        plan = plan_json(capsys, files, "--owner", "github.com/acme/mine")
    (change,) = plan["changes"]
    assert (change["action"], change["id"], change["body"]) == ("update", 1, {"speech_speed": 0.9})


def test_renaming_an_assistant_is_an_update_of_its_name_found_through_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"desk": pipeline_file("Front Desk")})
        apply(capsys, files, "--owner", "o")
        write_files(files, {"desk": pipeline_file("Reception")})
        for extra in ((), ("--prune",)):
            plan = plan_json(capsys, files, "--owner", "o", *extra)
            assert plan["summary"] == {"create": 0, "update": 1, "delete": 0, "noop": 0}
            (change,) = plan["changes"]
            assert (change["action"], change["id"], change["body"]) == ("update", 1, {"name": "Reception"})
        apply(capsys, files, "--owner", "o", "--prune")
        assert [item["name"] for item in api.items()] == ["Reception"]
        assert plan_json(capsys, files, "--owner", "o", "--prune")["summary"]["noop"] == 1


def test_a_renamed_file_adopts_the_assistant_its_old_key_recorded_and_moves_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"desk": pipeline_file("Front Desk")})
        apply(capsys, files, "--owner", "o")
        write_files(files, {"reception": pipeline_file("Front Desk")})  # git mv desk.yaml reception.yaml
        plan = plan_json(capsys, files, "--owner", "o", "--prune")
        (change,) = plan["changes"]
        assert (change["action"], change["id"]) == ("update", 1)
        assert change.get("notes") == [
            "adopts assistant 1: its record names the file 'desk', which is gone (a renamed file); "
            "the record moves to 'reception'"
        ]
        assert change["body"] == {"variables": recorded("o", "reception")}
        apply(capsys, files, "--owner", "o", "--prune")
        assert len(api.items()) == 1
        again = plan_json(capsys, files, "--owner", "o", "--prune")
    assert again["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 1}
    assert "notes" not in again["changes"][0]


def test_a_new_file_named_like_an_assistant_a_live_file_records_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch):
        files = write_files(tmp_path / "d", {"desk": pipeline_file("Front Desk")})
        apply(capsys, files, "--owner", "o")
        # desk.yaml renames its assistant while a new file takes the old name: two files, one assistant
        write_files(files, {"desk": pipeline_file("Reception"), "lobby": pipeline_file("Front Desk")})
        code, _, err = run(capsys, "plan", "--dir", str(files), "--owner", "o")
    assert code == 1
    assert err == (
        f"{files}/lobby.yaml:1: name: matches assistant 1 by name, but its record says the file 'desk' "
        "manages it, and that file is still here; give this assistant another name, or add id: 1 to move it "
        "to this file\n"
        "error: 1 problem in 1 of 2 files\n"
    )


def test_an_assistant_without_a_record_is_adopted_by_name_and_the_plan_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        api.create({**PIPELINE, "name": "Front Desk"})
        files = write_files(tmp_path / "d", {"desk": pipeline_file("Front Desk", "speech_speed: 0.9\n")})
        plan = plan_json(capsys, files, "--owner", "o")
    (change,) = plan["changes"]
    assert change["body"] == {"speech_speed": 0.9}  # adopting writes no record: the body stays minimal
    assert change.get("notes") == ["adopts assistant 1 by name: no record says which file manages it"]


def test_every_create_records_the_owner_and_the_files_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"desk": pipeline_file("Front Desk")})
        apply(capsys, files, "--owner", "github.com/acme/assistants/assistants.d")
        (item,) = api.items()
    record = json.loads(item["variables"]["_reconciler"])
    assert (record["owner"], record["key"]) == ("github.com/acme/assistants/assistants.d", "desk")


def test_a_hand_deleted_assistant_is_drift_that_apply_creates_again_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"desk": "id: 1\n" + pipeline_file("Front Desk")})
        api.create({**PIPELINE, "name": "Front Desk"})
        with api.http() as http:
            assert http.delete("/user/assistant/1").status_code in (200, 204)
        code, out, err = run(capsys, "plan", "--dir", str(files), "--detailed-exitcode")
        assert code == 2, err
        assert "note: assistant 1 was deleted outside the repository: apply creates it again" in out
        apply(capsys, files)
        (item,) = api.items()
        code, out, _ = run(capsys, "plan", "--dir", str(files), "--detailed-exitcode", "--format", "json")
        text = run(capsys, "plan", "--dir", str(files))[1]
        markdown = run(capsys, "plan", "--dir", str(files), "--format", "markdown")[1]
    assert code == 0
    (change,) = json.loads(out)["changes"]
    assert (change["action"], change["id"]) == ("noop", item["id"])
    note = f"the file's id 1 is out of date: the assistant is now id {item['id']} (apply --pin-ids writes it)"
    assert change.get("notes") == [note]
    assert f"      note: {note}\n" in text
    assert f"- note: desk: {note}\n" in markdown

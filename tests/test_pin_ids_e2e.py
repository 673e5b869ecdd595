"""`reconciler apply --pin-ids` end to end: CLI → real HTTP on loopback → the emulator, then the files on disk.

What a user sees: the created id in the report, the `pinned id N in FILE` line, the file with exactly one line
added or changed, and a next plan that is empty and matches by id.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from support import emulator, plan_json, run, write_files

SCHEMA_LINE = "# yaml-language-server: $schema=../schema/assistant.schema.json\n"


def pipeline_file(name: str, extra: str = "") -> str:
    return (
        f"name: {name}\ntype: outbound\nmode: pipeline\nlanguage_id: 1\nvoice_id: 101\nllm_model_id: 2\n"
        f"timezone: Europe/Berlin\ninitial_message: Hello there.\nsystem_prompt: You are helpful.\n{extra}"
    )


def apply(capsys: pytest.CaptureFixture[str], directory: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "apply", "--dir", str(directory), "--auto-approve", *extra)


def created_id(api: Any, name: str) -> int:
    return next(int(item["id"]) for item in api.items() if item["name"] == name)


def test_a_created_assistant_is_reported_with_its_id_and_pinned_as_the_first_line_after_the_comments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SCHEMA_LINE + "# sales team\n" + pipeline_file("Sales Outbound")
    directory = write_files(tmp_path / "assistants.d", {"sales-outbound": text})
    summary = tmp_path / "summary.md"
    with emulator(monkeypatch) as api:
        code, out, err = apply(capsys, directory, "--pin-ids", "--summary", str(summary))
        assert code == 0, err
        new = created_id(api, "Sales Outbound")
        assert f"  + sales-outbound (id {new}): created\n" in out
        assert f"pinned id {new} in {directory}/sales-outbound.yaml\n" in out
        assert (directory / "sales-outbound.yaml").read_text() == (
            SCHEMA_LINE + "# sales team\n" + f"id: {new}\n" + pipeline_file("Sales Outbound")
        )
        markdown = summary.read_text()
        assert f"| ok | create | `sales-outbound` | Sales Outbound | {new} |" in markdown
        assert f"- pinned id {new} in `{directory}/sales-outbound.yaml`" in markdown

        plan = plan_json(capsys, directory)
        assert [(c["action"], c["id"], c.get("notes")) for c in plan["changes"]] == [("noop", new, None)]
        # matched by id, not by record or name: renamed on the platform, the file still finds it
        api.update(new, {"name": "Renamed By Hand"})
        plan = plan_json(capsys, directory)
        assert [(c["action"], c["id"]) for c in plan["changes"]] == [("update", new)]


def test_without_pin_ids_the_files_are_left_alone_and_the_id_is_still_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_files(tmp_path / "assistants.d", {"a": pipeline_file("A")})
    with emulator(monkeypatch) as api:
        code, out, err = apply(capsys, directory)
        assert code == 0, err
        assert f"  + a (id {created_id(api, 'A')}): created\n" in out
    assert "pinned" not in out
    assert (directory / "a.yaml").read_text() == pipeline_file("A")


def test_a_hand_deleted_id_is_re_created_then_the_out_of_date_id_is_pinned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "assistants.d"
    with emulator(monkeypatch) as api:
        old = api.create(_body("Support"))
        text = f"{SCHEMA_LINE}id: {old}  # pinned\n" + pipeline_file("Support")
        write_files(directory, {"support": text})
        with api.http() as http:
            assert http.delete(f"/user/assistant/{old}").status_code < 300

        code, out, _ = run(capsys, "plan", "--dir", str(directory), "--detailed-exitcode")
        assert code == 2
        assert f"note: assistant {old} was deleted outside the repository: apply creates it again" in out

        code, out, err = apply(capsys, directory)
        assert code == 0, err
        new = created_id(api, "Support")
        assert new != old
        assert f"  + support (id {new}): created\n" in out

        code, out, _ = run(capsys, "plan", "--dir", str(directory), "--detailed-exitcode")
        assert code == 0
        note = (
            f"the file's id {old} is out of date: the assistant is now id {new} (apply --pin-ids writes it)"
        )
        assert out.startswith("No changes. The platform matches the files (1 assistant).\n")
        assert (
            f'  = noop support "Support" (id {new})    {directory}/support.yaml\n      note: {note}\n' in out
        )
        assert plan_json(capsys, directory)["changes"][0]["notes"] == [note]

        code, out, err = apply(capsys, directory, "--pin-ids")
        assert code == 0, err
        assert f"pinned id {new} in {directory}/support.yaml (was {old})\n" in out
        assert (directory / "support.yaml").read_text() == (
            f"{SCHEMA_LINE}id: {new}  # pinned\n" + pipeline_file("Support")
        )
        code, out, _ = run(capsys, "plan", "--dir", str(directory), "--detailed-exitcode")
        assert (code, out) == (0, "No changes. The platform matches the files (1 assistant).\n")
        writes = [entry for entry in api.journal() if entry[3] < 300]
        assert [(m, p) for m, p, _, _ in writes] == [
            ("POST", "/api/user/assistant"),
            ("DELETE", f"/api/user/assistant/{old}"),
            ("POST", "/api/user/assistant"),
        ]


def test_a_re_created_assistant_is_pinned_by_the_apply_that_creates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "assistants.d"
    write_files(directory, {"support": "id: 999\n" + pipeline_file("Support")})
    with emulator(monkeypatch) as api:
        code, out, err = apply(capsys, directory, "--pin-ids")
        assert code == 0, err
        new = created_id(api, "Support")
        assert f"pinned id {new} in {directory}/support.yaml (was 999)\n" in out
    assert (directory / "support.yaml").read_text() == f"id: {new}\n" + pipeline_file("Support")


OTHER = (
    "type: outbound",
    "mode: pipeline",
    "language_id: 1",
    "voice_id: 101",
    "llm_model_id: 2",
    "timezone: Europe/Berlin",
    "initial_message: Hello there.",
    "system_prompt: You are helpful.",
)


def fields(ending: str, *, final: bool) -> str:
    """The file's fields, each line ended by ``ending``; the last one too only when ``final``."""
    return ending.join(("name: Endings", *OTHER)) + (ending if final else "")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("# top\r\n" + fields("\r\n", final=True), "# top\r\nid: {id}\r\n" + fields("\r\n", final=True)),
        (fields("\r\n", final=False), "id: {id}\r\n" + fields("\r\n", final=False)),
        ("# top\n" + fields("\n", final=False), "# top\nid: {id}\n" + fields("\n", final=False)),
        ("\ufeff# top\n" + fields("\n", final=True), "\ufeff# top\nid: {id}\n" + fields("\n", final=True)),
        ("id: 999\r\n" + fields("\r\n", final=False), "id: {id}\r\n" + fields("\r\n", final=False)),
    ],
    ids=["crlf", "crlf-no-final-newline", "no-final-newline", "bom", "stale-id-crlf-no-final-newline"],
)
def test_line_endings_and_a_missing_final_newline_are_kept(
    before: str,
    after: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = tmp_path / "assistants.d"
    directory.mkdir()
    path = directory / "endings.yaml"
    path.write_bytes(before.encode())
    with emulator(monkeypatch) as api:
        code, out, err = apply(capsys, directory, "--pin-ids")
        assert code == 0, err
        new = created_id(api, "Endings")
        assert f"pinned id {new} in {path}" in out
        assert path.read_bytes() == after.replace("{id}", str(new)).encode()
        plan = plan_json(capsys, directory)
        assert [(c["action"], c["id"]) for c in plan["changes"]] == [("noop", new)]


def test_a_placeholder_file_is_edited_as_text_and_keeps_its_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUPPORT_PROMPT", "You are a secret helper.")
    text = (
        pipeline_file("Support").replace(
            "system_prompt: You are helpful.\n", "system_prompt: '${SUPPORT_PROMPT}'   # from CI\n"
        )
        + "# trailing comment\n"
    )
    directory = write_files(tmp_path / "assistants.d", {"support": text})
    path = directory / "support.yaml"
    path.chmod(0o640)
    with emulator(monkeypatch) as api:
        code, out, err = apply(capsys, directory, "--pin-ids")
        assert code == 0, err
        new = created_id(api, "Support")
    assert f"pinned id {new} in {path}\n" in out
    assert path.read_text() == f"id: {new}\n" + text
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "You are a secret helper." not in path.read_text()
    assert [p.name for p in directory.iterdir()] == ["support.yaml"]


def test_a_symlinked_file_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the repository boundary: the link's target is inside it
    directory = write_files(tmp_path / "assistants.d", {"plain": pipeline_file("Plain")})
    target = tmp_path / "common" / "linked.yaml"
    target.parent.mkdir()
    target.write_text(pipeline_file("Linked"))
    (directory / "linked.yaml").symlink_to(os.path.relpath(target, directory))
    with emulator(monkeypatch) as api:
        code, out, err = apply(capsys, directory, "--pin-ids")
        assert code == 1  # the apply worked, the pin it was asked for did not
        assert "Apply: 2 applied, 0 failed; read back: 0 not converged." in out
        assert err == ""
        linked, plain = created_id(api, "Linked"), created_id(api, "Plain")
    assert (
        f"! {directory}/linked.yaml is a symbolic link to ../common/linked.yaml: not pinned (a link is never "
        f"written through); write id: {linked} in it by hand\n"
    ) in out
    assert f"pinned id {plain} in {directory}/plain.yaml\n" in out
    assert target.read_text() == pipeline_file("Linked")
    assert (directory / "linked.yaml").is_symlink()
    assert sorted(p.name for p in directory.iterdir()) == ["linked.yaml", "plain.yaml"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["linked.yaml"]


def test_an_id_line_that_is_not_id_colon_n_is_left_for_a_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "id:\n  999\n" + pipeline_file("Support")
    directory = write_files(tmp_path / "assistants.d", {"support": text})
    with emulator(monkeypatch) as api:
        code, out, _ = apply(capsys, directory, "--pin-ids")
        assert code == 1
        new = created_id(api, "Support")
    assert (
        f"! {directory}/support.yaml: its id line is not of the form id: N: not pinned; write id: {new} in it by hand"
    ) in out
    assert (directory / "support.yaml").read_text() == text


def _body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "outbound",
        "mode": "pipeline",
        "language_id": 1,
        "voice_id": 101,
        "llm_model_id": 2,
        "timezone": "Europe/Berlin",
        "initial_message": "Hello there.",
        "system_prompt": "You are helpful.",
    }

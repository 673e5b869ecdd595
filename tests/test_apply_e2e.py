"""`reconciler apply` end to end: CLI → real HTTP on loopback → the emulator, faults included."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hostile_server import Reply, Request, honest_account, hostile_api
from support import PIPELINE, TOKEN, emulator, plan_json, run, write_files

from reconciler import cli

ROOT = Path(__file__).resolve().parent.parent


def pipeline_file(name: str, extra: str = "") -> str:
    return (
        f"name: {name}\ntype: outbound\nmode: pipeline\nlanguage_id: 1\nvoice_id: 101\nllm_model_id: 2\n"
        f"timezone: Europe/Berlin\ninitial_message: Hello there.\nsystem_prompt: You are helpful.\n{extra}"
    )


def writes(api: Any) -> list[tuple[str, str, dict[str, Any], int]]:
    return [entry for entry in api.journal() if entry[3] < 300]


def test_without_a_terminal_and_without_auto_approve_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        code, out, err = run(capsys, "apply", "--dir", str(files))
        assert api.journal() == []
    assert code == 1
    assert "+ create a" in out
    assert (
        err
        == "error: refusing to apply: no terminal to confirm on, and no --auto-approve; nothing was changed\n"
    )


@pytest.mark.parametrize(("answer", "code", "created"), [("yes\n", 0, 1), ("y\n", 1, 0), ("\n", 1, 0)])
def test_interactive_confirmation_accepts_only_yes(
    answer: str,
    code: int,
    created: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        result, out, err = run(capsys, "apply", "--dir", str(files))
        assert len(api.items()) == created
    assert result == code
    assert "Apply these changes? Only 'yes' is accepted" in out
    if code:
        assert err == "error: apply cancelled; nothing was changed\n"


def test_end_of_input_at_the_confirmation_cancels_like_any_answer_but_yes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-D at the prompt ends the input: that is a "no" (exit 1), not an interruption (Ctrl-C, exit 130)."""
    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        code, out, err = run(capsys, "apply", "--dir", str(files))
        assert api.journal() == []
    assert (code, err) == (1, "error: apply cancelled; nothing was changed\n")
    assert out.endswith("\nApply these changes? Only 'yes' is accepted: \n")  # the refusal starts a new line


def test_saved_plan_bodies_are_what_the_emulator_receives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAL_KEY", "cal_live_abcdef123456")
    calendar = (
        "tools:\n  - {type: calendar_integration, calcom_api_key: '${CAL_KEY}', calcom_event_slug: intro}\n"
    )
    with emulator(monkeypatch) as api:
        existing = api.create({**PIPELINE, "name": "B"})
        files = write_files(
            tmp_path / "d",
            {
                "a": pipeline_file("A", calendar),
                "b": pipeline_file("B", "speech_speed: 0.9\nvoice_mail_message: Hi\n"),
            },
        )
        saved = tmp_path / "plan.json"
        assert run(capsys, "plan", "--dir", str(files), "--out", str(saved))[0] == 0
        assert "cal_live_abcdef123456" not in saved.read_text()
        before = len(api.journal())
        code, out, err = run(capsys, "apply", str(saved), "--dir", str(files))
        received = writes(api)[before:]
    assert code == 0, err
    plan = json.loads(saved.read_text())
    expected = []
    for change in plan["changes"]:
        body = json.loads(json.dumps(change["body"]).replace('"(sensitive)"', '"cal_live_abcdef123456"'))
        method, path = (
            ("POST", "/api/user/assistant")
            if change["action"] == "create"
            else ("PUT", f"/api/user/assistant/{existing}")
        )
        expected.append((method, path, body, 201 if method == "POST" else 200))
    assert sorted(received, key=str) == sorted(expected, key=str)
    assert "Apply: 2 applied, 0 failed; read back: 0 not converged." in out


def test_saved_plan_needs_its_secrets_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAL_KEY", "cal_live_abcdef123456")
    calendar = (
        "tools:\n  - {type: calendar_integration, calcom_api_key: '${CAL_KEY}', calcom_event_slug: intro}\n"
    )
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"a": pipeline_file("A", calendar)})
        saved = tmp_path / "plan.json"
        run(capsys, "plan", "--dir", str(files), "--out", str(saved))
        monkeypatch.delenv("CAL_KEY")
        code, _, err = run(capsys, "apply", str(saved), "--dir", str(files))
        assert api.journal() == []
    assert code == 1
    assert "environment variable CAL_KEY is not set" in err


def test_stale_saved_plan_is_refused_before_any_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        first = api.create({**PIPELINE, "name": "A"})
        api.create({**PIPELINE, "name": "B"})
        files = write_files(
            tmp_path / "d",
            {"a": pipeline_file("A", "record: true\n"), "b": pipeline_file("B", "record: true\n")},
        )
        saved = tmp_path / "plan.json"
        run(capsys, "plan", "--dir", str(files), "--out", str(saved))
        api.update(first, {"speech_speed": 0.8})  # someone edits A in the dashboard
        before = api.journal()
        code, _, err = run(capsys, "apply", str(saved), "--dir", str(files))
        assert api.journal() == before  # not even B was written
    assert code == 1
    assert err == (
        f"error: the platform changed since this plan was made: a (id {first}): outside the fields this plan "
        "changes; nothing was changed. "
        "Run reconciler plan --out FILE again and review it\n"
    )


def test_saved_plan_for_other_files_or_account_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        saved = tmp_path / "plan.json"
        run(capsys, "plan", "--dir", str(files), "--out", str(saved))
        write_files(files, {"a": pipeline_file("A", "record: true\n")})
        code, _, err = run(capsys, "apply", str(saved), "--dir", str(files))
        assert (code, err) == (
            1,
            f"error: the assistant files changed since this plan was made: {files}/a.yaml (edited); "
            "run reconciler plan again\n",
        )
        write_files(files, {"a": pipeline_file("A")})
        with emulator(monkeypatch):  # another account: another URL
            code, _, err = run(capsys, "apply", str(saved), "--dir", str(files))
        assert (code, err) == (
            1,
            "error: this plan was made for another account (the API URL or token differ); nothing was changed\n",
        )
        assert api.journal() == []


def test_a_422_is_mapped_to_file_and_line_and_others_still_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 422 no plan could foresee (the plan-time checks refuse every documented one the plan can see,
    test_references_e2e): an account that refuses Bad's create as a voice the engine cannot use."""
    account = honest_account()
    refusal = {"voice_id": ["The selected voice is not compatible with the chosen engine type."]}

    def refusing(request: Request) -> Reply:
        if request.method == "POST" and (request.json() or {}).get("name") == "Bad":
            return Reply(422, {"message": refusal["voice_id"][0], "errors": refusal})
        return account.handle(request)

    files = write_files(tmp_path / "d", {"bad": pipeline_file("Bad"), "good": pipeline_file("Good")})
    with hostile_api(monkeypatch, refusing):
        code, out, _ = run(capsys, "apply", "--dir", str(files), "--auto-approve")
    assert [a["name"] for a in account.items] == ["Good"]
    assert code == 1
    assert (
        f"      {files}/bad.yaml:5: voice_id: The selected voice is not compatible with the chosen engine type.\n"
        in out
    )
    assert "  + good (id 1001): created\n" in out
    assert "Apply: 1 applied, 1 failed; read back: 0 not converged." in out


def test_a_field_the_platform_ignores_is_reported_not_converged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch, ignored_fields=("speech_speed",)) as api:
        api.create(PIPELINE)
        files = write_files(tmp_path / "d", {"a": pipeline_file("Pipeline One", "speech_speed: 0.9\n")})
        code, out, _ = run(capsys, "apply", "--dir", str(files), "--auto-approve")
    assert code == 1
    assert (
        "  ! a: not converged after apply: speech_speed still differ (did the platform ignore them?)" in out
    )


def test_safety_threshold_needs_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        for index in range(10):
            api.create({**PIPELINE, "name": f"A{index}"})
        files = write_files(
            tmp_path / "d",
            {f"a{i}": pipeline_file(f"A{i}", "record: true\n" if i < 4 else "") for i in range(10)},
        )
        code, out, _ = run(capsys, "plan", "--dir", str(files))
        assert code == 0
        assert (
            "Warning: apply will need --force: 4 of 10 existing assistants would be updated (more than 30%)."
            in out
        )
        journal = api.journal()
        code, _, err = run(capsys, "apply", "--dir", str(files), "--auto-approve")
        assert (code, api.journal()) == (1, journal)
        assert err == (
            "error: refusing without --force: 4 of 10 existing assistants would be updated (more than 30%); "
            "nothing was changed\n"
        )
        assert (
            run(capsys, "apply", "--dir", str(files), "--auto-approve", "--max-update-share", "0.5")[0] == 0
        )


def test_empty_directory_against_a_full_account_needs_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prune = ("--prune", "--owner", "team/repo")
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        assert run(capsys, "apply", "--dir", str(files), "--auto-approve", *prune)[0] == 0
        write_files(files, {})
        code, out, _ = run(capsys, "plan", "--dir", str(files), *prune)
        assert code == 0
        assert out.endswith(
            "Warning: apply will need --force: 1 assistant would be deleted; "
            "there are no assistant files, but the account has 1 assistants.\n"
        )
        assert run(capsys, "apply", "--dir", str(files), "--auto-approve", *prune)[0] == 1
        assert len(api.items()) == 1


def test_prune_deletes_only_what_this_repository_owns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prune = ("--prune", "--owner", "github.com/team/repo/assistants.d")
    with emulator(monkeypatch) as api:
        by_hand = api.create({**PIPELINE, "name": "Made by hand"})
        files = write_files(tmp_path / "d", {"a": pipeline_file("A"), "b": pipeline_file("B")})
        assert run(capsys, "apply", "--dir", str(files), "--auto-approve", *prune)[0] == 0
        write_files(files, {"a": pipeline_file("A")})  # b's file is removed
        plan = plan_json(capsys, files, *prune)
        deletes = [c for c in plan["changes"] if c["action"] == "delete"]
        assert [(c["key"], c["name"], c["file"]) for c in deletes] == [("b", "B", None)]
        assert plan["unsafe"] == ["1 assistant would be deleted"]
        _code, out, _ = run(capsys, "plan", "--dir", str(files), *prune)
        b_id = next(a["id"] for a in api.items() if a["name"] == "B")  # A and B were created concurrently
        assert f'  - delete b "B" (id {b_id})' in out
        code, out, _ = run(capsys, "apply", "--dir", str(files), "--auto-approve", *prune)
        assert code == 1  # a delete needs --force
        assert "Warning: apply will need --force: 1 assistant would be deleted.\n" in out
        code, out, _ = run(capsys, "apply", "--dir", str(files), "--auto-approve", "--force", *prune)
        assert code == 0
        assert "Warning" not in out  # given --force, the thresholds are no warning any more
        assert "Past the safety thresholds, with --force: 1 assistant would be deleted.\n" in out
        names = sorted(a["name"] for a in api.items())
        assert names == ["A", "Made by hand"]
        assert any(a["id"] == by_hand for a in api.items())
        assert plan_json(capsys, files, *prune)["summary"] == {
            "create": 0,
            "update": 0,
            "delete": 0,
            "noop": 1,
        }


def test_turning_prune_on_records_ownership_without_needing_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        for index in range(12):
            api.create({**PIPELINE, "name": f"A{index}"})
        files = write_files(tmp_path / "d", {f"a{i}": pipeline_file(f"A{i}") for i in range(12)})
        assert plan_json(capsys, files)["summary"]["noop"] == 12  # ordinary plans carry no bookkeeping
        plan = plan_json(capsys, files, "--prune", "--owner", "o")
        assert plan["summary"]["update"] == 12
        assert plan["unsafe"] == []
        reasons = {f["reason"] for c in plan["changes"] for f in c["fields"]}
        assert reasons == {"bookkeeping only: records that this repository manages it (for --prune)"}
        assert run(capsys, "apply", "--dir", str(files), "--auto-approve", "--prune", "--owner", "o")[0] == 0
        assert plan_json(capsys, files, "--prune", "--owner", "o")["summary"]["noop"] == 12
        assert plan_json(capsys, files)["summary"]["noop"] == 12


def updates_and_creates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, updates: int, creates: int
) -> tuple[Path, Path]:
    """A state file holding ``updates`` assistants U000..., and files that change each of them and add
    ``creates`` new ones C00...: the setting of the fault and kill tests."""
    state = tmp_path / "state.sqlite"
    with emulator(monkeypatch, state=state) as api:
        for index in range(updates):
            api.create({**PIPELINE, "name": f"U{index:03d}"})
    files = {f"u{i:03d}": pipeline_file(f"U{i:03d}", "speech_speed: 0.9\n") for i in range(updates)}
    files |= {f"c{i:02d}": pipeline_file(f"C{i:02d}") for i in range(creates)}
    return state, write_files(tmp_path / "d", files)


def test_apply_under_faults_converges_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state, directory = updates_and_creates(tmp_path, monkeypatch, updates=200, creates=10)
    faults = {"error_rate": 0.3, "reset_rate": 0.05, "rate_limit": 6000, "fault_seed": 7}
    with emulator(monkeypatch, state=state, **faults) as api:
        code, out, err = run(
            capsys, "apply", "--dir", str(directory), "--auto-approve", "--force", "--parallelism", "8"
        )
        assert code == 0, out[-2000:] + err
        assert "Apply: 210 applied, 0 failed; read back: 0 not converged." in out
    with emulator(monkeypatch, state=state) as api:
        names = [a["name"] for a in _all(api)]
        assert len(names) == 210
        assert sorted(n for n in names if n.startswith("C")) == [f"C{i:02d}" for i in range(10)]
        assert plan_json(capsys, directory)["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 210}


def _all(api: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    with api.http() as http:
        for page in range(1, 10):
            items += http.get("/user/assistants/get", params={"per_page": 100, "page": page}).json()["data"]
    return items


def test_apply_killed_half_way_converges_on_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state, directory = updates_and_creates(tmp_path, monkeypatch, updates=40, creates=20)
    with emulator(monkeypatch, state=state, latency_ms=40) as api:
        command = [sys.executable, "-m", "reconciler", "apply", "--dir", str(directory), "--auto-approve"]
        command += ["--force", "--parallelism", "2"]
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy()
        )
        deadline = time.monotonic() + 30
        while len(writes(api)) < 15 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        done = len(writes(api))
        assert 15 <= done < 60, "the kill should land half-way"
        code, out, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve", "--force")
        assert code == 0, out + err
        names = [a["name"] for a in _all(api)]
    assert len(names) == len(set(names)) == 60
    assert TOKEN not in out + err


class _SlowReader(io.StringIO):
    """A person who reads the plan for a while before typing ``yes``."""

    def readline(self, size: int | None = -1) -> str:
        time.sleep(1.5)
        return "yes\n"


def test_time_at_the_confirmation_does_not_count_against_the_runs_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECONCILER_DEADLINE", "1")
    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(sys, "stdin", _SlowReader())
    with emulator(monkeypatch) as api:
        files = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        code, out, err = run(capsys, "apply", "--dir", str(files))
        assert [(method, path) for method, path, _, _ in api.journal()] == [("POST", "/api/user/assistant")]
    assert (code, err) == (0, "")
    assert "Apply: 1 applied, 0 failed; read back: 0 not converged." in out

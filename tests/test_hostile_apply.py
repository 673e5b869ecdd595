"""`apply` against neighbours and accidents: a concurrent apply, an assistant made by hand while the plan waits for
its `yes`, a create raced by someone else, a create answered without an id, and Ctrl-C at any moment.

The API has no compare-and-set and no idempotency key, so these tests pin the strongest protection it allows: one
apply at a time per account from one machine (a lock file), a listing right before the creates, and a read-back
that names every duplicate it finds. Each test bounds its own time.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hostile_server import Reply, Request, assistant, elapsed, honest_account, hostile_api
from support import PIPELINE, TOKEN, Api, emulator, run, write_files

from reconciler import cli
from reconciler.reconcile import account_digest
from reconciler.secret import Secret

ROOT = Path(__file__).resolve().parent.parent


def pipeline_file(name: str) -> str:
    return (
        f"name: {name}\ntype: outbound\nmode: pipeline\nlanguage_id: 1\nvoice_id: 101\nllm_model_id: 2\n"
        "timezone: Europe/Berlin\ninitial_message: Hello there.\nsystem_prompt: You are helpful.\n"
    )


def creates(count: int) -> dict[str, str]:
    return {f"c{i:02d}": pipeline_file(f"C{i:02d}") for i in range(count)}


def child_env(cache: Path) -> dict[str, str]:
    """The environment of an apply in its own process: this checkout first, and a lock directory of the test's."""
    return os.environ | {"PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(cache)}


def apply_process(directory: Path, cache: Path, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "reconciler", "apply", "--dir", str(directory), "--auto-approve", *extra]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(cache)
    )


def successful_writes(api: Api) -> list[tuple[str, str, dict[str, Any], int]]:
    return [entry for entry in api.journal() if entry[3] < 300]


def wait_for(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition(), "the condition never came true"


# ---- two applies at once ------------------------------------------------------------------------------------


def test_a_second_apply_on_the_same_account_is_refused_while_the_first_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """5 of 5 trials left duplicates: both applies planned the same creates and sent them. Now the second one
    finds the account's lock taken, says who holds it, and writes nothing; run again afterwards, it plans anew."""
    started = time.monotonic()
    cache = tmp_path / "cache"
    directory = write_files(tmp_path / "d", creates(12))
    with emulator(monkeypatch, latency_ms=100) as api:
        first = apply_process(directory, cache, "--parallelism", "1")
        wait_for(lambda: len(successful_writes(api)) >= 1 or first.poll() is not None, 20)
        second = apply_process(directory, cache)
        second_out, second_err = second.communicate(timeout=30)
        first_out, first_err = first.communicate(timeout=30)
        names = Counter(item["name"] for item in api.items())
        posts = [entry for entry in api.journal() if entry[0] == "POST"]
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
        again = run(capsys, "apply", "--dir", str(directory), "--auto-approve")  # the lock was released
    lock = cache / "reconciler" / "locks" / f"apply-{account_digest(api.url, Secret(TOKEN))}.lock"
    assert (first.returncode, first_err) == (0, ""), first_out[-1000:]
    assert "Apply: 12 applied, 0 failed; read back: 0 not converged." in first_out
    assert (second.returncode, second_out) == (1, "")
    assert second_err == (
        f"error: another apply on this account is running (pid {first.pid} on {socket.gethostname()}); "
        f"nothing was changed. Run apply again once it has finished (lock file: {lock})\n"
    )
    assert names == Counter({f"C{i:02d}": 1 for i in range(12)})  # not one duplicate
    assert len(posts) == 12
    assert again == (0, "No changes. The platform matches the files (12 assistants).\n", "")
    assert TOKEN not in lock.read_text()
    assert elapsed(started) < 40


def test_an_unusable_lock_directory_refuses_the_apply_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with emulator(monkeypatch) as api:
        directory = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        code, out, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
        assert api.journal() == []
    assert (code, out) == (1, "")
    assert err == (
        f"error: cannot take the apply lock in {blocker}/reconciler/locks: Not a directory; "
        "set XDG_CACHE_HOME to a writable directory; nothing was changed\n"
    )


# ---- a name that appears after the plan ---------------------------------------------------------------------


class _AnswerAfter(io.StringIO):
    """A terminal whose user types ``yes`` only after ``meanwhile`` happened (someone else's edit)."""

    def __init__(self, meanwhile: Any) -> None:
        super().__init__("yes\n")
        self.meanwhile = meanwhile

    def readline(self, size: int | None = -1) -> str:
        self.meanwhile()
        return super().readline(size)


def test_a_create_whose_name_appears_while_the_plan_waits_for_yes_is_not_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan is minutes old by the time its reader types yes; someone made "A" in the dashboard meanwhile."""
    made_by_hand: list[int] = []
    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)
    with emulator(monkeypatch) as api:
        terminal = _AnswerAfter(lambda: made_by_hand.append(api.create({**PIPELINE, "name": "A"})))
        monkeypatch.setattr(sys, "stdin", terminal)
        directory = write_files(tmp_path / "d", {"a": pipeline_file("A"), "b": pipeline_file("B")})
        code, out, _ = run(capsys, "apply", "--dir", str(directory))
        posts = [entry[2]["name"] for entry in api.journal() if entry[0] == "POST"]
        names = sorted(item["name"] for item in api.items())
    assert code == 1
    assert posts == ["A", "B"]  # the one by hand, then B: no second "A"
    assert names == ["A", "B"]
    assert (
        f"  ! a: create failed: not sent: 'A' appeared on the platform after the plan was made "
        f"(id {made_by_hand[0]}); run reconciler plan again: the file now matches that assistant\n" in out
    )
    assert "  + b (id 2): created\n" in out
    assert out.endswith("\nApply: 1 applied, 1 failed; read back: 0 not converged.\n")


# ---- a create raced by someone else, found by the read-back ---------------------------------------------------


def test_a_duplicate_made_by_a_racing_create_is_reported_with_both_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another machine's apply sends the same create in the same instant: neither check can see it coming,
    so the read-back has to, and it must name both assistants and the way out."""
    account = honest_account()

    def racing(request: Request) -> Reply:
        if request.method == "POST" and request.path == "/user/assistant":
            with account.lock:
                account.items.append(assistant(500, "A"))  # the other machine's create lands first
        return account.handle(request)

    started = time.monotonic()
    with hostile_api(monkeypatch, racing) as server:
        directory = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        code, out, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
        posts = server.creates()
    assert (code, err) == (1, "")
    assert len(posts) == 1
    assert "  + a (id 1001): created\n" in out
    assert (
        "  ! a: 2 assistants are now named 'A' (ids 500, 1001; this apply created 1001): another apply or "
        "someone else created one at the same time. Delete the one you do not want, or add id: to "
        f"{directory}/a.yaml to say which one the file manages\n" in out
    )
    assert out.endswith("\nApply: 1 applied, 0 failed; read back: 0 not converged, 1 duplicate.\n")
    assert elapsed(started) < 10


# ---- a create answered without an id ---------------------------------------------------------------------------


@pytest.mark.parametrize("stored", [True, False], ids=["created", "not-created"])
def test_a_create_answered_without_an_id_is_a_failure_of_that_assistant_only(
    stored: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 201 without `data.id` aborted the whole apply after its writes were sent, reporting none of them."""
    account = honest_account()

    def without_id(request: Request) -> Reply:
        body = request.json() or {}
        if request.method == "POST" and body.get("name") == "A":
            if stored:
                with account.lock:
                    account.items.append(assistant(700, "A") | body)
            return Reply(201, {"message": "Assistant created successfully", "data": {"name": "A"}})
        return account.handle(request)

    started = time.monotonic()
    with hostile_api(monkeypatch, without_id) as server:
        directory = write_files(tmp_path / "d", {"a": pipeline_file("A"), "b": pipeline_file("B")})
        code, out, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
        posts = [r.json()["name"] for r in server.creates()]
    assert (code, err) == (1, "")
    assert sorted(posts) == ["A", "B"]  # the uncertain create is not sent again
    answer = "POST /user/assistant answered 201 without the new assistant's id"
    if stored:
        line = f"  ! a (id 700): create failed: {answer}; the read-back finds 'A' as id 700, so the next plan manages it\n"
    else:
        line = f"  ! a: create failed: {answer}; the read-back finds no assistant named 'A': run apply again to create it\n"
    assert line in out
    assert "  + b (id 1001): created\n" in out
    assert out.endswith("\nApply: 1 applied, 1 failed; read back: 0 not converged.\n")
    assert elapsed(started) < 10


def test_a_read_back_that_fails_still_reports_every_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The writes went out; the listing after them is refused. The report of the writes must not be lost."""
    account = honest_account()
    lists = 0

    def refusing_the_read_back(request: Request) -> Reply:
        nonlocal lists
        if request.method == "GET" and request.path == "/user/assistants/get":
            lists += 1
            if lists == 3:  # the plan, the check before the creates, then the read-back
                return Reply(403, {"message": "This action is unauthorized."})
        return account.handle(request)

    started = time.monotonic()
    with hostile_api(monkeypatch, refusing_the_read_back):
        directory = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        code, out, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
    assert (code, err) == (1, "")
    assert out.endswith(
        "  + a (id 1001): created\n"
        "  ! read back failed: GET /user/assistants/get: 403 This action is unauthorized.\n"
        "\nApply: 1 applied, 0 failed; read back: failed.\n"
    )
    assert elapsed(started) < 10


# ---- Ctrl-C ---------------------------------------------------------------------------------------------------


def test_ctrl_c_mid_apply_reports_the_writes_that_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    directory = write_files(tmp_path / "d", creates(20))
    with emulator(monkeypatch, latency_ms=150) as api:
        child = apply_process(directory, tmp_path / "cache", "--parallelism", "2")
        wait_for(lambda: len(successful_writes(api)) >= 4 or child.poll() is not None, 30)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
        written = len(successful_writes(api))
        time.sleep(0.5)
        assert len(successful_writes(api)) == written  # nothing sent after the interrupt
        ids = {item["name"]: item["id"] for item in api.items()}
    assert (child.returncode, err) == (130, "\ninterrupted\n")
    assert 4 <= written < 20
    reported = [line for line in out.splitlines() if re.fullmatch(r"  \+ \S+ \(id \d+\): created", line)]
    expected = [f"  + {name.lower()} (id {ids[name]}): created" for name in sorted(ids)]
    assert reported == expected  # every completed write, and only those
    assert out.endswith(
        f"\nApply interrupted: {written} applied, 0 failed; nothing more was sent, and nothing was read back.\n"
    )
    assert elapsed(started) < 40


@pytest.mark.parametrize("delay", [0.1, 0.25])
def test_ctrl_c_at_startup_prints_no_traceback(
    delay: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first ~0.7 s are imports: a Ctrl-C there printed Python's raw traceback and exited -2."""
    directory = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    with emulator(monkeypatch, latency_ms=3000):  # whatever it reaches by the signal, it is still running
        child = apply_process(directory, tmp_path / "cache")
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    assert (child.returncode, err) == (130, "\ninterrupted\n")
    assert "Traceback" not in out


def test_ctrl_c_while_the_platform_is_read_back_still_reports_the_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An interrupt after the last write but before the read-back ends: the writes are reported all the same."""
    account = honest_account()
    lists = 0
    main = threading.main_thread().ident

    def interrupting(request: Request) -> Reply:
        nonlocal lists
        if request.method == "GET" and request.path == "/user/assistants/get":
            lists += 1
            if lists == 3 and main is not None:  # the plan, the check before the creates, then the read-back
                signal.pthread_kill(main, signal.SIGINT)  # Ctrl-C while the read-back waits for its answer
                return Reply(stall=True)
        return account.handle(request)

    with hostile_api(monkeypatch, interrupting):
        directory = write_files(tmp_path / "d", {"a": pipeline_file("A")})
        code, out, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
    assert (code, err) == (130, "\ninterrupted\n")
    assert "  + a (id 1001): created\n" in out
    assert out.endswith(
        "\nApply interrupted: 1 applied, 0 failed; nothing more was sent, and nothing was read back.\n"
    )


def test_a_lost_create_answer_is_confirmed_once_a_shifting_listing_settles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A create whose answer is lost is looked up by name; while other writes keep the listing inconsistent,
    that proves nothing either way, so the check waits and reads again instead of failing (or sending twice)."""
    served = honest_account()
    lists_after_the_create: list[int] = []

    def handle(request: Request) -> Reply:
        if request.method == "POST":
            served.handle(request)  # it happened ...
            return Reply(raw=b"")  # ... but the answer is lost
        answer = served.handle(request)
        if request.path == "/user/assistants/get" and served.items:
            lists_after_the_create.append(1)
            if len(lists_after_the_create) <= 3:  # the first reads claim one assistant more than they hold
                answer.body["total"] += 1
        return answer

    directory = write_files(tmp_path / "d", {"a": pipeline_file("A")})
    with hostile_api(monkeypatch, handle) as server:
        code, out, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
    assert (code, err) == (0, "")
    assert len(server.creates()) == 1
    assert "  + a (id 1001): created: created (confirmed by listing after a lost answer)\n" in out
    assert len(lists_after_the_create) > 3

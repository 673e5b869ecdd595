"""The apply flow called directly (``applying.run_apply``), over real HTTP on loopback to the emulator.

What these pin is the order of the flow: every refusal (a stale or forged saved plan, an unsafe plan, a "no" at
the confirmation) comes before the first write, and the confirmation is asked only of a plan it would apply.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support import PIPELINE, Api, emulator, write_files

from reconciler.applying import Applied, ApplyRequest, ApplyView, run_apply
from reconciler.desired import DesiredState, load_directory
from reconciler.errors import ReconcilerError, StalePlan, UnsafePlan
from reconciler.limits import Deadline
from reconciler.plan import Plan, Safety
from reconciler.reconcile import Options
from reconciler.render import render_json
from reconciler.session import Session, connect


def pipeline_file(name: str, extra: str = "") -> str:
    return "".join(f"{key}: {value}\n" for key, value in {**PIPELINE, "name": name}.items()) + extra


@dataclass
class Terminal:
    """A stand-in for the person at the terminal: what they were shown, and how often they were asked."""

    answer: bool = True
    shown: list[Plan] = field(default_factory=list)
    asked: int = 0
    writing: int = 0

    def confirm(self) -> bool:
        self.asked += 1
        return self.answer

    def began_writing(self) -> None:
        self.writing += 1

    def view(self) -> ApplyView:
        return ApplyView(confirm=self.confirm, show=self.shown.append, writing=self.began_writing)


@contextmanager
def session_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, Session]]:
    with (
        emulator(monkeypatch) as api,
        connect(emulator=False, api_url=api.url, writable=True) as session,
    ):
        yield api, session


def files(tmp_path: Path, **named: str) -> DesiredState:
    return load_directory(write_files(tmp_path / "d", named), environ={})


def save(plan: Plan, path: Path) -> Path:
    text = io.StringIO()
    render_json(plan, text)
    path.write_text(text.getvalue())
    return path


def writes(api: Api) -> list[tuple[str, str, dict[str, Any], int]]:
    return [entry for entry in api.journal() if entry[3] < 300]


def test_a_confirmed_plan_is_shown_asked_once_then_written_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal(answer=True)
    with session_on(monkeypatch) as (api, session):
        applied = run_apply(session, ApplyRequest(files(tmp_path, a=pipeline_file("A"))), terminal.view())
        journal = writes(api)
    assert [c.key for c in applied.plan.changes] == ["a"]
    assert terminal.shown == [applied.plan]
    assert (terminal.asked, terminal.writing) == (1, 1)
    assert [(method, path, body["name"]) for method, path, body, _ in journal] == [
        ("POST", "/api/user/assistant", "A")
    ]
    assert applied.report is not None
    assert applied.report.ok


def test_a_refused_confirmation_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal(answer=False)
    with session_on(monkeypatch) as (api, session):
        with pytest.raises(ReconcilerError, match=r"^apply cancelled; nothing was changed$"):
            run_apply(session, ApplyRequest(files(tmp_path, a=pipeline_file("A"))), terminal.view())
        assert api.journal() == []
    assert (len(terminal.shown), terminal.asked, terminal.writing) == (1, 1, 0)


def test_an_unsafe_plan_is_refused_before_the_confirmation_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal(answer=True)
    strict = Options(safety=Safety(max_update_share=0.0, min_existing=1))  # any update needs --force
    with session_on(monkeypatch) as (api, session):
        api.create({**PIPELINE, "name": "A"})
        before = api.journal()
        state = files(tmp_path, a=pipeline_file("A", "record: true\n"))
        with pytest.raises(UnsafePlan, match=r"^refusing without --force: 1 of 1 existing assistants"):
            run_apply(session, ApplyRequest(state, strict), terminal.view())
        assert api.journal() == before
        assert (len(terminal.shown), terminal.asked) == (1, 0)  # shown, so the reader sees what was refused
        forced = run_apply(session, ApplyRequest(state, strict, force=True), terminal.view())
        assert [(m, body) for m, _, body, _ in writes(api)[len(before) :]] == [("PUT", {"record": True})]
    assert terminal.asked == 1
    assert forced.report is not None
    assert forced.report.ok


def test_a_plan_without_changes_asks_nothing_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal(answer=True)
    with session_on(monkeypatch) as (api, session):
        api.create({**PIPELINE, "name": "A"})
        before = api.journal()
        applied = run_apply(session, ApplyRequest(files(tmp_path, a=pipeline_file("A"))), terminal.view())
        assert api.journal() == before
    assert applied == Applied(terminal.shown[0], None)
    assert (terminal.asked, terminal.writing) == (0, 0)


def test_a_stale_saved_plan_is_refused_before_it_is_shown_or_anything_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal(answer=True)
    with session_on(monkeypatch) as (api, session):
        first = api.create({**PIPELINE, "name": "A"})
        state = files(tmp_path, a=pipeline_file("A", "record: true\n"))
        saved = save(session.plan(state), tmp_path / "plan.json")
        api.update(first, {"speech_speed": 0.8})  # someone edits A in the dashboard
        before = api.journal()
        with pytest.raises(
            StalePlan, match=rf"^the platform changed since this plan was made: a \(id {first}\)"
        ):
            run_apply(session, ApplyRequest(state, saved_plan=saved), terminal.view())
        assert api.journal() == before
    assert (terminal.shown, terminal.asked, terminal.writing) == ([], 0, 0)


def test_a_forged_saved_plan_is_refused_before_any_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal(answer=True)
    with session_on(monkeypatch) as (api, session):
        state = files(tmp_path, a=pipeline_file("A"))
        saved = save(session.plan(state), tmp_path / "plan.json")
        saved.write_text(saved.read_text().replace('"Hello there."', '"Forged greeting."'))
        with pytest.raises(StalePlan, match=r"^the saved plan asks for changes the files do not: a;"):
            run_apply(session, ApplyRequest(state, saved_plan=saved), terminal.view())
        assert api.journal() == []
    assert (terminal.shown, terminal.asked) == ([], 0)


def test_a_current_saved_plan_is_applied_without_asking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal(
        answer=False
    )  # a "no" that is never asked for: the plan was reviewed when it was saved
    with session_on(monkeypatch) as (api, session):
        state = files(tmp_path, a=pipeline_file("A"))
        saved = save(session.plan(state), tmp_path / "plan.json")
        applied = run_apply(session, ApplyRequest(state, saved_plan=saved), terminal.view())
        journal = writes(api)
    assert [(method, body["name"]) for method, _, body, _ in journal] == [("POST", "A")]
    assert (terminal.asked, terminal.writing, len(terminal.shown)) == (0, 1, 1)
    assert applied.report is not None
    assert applied.report.ok


def test_a_reader_slower_than_the_run_deadline_at_the_prompt_still_gets_the_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]  # the run's clock, moved only by the reader
    with session_on(monkeypatch) as (api, session):
        session.client.deadline = Deadline(session.client.limits.run_deadline, clock=lambda: now[0])

        def slow_yes() -> bool:
            now[0] += session.client.limits.run_deadline + 3600  # an hour longer than the run may take
            return True

        applied = run_apply(session, ApplyRequest(files(tmp_path, a=pipeline_file("A"))), ApplyView(slow_yes))
        journal = writes(api)
    assert [(method, body["name"]) for method, _, body, _ in journal] == [("POST", "A")]
    assert applied.report is not None
    assert applied.report.ok

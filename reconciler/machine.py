"""PURE: the machine-readable outputs beside the plan's JSON — ``validate --format json|github`` and ``apply
--format json`` (docs/contract.md, "Machine-readable output").

Each JSON document carries a ``format_version``: a key may be added within a version, none changes meaning.
The ``github`` format is GitHub's workflow commands (``::error file=F,line=N,title=T::MESSAGE``), one per
problem, so that each shows on its line of the pull request. Their data is escaped as GitHub's own toolkit
escapes it (``%``, CR and LF in the message; those and ``:`` and ``,`` in a property), after the run's secrets
are masked: a file name or a message can neither forge a second command nor end a property early, and an
escaped secret cannot slip past the last mask on the way out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import Problem
from reconciler.plan import Action, Change, Plan
from reconciler.results import Outcome, Pinned, Report, Status
from reconciler.secret import known_secrets, masked
from reconciler.streams import Writer
from reconciler.text import counted, printable

VALIDATION_FORMAT_VERSION = 1
APPLY_FORMAT_VERSION = 1

#: An assistant's status in the apply report beside ``Status``: its change was never sent.
UNCHANGED = "unchanged"  # a noop: the platform matched the file already
NOT_SENT = "not-sent"  # an apply interrupted before its turn


@dataclass(frozen=True)
class Checked:
    """One assistants directory that ``validate`` found valid, and how many assistant files it holds."""

    directory: str
    assistants: int


@dataclass(frozen=True)
class Validation:
    """What ``validate`` found: the valid directories, every problem, and how many files it read in all."""

    valid: tuple[Checked, ...]
    problems: tuple[Problem, ...]
    files_checked: int
    environment_read: bool = True  # False under --no-env: placeholders were accepted unresolved


def problem_data(problem: Problem) -> dict[str, Any]:
    return {"file": problem.file, "line": problem.line, "field": problem.field, "message": problem.message}


def render_validation_json(result: Validation, stream: Writer) -> None:
    data = {
        "format_version": VALIDATION_FORMAT_VERSION,
        "valid": not result.problems,
        "files_checked": result.files_checked,
        "environment_read": result.environment_read,
        "directories": [{"directory": c.directory, "assistants": c.assistants} for c in result.valid],
        "problems": [problem_data(p) for p in result.problems],
    }
    _write_json(data, stream)


def render_validation_github(result: Validation, stream: Writer) -> None:
    """One ``::error`` command per problem (the log shows it, the pull request shows it on its line); a
    valid directory is a plain log line, as in the text format."""
    render_valid_lines(result, stream)
    for problem in result.problems:
        properties = {"file": problem.file, "line": str(problem.line), "title": problem.field or "reconciler"}
        stream.write(annotation("error", properties, problem.message) + "\n")


def render_valid_lines(result: Validation, stream: Writer) -> None:
    """``DIR: 3 assistant files valid`` for each valid directory: the text format's lines, and the github one's."""
    note = "" if result.environment_read else " (placeholders not resolved: --no-env)"
    for checked in result.valid:
        shown = f"{checked.directory}: {assistant_files(checked.assistants)} valid{note}"
        stream.write(printable(shown) + "\n")


def annotation(level: str, properties: Mapping[str, str], message: str) -> str:
    """``::LEVEL k=v,k=v::MESSAGE``, every value escaped (workflow commands, as @actions/core writes them)."""
    listed = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
    return f"::{level} {listed}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    safe = masked(text, known_secrets())
    return printable(safe.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def assistant_files(count: int) -> str:
    return counted(count, "assistant file")


# ---- apply --format json -----------------------------------------------------------------------------------


def render_apply_json(
    plan: Plan,
    report: Report | None,
    stream: Writer,
    *,
    pinned: Pinned | None = None,
    already_applied: bool = False,
) -> None:
    """What apply did to each assistant of the plan, then what the read-back and ``--pin-ids`` found.

    ``report`` None: nothing was sent (no changes, or a saved plan applied already)."""
    outcomes = {o.key: o for o in report.outcomes} if report is not None else {}
    done = report or Report(())
    pins = pinned or Pinned()
    data = {
        "format_version": APPLY_FORMAT_VERSION,
        "ok": done.ok and not pins.refused,
        "already_applied": already_applied,
        "interrupted": done.interrupted,
        "summary": {s.value: sum(o.status == s for o in done.outcomes) for s in Status},
        "assistants": [_assistant(change, outcomes.get(change.key), done) for change in plan.changes],
        "read_back_failed": done.read_back_failed,
        "duplicates": [
            {"key": d.key, "file": d.file, "name": d.name, "ids": list(d.ids), "ours": d.ours}
            for d in done.duplicates
        ],
        "pinned": [{"key": p.key, "file": p.file, "id": p.id, "replaces": p.replaces} for p in pins.written],
        "pin_refused": list(pins.refused),
    }
    _write_json(data, stream)


def _assistant(change: Change, outcome: Outcome | None, report: Report) -> dict[str, Any]:
    unconverged = next((u.fields for u in report.unconverged if u.key == change.key), ())
    return {
        "key": change.key,
        "file": change.file,
        "action": str(change.action),
        "status": _status(change, outcome),
        "id": outcome.id if outcome is not None and outcome.id is not None else change.id,
        "name": change.name,
        "fields": [f.path for f in change.fields],
        "not_converged": list(unconverged),
        "error": _error(change, outcome),
    }


def _status(change: Change, outcome: Outcome | None) -> str:
    if outcome is not None:
        return str(outcome.status)
    return UNCHANGED if change.action == Action.NOOP else NOT_SENT


def _error(change: Change, outcome: Outcome | None) -> dict[str, Any] | None:
    """A failed change's message, located: at its first problem's file and line when the API named fields
    (a 422), else at the assistant's file (line 1: the file as a whole)."""
    if outcome is None or outcome.status != Status.FAILED:
        return None
    first = outcome.problems[0] if outcome.problems else None
    return {
        "message": outcome.message,
        "file": first.file if first else change.file,
        "line": first.line if first else (1 if change.file else None),
        "problems": [problem_data(p) for p in outcome.problems],
    }


def _write_json(data: Mapping[str, Any], stream: Writer) -> None:
    stream.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")

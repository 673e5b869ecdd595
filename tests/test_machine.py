"""The machine-readable outputs (machine.py): validate's JSON and GitHub annotations, apply's JSON report."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from reconciler.errors import Problem
from reconciler.machine import (
    Checked,
    Validation,
    annotation,
    render_apply_json,
    render_validation_github,
    render_validation_json,
)
from reconciler.plan import Action, Change, FieldChange, Plan
from reconciler.results import Outcome, Pin, Pinned, Report, Status, Unconverged
from reconciler.secret import Secret, run_secrets


def github(result: Validation) -> str:
    out = io.StringIO()
    render_validation_github(result, out)
    return out.getvalue()


def test_each_problem_is_one_error_annotation_at_its_file_and_line() -> None:
    result = Validation(
        (Checked("other.d", 2),),
        (
            Problem("d/a.yaml", 10, "speech_speed", "must be between 0.7 and 1.2 (got 5)"),
            Problem("d/b.yaml", 1, "", "not a mapping"),
        ),
        files_checked=4,
    )
    assert github(result) == (
        "other.d: 2 assistant files valid\n"
        "::error file=d/a.yaml,line=10,title=speech_speed::must be between 0.7 and 1.2 (got 5)\n"
        "::error file=d/b.yaml,line=1,title=reconciler::not a mapping\n"
    )


def test_annotation_escapes_data_as_githubs_toolkit_does() -> None:
    # @actions/core: escapeData (% CR LF) for the message, escapeProperty (also : and ,) for properties
    assert annotation("error", {"file": "a%b:c,d\r\ne"}, "50% done\r\nnext: a, b") == (
        "::error file=a%25b%3Ac%2Cd%0D%0Ae::50%25 done%0D%0Anext: a, b"
    )


@pytest.mark.parametrize(
    ("file", "field", "message"),
    [
        ("d/a.yaml,line=99,title=forged", "x", "m"),  # a property of its own, forged in the file name
        ("d/a.yaml::forged message", "x", "m"),  # the end of the properties, forged in the file name
        ("d/a.yaml", "f,line=1::forged", "m"),  # both, in the field
        (
            "d/a.yaml",
            "x",
            "real\n::error file=forged.yaml,line=1::forged",
        ),  # a second command, in the message
        ("d/a.yaml", "x", "real\r::error::forged"),
        ("d/a\n::error::forged.yaml", "x", "m"),
        ("d/a.yaml", "x", "%0A::error::forged"),  # an escape written out, which must stay text
    ],
)
def test_a_hostile_file_name_field_or_message_cannot_forge_an_annotation(
    file: str, field: str, message: str
) -> None:
    written = github(Validation((), (Problem(file, 3, field, message),), files_checked=1))
    (line,) = written.splitlines()  # one line: one command
    assert written == line + "\n"
    assert "\r" not in line
    properties, separator, shown = line.removeprefix("::error ").partition("::")
    assert separator == "::"
    pairs = [pair.split("=", 1) for pair in properties.split(",")]
    assert [(key, unescaped(value)) for key, value in pairs] == [
        ("file", file),
        ("line", "3"),
        ("title", field),
    ]
    assert unescaped(shown) == message  # what GitHub shows is what the problem said, nothing more


def unescaped(text: str) -> str:
    """What GitHub reads from an escaped value (the toolkit's escapes undone, ``%25`` last)."""
    for escape, ch in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escape, ch)
    return text


def test_an_escape_written_in_the_message_is_escaped_itself() -> None:
    written = github(Validation((), (Problem("a.yaml", 1, "x", "%0A::error::forged"),), files_checked=1))
    assert written == "::error file=a.yaml,line=1,title=x::%250A::error::forged\n"


def test_a_secret_is_masked_before_it_is_escaped() -> None:
    # escaped first, "p,w" would become "p%2Cw" and slip past the mask the output stream applies
    with run_secrets():
        Secret("p,w:rd", origin="WEBHOOK_SECRET")
        written = github(Validation((), (Problem("a.yaml", 1, "x", "got p,w:rd"),), files_checked=1))
    assert "p,w" not in written
    assert "p%2Cw" not in written
    assert written == "::error file=a.yaml,line=1,title=x::got (sensitive)\n"


def test_validation_json_lists_every_problem_located() -> None:
    out = io.StringIO()
    result = Validation(
        (Checked("ok.d", 1),), (Problem("d/a.yaml", 4, "mode", "bad"),), 3, environment_read=False
    )
    render_validation_json(result, out)
    assert json.loads(out.getvalue()) == {
        "format_version": 1,
        "valid": False,
        "files_checked": 3,
        "environment_read": False,
        "directories": [{"directory": "ok.d", "assistants": 1}],
        "problems": [{"file": "d/a.yaml", "line": 4, "field": "mode", "message": "bad"}],
    }


def change(key: str, action: Action, assistant_id: int | None = None) -> Change:
    fields = (FieldChange("speech_speed", 1.0, 0.9),) if action != Action.NOOP else ()
    return Change(key, f"d/{key}.yaml", action, assistant_id, key.upper(), {}, fields)


def test_apply_json_names_each_assistant_its_status_and_a_failures_file_and_line() -> None:
    plan = Plan.of(
        [
            change("a", Action.UPDATE, 1),
            change("b", Action.UPDATE, 2),
            change("c", Action.NOOP, 3),
            change("d", Action.CREATE),
            change("e", Action.UPDATE, 5),
        ]
    )
    report = Report(
        (
            Outcome("a", Action.UPDATE, Status.APPLIED, 1),
            Outcome(
                "b",
                Action.UPDATE,
                Status.FAILED,
                2,
                "the API refused (422)",
                (Problem("d/b.yaml", 7, "speech_speed", "must be between 0.7 and 1.2"),),
            ),
            Outcome("d", Action.CREATE, Status.FAILED, None, "the API could not be reached"),
            Outcome("e", Action.UPDATE, Status.APPLIED, 5),
        ),
        unconverged=(Unconverged("e", ("speech_speed",)),),
    )
    out = io.StringIO()
    pinned = Pinned((Pin("a", "d/a.yaml", 1),), ("d/x.yaml is a symbolic link",))
    render_apply_json(plan, report, out, pinned=pinned)
    data = json.loads(out.getvalue())
    assert data["format_version"] == 1
    assert data["ok"] is False
    assert data["summary"] == {"applied": 2, "failed": 2}
    assert [(a["key"], a["action"], a["status"], a["id"]) for a in data["assistants"]] == [
        ("a", "update", "applied", 1),
        ("b", "update", "failed", 2),
        ("c", "noop", "unchanged", 3),
        ("d", "create", "failed", None),
        ("e", "update", "applied", 5),
    ]
    by_key = {a["key"]: a for a in data["assistants"]}
    assert by_key["a"] == {
        "key": "a",
        "file": "d/a.yaml",
        "action": "update",
        "status": "applied",
        "id": 1,
        "name": "A",
        "fields": ["speech_speed"],
        "not_converged": [],
        "error": None,
    }
    assert by_key["b"]["error"] == {
        "message": "the API refused (422)",
        "file": "d/b.yaml",
        "line": 7,
        "problems": [
            {"file": "d/b.yaml", "line": 7, "field": "speech_speed", "message": "must be between 0.7 and 1.2"}
        ],
    }
    assert by_key["d"]["error"] == {
        "message": "the API could not be reached",
        "file": "d/d.yaml",
        "line": 1,
        "problems": [],
    }
    assert by_key["e"]["not_converged"] == ["speech_speed"]
    assert data["pinned"] == [{"key": "a", "file": "d/a.yaml", "id": 1, "replaces": None}]
    assert data["pin_refused"] == ["d/x.yaml is a symbolic link"]


def test_apply_json_of_an_interrupted_apply_says_which_changes_were_never_sent() -> None:
    plan = Plan.of([change("a", Action.UPDATE, 1), change("b", Action.UPDATE, 2)])
    report = Report((Outcome("a", Action.UPDATE, Status.APPLIED, 1),), interrupted=True)
    out = io.StringIO()
    render_apply_json(plan, report, out)
    data = json.loads(out.getvalue())
    assert (data["ok"], data["interrupted"]) == (False, True)
    assert [a["status"] for a in data["assistants"]] == ["applied", "not-sent"]


def test_the_machine_renderers_render_without_the_heavy_libraries() -> None:
    code = """
import io, json, sys
from reconciler.errors import Problem
from reconciler.machine import Validation, render_apply_json, render_validation_github, render_validation_json
from reconciler.plan import Action, Change, Plan
from reconciler.results import Outcome, Report, Status
out = io.StringIO()
result = Validation((), (Problem("a.yaml", 1, "x", "m"),), 1)
render_validation_github(result, out)
render_validation_json(result, out)
plan = Plan.of([Change("a", "a.yaml", Action.UPDATE, 1, "A", {})])
render_apply_json(plan, Report((Outcome("a", Action.UPDATE, Status.APPLIED, 1),)), out)
print(json.dumps(sorted(m for m in ("httpx", "yaml", "deepdiff") if m in sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []

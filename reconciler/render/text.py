"""The terminal's renderings: the plan (like Terraform's), apply's report, and what ``--pin-ids`` wrote.

Every line goes out through ``_Lines``, which escapes it with ``printable`` before any colour is added: no value
(a name, a prompt, a server's message) can end a line, move the cursor or forge a line of the plan.

A field change is shown as the rows ``granular`` makes of it: headings, ``before → after`` pairs, members joined
and left, and text lines whose changed words are marked ``[-so-]`` and ``{+like this+}`` — marks that survive
without colour, a copy into an issue and a screen reader; with colour, lines are red and green and the marked
words also reversed.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan import NO_LONGER_MANAGED, Action, Change, FieldChange, Plan
from reconciler.render.common import (
    DELETE_NOTE,
    OUTSIDE_NOTE,
    OUTSIDE_TITLE,
    SHARED_TITLE,
    SYMBOL,
    UNMANAGED_NAMED,
    detail_rows,
    group_rows,
    heading,
    shared,
    split_by_origin,
    summary_line,
    unmanaged_title,
)
from reconciler.render.granular import ADDED, REMOVED, Part, Row
from reconciler.results import Pinned, Report, Status
from reconciler.streams import Writer
from reconciler.text import counted, printable

_COLOUR = {"+": "\033[32m", "~": "\033[33m", "-": "\033[31m"}
_RESET = "\033[0m"
#: A marked word inside a coloured line: reversed, then back (the line's colour stays on).
_REVERSE, _UNREVERSE = "\033[7m", "\033[27m"
#: How a changed word is marked in text: git's ``--word-diff=plain`` marks, readable with or without colour.
MARKS = {REMOVED: ("[-", "-]"), ADDED: ("{+", "+}")}
#: Field rows sit under their assistant's heading; each level inside a value is indented once more.
_FIELD_INDENT = "      "
_LEVEL = "    "


@dataclass(frozen=True)
class Style:
    colour: bool = False

    def paint(self, symbol: str, text: str) -> str:
        return f"{_COLOUR[symbol]}{text}{_RESET}" if self.colour and symbol in _COLOUR else text


class _Lines:
    """The only way the text renderers write: one line at a time, escaped whole, then coloured.

    Escaping the finished line rather than each value makes it hold for every value a line interpolates,
    including the ones added later: a remote name with a carriage return cannot forge ``Plan: 0 to create``
    in the plan shown before the ``yes`` prompt, and an ESC cannot reach the terminal (only the colours added
    after escaping do).
    """

    def __init__(self, stream: Writer, style: Style) -> None:
        self.stream = stream
        self.style = style

    def __call__(self, text: str = "", symbol: str = "", tail: str = "") -> None:
        """``text`` coloured as ``symbol`` says, then ``tail`` uncoloured."""
        self.stream.write(self.style.paint(symbol, printable(text)) + printable(tail) + "\n")

    def marked(self, prefix: str, parts: tuple[Part, ...], symbol: str) -> None:
        """A line of text whose changed words are marked: each part escaped on its own (``printable`` works
        character by character, so this is the whole line escaped), the marks and colours added after."""
        text = printable(prefix) + "".join(self._part(part) for part in parts)
        self.stream.write(
            self.style.paint(symbol, text.rstrip(" ")) + "\n"
        )  # an empty line: no trailing spaces

    def _part(self, part: Part) -> str:
        if not part.mark:
            return printable(part.text)
        opening, closing = MARKS[part.mark]
        word = f"{opening}{printable(part.text)}{closing}"
        return f"{_REVERSE}{word}{_UNREVERSE}" if self.style.colour else word


def render_text(plan: Plan, stream: Writer, style: Style | None = None, *, forced: bool = False) -> None:
    """The plan; ``forced``: apply was given ``--force``, so the safety thresholds are noted, not warned of."""
    line = _Lines(stream, style or Style())
    if not plan.has_changes:
        line(f"No changes. The platform matches the files ({counted(len(plan.changes), 'assistant')}).")
        for change in plan.changes:
            _noted(change, line)
        _unchanged_notes(plan, line)
        _unmanaged_line(plan, line)
        return
    outside, own = split_by_origin(plan)
    mine = {change.key for change, _ in own}
    grouped = shared(plan)
    if plan.groups:
        line(f"{SHARED_TITLE}:")
        line()
        for group in plan.groups:
            for row in group_rows(plan, group):
                _row(line, row, indent="  ")
        line()
    if outside:
        line(f"{OUTSIDE_TITLE} ({OUTSIDE_NOTE}):")
        line()
        for change, fields in outside:
            _change_lines(line, change, fields, grouped, notes=change.key not in mine)
    if own:
        line("reconciler will make these changes:")
        line()
        for change, fields in own:
            _change_lines(line, change, fields, grouped, notes=True)
    for change in plan.changes:  # unchanged, but with an out-of-date id to pin
        if change.action == Action.NOOP and _noted(change, line):
            line()
    _unchanged_notes(plan, line)
    line(f"Plan: {summary_line(plan)}.")
    if plan.unsafe:
        if forced:
            line(f"Past the safety thresholds, with --force: {'; '.join(plan.unsafe)}.")
        else:
            line(f"Warning: apply will need --force: {'; '.join(plan.unsafe)}.", "-")
    _unmanaged_line(plan, line)


def _row(line: _Lines, row: Row, indent: str = _FIELD_INDENT) -> None:
    prefix = f"{indent}{_LEVEL * row.depth}{row.sign} "
    note = f"  # {row.note}" if row.note else ""
    if row.parts:
        line.marked(prefix, row.parts, row.sign)
    elif row.before is not None and row.after is not None:
        line(f"{prefix}{row.label}: {row.before} → {row.after}{note}", row.sign)
    elif row.value is not None:
        label = f"{row.label}: " if row.label else ""
        line(f"{prefix}{label}{row.value}{note}", "" if row.remark else row.sign)
    else:
        line(f"{prefix}{row.label}:{note}", row.sign)


def _change_lines(
    line: _Lines,
    change: Change,
    fields: tuple[FieldChange, ...],
    grouped: set[tuple[str, str]],
    *,
    notes: bool,
) -> None:
    line(f"  {heading(change)}", SYMBOL[change.action], tail=f"    {change.file}" if change.file else "")
    for item in fields:
        for row in detail_rows(change, item, grouped):
            _row(line, row)
    if change.action == Action.DELETE:
        line(f"{_FIELD_INDENT}({DELETE_NOTE})", "-")
    for note in change.notes if notes else ():
        line(f"{_FIELD_INDENT}note: {note}")
    line()


def _noted(change: Change, line: _Lines) -> bool:
    """An unchanged assistant whose file's id is out of date: its heading and notes, since a person has
    something to do (``apply --pin-ids``) and nothing else would show it. True when shown."""
    if change.pin is None:
        return False
    line(f"  {heading(change)}", tail=f"    {change.file or ''}")
    for note in change.notes:
        line(f"{_FIELD_INDENT}note: {note}")
    return True


def _unchanged_notes(plan: Plan, line: _Lines) -> None:
    """Notes on assistants the plan leaves as they are (a field that left the file): one line each."""
    for change in plan.changes:
        if change.action == Action.NOOP and change.pin is None:  # a pinned one showed all its notes
            for note in change.notes:
                if NO_LONGER_MANAGED in note:  # the others explain a change, and there is none
                    line(f"  note: {change.key}: {note}")


def _unmanaged_line(plan: Plan, line: _Lines) -> None:
    """One uncoloured line: neither a change nor a warning, since the plan leaves them alone."""
    if not plan.unmanaged:
        return
    named = ", ".join(f"{u.name or ''} ({u.id})" for u in plan.unmanaged[:UNMANAGED_NAMED])
    more = len(plan.unmanaged) - UNMANAGED_NAMED
    line(f"{unmanaged_title(plan.unmanaged)}: {named}" + (f" and {more} more" if more > 0 else ""))


def render_report(report: Report, stream: Writer, style: Style | None = None) -> None:
    """What apply did, per assistant, then what the read-back found."""
    line = _Lines(stream, style or Style())
    verbs = {Action.CREATE: "created", Action.UPDATE: "updated", Action.DELETE: "deleted"}
    for outcome in report.outcomes:
        ident = f" (id {outcome.id})" if outcome.id is not None else ""
        if outcome.status == Status.APPLIED:
            note = f": {outcome.message}" if outcome.message else ""
            symbol = SYMBOL[outcome.action]
            line(f"  {symbol} {outcome.key}{ident}: {verbs[outcome.action]}{note}", symbol)
            continue
        line(f"  ! {outcome.key}{ident}: {outcome.action} failed: {outcome.message}", "-")
        for problem in outcome.problems:
            line(f"      {problem}")
    for item in report.unconverged:
        line(
            f"  ! {item.key}: not converged after apply: {', '.join(item.fields)} still differ (did the platform ignore them?)",
            "-",
        )
    for duplicate in report.duplicates:
        line(f"  ! {duplicate.key}: {duplicate}", "-")
    if report.read_back_failed is not None:
        line(f"  ! read back failed: {report.read_back_failed}", "-")
    line()
    line(_report_summary(report))


def _report_summary(report: Report) -> str:
    counts = {s: sum(o.status == s for o in report.outcomes) for s in Status}
    done = f"{counts[Status.APPLIED]} applied, {counts[Status.FAILED]} failed"
    if report.interrupted:
        return f"Apply interrupted: {done}; nothing more was sent, and nothing was read back."
    if report.read_back_failed is not None:
        return f"Apply: {done}; read back: failed."
    duplicates = len(report.duplicates)
    found = f", {counted(duplicates, 'duplicate')}" if duplicates else ""
    return f"Apply: {done}; read back: {len(report.unconverged)} not converged{found}."


def render_pins(pinned: Pinned, stream: Writer, style: Style | None = None) -> None:
    """What ``apply --pin-ids`` wrote: one line per file pinned, one per file left alone and why."""
    line = _Lines(stream, style or Style())
    for pin in pinned.written:
        line(f"pinned id {pin.id} in {pin.file}" + (f" (was {pin.replaces})" if pin.replaces else ""))
    for refusal in pinned.refused:
        line(f"! {refusal}", "-")

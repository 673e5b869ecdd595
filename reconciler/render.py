"""Renderers over one Plan, each writing to a given stream: text (like Terraform's), markdown (a PR comment),
JSON (the contract's plan format). Values go through ``Change.masked``, so no renderer can print a secret.

Names, keys, prompts, catalog labels and server messages come from the platform, which may be hostile (or
merely careless). The text renderers write only through ``_Lines``, which escapes every line whole with
``printable``: no value can end a line, move the cursor or reorder the text. The markdown renderer puts every
value through one of three escapes, one per context (``_md_text``, ``_md_code``, ``_md_html``), each of which
clips it first, so a value can neither add markup nor push the comment past its limit.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.plan import NO_LONGER_MANAGED, ORIGIN_PLATFORM, Action, Change, FieldChange, Plan, Unmanaged
from reconciler.results import Pinned, Report, Status
from reconciler.streams import Writer
from reconciler.text import printable

MARKER = "<!-- reconciler-plan -->"
MARKDOWN_LIMIT = 60_000
SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.NOOP: "="}
_COLOUR = {"+": "\033[32m", "~": "\033[33m", "-": "\033[31m"}
_RESET = "\033[0m"
_LONG = 60
#: How many unmanaged assistants the text plan names on its one line (the JSON plan lists every one).
UNMANAGED_NAMED = 5
#: And how many the markdown lists, within a sixth of the comment's limit.
UNMANAGED_LISTED = 100
#: The longest value the markdown shows whole: longer than any name the API accepts (255), so only a value no
#: honest platform returns is clipped; clipped, each value has a bounded share of the comment.
MARKDOWN_VALUE_LIMIT = 300


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


def summary_line(plan: Plan) -> str:
    s = plan.summary
    return (
        f"{s[Action.CREATE]} to create, {s[Action.UPDATE]} to update, {s[Action.DELETE]} to delete, "
        f"{s[Action.NOOP]} unchanged"
    )


def value_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _is_long(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or len(value) > _LONG)


@dataclass(frozen=True)
class _Shown:
    """One field change made printable: secrets masked, names beside ids, long text as a line diff."""

    before: str
    after: str
    note: str
    text_diff: tuple[str, ...] | None  # unified diff of long text (file headers dropped), else None


def _shown(change: Change, item: FieldChange, *, clip: int | None = None) -> _Shown:
    before = change.masked(item.before, item.path)
    after = change.shown_after(item)
    note = f"  # {item.reason}" if item.reason else ""
    text_diff = None
    if change.action != Action.CREATE and item.before_known and (_is_long(before) or _is_long(after)):
        old, new = (before or "").splitlines(), (after or "").splitlines()
        lines = difflib.unified_diff(old, new, lineterm="", n=1)
        text_diff = tuple(line for line in lines if not line.startswith(("---", "+++")))
    shown_before = (
        value_text(before) + _named(item.before_name, clip)
        if item.before_known
        else "(not returned by the API)"
    )
    return _Shown(shown_before, value_text(after) + _named(item.after_name, clip), note, text_diff)


def field_lines(change: Change, item: FieldChange) -> Iterator[str]:
    """One field change as lines: ``path: before → after``, or a line diff for long text."""
    shown = _shown(change, item)
    if change.action == Action.CREATE:
        yield f"+ {item.path}: {shown.after}"
    elif shown.text_diff is not None:
        yield f"~ {item.path}:{shown.note}"
        yield from (f"    {line}" for line in shown.text_diff)
    else:
        yield f"~ {item.path}: {shown.before} → {shown.after}{shown.note}"


def diff_lines(change: Change, item: FieldChange) -> Iterator[str]:
    """One field change as a ```diff block shows it on GitHub: the old value red, the new one green."""
    shown = _shown(change, item, clip=MARKDOWN_VALUE_LIMIT)
    if change.action == Action.CREATE:
        yield f"+ {item.path}: {shown.after}"
    elif shown.text_diff is not None:
        yield f"@@ {item.path} @@{shown.note}"
        yield from (line for line in shown.text_diff if not line.startswith("@@ "))
    else:
        yield f"- {item.path}: {shown.before}"
        yield f"+ {item.path}: {shown.after}{shown.note}"


def _named(names: Any, clip: int | None = None) -> str:
    """`` (Maya)`` beside an id, ``(lookup_order, crm_create_lead)`` beside a list of ids; each name clipped
    to ``clip`` characters when given (catalog labels come from the platform)."""
    if isinstance(names, list):
        known = [_clipped(n, clip) for n in names if n]
        return f" ({', '.join(known)})" if known else ""
    return f" ({_clipped(names, clip)})" if names else ""


def _clipped(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut: ``abc… (1200 more characters)``."""
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def heading(change: Change) -> str:
    name = f' "{change.name}"' if change.name else ""
    ident = f" (id {change.id})" if change.id is not None else ""
    return f"{SYMBOL[change.action]} {change.action} {change.key}{name}{ident}"


#: The heading of the fields changed on the platform while their files stayed as at ``plan --baseline``.
OUTSIDE_TITLE = "Changed outside the repository"
OUTSIDE_NOTE = "their files are as they were at the baseline; apply restores the files' values"

Shown = tuple[Change, tuple[FieldChange, ...]]


def split_by_origin(plan: Plan) -> tuple[list[Shown], list[Shown]]:
    """(what changed outside the repository, the plan's own changes): each change with the field changes shown
    in that part. A plan made without a baseline marks no origin, so all of it is its own."""
    outside: list[Shown] = []
    own: list[Shown] = []
    for change in (c for c in plan.changes if c.action != Action.NOOP):
        theirs = tuple(f for f in change.fields if f.origin == ORIGIN_PLATFORM)
        ours = tuple(f for f in change.fields if f.origin != ORIGIN_PLATFORM)
        if theirs:
            outside.append((change, theirs))
        if ours or not theirs:  # a delete has no fields: it is the plan's own
            own.append((change, ours))
    return outside, own


def render_text(plan: Plan, stream: Writer, style: Style | None = None) -> None:
    line = _Lines(stream, style or Style())
    if not plan.has_changes:
        line(f"No changes. The platform matches the files ({len(plan.changes)} assistants).")
        for change in plan.changes:
            _noted(change, line)
        _unchanged_notes(plan, line)
        _unmanaged_line(plan, line)
        return
    outside, own = split_by_origin(plan)
    mine = {change.key for change, _ in own}
    if outside:
        line(f"{OUTSIDE_TITLE} ({OUTSIDE_NOTE}):")
        line()
        for change, fields in outside:
            _change_lines(line, change, fields, notes=change.key not in mine)
    if own:
        line("reconciler will make these changes:")
        line()
        for change, fields in own:
            _change_lines(line, change, fields, notes=True)
    for change in plan.changes:  # unchanged, but with an out-of-date id to pin
        if change.action == Action.NOOP and _noted(change, line):
            line()
    _unchanged_notes(plan, line)
    line(f"Plan: {summary_line(plan)}.")
    if plan.unsafe:
        line(f"Warning: apply will need --force: {'; '.join(plan.unsafe)}.", "-")
    _unmanaged_line(plan, line)


def _noted(change: Change, line: _Lines) -> bool:
    """An unchanged assistant whose file's id is out of date: its heading and notes, since a person has
    something to do (``apply --pin-ids``) and nothing else would show it. True when shown."""
    if change.pin is None:
        return False
    line(f"  {heading(change)}", tail=f"    {change.file or ''}")
    for note in change.notes:
        line(f"      note: {note}")
    return True


def _unchanged_notes(plan: Plan, line: _Lines) -> None:
    """Notes on assistants the plan leaves as they are (a field that left the file): one line each."""
    for change in plan.changes:
        if change.action == Action.NOOP and change.pin is None:  # a pinned one showed all its notes
            for note in change.notes:
                if NO_LONGER_MANAGED in note:  # the others explain a change, and there is none
                    line(f"  note: {change.key}: {note}")


def unchanged_notes_markdown(plan: Plan) -> str:
    """The notes a person must act on although nothing changes: an out-of-date id to pin, a field no longer
    managed (the text shows the same, ``_noted`` and ``_unchanged_notes``)."""
    notes = [
        f"- note: {_md_text(c.key)}: {_md_text(n)}"
        for c in plan.changes
        if c.action == Action.NOOP
        for n in c.notes
        if c.pin is not None or NO_LONGER_MANAGED in n
    ]
    return "".join(f"{n}\n" for n in notes[:UNMANAGED_LISTED])


def _change_lines(line: _Lines, change: Change, fields: tuple[FieldChange, ...], *, notes: bool) -> None:
    line(f"  {heading(change)}", SYMBOL[change.action], tail=f"    {change.file or ''}")
    for item in fields:
        for text in field_lines(change, item):
            line(f"      {text}", text[0])
    if change.action == Action.DELETE:
        line("      (its file is gone and this repository owns it)", "-")
    for note in change.notes if notes else ():
        line(f"      note: {note}")
    line()


def unmanaged_title(unmanaged: tuple[Unmanaged, ...]) -> str:
    count = len(unmanaged)
    one = count == 1
    return f"{count} assistant{'' if one else 's'} on the platform {'is' if one else 'are'} not managed by any file"


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
    found = f", {duplicates} duplicate{'s' if duplicates != 1 else ''}" if duplicates else ""
    return f"Apply: {done}; read back: {len(report.unconverged)} not converged{found}."


def render_pins(pinned: Pinned, stream: Writer, style: Style | None = None) -> None:
    """What ``apply --pin-ids`` wrote: one line per file pinned, one per file left alone and why."""
    line = _Lines(stream, style or Style())
    for pin in pinned.written:
        line(f"pinned id {pin.id} in {pin.file}" + (f" (was {pin.replaces})" if pin.replaces else ""))
    for refusal in pinned.refused:
        line(f"! {refusal}", "-")


def render_pins_markdown(pinned: Pinned, stream: Writer) -> None:
    """The same for the job summary: each line a list item, the paths as code."""
    if not pinned.written and not pinned.refused:
        return
    stream.write("\n")
    for pin in pinned.written:
        was = f" (was {pin.replaces})" if pin.replaces else ""
        stream.write(f"- pinned id {pin.id} in {_md_code(pin.file)}{was}\n")
    for refusal in pinned.refused:
        stream.write(f"- **not pinned**: {_md_text(refusal)}\n")


def render_report_markdown(plan: Plan, report: Report, stream: Writer) -> None:
    """The apply's result for a CI job summary: a table of outcomes, problems and read-back findings."""
    failed = [o for o in report.outcomes if o.status != Status.APPLIED]
    title = "applied" if report.ok else "finished with problems"
    stream.write(
        f"### reconciler apply {title}: {len(report.outcomes) - len(failed)} applied, {len(failed)} failed, "
        f"{len(report.unconverged)} not converged\n\n"
    )
    names = {c.key: c.name or "" for c in plan.changes}
    if report.outcomes:
        stream.write("| result | action | key | name | id |\n|---|---|---|---|---|\n")
        for o in report.outcomes:
            mark = "ok" if o.status == Status.APPLIED else "**failed**"
            key, name = _md_code(o.key, cell=True), _md_text(names.get(o.key, ""))
            stream.write(f"| {mark} | {o.action} | {key} | {name} | {o.id or ''} |\n")
    for o in failed:
        stream.write(f"\n**{_md_text(o.key)}**: {_md_text(o.message)}\n")
        stream.write("".join(f"- {_md_code(str(p))}\n" for p in o.problems))
    for item in report.unconverged:
        fields = ", ".join(_md_code(f) for f in item.fields)
        stream.write(f"\n**{_md_text(item.key)}** did not converge: {fields} still differ\n")
    for duplicate in report.duplicates:
        stream.write(f"\n**{_md_text(duplicate.key)}**: {_md_text(str(duplicate))}\n")
    if report.read_back_failed is not None:
        stream.write(f"\n**read back failed**: {_md_text(report.read_back_failed)}\n")
    if report.interrupted:
        stream.write("\n**interrupted**: nothing more was sent, and nothing was read back\n")


def render_json(plan: Plan, stream: Writer) -> None:
    json.dump(plan.data(), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


#: What could start markup inside a paragraph or a table cell: an escape, a code span, emphasis, strikethrough,
#: a link, an image or a footnote, a cell break. ``&``, ``<`` and ``>`` (entities, HTML, autolinks) become
#: entities instead. Block markup (headings, lists, quotes) needs a line start, which no value gets: its line
#: breaks are escaped.
_MD_PUNCTUATION = re.compile(r"[\\`*_\[\]~|]")
#: What GFM's autolink extension turns into a link: ``https://…``, ``www.…``, ``name@domain.tld``.
_MD_AUTOLINK = re.compile(r"://|(?i:www)\.|@")
#: ``@`` followed by an empty HTML comment, which GitHub renders as nothing: the e-mail autolink and the
#: @mention both need the ``@`` and the name after it in one run of text, and backslash escapes do not stop them.
_AT = "@<!-- -->"


def _md_text(value: str) -> str:
    """``value`` as literal text in a paragraph or a table cell: clipped, printable, every markup character
    escaped, autolinks broken. ``[Approve](https://attacker.example)`` shows as exactly that, and links nowhere."""
    text = html.escape(_MD_PUNCTUATION.sub(r"\\\g<0>", _md_value(value)), quote=False)
    return _MD_AUTOLINK.sub(_unlinked, text)


def _unlinked(match: re.Match[str]) -> str:
    """``\\://``, ``www\\.``: an escaped character is not part of an autolink; ``@`` needs more (``_AT``)."""
    found = match.group()
    if found == "@":
        return _AT
    return "\\://" if found == "://" else f"{found[:3]}\\."


def _md_code(value: str, *, cell: bool = False) -> str:
    """``value`` as a code span: no markup works inside one. Only a run of backticks as long as the span's
    delimiter would end it, so the delimiter is one backtick longer than any run inside; in a table cell, a
    ``|`` would end the cell, so it is escaped (GFM honours ``\\|`` even inside code)."""
    text = _md_value(value)
    fence = _fence_for(text, shortest=1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "  # the parser strips one space each side, which lets the value touch the delimiter
    return fence + (text.replace("|", "\\|") if cell else text) + fence


def _md_html(value: str) -> str:
    """``value`` as text inside an HTML element (``<summary>``), where markdown is not parsed: clipped,
    printable (a blank line would end the HTML block), HTML-escaped, @mentions broken."""
    return html.escape(_md_value(value), quote=False).replace("@", _AT)


def _md_value(value: str) -> str:
    """Every value the comment shows starts here: clipped, so the comment's bound holds whatever the platform
    returns, and on one line, so it cannot start a heading, a list or a table row of its own."""
    return printable(_clipped(value, MARKDOWN_VALUE_LIMIT))


def _md_section(change: Change, fields: tuple[FieldChange, ...], *, notes: bool = True) -> str:
    count = len(fields)
    title = f"{SYMBOL[change.action]} {change.action} <code>{_md_html(change.key)}</code>"
    if change.name:
        title += f" — {_md_html(change.name)}"
    lines = [line for item in fields for line in diff_lines(change, item)]
    lines += [f"# note: {note}" for note in change.notes] if notes else []
    # inside the fence only a closing fence is markup, and none in the text is as long as ours; one line per
    # line, so a prompt cannot add a line
    body = "\n".join(printable(line) for line in lines)
    fence = _fence_for(body, shortest=3)
    noun = f"field{'s' if count != 1 else ''}"
    return (
        f"<details><summary>{title} ({count} {noun})</summary>\n\n{fence}diff\n{body}\n{fence}\n</details>\n"
    )


def _fence_for(text: str, *, shortest: int) -> str:
    """A run of backticks longer than any in ``text`` (CommonMark: only a run at least as long closes it)."""
    return "`" * max(shortest, max((len(run) for run in re.findall("`+", text)), default=0) + 1)


def render_markdown(plan: Plan, stream: Writer, *, limit: int = MARKDOWN_LIMIT) -> None:
    """A PR comment: a summary table, then one collapsible section per assistant, all under ``limit``; with a
    baseline, the fields changed outside the repository come first, in sections of their own.

    A plan too big for that keeps as many sections as fit; a table too big becomes a list of keys per action.
    """
    changed = [c for c in plan.changes if c.action != Action.NOOP]
    text = f"{MARKER}\n### reconciler plan: {summary_line(plan)}\n\n"
    if plan.unsafe:
        text += f"> **apply will need `--force`**: {'; '.join(_md_text(r) for r in plan.unsafe)}\n\n"
    unmanaged = _md_unmanaged(plan.unmanaged or (), limit // 6)
    notes = unchanged_notes_markdown(plan)
    if not changed:
        stream.write(text + "No changes: the platform matches the files.\n" + notes + unmanaged)
        return
    outside, own = split_by_origin(plan)
    text += _md_outside(outside, {c.key for c, _ in own}, limit // 4)
    table = _md_table(changed)
    text += table if len(text) + len(table) < limit // 2 else _md_key_list(changed, limit // 2)
    shown = 0
    for change, fields in own:
        section = _md_section(change, fields)
        if len(text) + len(section) > limit - 200 - len(unmanaged):
            break
        text += section
        shown += 1
    if shown < len(own):
        text += (
            f"\n… {len(own) - shown} more assistants are not shown here; the JSON plan has every change.\n"
        )
    stream.write(text + notes + unmanaged)


def _md_outside(outside: list[Shown], own: set[str], budget: int) -> str:
    """The fields changed outside the repository, one section per assistant, as many as fit in ``budget``."""
    if not outside:
        return ""
    text = f"#### {OUTSIDE_TITLE}\n\nThese fields differ on the platform, but {OUTSIDE_NOTE}.\n\n"
    shown = 0
    for change, fields in outside:
        section = _md_section(change, fields, notes=change.key not in own)
        if len(text) + len(section) > budget:
            break
        text += section
        shown += 1
    if shown < len(outside):
        text += f"\n… {len(outside) - shown} more assistants changed outside the repository; the JSON plan has every change.\n"
    return text + "\n#### All changes\n\n"


def _md_unmanaged(unmanaged: tuple[Unmanaged, ...], budget: int) -> str:
    """A collapsed list of the assistants no file manages: the first ones that fit in ``budget``."""
    if not unmanaged:
        return ""
    items = [f"- {_md_text(u.name or '')} (id {u.id})" for u in unmanaged[:UNMANAGED_LISTED]]
    listed = _fitting(items, budget)
    more = (
        f"- … and {len(unmanaged) - len(listed)} more (the JSON plan lists every one)\n"
        if len(listed) < len(unmanaged)
        else ""
    )
    return (
        f"\n<details><summary>{unmanaged_title(unmanaged)}</summary>\n\n"
        + "".join(f"{item}\n" for item in listed)
        + more
        + "\n</details>\n"
    )


def _md_table(changed: list[Change]) -> str:
    rows = ["| action | key | name | id | fields |", "|---|---|---|---|---|"]
    for c in changed:
        fields = ", ".join(_md_code(f.path, cell=True) for f in c.fields[:8]) + (
            " …" if len(c.fields) > 8 else ""
        )
        key, name = _md_code(c.key, cell=True), _md_text(c.name or "")
        rows.append(f"| {SYMBOL[c.action]} {c.action} | {key} | {name} | {c.id or ''} | {fields} |")
    return "\n".join(rows) + "\n\n"


def _md_key_list(changed: list[Change], budget: int) -> str:
    """Per action, its first 50 keys, as many as fit in a third of ``budget``; then how many more."""
    text = ""
    for action in (Action.CREATE, Action.UPDATE, Action.DELETE):
        keys = [c.key for c in changed if c.action == action]
        if keys:
            listed = _fitting([_md_code(k) for k in keys[:50]], budget // 3)
            more = f" and {len(keys) - len(listed)} more" if len(keys) > len(listed) else ""
            text += f"- **{action}** ({len(keys)}): {', '.join(listed)}{more}\n"
    return text + "\n"


def _fitting(items: list[str], budget: int) -> list[str]:
    """The first ``items`` whose total length (with separators) stays within ``budget``."""
    kept: list[str] = []
    used = 0
    for item in items:
        used += len(item) + 2
        if used > budget:
            break
        kept.append(item)
    return kept

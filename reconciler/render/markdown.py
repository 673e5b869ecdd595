"""The markdown renderings, for GitHub: the plan as a pull request comment, apply's report and the pins for
a job summary.

The comment reads top down: the summary, the table of changed assistants, any warning, then one collapsed section
per assistant holding its field changes as a ``diff`` block (GitHub colours the removed and added lines; changed
words are marked ``[-so-]`` and ``{+like this+}`` inside them); with ``plan --baseline``, the fields changed outside
the repository have sections of their own before the pull request's.

Every value goes through one of three escapes, one per context (``_md_text``, ``_md_code``, ``_md_html``), each of
which clips it first; inside a ``diff`` block every row is clipped and escaped to one line, the block's fence is
longer than any run of backticks inside it, and a field has a bounded number of rows: no value can add markup or
push the comment past its limit, whatever the platform returns.
"""

from __future__ import annotations

import html
import re

from reconciler.plan import NO_LONGER_MANAGED, Action, Change, FieldChange, Plan, Unmanaged
from reconciler.render.common import (
    DELETE_NOTE,
    OUTSIDE_NOTE,
    OUTSIDE_TITLE,
    SHARED_TITLE,
    SYMBOL,
    UNMANAGED_LISTED,
    Shown,
    bookkeeping_only,
    clipped,
    detail_rows,
    group_rows,
    shared,
    split_by_origin,
    summary_line,
    unmanaged_title,
)
from reconciler.render.granular import Row
from reconciler.render.text import MARKS
from reconciler.results import Pinned, Report, Status
from reconciler.streams import Writer
from reconciler.text import counted, printable

MARKER = "<!-- reconciler-plan -->"
MARKDOWN_LIMIT = 60_000
#: The longest value the markdown shows whole: longer than any name the API accepts (255), so only a value no
#: honest platform returns is clipped; clipped, each value has a bounded share of the comment.
MARKDOWN_VALUE_LIMIT = 300
#: The most rows one field shows (a 500-line prompt created): the rest is counted; the JSON plan has it all.
MARKDOWN_ROWS_PER_FIELD = 60


def render_markdown(plan: Plan, stream: Writer, *, limit: int = MARKDOWN_LIMIT, forced: bool = False) -> None:
    """A PR comment within ``limit`` characters: the summary and its table first, then one collapsible section
    per assistant; with a baseline, the fields changed outside the repository come first, in sections of
    their own. ``forced``: apply was given ``--force``, so the thresholds are not a warning.

    A plan too big for that keeps as many sections as fit; a table too big becomes a list of keys per action.
    """
    changed = [c for c in plan.changes if c.action != Action.NOOP]
    text = f"{MARKER}\n### reconciler plan: {summary_line(plan)}\n\n"
    unmanaged = _md_unmanaged(plan.unmanaged or (), limit // 6)
    notes = unchanged_notes_markdown(plan)
    if not changed:
        stream.write(text + "No changes: the platform matches the files.\n" + notes + unmanaged)
        return
    table = _md_table(changed)
    text += table if len(text) + len(table) < limit // 2 else _md_key_list(changed, limit // 2)
    if plan.unsafe and not forced:
        text += f"> **apply will need `--force`**: {'; '.join(_md_text(r) for r in plan.unsafe)}\n\n"
    outside, own = split_by_origin(plan)
    grouped = shared(plan)
    text += _md_groups(plan, limit // 4)
    text += _md_outside(outside, {c.key for c, _ in own}, grouped, limit // 4)
    shown = 0
    for change, fields in own:
        section = _md_section(change, fields, grouped)
        if len(text) + len(section) > limit - 200 - len(unmanaged):
            break
        text += section
        shown += 1
    if shown < len(own):
        hidden = len(own) - shown
        verb = "is" if hidden == 1 else "are"
        text += f"\n… {counted(hidden, 'more assistant')} {verb} not shown here; the JSON plan has every change.\n"
    stream.write(text + notes + unmanaged)


def unchanged_notes_markdown(plan: Plan) -> str:
    """The notes a person must act on although nothing changes: an out-of-date id to pin, a field no longer
    managed (the text shows the same)."""
    notes = [
        f"- note: {_md_text(c.key)}: {_md_text(n)}"
        for c in plan.changes
        if c.action == Action.NOOP
        for n in c.notes
        if c.pin is not None or NO_LONGER_MANAGED in n
    ]
    return "".join(f"{n}\n" for n in notes[:UNMANAGED_LISTED])


def _md_groups(plan: Plan, budget: int) -> str:
    """The changes shared by several assistants, once each, in one diff block of at most ``budget``."""
    if not plan.groups:
        return ""
    lines: list[str] = []
    used = 0
    for index, group in enumerate(plan.groups):
        block = _capped(group_rows(plan, group), group.path)
        used += sum(len(line) + 1 for line in block)
        if used > budget:
            lines.append(
                f"# … {counted(len(plan.groups) - index, 'more shared change')}: the JSON plan's groups"
            )
            break
        lines += block
    body = "\n".join(printable(line).rstrip(" ") for line in lines)
    fence = _fence_for(body, shortest=3)
    return f"#### {SHARED_TITLE}\n\n{fence}diff\n{body}\n{fence}\n\n"


def _md_outside(outside: list[Shown], own: set[str], grouped: set[tuple[str, str]], budget: int) -> str:
    """The fields changed outside the repository, one section per assistant, as many as fit in ``budget``."""
    if not outside:
        return ""
    text = f"#### {OUTSIDE_TITLE}\n\nThese fields differ on the platform, but {OUTSIDE_NOTE}.\n\n"
    shown = 0
    for change, fields in outside:
        section = _md_section(change, fields, grouped, notes=change.key not in own)
        if len(text) + len(section) > budget:
            break
        text += section
        shown += 1
    if shown < len(outside):
        more = counted(len(outside) - shown, "more assistant")
        text += f"\n… {more} changed outside the repository; the JSON plan has every change.\n"
    return text + "\n#### All changes\n\n"


def _md_section(
    change: Change, fields: tuple[FieldChange, ...], grouped: set[tuple[str, str]], *, notes: bool = True
) -> str:
    """One assistant: its heading as the summary of a collapsed section, its field rows as a diff block."""
    title = f"{SYMBOL[change.action]} {change.action} <code>{_md_html(change.key)}</code>"
    if change.name:
        title += f" — {_md_html(change.name)}"
    lines = [line for item in fields for line in _field_lines(change, item, grouped)]
    if change.action == Action.DELETE:
        ident = f" {change.id}" if change.id is not None else ""
        lines.append(f"- assistant{ident} {_quoted(change.name)}".rstrip())
        lines.append(f"# {DELETE_NOTE}")
    lines += [f"# note: {note}" for note in change.notes] if notes else []
    # inside the fence only a closing fence is markup, and none in the text is as long as ours; one line per
    # line, so a prompt cannot add a line
    body = "\n".join(printable(line).rstrip(" ") for line in lines)
    fence = _fence_for(body, shortest=3)
    return f"<details><summary>{title} ({_what(change, fields)})</summary>\n\n{fence}diff\n{body}\n{fence}\n</details>\n"


def _quoted(name: str | None) -> str:
    return f'"{_clip(name)}"' if name else ""


def _what(change: Change, fields: tuple[FieldChange, ...]) -> str:
    """The section's summary in words: how many fields, or what a change without visible fields does."""
    if change.action == Action.DELETE:
        return "deleted"
    if bookkeeping_only(change):
        return "bookkeeping only: records that this repository manages it"
    return counted(len(fields), "field")


def _field_lines(change: Change, item: FieldChange, grouped: set[tuple[str, str]]) -> list[str]:
    """A field's rows as diff lines, the sign in the first column (GitHub colours by it)."""
    return _capped(detail_rows(change, item, grouped), item.path)


def _capped(rows: list[Row], path: str) -> list[str]:
    """The diff lines of at most ``MARKDOWN_ROWS_PER_FIELD`` of a field's rows (a shared change's too), then
    how many more there are."""
    lines = [line for row in rows[:MARKDOWN_ROWS_PER_FIELD] for line in _diff_lines(row)]
    if len(rows) > MARKDOWN_ROWS_PER_FIELD:
        more = counted(len(rows) - MARKDOWN_ROWS_PER_FIELD, "more row")
        lines.append(f"  {'  ' * rows[0].depth}({more} of {path}: the JSON plan has the whole value)")
    return lines


def _diff_lines(row: Row) -> list[str]:
    indent = "  " * row.depth
    note = f"  # {row.note}" if row.note else ""
    if row.parts:
        words = "".join(
            f"{MARKS[p.mark][0]}{_clip(p.text)}{MARKS[p.mark][1]}" if p.mark else _clip(p.text)
            for p in row.parts
        )
        return [f"{row.sign} {indent}{words}"]
    if row.before is not None and row.after is not None:
        return [
            f"- {indent}{row.label}: {_clip(row.before)}",
            f"+ {indent}{row.label}: {_clip(row.after)}{note}",
        ]
    if row.value is not None:
        label = f"{row.label}: " if row.label else ""
        return [f"{row.sign} {indent}{label}{_clip(row.value)}{note}"]
    return [f"{row.sign} {indent}{row.label}:{note}"]


def _clip(text: str) -> str:
    return clipped(text, MARKDOWN_VALUE_LIMIT)


def _fence_for(text: str, *, shortest: int) -> str:
    """A run of backticks longer than any in ``text`` (CommonMark: only a run at least as long closes it)."""
    return "`" * max(shortest, max((len(run) for run in re.findall("`+", text)), default=0) + 1)


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
    return printable(clipped(value, MARKDOWN_VALUE_LIMIT))

"""Renderers over one Plan, each writing to a given stream: text (like Terraform's), markdown (a PR comment),
JSON (the contract's plan format). Values go through ``Change.masked``, so no renderer can print a secret.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from reconciler.apply import Report
from reconciler.diff import FieldChange
from reconciler.plan import Change, Plan


class Writer(Protocol):
    """Where a renderer writes: any text stream (a file, stdout, the CLI's redacting wrapper)."""

    def write(self, text: str, /) -> int: ...


MARKER = "<!-- reconciler-plan -->"
MARKDOWN_LIMIT = 60_000
SYMBOL = {"create": "+", "update": "~", "delete": "-", "noop": "="}
_COLOUR = {"+": "\033[32m", "~": "\033[33m", "-": "\033[31m"}
_RESET = "\033[0m"
_LONG = 60


@dataclass(frozen=True)
class Style:
    colour: bool = False

    def paint(self, symbol: str, text: str) -> str:
        return f"{_COLOUR[symbol]}{text}{_RESET}" if self.colour and symbol in _COLOUR else text


def summary_line(plan: Plan) -> str:
    s = plan.summary
    return f"{s['create']} to create, {s['update']} to update, {s['delete']} to delete, {s['noop']} unchanged"


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


def _shown(change: Change, item: FieldChange) -> _Shown:
    before = change.masked(item.before, item.path)
    after = change.masked(item.after, item.path)
    note = f"  # {item.reason}" if item.reason else ""
    text_diff = None
    if change.action != "create" and item.before_known and (_is_long(before) or _is_long(after)):
        old, new = (before or "").splitlines(), (after or "").splitlines()
        lines = difflib.unified_diff(old, new, lineterm="", n=1)
        text_diff = tuple(line for line in lines if not line.startswith(("---", "+++")))
    shown_before = (
        value_text(before) + _named(item.before_name) if item.before_known else "(not returned by the API)"
    )
    return _Shown(shown_before, value_text(after) + _named(item.after_name), note, text_diff)


def field_lines(change: Change, item: FieldChange) -> Iterator[str]:
    """One field change as lines: ``path: before → after``, or a line diff for long text."""
    shown = _shown(change, item)
    if change.action == "create":
        yield f"+ {item.path}: {shown.after}"
    elif shown.text_diff is not None:
        yield f"~ {item.path}:{shown.note}"
        yield from (f"    {line}" for line in shown.text_diff)
    else:
        yield f"~ {item.path}: {shown.before} → {shown.after}{shown.note}"


def diff_lines(change: Change, item: FieldChange) -> Iterator[str]:
    """One field change as a ```diff block shows it on GitHub: the old value red, the new one green."""
    shown = _shown(change, item)
    if change.action == "create":
        yield f"+ {item.path}: {shown.after}"
    elif shown.text_diff is not None:
        yield f"@@ {item.path} @@{shown.note}"
        yield from (line for line in shown.text_diff if not line.startswith("@@ "))
    else:
        yield f"- {item.path}: {shown.before}"
        yield f"+ {item.path}: {shown.after}{shown.note}"


def _named(names: Any) -> str:
    """`` (Maya)`` beside an id, ``(lookup_order, crm_create_lead)`` beside a list of ids."""
    if isinstance(names, list):
        known = [n for n in names if n]
        return f" ({', '.join(known)})" if known else ""
    return f" ({names})" if names else ""


def heading(change: Change) -> str:
    name = f' "{change.name}"' if change.name else ""
    ident = f" (id {change.id})" if change.id is not None else ""
    return f"{SYMBOL[change.action]} {change.action} {change.key}{name}{ident}"


def render_text(plan: Plan, stream: Writer, style: Style | None = None) -> None:
    style = style or Style()
    if not plan.has_changes:
        stream.write(f"No changes. The platform matches the files ({len(plan.changes)} assistants).\n")
        return
    stream.write("reconciler will make these changes:\n\n")
    for change in plan.changes:
        if change.action == "noop":
            continue
        symbol = SYMBOL[change.action]
        stream.write(style.paint(symbol, f"  {heading(change)}") + f"    {change.file or ''}\n")
        for item in change.fields:
            for line in field_lines(change, item):
                stream.write(style.paint(line[0], f"      {line}") + "\n")
        if change.action == "delete":
            stream.write(style.paint("-", "      (its file is gone and this repository owns it)") + "\n")
        for note in change.notes:
            stream.write(f"      note: {note}\n")
        stream.write("\n")
    stream.write(f"Plan: {summary_line(plan)}.\n")
    if plan.unsafe:
        stream.write(style.paint("-", f"Warning: apply will need --force: {'; '.join(plan.unsafe)}.") + "\n")


def render_report(report: Report, stream: Writer, style: Style | None = None) -> None:
    """What apply did, per assistant, then what the read-back found."""
    style = style or Style()
    verbs = {"create": "created", "update": "updated", "delete": "deleted"}
    for outcome in report.outcomes:
        ident = f" (id {outcome.id})" if outcome.id is not None else ""
        if outcome.status == "applied":
            note = f": {outcome.message}" if outcome.message else ""
            stream.write(
                style.paint(
                    SYMBOL[outcome.action],
                    f"  {SYMBOL[outcome.action]} {outcome.key}{ident}: {verbs[outcome.action]}{note}",
                )
                + "\n"
            )
            continue
        stream.write(
            style.paint("-", f"  ! {outcome.key}{ident}: {outcome.action} failed: {outcome.message}") + "\n"
        )
        for problem in outcome.problems:
            stream.write(f"      {problem}\n")
    for item in report.unconverged:
        stream.write(
            style.paint(
                "-",
                f"  ! {item.key}: not converged after apply: {', '.join(item.fields)} still differ (did the platform ignore them?)",
            )
            + "\n"
        )
    for duplicate in report.duplicates:
        stream.write(style.paint("-", f"  ! {duplicate.key}: {duplicate}") + "\n")
    if report.read_back_failed is not None:
        stream.write(style.paint("-", f"  ! read back failed: {report.read_back_failed}") + "\n")
    stream.write(f"\n{_report_summary(report)}\n")


def _report_summary(report: Report) -> str:
    counts = {s: sum(o.status == s for o in report.outcomes) for s in ("applied", "failed")}
    done = f"{counts['applied']} applied, {counts['failed']} failed"
    if report.interrupted:
        return f"Apply interrupted: {done}; nothing more was sent, and nothing was read back."
    if report.read_back_failed is not None:
        return f"Apply: {done}; read back: failed."
    duplicates = len(report.duplicates)
    found = f", {duplicates} duplicate{'s' if duplicates != 1 else ''}" if duplicates else ""
    return f"Apply: {done}; read back: {len(report.unconverged)} not converged{found}."


def render_report_markdown(plan: Plan, report: Report, stream: Writer) -> None:
    """The apply's result for a CI job summary: a table of outcomes, problems and read-back findings."""
    failed = [o for o in report.outcomes if o.status != "applied"]
    title = "applied" if report.ok else "finished with problems"
    stream.write(
        f"### reconciler apply {title}: {len(report.outcomes) - len(failed)} applied, {len(failed)} failed, "
        f"{len(report.unconverged)} not converged\n\n"
    )
    names = {c.key: c.name or "" for c in plan.changes}
    if report.outcomes:
        stream.write("| result | action | key | name | id |\n|---|---|---|---|---|\n")
        for o in report.outcomes:
            mark = "ok" if o.status == "applied" else "**failed**"
            stream.write(
                f"| {mark} | {o.action} | `{_md(o.key)}` | {_md(names.get(o.key, ''))} | {o.id or ''} |\n"
            )
    for o in failed:
        stream.write(f"\n**{_md(o.key)}**: {_md(o.message)}\n")
        stream.write("".join(f"- `{_md(str(p))}`\n" for p in o.problems))
    for item in report.unconverged:
        stream.write(
            f"\n**{_md(item.key)}** did not converge: {', '.join(f'`{f}`' for f in item.fields)} still differ\n"
        )
    for duplicate in report.duplicates:
        stream.write(f"\n**{_md(duplicate.key)}**: {_md(str(duplicate))}\n")
    if report.read_back_failed is not None:
        stream.write(f"\n**read back failed**: {_md(report.read_back_failed)}\n")
    if report.interrupted:
        stream.write("\n**interrupted**: nothing more was sent, and nothing was read back\n")


def render_json(plan: Plan, stream: Writer) -> None:
    json.dump(plan.data(), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")


def _md_section(change: Change) -> str:
    count = len(change.fields)
    title = f"{SYMBOL[change.action]} {change.action} <code>{_md(change.key)}</code>"
    if change.name:
        title += f" — {_md(change.name)}"
    lines = [line for item in change.fields for line in diff_lines(change, item)]
    lines += [f"# note: {note}" for note in change.notes]
    body = "\n".join(lines).replace("```", "'''")
    return f"<details><summary>{title} ({count} field{'s' if count != 1 else ''})</summary>\n\n```diff\n{body}\n```\n</details>\n"


def render_markdown(plan: Plan, stream: Writer, *, limit: int = MARKDOWN_LIMIT) -> None:
    """A PR comment: a summary table, then one collapsible section per assistant, all under ``limit``.

    A plan too big for that keeps as many sections as fit; a table too big becomes a list of keys per action.
    """
    changed = [c for c in plan.changes if c.action != "noop"]
    text = f"{MARKER}\n### reconciler plan: {summary_line(plan)}\n\n"
    if plan.unsafe:
        text += f"> **apply will need `--force`**: {_md('; '.join(plan.unsafe))}\n\n"
    if not changed:
        stream.write(text + "No changes: the platform matches the files.\n")
        return
    table = _md_table(changed)
    text += table if len(text) + len(table) < limit // 2 else _md_key_list(changed)
    shown = 0
    for change in changed:
        section = _md_section(change)
        if len(text) + len(section) > limit - 200:
            break
        text += section
        shown += 1
    if shown < len(changed):
        text += f"\n… {len(changed) - shown} more assistants are not shown here; the JSON plan has every change.\n"
    stream.write(text)


def _md_table(changed: list[Change]) -> str:
    rows = ["| action | key | name | id | fields |", "|---|---|---|---|---|"]
    for c in changed:
        fields = ", ".join(f"`{f.path}`" for f in c.fields[:8]) + (" …" if len(c.fields) > 8 else "")
        rows.append(
            f"| {SYMBOL[c.action]} {c.action} | `{_md(c.key)}` | {_md(c.name or '')} | {c.id or ''} | {fields} |"
        )
    return "\n".join(rows) + "\n\n"


def _md_key_list(changed: list[Change]) -> str:
    text = ""
    for action in ("create", "update", "delete"):
        keys = [c.key for c in changed if c.action == action]
        if keys:
            listed = ", ".join(f"`{_md(k)}`" for k in keys[:50])
            more = f" and {len(keys) - 50} more" if len(keys) > 50 else ""
            text += f"- **{action}** ({len(keys)}): {listed}{more}\n"
    return text + "\n"

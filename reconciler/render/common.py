"""What every renderer of a plan shares: the action's symbol, the headings, the summary, the split by origin, and
each field change as rows (``granular``), with its secrets masked first — so no renderer can print one."""

from __future__ import annotations

import json
from dataclasses import replace

from reconciler.plan import (
    ORIGIN_PLATFORM,
    REASON_OWNER,
    Action,
    Change,
    FieldChange,
    Group,
    Plan,
    Unmanaged,
)
from reconciler.render.granular import CHANGED, Names, Row, changed_rows, named, new_rows, value_text
from reconciler.streams import Writer
from reconciler.text import counted

SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.NOOP: "="}
#: How many unmanaged assistants the text plan names on its one line (the JSON plan lists every one).
UNMANAGED_NAMED = 5
#: And how many the markdown lists, within a sixth of the comment's limit.
UNMANAGED_LISTED = 100
#: The heading of the fields changed on the platform while their files stayed as at ``plan --baseline``.
OUTSIDE_TITLE = "Changed outside the repository"
OUTSIDE_NOTE = "their files are as they were at the baseline; apply restores the files' values"
#: What a delete does, in words: it has no fields to show.
DELETE_NOTE = "its file is gone and this repository owns it: the assistant is deleted"
#: A field sent for bookkeeping only (``REASON_OWNER``): nothing a person sees changes.
BOOKKEEPING = "no visible change"

Shown = tuple[Change, tuple[FieldChange, ...]]


def summary_line(plan: Plan) -> str:
    s = plan.summary
    return (
        f"{s[Action.CREATE]} to create, {s[Action.UPDATE]} to update, {s[Action.DELETE]} to delete, "
        f"{s[Action.NOOP]} unchanged"
    )


def heading(change: Change) -> str:
    name = f' "{change.name}"' if change.name else ""
    ident = f" (id {change.id})" if change.id is not None else ""
    return f"{SYMBOL[change.action]} {change.action} {change.key}{name}{ident}"


def bookkeeping_only(change: Change) -> bool:
    """An update whose every field is bookkeeping: the plan says so in words, as nothing visible changes."""
    return (
        change.action == Action.UPDATE
        and bool(change.fields)
        and all(f.reason == REASON_OWNER for f in change.fields)
    )


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


def unmanaged_title(unmanaged: tuple[Unmanaged, ...]) -> str:
    one = len(unmanaged) == 1
    return f"{counted(len(unmanaged), 'assistant')} on the platform {'is' if one else 'are'} not managed by any file"


def field_rows(change: Change, item: FieldChange) -> list[Row]:
    """One field change as rows, its secrets masked: a create's value whole (text as a block), an update's
    value diffed inside (``granular``); the reason it is sent, if any, on its first row."""
    after = change.shown_after(item)
    if change.action == Action.CREATE:
        rows = new_rows(item.path, after, names=item.after_name)
    elif not item.before_known:
        shown = value_text(after) + named(item.after_name)
        rows = [Row(0, CHANGED, item.path, before="(not returned by the API)", after=shown)]
    elif item.reason == REASON_OWNER:
        rows = [Row(0, CHANGED, item.path, value=BOOKKEEPING)]
    else:
        before = change.masked(item.before, item.path)
        rows = changed_rows(item.path, before, after, Names(item.before_name, item.after_name))
    note = "; ".join(filter(None, (item.reason, f"from {item.source}" if item.from_layer else "")))
    if note:
        rows[0] = replace(rows[0], note=note)
    return rows


def shared(plan: Plan) -> set[tuple[str, str]]:
    """(key, path) of every field change a group of the plan shows: the detail only points to it."""
    return {(key, group.path) for group in plan.groups for key in group.keys}


def group_rows(plan: Plan, group: Group) -> list[Row]:
    """A change shared by several assistants, once: the first one's rows, said to be on all of them."""
    change = next(c for c in plan.changes if c.key == group.keys[0] and c.action == Action.UPDATE)
    item = next(f for f in change.fields if f.path == group.path)
    rows = field_rows(change, replace(item, from_layer=False))  # the group names its source itself
    on = f" on {counted(len(group.keys), 'assistant')}" + (f" (from {group.source})" if group.source else "")
    head = rows[0]
    if head.before is not None and head.after is not None:
        rows[0] = replace(head, after=head.after + on)
    else:
        rows[0] = replace(head, label=head.label + on)
    return rows


#: How the detail of one assistant shows a field change that a group shows.
SHARED = "the shared change above"
#: The heading of the groups.
SHARED_TITLE = "Changes shared by several assistants"


def detail_rows(change: Change, item: FieldChange, shared: set[tuple[str, str]]) -> list[Row]:
    """A field change in its assistant's detail: its rows, or one line pointing to the group that shows it."""
    if (change.key, item.path) in shared:
        return [Row(0, CHANGED, item.path, value=SHARED)]
    return field_rows(change, item)


def render_json(plan: Plan, stream: Writer) -> None:
    json.dump(plan.data(), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def clipped(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut: ``abc… (1200 more characters)``."""
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"

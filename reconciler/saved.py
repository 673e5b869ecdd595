"""PURE: whether a saved plan may still be applied, and when not, what changed since it was made.

A saved plan is applied without asking (it was reviewed when it was made), so it must still be the plan the files
and the platform give today: made for this account, from these files, its assistants as they were then, its
changes what the files ask for now. A refusal names what differs (the files, the assistants and their fields), so
the person re-running ``plan`` knows what to look at; a plan whose every change is already in place (an apply
that ran twice, a CI job retried) is not refused at all: there is nothing left to do.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.constraints import api_trim
from reconciler.errors import StalePlan
from reconciler.plan import Action, Change, Plan
from reconciler.remote import Account
from reconciler.text import printable

_AGAIN = "Run reconciler plan --out FILE again and review it"


def check_bound(
    saved: Plan, *, account_id: str, files: str, file_digests: Mapping[str, str], directory: Path
) -> None:
    """Refuse a saved plan made for another account or from other files (before the platform is read).
    ``file_digests`` are the files' now, by their path relative to ``directory``."""
    if saved.account != account_id:
        raise StalePlan(
            "this plan was made for another account (the API URL or token differ); nothing was changed"
        )
    if saved.files != files:
        changed = changed_files(dict(saved.file_digests), file_digests)
        which = f": {', '.join(_shown(directory, file) for file in changed)}" if changed else ""
        raise StalePlan(
            f"the assistant files changed since this plan was made{which}; run reconciler plan again"
        )


def changed_files(then: Mapping[str, str], now: Mapping[str, str]) -> list[tuple[str, str]]:
    """The files that differ, each with how: edited, new since the plan, or removed since. Empty when the saved
    plan recorded no digests of its own (a plan saved by an earlier version)."""
    if not then:
        return []
    how = {file: "edited" for file in then.keys() & now.keys() if then[file] != now[file]}
    how |= dict.fromkeys(now.keys() - then.keys(), "new")
    how |= dict.fromkeys(then.keys() - now.keys(), "removed")
    return sorted(how.items())


def _shown(directory: Path, change: tuple[str, str]) -> str:
    file, how = change
    return f"{printable(os.path.normpath(directory / file))} ({how})"


@dataclass(frozen=True)
class _Since:
    """The saved plan's changes sorted by what became of them on the platform since."""

    current: list[Change]  # its assistant is as the plan saw it: still to be written
    applied: list[Change]  # the platform changed, and now holds what the change would write
    stale: list[str]  # the platform changed otherwise: each as the refusal names it


def check_current(saved: Plan, fresh: Plan, account: Account) -> bool:
    """Whether the saved plan is already applied (True: nothing to write); refuse it when the platform changed
    since in any other way, or when its changes are not what the files ask for today (``fresh``, the plan of the
    same files against the platform now)."""
    since = _sorted_since(saved, fresh, account)
    if since.stale:
        raise StalePlan(
            f"the platform changed since this plan was made: {'; '.join(since.stale)}; nothing was changed. {_AGAIN}"
        )
    if since.applied and since.current:
        done = ", ".join(c.key for c in since.applied)
        raise StalePlan(
            f"this plan was partly applied already ({done}); nothing was changed. {_AGAIN} for the rest"
        )
    if since.applied:
        return True
    check_matches_files(saved, fresh)
    return False


def _sorted_since(saved: Plan, fresh: Plan, account: Account) -> _Since:
    now = {c.key: c for c in fresh.changes}
    since = _Since([], [], [])
    for change in saved.changes:
        if change.action == Action.NOOP:
            continue
        today = now.get(change.key)
        if _unchanged(change, account):
            since.current.append(change)
        elif today is None or today.action == Action.NOOP:
            since.applied.append(change)
        else:
            since.stale.append(_what_changed(change, today, account))
    return since


def _unchanged(change: Change, account: Account) -> bool:
    if change.action == Action.CREATE:
        return not account.named(api_trim(change.name or ""))
    current = account.by_id(change.id) if change.id is not None else None
    return current is not None and current.fingerprint == change.fingerprint


def _what_changed(change: Change, today: Change, account: Account) -> str:
    """One stale change as the refusal names it: the assistant, then the fields whose platform value moved."""
    if change.action == Action.CREATE:
        ids = ", ".join(str(a.id) for a in account.named(api_trim(change.name or "")))
        return f"{change.key}: an assistant named {change.name!r} exists now (id {ids})"
    who = f"{change.key} (id {change.id})"
    if account.by_id(change.id or 0) is None:
        return f"{who}: deleted"
    moved = _moved_fields(change, today)
    if not moved:
        return f"{who}: outside the fields this plan changes"
    return f"{who}: {', '.join(moved)}"


def _moved_fields(saved: Change, today: Change) -> list[str]:
    """The fields whose before-value differs between the two plans, or that only one of them changes. Compared
    in the data view (secrets masked), as the saved plan holds them."""
    then = _befores(saved.data()["fields"])
    now = _befores(today.data()["fields"])
    return sorted(
        path for path in then.keys() | now.keys() if then.get(path, _ABSENT) != now.get(path, _ABSENT)
    )


_ABSENT: Any = object()


def _befores(fields: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {item["path"]: item["before"] for item in fields}


def check_matches_files(saved: Plan, fresh: Plan) -> None:
    """Refuse a saved plan whose changes are not what the files ask for today (an edited or forged plan file).

    A plan file is data anyone with the artifact could edit: it must not be able to write to an assistant
    the files do not manage, or send a body the files did not produce.
    """
    expected = {(c.key, c.action): c for c in fresh.changes}
    forged = []
    for change in saved.changes:
        if change.action == Action.NOOP:
            continue
        twin = expected.get((change.key, change.action))
        if twin is None or twin.id != change.id or twin.data()["body"] != change.data()["body"]:
            forged.append(change.key)
    if forged:
        raise StalePlan(
            f"the saved plan asks for changes the files do not: {', '.join(forged)}; nothing was changed. "
            "Make a new plan from the files"
        )

"""PURE: the plan's value objects — the action vocabulary, one FieldChange per differing field, one Change per
managed assistant, the Plan of them in key order — and their JSON data view.

This module and ``results`` are the core the renderers import: neither reaches the client (httpx), the files
(PyYAML) or the diff (DeepDiff), so a renderer can be loaded, and tested, without any of them.

A Plan is what ``plan`` prints, ``plan --out`` saves and ``apply`` executes. Secrets never enter its data view:
values that came from the environment, and values under secret-looking keys, are replaced by a marker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from reconciler.errors import PlanFileError, UnsafePlan
from reconciler.secret import SENSITIVE, SENSITIVE_CHANGED, masked_text
from reconciler.text import counted

FORMAT_VERSION = 1


class Action(StrEnum):
    """What a Change does to one assistant. A ``str``: it is the plan JSON's ``action`` value as it stands."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NOOP = "noop"


#: In the order the plan's summary counts them.
ACTIONS = tuple(Action)

#: Where a field change comes from (``FieldChange.origin``, with ``plan --baseline``): the pull request changed
#: the file's value, or the file is as it was at the baseline and someone changed the platform.
ORIGIN_FILES = "files"
ORIGIN_PLATFORM = "platform"
ORIGINS = (ORIGIN_FILES, ORIGIN_PLATFORM)

#: Why a field is in a change although its value did not visibly differ (``FieldChange.reason``).
REASON_NEW = "write-only (the API never returns it): no record of an earlier apply"
REASON_CHANGED = "write-only (the API never returns it): changed since the last apply"
REASON_MODE = "re-sent: changing mode resets it on the platform"
#: The note on an assistant whose file dropped a field that a missing key does not clear (diff.py).
NO_LONGER_MANAGED = "no longer in the file, so no longer managed"
REASON_OWNER = "bookkeeping only: records that this repository manages it (for --prune)"


@dataclass(frozen=True, slots=True)
class FieldChange:
    # The values can be secrets (from the environment, or the platform's own): the repr shows the path only.
    path: str
    before: Any = field(repr=False)
    after: Any = field(repr=False)
    before_known: bool = True
    reason: str | None = None
    before_name: Any = None  # for id fields: the names of the ids, for people reading the plan
    after_name: Any = None
    origin: str | None = None  # ORIGINS, or None: no baseline to tell (a plan without --baseline)
    # ``FILE:LINE`` of the winning value, relative to the current directory (docs/contract.md#layers); traced
    # for an assistant file with layers only, where None is a field cleared because no layer sets it
    source: str | None = None
    traced: bool = False
    from_layer: bool = False  # the value comes from a layer, not the assistant file: the plans say so


_UNSEEN: Any = object()  # no value to compare with (a create, a field the API does not return)

_SECRET_KEY = re.compile(r"(api_?key|secret|token|password)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Change:
    """What apply does to one assistant. ``body`` and ``fields`` hold values as sent, secrets included, so the
    repr leaves them out; ``data()`` is the view with secrets masked."""

    key: str
    file: str | None
    action: Action
    id: int | None
    name: str | None
    body: dict[str, Any] = field(default_factory=dict, repr=False)
    fields: tuple[FieldChange, ...] = field(default=(), repr=False)
    fingerprint: str | None = None  # of the remote state the change was computed from
    secret_paths: frozenset[str] = (
        frozenset()
    )  # display paths ("tools[0].calcom_api_key") from the environment
    notes: tuple[str, ...] = ()
    # the file's ``id`` names an assistant that is gone, and this is the one it manages now: what
    # ``apply --pin-ids`` writes into the file (docs/contract.md#identity)
    pin: int | None = None
    # display paths whose value mixes file text with ${NAME}s → that text, each secret as the marker
    secret_masks: dict[str, str] = field(default_factory=dict)

    def masked(self, value: Any, path: str, before: Any = _UNSEEN) -> Any:
        """``value`` at ``path`` with every secret inside it replaced by the marker. Given the ``before`` it
        replaces, a secret that differs from the one there shows as ``(sensitive value changed)``."""
        if path in self.secret_paths or _SECRET_KEY.search(path.rsplit(".", 1)[-1]):
            if value is None:
                return None
            mask = self.secret_masks.get(path)
            if mask is not None and isinstance(value, str):
                return masked_text(value, mask, before if isinstance(before, str) else None)
            return SENSITIVE_CHANGED if before not in (_UNSEEN, None) and before != value else SENSITIVE
        if isinstance(value, dict):
            old = before if isinstance(before, dict) else {}
            return {k: self.masked(v, f"{path}.{k}", old.get(k, _UNSEEN)) for k, v in value.items()}
        if isinstance(value, list):
            olds = before if isinstance(before, list) else []
            return [
                self.masked(v, f"{path}[{i}]", olds[i] if i < len(olds) else _UNSEEN)
                for i, v in enumerate(value)
            ]
        return value

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "file": self.file,
            "action": self.action,
            "id": self.id,
            "name": self.name,
            "body": {k: self.masked(v, k) for k, v in self.body.items()},
            "fields": [self._field_data(c) for c in self.fields],
        }
        if self.fingerprint is not None:
            data["fingerprint"] = self.fingerprint
        if self.notes:
            data["notes"] = list(self.notes)
        if self.pin is not None:
            data["pin"] = self.pin
        if self.secret_paths:
            data["secret_paths"] = sorted(self.secret_paths)
        if self.secret_masks:
            data["secret_masks"] = dict(sorted(self.secret_masks.items()))
        return data

    def shown_after(self, change: FieldChange) -> Any:
        """The new value as every output shows it: secrets masked, a changed one said to be changed."""
        before = change.before if change.before_known else _UNSEEN
        return self.masked(change.after, change.path, before)

    def _field_data(self, change: FieldChange) -> dict[str, Any]:
        item = {
            "path": change.path,
            "before": self.masked(change.before, change.path),
            "after": self.shown_after(change),
        }
        if not change.before_known:
            item["before_known"] = False
        for key in ("before_name", "after_name"):
            if getattr(change, key) is not None:
                item[key] = getattr(change, key)
        if change.reason:
            item["reason"] = change.reason
        if change.origin is not None:
            item["origin"] = change.origin
        if change.traced:
            item["source"] = change.source
        if change.from_layer:
            item["from_layer"] = True
        return item


@dataclass(frozen=True)
class Safety:
    """octoDNS-style thresholds: past them, apply needs --force."""

    max_update_share: float = 0.3  # of the assistants the files manage that already exist
    min_existing: int = 10  # below this many, the share rule does not apply


def unsafe_reasons(
    changes: Iterable[Change], *, files: int, account_size: int, safety: Safety
) -> tuple[str, ...]:
    changes = list(changes)
    existing = [c for c in changes if c.action in (Action.UPDATE, Action.NOOP, Action.DELETE)]
    updates = [
        c for c in changes if c.action == Action.UPDATE and any(f.reason != REASON_OWNER for f in c.fields)
    ]
    deletes = [c for c in changes if c.action == Action.DELETE]
    reasons = []
    if len(existing) >= safety.min_existing and len(updates) > safety.max_update_share * len(existing):
        share = f"{safety.max_update_share:.0%}"
        reasons.append(
            f"{len(updates)} of {len(existing)} existing assistants would be updated (more than {share})"
        )
    if deletes:
        reasons.append(f"{counted(len(deletes), 'assistant')} would be deleted")
    if files == 0 and account_size > 0:
        reasons.append(f"there are no assistant files, but the account has {account_size} assistants")
    return tuple(reasons)


@dataclass(frozen=True)
class Unmanaged:
    """An assistant on the platform that no file manages: the plan neither changes nor deletes it."""

    id: int
    name: str | None

    def data(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class Group:
    """The same field change (path, before and after, as shown) on several assistants: a plan shows it once,
    before the per-assistant detail, so that one default changed for 200 assistants reads as one line."""

    path: str
    before: Any
    after: Any
    source: str | None  # where the new value comes from, when every assistant takes it from the same line
    keys: tuple[str, ...]

    def data(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "before": self.before,
            "after": self.after,
            "source": self.source,
            "keys": list(self.keys),
        }


def groups_of(changes: Iterable[Change]) -> tuple[Group, ...]:
    """Every field change shared by two or more updates, in the order of first appearance. Compared as the
    data view shows them (secrets masked), so two secrets can group only as "(sensitive)" alike."""
    found: dict[tuple[str, str, str], list[tuple[Change, dict[str, Any]]]] = {}
    for change in changes:
        if change.action != Action.UPDATE:
            continue
        for item in (change._field_data(f) for f in change.fields):
            if item.get("before_known", True) and not item.get("reason"):
                key = (item["path"], _canonical(item["before"]), _canonical(item["after"]))
                found.setdefault(key, []).append((change, item))
    groups = []
    for (path, _, _), members in found.items():
        if len(members) < 2:
            continue
        sources = {item.get("source") for _, item in members}
        source = sources.pop() if len(sources) == 1 else None
        first = members[0][1]
        groups.append(Group(path, first["before"], first["after"], source, tuple(c.key for c, _ in members)))
    return tuple(groups)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    account: str = ""  # digest of the API URL and token: a saved plan is refused on another account
    files: str = ""  # digest of the desired state the plan was made from
    unsafe: tuple[str, ...] = ()  # why apply would need --force
    owner: str = ""  # who the plan's creates record as their manager (record.py)
    prune: bool = False  # made with --prune: deletes what this owner recorded and lost
    # None: not looked for (a --target plan is partial, an older saved plan did not record them)
    unmanaged: tuple[Unmanaged, ...] | None = None
    # each file's digest, by file, so a refused saved plan can name the files that changed since (empty: a plan
    # saved before they were recorded)
    file_digests: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        changes: Iterable[Change],
        *,
        account: str = "",
        files: str = "",
        unsafe: Iterable[str] = (),
        owner: str = "",
        prune: bool = False,
        unmanaged: Iterable[Unmanaged] | None = None,
        file_digests: Mapping[str, str] | None = None,
    ) -> Plan:
        ordered = tuple(sorted(changes, key=lambda c: (c.key, c.action)))
        listed = None if unmanaged is None else tuple(sorted(unmanaged, key=lambda u: u.id))
        digests = tuple(sorted((file_digests or {}).items()))
        return cls(ordered, account, files, tuple(unsafe), owner, prune, listed, digests)

    @cached_property
    def groups(self) -> tuple[Group, ...]:
        return groups_of(self.changes)

    @property
    def summary(self) -> dict[str, int]:
        return {action.value: sum(c.action == action for c in self.changes) for action in ACTIONS}

    @property
    def has_changes(self) -> bool:
        return any(c.action != Action.NOOP for c in self.changes)

    def raise_if_unsafe(self, *, force: bool) -> None:
        """Refuse a plan past the safety thresholds (``unsafe_reasons``) unless ``--force`` says it is meant."""
        if self.unsafe and not force:
            raise UnsafePlan(f"refusing without --force: {'; '.join(self.unsafe)}; nothing was changed")

    def data(self) -> dict[str, Any]:
        data = {
            "format_version": FORMAT_VERSION,
            "summary": self.summary,
            "changes": [c.data() for c in self.changes],
            "account": self.account,
            "files": self.files,
            "unsafe": list(self.unsafe),
            "owner": self.owner,
            "prune_owner": self.owner if self.prune else None,
        }
        if self.unmanaged is not None:
            data["unmanaged"] = [u.data() for u in self.unmanaged]
        if self.groups:
            data["groups"] = [g.data() for g in self.groups]
        if self.file_digests:
            data["file_digests"] = dict(self.file_digests)
        return data


def plan_from_data(data: Any) -> Plan:
    """A saved plan back as a Plan (bodies still masked: apply fills secrets from the files)."""
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise PlanFileError(f"not a reconciler plan of format_version {FORMAT_VERSION}")
    try:
        changes = [_change_from_data(item) for item in data["changes"]]
        unmanaged = _unmanaged_from_data(data.get("unmanaged"))
        file_digests = {str(f): str(d) for f, d in dict(data.get("file_digests", {})).items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"the plan's changes are damaged ({type(exc).__name__}: {exc})") from exc
    return Plan.of(
        changes,
        account=str(data.get("account", "")),
        files=str(data.get("files", "")),
        unsafe=data.get("unsafe", ()),
        owner=str(data.get("owner", data.get("prune_owner") or "")),
        prune=data.get("prune_owner") is not None,
        unmanaged=unmanaged,
        file_digests=file_digests,
    )


def _unmanaged_from_data(items: Any) -> list[Unmanaged] | None:
    """The saved list, or None for a plan saved before the key existed (or made with --target)."""
    if items is None:
        return None
    found = [Unmanaged(item["id"], item.get("name")) for item in items]
    if any(type(u.id) is not int or not isinstance(u.name, str | None) for u in found):
        raise ValueError("bad unmanaged entry")
    return found


def _field_from_data(item: dict[str, Any]) -> FieldChange:
    origin = item.get("origin")  # absent in plans saved before --baseline, or made without it
    if origin is not None and origin not in ORIGINS:
        raise ValueError(f"bad origin {origin!r} of field {item.get('path')!r}")
    return FieldChange(
        item["path"],
        item.get("before"),
        item.get("after"),
        item.get("before_known", True),
        item.get("reason"),
        item.get("before_name"),
        item.get("after_name"),
        origin,
        _source_from_data(item),
        "source" in item,  # absent in plans saved before layers, or of a file without them
        item.get("from_layer") is True,
    )


def _source_from_data(item: dict[str, Any]) -> str | None:
    source = item.get("source")
    if source is not None and not isinstance(source, str):
        raise ValueError(f"bad source {source!r} of field {item.get('path')!r}")
    return source


def _change_from_data(item: dict[str, Any]) -> Change:
    if item["action"] not in ACTIONS or not isinstance(item["body"], dict):
        raise ValueError(f"bad change {item.get('key')!r}")
    fields = tuple(_field_from_data(f) for f in item.get("fields", []))
    return Change(
        key=str(item["key"]),
        file=item.get("file"),
        action=Action(item["action"]),
        id=item.get("id"),
        name=item.get("name"),
        body=item["body"],
        fields=fields,
        fingerprint=item.get("fingerprint"),
        secret_paths=frozenset(item.get("secret_paths", ())),
        notes=tuple(item.get("notes", ())),
        pin=_pin_from_data(item.get("pin")),
        secret_masks={str(k): str(v) for k, v in dict(item.get("secret_masks", {})).items()},
    )


def _pin_from_data(value: Any) -> int | None:
    if value is not None and (type(value) is not int or value <= 0):
        raise ValueError(f"bad pin {value!r}")
    return value

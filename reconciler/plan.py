"""PURE: the Plan value object — one Change per managed assistant, in key order — and its JSON data view.

A Plan is what ``plan`` prints, ``plan --out`` saves and ``apply`` executes. Secrets never enter its data view:
values that came from the environment, and values under secret-looking keys, are replaced by a marker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reconciler.diff import FieldChange

FORMAT_VERSION = 1
SENSITIVE = "(sensitive)"
ACTIONS = ("create", "update", "delete", "noop")
_SECRET_KEY = re.compile(r"(api_?key|secret|token|password)", re.IGNORECASE)


@dataclass(frozen=True)
class Change:
    key: str
    file: str | None
    action: str
    id: int | None
    name: str | None
    body: dict[str, Any] = field(default_factory=dict)
    fields: tuple[FieldChange, ...] = ()
    fingerprint: str | None = None  # of the remote state the change was computed from
    secret_paths: frozenset[str] = (
        frozenset()
    )  # display paths ("tools[0].calcom_api_key") from the environment
    notes: tuple[str, ...] = ()

    def masked(self, value: Any, path: str) -> Any:
        """``value`` at ``path`` with every secret inside it replaced by the marker."""
        if path in self.secret_paths or _SECRET_KEY.search(path.rsplit(".", 1)[-1]):
            return SENSITIVE if value is not None else None
        if isinstance(value, dict):
            return {k: self.masked(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.masked(v, f"{path}[{i}]") for i, v in enumerate(value)]
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
        if self.secret_paths:
            data["secret_paths"] = sorted(self.secret_paths)
        return data

    def _field_data(self, change: FieldChange) -> dict[str, Any]:
        item = {
            "path": change.path,
            "before": self.masked(change.before, change.path),
            "after": self.masked(change.after, change.path),
        }
        if not change.before_known:
            item["before_known"] = False
        if change.reason:
            item["reason"] = change.reason
        return item


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    account: str = ""  # digest of the API URL and token: a saved plan is refused on another account
    files: str = ""  # digest of the desired state the plan was made from

    @classmethod
    def of(cls, changes: Iterable[Change], *, account: str = "", files: str = "") -> Plan:
        return cls(tuple(sorted(changes, key=lambda c: c.key)), account, files)

    @property
    def summary(self) -> dict[str, int]:
        return {action: sum(c.action == action for c in self.changes) for action in ACTIONS}

    @property
    def has_changes(self) -> bool:
        return any(c.action != "noop" for c in self.changes)

    def data(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "summary": self.summary,
            "changes": [c.data() for c in self.changes],
            "account": self.account,
            "files": self.files,
        }

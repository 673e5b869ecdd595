"""PURE: the last-applied record, the reconciler's own bookkeeping on each assistant it writes.

Like kubectl's last-applied annotation, the record lives on the assistant itself, as a JSON string under one
reserved ``variables`` key (``RECORD_KEY``; ``variables`` is the only free-form field the API keeps). It holds:
- ``fields``: a keyed digest per write-only field last sent (the API never returns those, so the next plan
  compares digests instead of values; docs/api.md#read-shape);
- ``owner`` and ``key``: which repository manages the assistant and under which file key (``Ownership``), so
  that ``--prune`` deletes only its own assistants;
- ``managed``: the fields the file declared that a missing key cannot clear (``fields.py`` ``clearable``), so
  that a plan can say such a field left the file and is no longer managed. Written with the record, never
  a reason to write it: a body carries the record only when it is sent anyway.

Digests are HMAC-SHA256 keyed by the account's token: a record readable by anyone with dashboard access must
not let them confirm a guessed low-entropy value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.secret import Secret
from reconciler.spec import RESERVED_VARIABLE_PREFIX

RECORD_KEY = RESERVED_VARIABLE_PREFIX

#: (field name, canonical value) -> a short hex digest
Digest = Callable[[str, Any], str]


def keyed_digest(secret: Secret) -> Digest:
    """Digests for the record, keyed so that a record never reveals a low-entropy value."""

    def digest(field: str, value: Any) -> str:
        message = f"{field}={json.dumps(value, sort_keys=True, separators=(',', ':'))}".encode()
        return hmac.new(secret.reveal().encode(), message, hashlib.sha256).hexdigest()[:16]

    return digest


@dataclass(frozen=True)
class Ownership:
    """Which repository (``owner``) manages an assistant, and under which file key: what --prune relies on."""

    owner: str
    key: str


def ownership_of(record: Mapping[str, Any] | None) -> Ownership | None:
    if not record or not isinstance(record.get("owner"), str) or not isinstance(record.get("key"), str):
        return None
    return Ownership(record["owner"], record["key"])


def encode_record(
    fields: Mapping[str, str], ownership: Ownership | None = None, managed: Iterable[str] = ()
) -> str:
    """The bookkeeping as the string value ``variables`` requires."""
    data: dict[str, Any] = {"v": 1, "fields": dict(fields)}
    if ownership is not None:
        data.update(owner=ownership.owner, key=ownership.key)
    if managed:
        data["managed"] = sorted(managed)
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def managed_of(record: Mapping[str, Any] | None) -> frozenset[str]:
    """The non-clearable fields the file declared when the record was last written (none if not recorded)."""
    listed = (record or {}).get("managed")
    return frozenset(n for n in listed if isinstance(n, str)) if isinstance(listed, list) else frozenset()


def parse_record(text: Any) -> dict[str, Any] | None:
    """The record as stored; a damaged one counts as none, so the fields it covered are sent again."""
    try:
        record = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None

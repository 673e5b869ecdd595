"""PURE: the last-applied record, the reconciler's own bookkeeping on each assistant it writes.

Like kubectl's last-applied annotation, the record lives on the assistant itself, as a JSON string under one
reserved ``variables`` key (``RECORD_KEY``; ``variables`` is the only free-form field the API keeps). It holds:
- ``fields``: a keyed digest per write-only field last sent (the API never returns those, so the next plan
  compares digests instead of values; docs/api.md#read-shape);
- ``owner`` and ``key``: which repository manages the assistant and under which file key (``Ownership``), so
  that ``--prune`` deletes only its own assistants.

Digests are HMAC-SHA256 keyed by the account's token: a record readable by anyone with dashboard access must
not let them confirm a guessed low-entropy value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
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


def encode_record(fields: Mapping[str, str], ownership: Ownership | None = None) -> str:
    """The bookkeeping as the string value ``variables`` requires."""
    data: dict[str, Any] = {"v": 1, "fields": dict(fields)}
    if ownership is not None:
        data.update(owner=ownership.owner, key=ownership.key)
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def parse_record(text: Any) -> dict[str, Any] | None:
    """The record as stored; a damaged one counts as none, so the fields it covered are sent again."""
    try:
        record = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None

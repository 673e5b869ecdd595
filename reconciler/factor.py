"""PURE: ``export --factor`` — the values at least half of the exported assistants share, for ``_defaults.yaml``
(docs/contract.md#layers), and what each assistant's file must still say on top of them.

The rules, each chosen so that the next plan is empty and the files stay as small as that allows:
- Per field, among the assistants the field applies to (a mode-only field: those of its modes; the merge drops
  it from the others, ``layers.drop_other_modes``), the value most of them hold is shared when at least half of
  them, and at least two, hold it (one assistant "sharing" a value with itself would only move it).
- ``name`` is identity and never shared (``id`` is not a field; a layer may not set it).
- A cleared value (null, [] or {}) is never shared: leaving the field out says it already.
- Every assistant that does not share the value writes its own, even one the export leaves out otherwise:
  ``null`` or ``[]`` where it has none, since leaving it out would now inherit the shared value.
- A field is not shared at all when an assistant it applies to cannot write its own value: the platform does
  not return the field (write-only: its value is unknown, and a shared one would overwrite it), or holds
  ``null`` for a field the API cannot set to null.
- ``variables`` are shared key by key (the merge is key by key too): a file leaves out the keys it shares,
  writes the others, and removes a shared key it does not have with ``KEY: null``.
- Values are compared as written, secrets as their ``${NAME}`` placeholders: one secret value is one variable
  across an export, so only assistants holding the same secret share it. A name key and its id key
  (``voice``/``voice_id``) count as different values, which can only share less.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.fields import FIELDS, NULLABLE
from reconciler.remote import applies_to_mode

Entry = tuple[str, Any]
"""A field as a file writes it: the key (the id field, or its name key with ``--names``) and the value."""

#: Never shared: identity belongs to each assistant's own file.
NEVER_SHARED = frozenset({"name"})
VARIABLES = "variables"
#: The fewest assistants that share a value: a value of one assistant stays in its file.
MIN_SHARERS = 2


@dataclass(frozen=True)
class Row:
    """One exported assistant: its mode, and every field of its mode the platform returned, as written."""

    mode: str | None
    entries: Mapping[str, Entry]  # API field → entry; cleared values included, write-only fields absent


@dataclass(frozen=True)
class Shared:
    """What ``_defaults.yaml`` holds: field → entry, and the variables shared key by key."""

    fields: dict[str, Entry] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields or self.variables)

    def covers(self, name: str) -> bool:
        """Whether the defaults hold (some of) field ``name``: a file then says its own value explicitly."""
        return name in self.fields or (name == VARIABLES and bool(self.variables))


def shared_values(rows: Sequence[Row]) -> Shared:
    """The values at least half of ``rows`` (and at least two) share, field by field, in ``FIELDS`` order."""
    shared = Shared()
    for spec in FIELDS:
        if spec.name in NEVER_SHARED:
            continue
        holders = [row for row in rows if applies_to_mode(spec.name, row.mode)]
        if spec.name == VARIABLES:
            shared.variables.update(_shared_variables(holders))
            continue
        if not all(_can_say_its_own(row, spec.name) for row in holders):
            continue
        candidates = [row.entries[spec.name] for row in holders if not _cleared(row.entries[spec.name][1])]
        found = _most_shared(candidates, len(holders))
        if found is not None:
            shared.fields[spec.name] = found
    return shared


def own_entry(row_entry: Entry, name: str, shared: Shared) -> Entry | None:
    """What a file with ``row_entry`` for a field ``shared`` covers writes: None to leave it out (it shares the
    value), else its own value, which it must write even when cleared (see the module)."""
    if name == VARIABLES:
        key, value = row_entry
        own = own_variables(value if isinstance(value, dict) else {}, shared.variables)
        return None if not own else (key, own)
    return None if same(shared.fields[name], row_entry) else row_entry


def own_variables(own: Mapping[str, Any], inherited: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a file writes over the shared ones: those it does not share, and ``null`` for each shared
    key it does not have (the merge removes an inherited key set to null)."""
    kept = {
        key: value for key, value in own.items() if key not in inherited or not same(inherited[key], value)
    }
    return {**kept, **{key: None for key in inherited if key not in own}}


def same(one: Any, other: Any) -> bool:
    """Equal as written: ``1`` and ``1.0``, ``true`` and ``1`` are different values in a file."""
    return _fingerprint(one) == _fingerprint(other)


def _shared_variables(holders: list[Row]) -> dict[str, Any]:
    if not holders or not all(
        isinstance(row.entries.get(VARIABLES, (None, None))[1], dict) for row in holders
    ):
        return {}  # some assistant's variables are unknown: sharing a key could overwrite them
    found: dict[str, Any] = {}
    keys = dict.fromkeys(key for row in holders for key in row.entries[VARIABLES][1])
    for key in keys:
        values = [row.entries[VARIABLES][1][key] for row in holders if key in row.entries[VARIABLES][1]]
        best = _most_shared(values, len(holders))
        if best is not None:
            found[key] = best
    return found


def _can_say_its_own(row: Row, name: str) -> bool:
    entry = row.entries.get(name)
    if entry is None:
        return False  # not returned (write-only): its value is unknown
    return entry[1] is not None or name in NULLABLE


def _cleared(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _most_shared(values: list[Any], out_of: int) -> Any:
    """The value held most often (the first one on a tie), when at least half of ``out_of`` hold it."""
    if not values:
        return None
    counts = Counter(_fingerprint(value) for value in values)
    best, count = counts.most_common(1)[0]
    if count < MIN_SHARERS or 2 * count < out_of:
        return None
    return next(value for value in values if _fingerprint(value) == best)


def _fingerprint(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)

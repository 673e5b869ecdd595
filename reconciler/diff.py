"""PURE: a file's canonical values x one remote assistant → the field changes and the minimal request body.

The rules (docs/contract.md#what-a-missing-key-means, docs/api.md#update-fields):
- managed fields: those the file declares, plus those it leaves out that can be cleared (nullable → null,
  list → [], variables → {}) and that the platform returns; never ``ignore_changes``, never the other mode's;
- only changed fields go in the body; lists and objects whole, because the API replaces them whole;
- a mode change resets the mode's settings on the platform, so every mode-specific field the file declares is
  sent with it, changed or not;
- write-only fields (the platform does not return them) can't be compared. Like kubectl's last-applied
  annotation, a record of what was last sent (a keyed digest per field, ``record.py``) is kept on the
  assistant; a field is sent when its digest differs from the record, or the record is gone.
  The record is written only when the file declares a write-only field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from reconciler.fields import CLEARED_TO, KEPT_WHEN_LEFT_OUT, RESET_BY_MODE_CHANGE, UNORDERED
from reconciler.plan import (
    NO_LONGER_MANAGED,
    REASON_CHANGED,
    REASON_MODE,
    REASON_NEW,
    REASON_OWNER,
    FieldChange,
)
from reconciler.record import RECORD_KEY, Digest, Ownership, encode_record, managed_of, ownership_of
from reconciler.remote import RemoteAssistant, applies_to_mode, fields_for_mode
from reconciler.spec import API_FIELDS
from reconciler.tolerance import comparable, extra_of

#: Tolerance for numbers: the API stores decimals; 0.7 and "0.70" are the same setting.
EPSILON = 1e-9
SIGNIFICANT_DIGITS = 9


@dataclass(frozen=True)
class Diff:
    changes: tuple[FieldChange, ...]
    body: dict[str, Any] = field(repr=False)  # the request body, secrets included
    unobservable: tuple[str, ...] = field(default=())  # write-only fields with no way to keep a record
    notes: tuple[str, ...] = ()  # what the plan says besides the changes (a field no longer managed)

    @property
    def empty(self) -> bool:
        return not self.body


def same(field_name: str, desired: Any, current: Any) -> bool:
    """Equal as the API means it: order-free sets, numbers within EPSILON, 1 == 1.0; inside built-in tools
    and fields this version does not know, "7" == 7 too (tolerance.py)."""
    if field_name == "tools" or field_name not in API_FIELDS:
        desired, current = comparable(desired), comparable(current)
    if desired == current and type(desired) is type(current):
        return True
    if desired is None or current is None:
        return False
    kinds = (type(desired), type(current))
    if kinds == (str, str):
        return False  # unequal text: what DeepDiff would say, without it
    if kinds[0] in _NUMBERS and kinds[1] in _NUMBERS and field_name not in UNORDERED:
        return math.isclose(current, desired, abs_tol=EPSILON)  # DeepDiff's own test with math_epsilon
    return same_by_deepdiff(field_name, desired, current)


_NUMBERS = (int, float)  # by type(): a bool is an int to isinstance, and DeepDiff tells them apart
_ABSENT = object()  # a field the item did not carry (of no type a value has)


def same_by_deepdiff(field_name: str, desired: Any, current: Any) -> bool:
    """``same`` for values that are not plainly equal, with DeepDiff's rules. Two numbers or two strings never
    come here: a plan where 1,000 assistants drift on ``speech_speed`` would otherwise import DeepDiff and run
    it 1,000 times for what one ``isclose`` tells (issue 19)."""
    from deepdiff import DeepDiff  # a tenth of a second to import: only for values that are not plainly equal

    unordered = field_name in UNORDERED
    result = DeepDiff(
        current,
        desired,
        ignore_order=unordered,
        ignore_numeric_type_changes=True,
        # DeepDiff applies math_epsilon only without ignore_order; there significant_digits does the job
        math_epsilon=None if unordered else EPSILON,
        significant_digits=SIGNIFICANT_DIGITS if unordered else None,
    )
    return not result


def managed_values(
    declared: Mapping[str, Any], ignore: Iterable[str], mode: str | None, observed: frozenset[str]
) -> dict[str, Any]:
    """Every field this file manages on an existing assistant, with the value it wants there."""
    values = {
        name: declared[name] if from_file else CLEARED_TO[name]
        for name, from_file in _managed_fields(frozenset(declared), tuple(ignore), mode, observed)
    }
    values.update(extra_of(declared))  # extra_fields: managed while the file declares them
    return values


@lru_cache(maxsize=256)
def _managed_fields(
    declared: frozenset[str], ignored: tuple[str, ...], mode: str | None, observed: frozenset[str]
) -> tuple[tuple[str, bool], ...]:
    """``managed_values``' fields in the API's order, each with whether the file gives its value (else: the
    value that clears it). Asked once per set of keys, ignored fields, mode and fields observed: the files of
    a fleet share a few, and the answer was 40 tests of each field for every assistant (issue 19)."""
    names: list[tuple[str, bool]] = []
    for name in fields_for_mode(API_FIELDS, mode):
        if name in ignored:
            continue
        if name in declared:
            names.append((name, True))
        elif name in CLEARED_TO and name in observed:
            names.append((name, False))
    return tuple(names)


def diff_update(
    declared: Mapping[str, Any],
    ignore: Iterable[str],
    current: RemoteAssistant,
    digest: Digest,
    ownership: Ownership | None = None,
) -> Diff:
    mode = declared.get("mode", current.mode)
    wanted = managed_values(declared, ignore, mode, current.observed)
    changes: list[FieldChange] = []
    for name, value in wanted.items():
        now = current.fields.get(name, _ABSENT)
        if type(now) is type(value) and now == value:
            continue  # what ``same`` says first, without calling it: 400,000 fields at 10,000 (issue 19)
        if current.carries(name) and not same(name, value, current.value(name)):
            changes.append(FieldChange(name, current.value(name), value))
    if any(c.path == "mode" for c in changes):
        changes += _mode_resends(wanted, declared, changes, current)
    write_only = {n: wanted[n] for n in current.uncarried(wanted)}
    fields, pending, unobservable = _write_only(write_only, current, digest)
    last = (current.record or {}).get("fields", {})
    changes += [
        FieldChange(n, None, write_only[n], False, REASON_CHANGED if n in last else REASON_NEW)
        for n in pending
    ]
    recorded = ownership_of(current.record)
    keep = ownership or recorded  # once recorded, ownership stays, with or without --prune
    claim = ownership is not None and recorded != ownership and "variables" in current.observed
    user_variables = _user_variables(wanted, current)
    if claim:
        changes.append(FieldChange("variables", user_variables, user_variables, reason=REASON_OWNER))
    changes = _dedupe(changes)
    body = {c.path: c.after for c in changes}
    managed = _not_clearable(wanted, declared)
    record = (
        encode_record(fields or {}, keep, managed)
        if (fields or keep) and "variables" in current.observed
        else None
    )
    if record is not None and (pending or claim or "variables" in body):
        body["variables"] = {**user_variables, RECORD_KEY: record}
    return Diff(tuple(changes), body, tuple(unobservable), _unmanaged_notes(declared, ignore, current))


def _not_clearable(values: Mapping[str, Any], declared: Mapping[str, Any]) -> list[str]:
    """The declared fields a missing key would not clear: the record lists them (record.py ``managed``)."""
    return sorted(KEPT_WHEN_LEFT_OUT.intersection(values).intersection(declared))


def _unmanaged_notes(
    declared: Mapping[str, Any], ignore: Iterable[str], current: RemoteAssistant
) -> tuple[str, ...]:
    """A field the record says the file declared, gone from the file and not clearable: the platform keeps
    its value and the reconciler stops managing it. Said once per plan, so that a deletion is never silent."""
    ignored = set(ignore)
    gone = sorted(
        n
        for n in managed_of(current.record)
        if n in KEPT_WHEN_LEFT_OUT and n not in declared and n not in ignored
    )
    return tuple(f"{n}: {NO_LONGER_MANAGED} (the platform keeps {_kept(current, n)})" for n in gone)


def _kept(current: RemoteAssistant, name: str) -> str:
    if name not in current.observed:
        return "what it has"
    value = json.dumps(current.fields.get(name), ensure_ascii=False)
    return value if len(value) <= 40 else "its value"


def _mode_resends(
    wanted: Mapping[str, Any],
    declared: Mapping[str, Any],
    changes: list[FieldChange],
    current: RemoteAssistant,
) -> list[FieldChange]:
    changed = {c.path for c in changes}
    return [
        FieldChange(name, current.fields.get(name), wanted[name], name in current.observed, REASON_MODE)
        for name in sorted(RESET_BY_MODE_CHANGE)
        if name in declared and name in wanted and name not in changed
    ]


def _write_only(
    values: Mapping[str, Any], current: RemoteAssistant, digest: Digest
) -> tuple[dict[str, str] | None, list[str], list[str]]:
    """(record to write, fields to send, fields that can't be tracked)."""
    if not values:
        return None, [], []
    if "variables" not in current.observed:  # nowhere to keep a record: send them every time
        return None, sorted(values), sorted(values)
    record = {name: digest(name, value) for name, value in sorted(values.items())}
    last = (current.record or {}).get("fields", {})
    pending = [name for name, value in record.items() if last.get(name) != value]
    return record, pending, []


def _user_variables(wanted: Mapping[str, Any], current: RemoteAssistant) -> dict[str, Any]:
    if "variables" in wanted:
        return dict(wanted["variables"] or {})
    return dict(current.fields.get("variables") or {})


def _dedupe(changes: list[FieldChange]) -> list[FieldChange]:
    """The first change of each field, in the API's order of fields (a field it does not know goes last)."""
    if not changes:
        return changes  # nine assistants in ten: no change at all
    seen: dict[str, FieldChange] = {}
    for change in changes:
        seen.setdefault(change.path, change)
    return sorted(seen.values(), key=lambda c: _FIELD_ORDER.get(c.path, len(_FIELD_ORDER)))


_FIELD_ORDER = {name: i for i, name in enumerate(API_FIELDS)}


def diff_create(
    declared: Mapping[str, Any], observed: frozenset[str], digest: Digest, ownership: Ownership | None = None
) -> Diff:
    """A create sends everything the file declares (ignore_changes included: it needs a first value).

    Fields that no assistant of the account has been seen to return get a record, so that the first plan after
    the create knows what was sent; with --prune the record also says who owns it.
    """
    mode = declared.get("mode")
    body = {n: v for n, v in declared.items() if n in API_FIELDS and applies_to_mode(n, mode)}
    body.update(extra_of(declared))
    unseen = {n: digest(n, v) for n, v in sorted(body.items()) if n not in observed}
    changes = tuple(FieldChange(n, None, v, before_known=False) for n, v in body.items())
    record = encode_record(unseen, ownership, _not_clearable(body, declared)) if unseen or ownership else None
    if record is not None:
        body["variables"] = {**dict(body.get("variables") or {}), RECORD_KEY: record}
    return Diff(changes, body)

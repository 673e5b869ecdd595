"""The one normaliser: the API's read shape and a file's values both become the canonical shape, so that plan,
stale-plan checks and post-apply verification compare like with like (docs/api.md#read-shape-vs-write-shape).

Canonical means: what the API would store after a write. Numbers are numbers (the list returns ``"0.7"``),
booleans are booleans (it returns ``0``/``1``), built-in tools are flat (it nests them under ``data``),
``"boolean"`` is ``"bool"``, strings are trimmed with ``""`` as ``null`` (Laravel's input middleware does that
on write), and an empty ``variables`` is ``{}`` (PHP reads an empty object back as ``[]``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from reconciler.constraints import api_trim
from reconciler.fields import FIELD_KINDS, MODE_ONLY
from reconciler.record import RECORD_KEY, parse_record
from reconciler.spec import API_FIELDS
from reconciler.text import Interner
from reconciler.tolerance import tool_value, unknown_fields

#: The API fields as a set: the fields an item carries are one intersection with it.
_API_FIELD_SET = frozenset(API_FIELDS)
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_TOOL_BOOLEANS = frozenset({"custom"})
_LARGEST_ID = 2**63 - 1  # a PHP integer (a MySQL BIGINT): past it a number cannot be an id the API gave


def whole_number(value: Any, *, minimum: int = 0) -> int | None:
    """The integer ``value`` means to the API, or None: a JSON integer or a string of ASCII digits (PHP may
    send either), at least ``minimum``. Never a float, a boolean, a sign or another script's digits, which
    ``int()`` accepts: to it ``1.5``, ``true`` and an Arabic-Indic ``"\\u0661"`` are all 1, so a PUT would go
    to an id the server never returned.
    """
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if type(value) is not int or not minimum <= value <= _LARGEST_ID:  # type(): a bool is an int to Python
        return None
    return value


def assistant_id(value: Any) -> int | None:
    return whole_number(value, minimum=1)


def canonical(field: str, value: Any) -> Any:
    """A value of ``field`` as the API stores it, whichever shape it arrived in."""
    if value is None:
        return None
    return _CANONICAL.get(field, _as_is)(value)


def canonical_values(fields: Iterable[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """``canonical`` of each of ``fields`` in ``values`` (which must hold them all): one call for the ~40
    fields of an item instead of one each, which thousands of items make (issue 19)."""
    return {
        name: None if (value := values[name]) is None else normalised(value)
        for name, normalised in _canonical_functions(tuple(fields))
    }


@lru_cache(maxsize=256)
def _canonical_functions(fields: tuple[str, ...]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    return tuple((name, _CANONICAL.get(name, _as_is)) for name in fields)


def _as_is(value: Any) -> Any:
    return value


def _canonical_of(field: str) -> Callable[[Any], Any]:
    """How a value of ``field`` becomes canonical: chosen once per field, not once per value (issue 19)."""
    kind = FIELD_KINDS.get(field)
    if field == "tools":
        return lambda value: [_tool(item) for item in value] if isinstance(value, list) else value
    if field == "post_call_schema":
        return lambda value: [_schema_item(item) for item in value] if isinstance(value, list) else value
    if field == "variables":
        return _variables
    if kind == "list":
        return lambda value: [_number(v, integer=True) for v in value] if isinstance(value, list) else value
    if kind == "str":
        return _text
    if kind == "int":
        return _integer
    if kind == "float":
        return _float
    if kind == "bool":
        return _boolean
    return _as_is


#: The short texts of list items, one string for each: every assistant repeats ``outbound``, ``vad``,
#: ``Europe/Berlin`` and its tools' descriptions, 50-100 bytes a copy (issue 19).
_shared_text: Interner[str] = Interner(20_000, longest=64)
#: What each number the list sent as text (``"0.7"``) is, as an integer field and as a float field.
_NUMBERS: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
_NUMBERS_KEPT = 4096


def _text(value: Any) -> Any:
    return (_shared_text[api_trim(value)] or None) if isinstance(value, str) else value


def _number(value: Any, *, integer: bool) -> Any:
    if isinstance(value, str):
        known = _NUMBERS[integer]
        number = known.get(value)
        if number is None:
            number = _number_of_text(value, integer=integer)
            if len(known) < _NUMBERS_KEPT and len(value) <= 32:
                known[value] = number
        value = number
    if isinstance(value, float) and integer and value.is_integer():
        return int(value)
    return value


def _integer(value: Any) -> Any:
    return value if type(value) is int else _number(value, integer=True)  # type(): a bool is no int here


def _float(value: Any) -> Any:
    return value if type(value) is float or type(value) is int else _number(value, integer=False)


def _number_of_text(value: str, *, integer: bool) -> Any:
    """A number sent as text (an integer field's whole number as an int); a text that is no number stays."""
    text = value.strip()
    if not _NUMBER.fullmatch(text):
        return value
    return int(text) if integer and text.lstrip("+-").isdigit() else float(text)


def _boolean(value: Any) -> Any:
    if value is True or value is False:
        return value
    if value in (0, 1, "0", "1") and not isinstance(value, bool | float):
        return value in (1, "1")
    return value


def _tool(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    flat = {k: v for k, v in item.items() if k != "data"}
    if isinstance(item.get("data"), dict):
        flat.update(item["data"])  # read shape: {"type": ..., "data": {...}}
    result: dict[str, Any] = {}
    for key, value in flat.items():
        value = _boolean(value) if key in _TOOL_BOOLEANS else tool_value(key, _text(value))
        if value is not None:  # a tool object is replaced whole: an absent key and null are the same
            result[key] = value
    return result


def _schema_item(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    result = {k: _text(v) for k, v in item.items()}
    if result.get("type") == "boolean":
        result["type"] = "bool"
    return result


def _variables(value: Any) -> Any:
    if value == []:
        return {}
    return {k: _text(v) for k, v in value.items()} if isinstance(value, dict) else value


#: Each API field's canonical form, by field.
_CANONICAL: dict[str, Callable[[Any], Any]] = {name: _canonical_of(name) for name in FIELD_KINDS}


def applies_to_mode(field: str, mode: str | None) -> bool:
    """False for a field of the other engine mode, which is never managed (and reads back as null)."""
    modes = MODE_ONLY.get(field)
    return modes is None or mode is None or mode in modes


@lru_cache(maxsize=256)
def fields_for_mode(fields: frozenset[str] | tuple[str, ...], mode: str | None) -> tuple[str, ...]:
    """The ``fields`` that apply to ``mode``, in their order: asked once per set of fields and mode, though
    thousands of assistants ask (issue 19). ``mode`` is whatever an item or a file says, so the cache is
    bounded."""
    return tuple(f for f in fields if applies_to_mode(f, mode))


@dataclass(frozen=True, slots=True)
class RemoteAssistant:
    """One assistant as the list endpoint returned it, normalised."""

    id: int
    name: str | None
    mode: str | None
    # canonical values of the API fields the item carried, for its mode; secrets among them (a Cal.com key)
    fields: dict[str, Any] = dataclasses.field(repr=False)
    observed: frozenset[str]  # API fields the item carried at all: the others are write-only
    record: dict[str, Any] | None  # the reconciler's bookkeeping, if any
    # changes whenever anything in the item changes (for stale-plan checks); None when it was not asked for
    fingerprint: str | None
    # fields this version does not know (tolerance.py): compared only when a file declares them (extra_fields)
    unknown: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def carries(self, name: str) -> bool:
        """Whether the item carried the field, known or not (a field it did not carry is write-only)."""
        return not self.uncarried((name,))

    def uncarried(self, names: Iterable[str]) -> list[str]:
        """The ``names`` the item did not carry, in their order: the write-only ones. The one statement of the
        rule, for many names at once: ``diff_update`` asks it of every field an update manages."""
        observed, unknown = self.observed, self.unknown
        return [name for name in names if name not in observed and name not in unknown]

    def value(self, name: str) -> Any:
        """The canonical value of a field, known or not (None when the item did not carry it)."""
        return self.fields[name] if name in self.fields else self.unknown.get(name)


def normalise(item: dict[str, Any], *, fingerprinted: bool = True) -> RemoteAssistant:
    """One list item; its id was checked by the listing (listing.py), so a bad one here is a bug.
    ``fingerprinted=False``: without the fingerprint, for a plan that is shown and not saved (``Session.read``)."""
    ident = assistant_id(item.get("id"))
    if ident is None:
        raise ValueError(f"not an assistant id: {item.get('id')!r}")
    said = _text(item.get("mode"))
    # a mode that is not text (a broken server's list or object) is no engine mode: its fields are all read, and
    # a file's mode differs from it, so the plan sets the mode again instead of failing on it
    mode = said if isinstance(said, str) else None
    unknown = unknown_fields(item)
    observed = _shared(_API_FIELD_SET.intersection(item))
    fields = canonical_values(fields_for_mode(observed, mode), item)
    record = None
    variables = fields.get("variables")
    if isinstance(variables, dict) and RECORD_KEY in variables:
        record = parse_record(variables.pop(RECORD_KEY))
    return RemoteAssistant(
        id=ident,
        name=_text(item.get("name")),
        mode=mode,
        fields=fields,
        observed=observed,
        record=record,
        fingerprint=fingerprint(item) if fingerprinted else None,
        unknown=unknown,
    )


@lru_cache(maxsize=64)
def _shared(observed: frozenset[str]) -> frozenset[str]:
    """One set for all the assistants that carried the same fields (nearly all of them carry the same 44):
    2 KB an assistant otherwise, a tenth of what a plan holds per assistant (issue 19)."""
    return observed


#: ``json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)``, made once: a list item is never
#: circular (it was decoded from JSON), so the check for it is left out
_FINGERPRINT_TEXT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str, check_circular=False)


def fingerprint(item: dict[str, Any]) -> str:
    """A short digest of everything the API returned for one assistant."""
    return hashlib.sha256(_FINGERPRINT_TEXT.encode(item).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Account:
    """The platform's assistants, normalised, with the fields the API was seen to return."""

    assistants: tuple[RemoteAssistant, ...]
    inconsistency: str = ""  # why the listing may have missed an assistant (listing.py); '' when it is whole

    @classmethod
    def of(cls, items: Iterable[dict[str, Any]], inconsistency: str = "") -> Account:
        """The account a listing read shows: its items as the API returned them, normalised."""
        return cls(tuple(normalise(item) for item in items), inconsistency=inconsistency)

    @cached_property
    def observed(self) -> frozenset[str]:
        return frozenset().union(*{a.observed for a in self.assistants})  # the shared sets, each once

    @cached_property
    def _ids(self) -> dict[int, RemoteAssistant]:
        return {a.id: a for a in self.assistants}

    @cached_property
    def _names(self) -> dict[str | None, list[RemoteAssistant]]:
        index: dict[str | None, list[RemoteAssistant]] = {}
        for assistant in self.assistants:
            index.setdefault(assistant.name, []).append(assistant)
        return index

    def by_id(self, assistant_id: int) -> RemoteAssistant | None:
        return self._ids.get(assistant_id)

    def named(self, name: str) -> list[RemoteAssistant]:
        return self._names.get(name, [])

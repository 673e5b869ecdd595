"""PURE: what this version does when the API has grown past it (docs/contract.md#when-the-api-grows).

The API adds built-in tool types and fields over time (docs/api.md#growth). None of that may
make a real account fail or drift:

- a built-in tool of a type this version does not know is accepted in a file (``spec.UnknownTool``: its
  ``type`` and flat scalar values), said once per run as a warning (``unknown_tool_warnings``), sent as written,
  and compared with numeric strings equal to numbers (``comparable``), since the API reads numbers back as
  strings; a ``*_id`` key holding a string of digits is the integer the API takes on write (``tool_value``);
- a field the API returns that this version does not know is kept aside (``unknown_fields``), never compared
  unless a file declares it under ``extra_fields``; ``unknowns`` lists those fields and tool types for
  ``doctor``;
- ``extra_fields:`` in a file is the escape hatch for fields this version does not know yet: sent as written
  (trimmed, as the API trims input), compared when the API returns them, refused for a key this version knows
  (``extra_fields_rule``), where the typed field's checks must apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.constraints import api_trim
from reconciler.errors import Problem
from reconciler.fields import EXTRA_FIELDS_KEY, READ_ONLY
from reconciler.spec import API_FIELDS, KNOWN_TOOLS, NAME_KEYS, OWN_KEYS
from reconciler.text import Path_, did_you_mean

if TYPE_CHECKING:
    from reconciler.desired import DesiredAssistant

#: A number as the API writes one into a string: ``"7"``, ``"0.5"``, ``"-2"``. No sign, leading zero or
#: exponent beyond that, so that a phone number (``+14155550100``) or a code (``"007"``) stays text.
_PLAIN_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_DIGITS = re.compile(r"[0-9]{1,18}")

_KNOWN_KEYS = frozenset(API_FIELDS) | OWN_KEYS | frozenset(NAME_KEYS)


# ---- values ---------------------------------------------------------------------------------------------------


def as_stored(value: Any) -> Any:
    """A value of a field this version does not know, as the API stores it: strings trimmed and ``""`` as
    null at any depth (Laravel's input middleware), everything else as it is."""
    if isinstance(value, str):
        return api_trim(value) or None
    if isinstance(value, list):
        return [as_stored(v) for v in value]
    if isinstance(value, dict):
        return {k: as_stored(v) for k, v in value.items()}
    return value


def tool_value(key: str, value: Any) -> Any:
    """A value inside a built-in tool in the write shape: the list reads ids back as strings (``"7"``), the
    write takes the integer, like every other id of the API. Only ``*_id`` keys: a phone number stays text."""
    if key.endswith("_id") and isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    return value


def comparable(value: Any) -> Any:
    """``value`` with every plain numeric string a number, for comparison only: the platform reads numbers
    inside tool data back as strings, and a field this version does not know may do the same."""
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    return value


# ---- the escape hatch -----------------------------------------------------------------------------------------


def extra_values(declared: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a file declares under ``extra_fields``, flat by their API names, as the API stores them."""
    extra = declared.get(EXTRA_FIELDS_KEY)
    return {k: as_stored(v) for k, v in extra.items()} if isinstance(extra, dict) else {}


def extra_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a file's canonical values (``reconcile.desired_values``) that came from ``extra_fields``."""
    return {k: v for k, v in values.items() if k not in _KNOWN_KEYS and k not in READ_ONLY}


def api_path(path: Path_) -> Path_:
    """Where a value of the file goes in a request body: ``extra_fields.x`` is sent as ``x``."""
    return path[1:] if len(path) > 1 and path[0] == EXTRA_FIELDS_KEY else path


def extra_fields_rule(data: dict[str, Any]) -> Iterator[tuple[Path_, str]]:
    """A key this version knows is refused under ``extra_fields``: there it would skip the field's checks,
    name resolution and normalisation, and two places could set one field."""
    extra = data.get(EXTRA_FIELDS_KEY)
    if not isinstance(extra, dict):
        return
    for key in extra:
        if not isinstance(key, str):
            continue
        if key in API_FIELDS or key in NAME_KEYS:
            yield (
                (EXTRA_FIELDS_KEY, key),
                (
                    f"{key} is a field this version of reconciler knows: write it at the top level of the file, "
                    "where it is checked"
                ),
            )
        elif key in OWN_KEYS:
            yield (EXTRA_FIELDS_KEY, key), f"{key} is a key of the file itself, not an API field"
        elif key in READ_ONLY:
            yield (EXTRA_FIELDS_KEY, key), f"{key} is set by the platform (read-only): it cannot be sent"


# ---- what the platform returns --------------------------------------------------------------------------------


_KNOWN = frozenset(API_FIELDS) | READ_ONLY


def unknown_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of one list item that this version does not know, as the API stores them."""
    if item.keys() <= _KNOWN:  # nearly every item: one set operation instead of a test per key (issue 19)
        return {}
    return {k: as_stored(v) for k, v in item.items() if k not in API_FIELDS and k not in READ_ONLY}


@dataclass(frozen=True)
class Unknowns:
    """What a read of the platform holds that this version does not know (for ``doctor``): findings, not
    failures."""

    fields: tuple[str, ...]  # sorted field names
    tool_types: tuple[str, ...]  # sorted built-in tool types

    @property
    def empty(self) -> bool:
        return not self.fields and not self.tool_types


def unknowns(items: Iterable[Any]) -> Unknowns:
    """The field names and built-in tool types in raw list items (as the API returned them) that this version
    does not know. Items that are not mappings are skipped: the listing reports those."""
    fields: set[str] = set()
    types: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        fields.update(k for k in unknown_fields(item) if isinstance(k, str))
        types.update(_unknown_types(item.get("tools")))
    return Unknowns(tuple(sorted(fields)), tuple(sorted(types)))


def _unknown_types(tools: Any) -> Iterator[str]:
    for tool in tools if isinstance(tools, list) else []:
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind not in KNOWN_TOOLS:
            yield kind


# ---- warnings -------------------------------------------------------------------------------------------------


def unknown_tool_warnings(assistants: Iterable[DesiredAssistant], said: set[str] | None = None) -> list[str]:
    """One line per tool type this version does not know, at its first use in the files (``FILE:LINE:
    tools[N].type: ...``); types in ``said`` were warned about already this run, and are added to it."""
    said = set() if said is None else said
    lines: list[str] = []
    for assistant in assistants:
        tools = assistant.source.data.get("tools")
        for index, tool in enumerate(tools if isinstance(tools, list) else []):
            kind = tool.get("type") if isinstance(tool, dict) else None
            if not isinstance(kind, str) or kind in KNOWN_TOOLS or kind in said:
                continue
            said.add(kind)
            lines.append(str(_warning(assistant, ("tools", index, "type"), kind)))
    return lines


def _warning(assistant: DesiredAssistant, path: Path_, kind: str) -> Problem:
    if assistant.source.is_secret(path):
        shown, hint = "from the environment", ""
    else:
        shown, hint = repr(kind), _typo_of_known(kind)
    message = f"unknown tool type {shown} (this version of reconciler does not know it; it is sent as written){hint}"
    return assistant.source.problem(path, message)


def _typo_of_known(kind: str) -> str:
    """``; did you mean 'end_call'?`` for a type a letter or two from a known one (``end_cal``); a new type
    that shares a word with one (``warm_call_transfer``) is no typo."""
    near = [known for known in KNOWN_TOOLS if abs(len(known) - len(kind)) <= 2]
    return did_you_mean(kind, near, ignore_case=True)

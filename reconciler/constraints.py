"""Reusable field constraints for the assistant model, each with its own error message and JSON Schema.

Pydantic's stock messages ("Input should be less than or equal to 1.2") name one bound; a person fixing a file
wants both bounds and the value they wrote, in the form ``must be between 0.7 and 1.2 (got 1.5)``.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from reconciler.text import did_you_mean
from reconciler.zones import is_available_zone


def _num(value: float) -> str:
    try:
        return f"{value:g}"
    except OverflowError:  # an int too large for a float
        text = str(value)
        return f"{text[:12]}… ({len(text)} digits)"


#: What the API's input trimming removes (Laravel's Str::trim): whitespace, and BOM, zero-width space, LRM.
#: A regex character class body, valid in Python and in the ECMA-262 dialect of JSON Schema patterns alike.
TRIMMED = r"\s\ufeff\u200b\u200e"
_TRIM = re.compile(rf"^[{TRIMMED}]+|[{TRIMMED}]+$")
#: A string the API would not store as null: something is left after trimming.
NOT_BLANK = rf"[^{TRIMMED}]"


#: TRIMMED beyond ``\s`` (which matches exactly the characters ``str.isspace`` accepts).
_INVISIBLE = frozenset("\ufeff\u200b\u200e")


def api_trim(text: str) -> str:
    """``text`` as the API stores it, trimmed at both ends. Called about 36 times an assistant: most strings
    have nothing to trim, and looking at their two ends is ten times cheaper than the regex (issue 19)."""
    if text and "!" <= text[0] <= "~" and "!" <= text[-1] <= "~":
        return text  # printable ASCII at both ends, none of it trimmed: no call at all
    if text and not (_trimmed(text[0]) or _trimmed(text[-1])):
        return text
    return _TRIM.sub("", text)


def _trimmed(char: str) -> bool:
    return char.isspace() or char in _INVISIBLE


class _Check:
    """Base: run ``check`` after the type is validated, and add ``schema_extra`` to the JSON Schema."""

    def check(self, value: Any) -> Any:  # pragma: no cover - overridden
        return value

    def schema_extra(self) -> dict[str, Any]:
        return {}

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        result = handler(schema)
        result.update(self.schema_extra())
        return result


@dataclass(frozen=True)
class Between(_Check):
    """A number within ``[low, high]``."""

    low: float
    high: float

    def check(self, value: Any) -> Any:
        if not self.low <= value <= self.high:
            raise PydanticCustomError(
                "range",
                "must be between {low} and {high} (got {got})",
                {"low": _num(self.low), "high": _num(self.high), "got": _num(value)},
            )
        return value

    def schema_extra(self) -> dict[str, Any]:
        return {"minimum": self.low, "maximum": self.high}


@dataclass(frozen=True)
class PositiveId(_Check):
    """A platform id: an integer from 1."""

    def check(self, value: Any) -> Any:
        if not 1 <= value <= MAX_ID:
            raise PydanticCustomError(
                "range", "must be a positive integer id (got {got})", {"got": _num(value)}
            )
        return value

    def schema_extra(self) -> dict[str, Any]:
        return {"minimum": 1, "maximum": MAX_ID}


MAX_ID = 2**63 - 1  # the API's ids are 64-bit integers


@dataclass(frozen=True)
class Text(_Check):
    """A string as the API will store it: trimmed, and ``""`` stored as null.

    ``blank_ok`` is for nullable fields, where an empty string simply means "clear it".
    """

    max_length: int | None = None
    min_length: int = 0
    blank_ok: bool = False

    def check(self, value: Any) -> Any:
        length = len(api_trim(value))
        if length == 0 and not self.blank_ok:
            raise PydanticCustomError("blank", "must not be empty (the API stores an empty string as null)")
        if self.max_length is not None and length > self.max_length:
            raise PydanticCustomError(
                "too_long",
                "must be at most {max} characters (got {got})",
                {"max": self.max_length, "got": length},
            )
        if 0 < length < self.min_length:
            raise PydanticCustomError(
                "too_short",
                "must be at least {min} characters (got {got})",
                {"min": self.min_length, "got": length},
            )
        return value

    def schema_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {} if self.blank_ok else {"pattern": NOT_BLANK}
        if self.max_length is not None:
            extra["maxLength"] = self.max_length
        if self.min_length:
            extra["minLength"] = self.min_length
        return extra


@dataclass(frozen=True)
class Matches(_Check):
    """A string matching ``pattern``; ``describe`` says in words what is expected."""

    pattern: str
    describe: str

    def check(self, value: Any) -> Any:
        if not re.fullmatch(self.pattern, value):
            raise PydanticCustomError(
                "format", "must be {what} (got {got})", {"what": self.describe, "got": repr(value)}
            )
        return value

    def schema_extra(self) -> dict[str, Any]:
        return {"pattern": f"^(?:{self.pattern})$"}


E164 = Matches(r"\+[1-9][0-9]{1,14}", "a phone number in E.164 form, like +14155550100")
VARIABLE_NAME = Matches(r"[A-Za-z_][A-Za-z0-9_]*", "a name of ASCII letters, digits and _ usable as {{name}}")
SCHEMA_NAME = Matches(r"[a-z0-9_]{3,16}", "3 to 16 characters of a-z, 0-9 and _")
#: A field or tool type the API may add: its names are snake case (docs/contract.md#when-the-api-grows).
API_NAME = Matches(r"[a-z][a-z0-9_]*", "a name of a-z, 0-9 and _ that starts with a letter, as the API's are")


@dataclass(frozen=True)
class FlatValue(_Check):
    """A value of a built-in tool this version does not know: the API takes tools flat, so a scalar."""

    def check(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            raise PydanticCustomError(
                "flat",
                "must be a string, a number, true, false or null: a tool of a type this version does not "
                "know is sent as written, and built-in tools are flat",
            )
        return value

    def schema_extra(self) -> dict[str, Any]:
        return {"type": ["string", "number", "boolean", "null"]}


@cache
def timezones() -> frozenset[str]:
    """Every zone, for the names a hint may suggest: listing them costs 20 ms, asked only for a wrong one."""
    return frozenset(zoneinfo.available_timezones())


@dataclass(frozen=True)
class Timezone(_Check):
    """An IANA time zone name such as ``Europe/Berlin``."""

    def check(self, value: Any) -> Any:
        if not is_available_zone(value):
            hint = did_you_mean(value, timezones(), ignore_case=True)
            raise PydanticCustomError(
                "format",
                "must be an IANA time zone like 'Europe/Berlin' (got {got}){hint}",
                {"got": repr(value), "hint": hint},
            )
        return value


@dataclass(frozen=True)
class WebUrl(_Check):
    """An absolute http(s) URL."""

    def check(self, value: Any) -> Any:
        if not api_trim(value):
            return value  # "" is stored as null: the same as clearing the URL
        parts = urlsplit(api_trim(value))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError("format", "must be an http(s) URL (got {got})", {"got": repr(value)})
        return value

    def schema_extra(self) -> dict[str, Any]:
        # not "format": "uri", which refuses the "" that clears the URL; urlsplit lowercases the scheme
        return {"pattern": rf"^[{TRIMMED}]*(?:[hH][tT][tT][pP][sS]?://[^/?#{TRIMMED}]|$)"}


@dataclass(frozen=True)
class Unique(_Check):
    """A list whose items are all different (the API treats these lists as sets)."""

    def check(self, value: Any) -> Any:
        seen: list[Any] = []
        for item in value:
            if item in seen:
                raise PydanticCustomError("duplicate", "contains {item} more than once", {"item": repr(item)})
            seen.append(item)
        return value

    def schema_extra(self) -> dict[str, Any]:
        return {"uniqueItems": True}

"""The API's validation, written from ``docs/api.md`` alone (it must not share code with ``spec.py``:
an emulator that reused the client's rules could never catch the client breaking them).

Laravel behaviour, reproduced on purpose:
- input strings are trimmed and ``""`` becomes ``null`` before validation (TrimStrings, ConvertEmptyStrings);
- numbers may arrive as numeric strings, booleans as ``0``/``1``/``"0"``/``"1"``;
- unknown keys are dropped silently (only validated keys are used);
- a 422 lists every failing key; its ``message`` is the first error plus "(and N more errors)".
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import urlsplit

REALTIME = ("multimodal", "dualplex")

NULLABLE = frozenset(
    {
        "chat_llm_fallback_id",
        "turn_detection_threshold",
        "knowledgebase_id",
        "phone_number_id",
        "synthesizer_provider_id",
        "transcriber_provider_id",
        "max_initial_silence_duration",
        "reengagement_prompt",
        "voice_mail_message",
        "webhook_url",
        "min_interrupt_words",
        # mode-only models: null is how the other mode stores them (prohibited/required_if, not "nullable")
        "llm_model_id",
        "multimodal_model_id",
        "fillers",
    }
)
REQUIRED_ON_CREATE = (
    "name",
    "voice_id",
    "language_id",
    "type",
    "mode",
    "timezone",
    "initial_message",
    "system_prompt",
)
PIPELINE_ONLY = ("llm_model_id", "transcriber_provider_id", "fillers")
REALTIME_ONLY = ("multimodal_model_id", "chat_llm_fallback_id", "turn_detection_threshold")


class Invalid(Exception):
    """A 422: ``errors`` maps each failing key to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(next(iter(errors.values()))[0])
        self.errors = errors

    def body(self) -> dict[str, Any]:
        messages = [m for ms in self.errors.values() for m in ms]
        more = len(messages) - 1
        suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
        return {"message": messages[0] + suffix, "errors": self.errors}


def attr(key: str) -> str:
    return key.replace("_", " ")


_LARAVEL_TRIM = re.compile(r"^[\s\ufeff\u200b\u200e]+|[\s\ufeff\u200b\u200e]+$")


def normalise_input(value: Any) -> Any:
    """Laravel's TrimStrings (Str::trim: whitespace, BOM, zero-width space, LRM) + ConvertEmptyStringsToNull,
    applied to every string at any depth."""
    if isinstance(value, str):
        value = _LARAVEL_TRIM.sub("", value)
        return value or None
    if isinstance(value, list):
        return [normalise_input(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise_input(v) for k, v in value.items()}
    return value


# --- scalar coercion: (value) -> coerced value, or raise _Bad(message template) --------------------------


class _Bad(Exception):
    pass


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise _Bad("The {attr} field must be an integer.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[-+]?\d+", value):
        return int(value)
    raise _Bad("The {attr} field must be an integer.")


def _numeric(value: Any) -> float | int:
    if isinstance(value, bool):
        raise _Bad("The {attr} field must be a number.")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            return int(number) if re.fullmatch(r"[-+]?\d+", value) else number
    raise _Bad("The {attr} field must be a number.")


def _boolean(value: Any) -> bool:
    if value in (True, False, 0, 1, "0", "1") and not isinstance(value, float):
        return value in (True, 1, "1")
    raise _Bad("The {attr} field must be true or false.")


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad("The {attr} field must be a string.")
    return value


def _max(limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = _string(value)
        if len(text) > limit:
            raise _Bad(f"The {{attr}} field must not be greater than {limit} characters.")
        return text

    return check


def _between(low: float, high: float, kind: Callable[[Any], Any] = _numeric) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        number = kind(value)
        if not low <= number <= high:
            raise _Bad(f"The {{attr}} must be between {low:g} and {high:g}.")
        return number

    return check


def _enum(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise _Bad("The selected {attr} is invalid.")
        return str(value)

    return check


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or value not in _zones():
        raise _Bad("The {attr} field must be a valid timezone.")
    return value


def _url(value: Any) -> str:
    parts = urlsplit(_string(value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Bad("The {attr} field must be a valid URL.")
    return str(value)


SCALARS: dict[str, Callable[[Any], Any]] = {
    "name": _max(255),
    "voice_id": _integer,
    "language_id": _integer,
    "type": _enum("inbound", "outbound"),
    "mode": _enum("pipeline", "multimodal", "dualplex"),
    "timezone": _timezone,
    "initial_message": _max(200),
    "system_prompt": _string,
    "llm_model_id": _integer,
    "multimodal_model_id": _integer,
    "chat_llm_fallback_id": _integer,
    "turn_detection_threshold": _between(0, 1),
    "knowledgebase_id": _integer,
    "knowledgebase_mode": _enum("function_call", "prompt"),
    "phone_number_id": _integer,
    "tts_emotion_enabled": _boolean,
    "voice_stability": _between(0, 1),
    "voice_similarity": _between(0, 1),
    "llm_temperature": _between(0, 1),
    "speech_speed": _between(0.7, 1.2),
    "synthesizer_provider_id": _integer,
    "transcriber_provider_id": _integer,
    "allow_interruptions": _boolean,
    "fillers": _boolean,
    "record": _boolean,
    "enable_noise_cancellation": _boolean,
    "wait_for_customer": _boolean,
    "max_duration": _between(20, 1200, _integer),
    "max_silence_duration": _between(1, 360, _integer),
    "max_initial_silence_duration": _between(1, 120, _integer),
    "ringing_time": _between(1, 60, _integer),
    "reengagement_interval": _between(7, 600, _integer),
    "reengagement_prompt": _max(1000),
    "end_call_on_voicemail": _boolean,
    "voice_mail_message": _max(1000),
    "endpoint_type": _enum("vad", "ai"),
    "endpoint_sensitivity": _between(0, 5),
    "interrupt_sensitivity": _between(0, 5),
    "min_interrupt_words": _between(0, 10, _integer),
    "ambient_sound": _enum("off", "office", "city", "forest", "crowded_room", "cafe", "nature"),
    "ambient_sound_volume": _between(0, 1),
    "is_webhook_active": _boolean,
    "webhook_url": _url,
    "send_webhook_only_on_completed": _boolean,
    "include_recording_in_webhook": _boolean,
    "post_call_evaluation": _boolean,
}

# Built-in tools, flat on write: the keys each type takes, required ones first.
TOOL_KEYS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "call_transfer": {
        "phone_number": _string,
        "description": _string,
        "custom": _boolean,
        "timezone": _timezone,
    },
    "end_call": {"description": _string},
    "dtmf_input": {"description": _string},
    "calendar_integration": {"calcom_api_key": _string, "calcom_event_slug": _string},
}
TOOL_REQUIRED = {
    "call_transfer": ("phone_number",),
    "calendar_integration": ("calcom_api_key", "calcom_event_slug"),
}
LISTS = ("secondary_language_ids", "tool_ids", "tools", "post_call_schema")
FIELDS = (*SCALARS, *LISTS, "variables")


class Collector:
    """Gathers errors by key, in the order Laravel reports them (the order of the rules)."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message.replace("{attr}", attr(key)))

    def coerce(self, key: str, value: Any, rule: Callable[[Any], Any]) -> Any:
        try:
            return rule(value)
        except _Bad as bad:
            self.add(key, str(bad))
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise Invalid(self.errors)

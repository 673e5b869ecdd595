"""What the API does to an assistant: validate a body, create with defaults, merge a partial update, reset
mode-specific settings on a mode change, and render the read shape.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from reconciler.emulator.growth import DOCUMENTED, Growth
from reconciler.emulator.validation import (
    FIELDS,
    NULLABLE,
    PIPELINE_ONLY,
    REALTIME,
    REALTIME_ONLY,
    REQUIRED_ON_CREATE,
    SCALARS,
    TOOL_KEYS,
    TOOL_REQUIRED,
    Collector,
    normalise_input,
)

# Documented server defaults for omitted optional fields (docs/api.md#create).
DEFAULTS: dict[str, Any] = {
    "tts_emotion_enabled": True,
    "voice_stability": 0.7,
    "voice_similarity": 0.5,
    "speech_speed": 1.0,
    "llm_temperature": 0.1,
    "allow_interruptions": True,
    "record": False,
    "enable_noise_cancellation": True,
    "wait_for_customer": False,
    "max_duration": 600,
    "max_silence_duration": 40,
    "ringing_time": 30,
    "reengagement_interval": 30,
    "end_call_on_voicemail": True,
    "endpoint_type": "vad",
    "endpoint_sensitivity": 0.5,
    "interrupt_sensitivity": 0.5,
    "ambient_sound": "off",
    "ambient_sound_volume": 0.5,
    "is_webhook_active": False,
    "send_webhook_only_on_completed": True,
    "include_recording_in_webhook": True,
    "post_call_evaluation": True,
    "knowledgebase_mode": "function_call",
    "secondary_language_ids": [],
    "tool_ids": [],
    "tools": [],
    "post_call_schema": [],
    "variables": {},
}
# Settings a mode change resets to the new mode's defaults unless the same body sets them.
MODE_RESET = (*PIPELINE_ONLY, *REALTIME_ONLY, "synthesizer_provider_id")
_SCHEMA_NAME = re.compile(r"[a-z0-9_]{3,16}")


class Others(Protocol):
    """What the rules need to know about an account's other assistants (the store answers by an index)."""

    def inbound_users(self, number_id: int) -> list[int]:
        """The ids of the inbound assistants that use phone number ``number_id``."""
        ...


class Listed:
    """``Others`` over assistants given as a list (a seed, a benchmark)."""

    def __init__(self, assistants: Sequence[dict[str, Any]]) -> None:
        self.assistants = assistants

    def inbound_users(self, number_id: int) -> list[int]:
        return [
            a["id"]
            for a in self.assistants
            if a.get("type") == "inbound" and a.get("phone_number_id") == number_id
        ]


class Assistants:
    """The rules of create and update over one account's catalog and its other assistants."""

    def __init__(
        self,
        catalog: dict[str, Any],
        others: Others | Sequence[dict[str, Any]],
        growth: Growth = DOCUMENTED,
    ) -> None:
        self.catalog = catalog
        self.others = Listed(others) if isinstance(others, Sequence) else others
        self.growth = growth  # what this API version knows beyond the documented page (growth.py)

    # --- entry points ---------------------------------------------------------------------------------------

    def create(self, raw_body: Any, now: str) -> dict[str, Any]:
        body = normalise_input(raw_body if isinstance(raw_body, dict) else {})
        errors = Collector()
        mode = body.get("mode")
        required = (*REQUIRED_ON_CREATE, "llm_model_id" if mode == "pipeline" else "multimodal_model_id")
        for key in required:
            if body.get(key) is None and not (key == "multimodal_model_id" and mode not in REALTIME):
                errors.add(key, "The {attr} field is required.")
        clean = self._clean(body, errors, skip=set(errors.errors))
        merged = {**self._defaults(str(clean.get("mode"))), **clean}
        self._check_merged(merged, set(clean), errors)
        errors.raise_if_any()
        return {
            "id": None,
            **{key: merged[key] for key in (*FIELDS, *self.growth.fields)},
            "uuid": str(uuid.uuid4()),
            "status": "inactive",
            "user_id": 1,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
            "language": self._iso(merged.get("language_id")),
        }

    def update(self, current: dict[str, Any], raw_body: Any, now: str) -> dict[str, Any]:
        body = normalise_input(raw_body if isinstance(raw_body, dict) else {})
        errors = Collector()
        clean = self._clean(body, errors, skip=set())
        merged = {**current, **clean}
        if "mode" in clean and clean["mode"] != current.get("mode"):
            defaults = self._mode_defaults(str(clean["mode"]))
            merged.update({k: v for k, v in defaults.items() if k not in clean})
        self._check_merged(merged, set(clean), errors)
        errors.raise_if_any()
        return {**merged, "updated_at": now, "language": self._iso(merged.get("language_id"))}

    # --- per-key validation ---------------------------------------------------------------------------------

    def _clean(self, body: dict[str, Any], errors: Collector, skip: set[str]) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for key in (*FIELDS, *self.growth.fields):
            if key not in body or key in skip:
                continue
            value = body[key]
            if value is None:
                if key in NULLABLE or key in self.growth.nullable:
                    clean[key] = None
                else:
                    errors.add(key, self._null_message(key))
                continue
            clean[key] = self._value(key, value, errors)
        return {k: v for k, v in clean.items() if k not in errors.errors}

    @staticmethod
    def _null_message(key: str) -> str:
        if key in REQUIRED_ON_CREATE:
            return "The {attr} field is required."
        rule = SCALARS.get(key)
        if rule is None:
            return "The {attr} field must be an array."
        try:
            rule(None)
        except Exception as bad:
            return str(bad)
        return "The {attr} field is required."

    def _value(self, key: str, value: Any, errors: Collector) -> Any:
        if key in self.growth.fields:
            return self._grown(key, value, errors)
        if key in SCALARS:
            return errors.coerce(key, value, SCALARS[key])
        if key == "variables":
            return self._variables(value, errors)
        if not isinstance(value, list):
            errors.add(key, "The {attr} field must be an array.")
            return None
        if key in ("secondary_language_ids", "tool_ids"):
            return [errors.coerce(f"{key}.{i}", v, SCALARS["voice_id"]) for i, v in enumerate(value)]
        if key == "tools":
            return [self._tool(f"tools.{i}", item, errors) for i, item in enumerate(value)]
        return [self._schema_item(f"post_call_schema.{i}", item, errors) for i, item in enumerate(value)]

    def _grown(self, key: str, value: Any, errors: Collector) -> Any:
        """A field of a newer API version (growth.py): its rule, a list of ids, or an object."""
        if key in self.growth.scalars:
            return errors.coerce(key, value, self.growth.scalars[key])
        if key in self.growth.objects:
            if not isinstance(value, dict):
                errors.add(key, "The {attr} field must be an array.")
            return value
        if not isinstance(value, list):
            errors.add(key, "The {attr} field must be an array.")
            return None
        return [errors.coerce(f"{key}.{i}", v, SCALARS["voice_id"]) for i, v in enumerate(value)]

    @staticmethod
    def _variables(value: Any, errors: Collector) -> dict[str, Any]:
        if value == []:
            return {}
        if not isinstance(value, dict):
            errors.add("variables", "The {attr} field must be an array.")
            return {}
        for name, text in value.items():
            if not isinstance(text, str):
                errors.add(f"variables.{name}", "The {attr} field must be a string.")
        return dict(value)

    def _tool(self, prefix: str, item: Any, errors: Collector) -> dict[str, Any]:
        if not isinstance(item, dict):
            errors.add(prefix, "The {attr} field must be an array.")
            return {}
        kinds = {**TOOL_KEYS, **self.growth.tools}
        required = {**TOOL_REQUIRED, **self.growth.tool_required}
        kind = item.get("type")
        if kind not in kinds:
            errors.add(
                f"{prefix}.type",
                "The selected {attr} is invalid." if kind else "The {attr} field is required.",
            )
            return {}
        tool: dict[str, Any] = {"type": kind}
        for key in required.get(kind, ()):
            if item.get(key) is None:
                errors.add(f"{prefix}.{key}", "The {attr} field is required.")
        for key, rule in kinds[kind].items():
            if key in item:  # a nested "" arrives here as null and is stored as null
                tool[key] = None if item[key] is None else errors.coerce(f"{prefix}.{key}", item[key], rule)
        return tool

    @staticmethod
    def _schema_item(prefix: str, item: Any, errors: Collector) -> dict[str, Any]:
        if not isinstance(item, dict):
            errors.add(prefix, "The {attr} field must be an array.")
            return {}
        name, kind, description = item.get("name"), item.get("type"), item.get("description")
        for key, value in (("name", name), ("type", kind), ("description", description)):
            if value is None:
                errors.add(f"{prefix}.{key}", "The {attr} field is required.")
        if isinstance(name, str) and not _SCHEMA_NAME.fullmatch(name):
            errors.add(f"{prefix}.name", "The {attr} field format is invalid.")
        if kind is not None and kind not in ("string", "number", "bool"):
            errors.add(f"{prefix}.type", "The selected {attr} is invalid.")
        if isinstance(description, str) and not 3 <= len(description) <= 255:
            errors.add(f"{prefix}.description", "The {attr} field must be between 3 and 255 characters.")
        return {"name": name, "type": kind, "description": description}

    # --- rules over the merged state ------------------------------------------------------------------------

    def _check_merged(self, merged: dict[str, Any], sent: set[str], errors: Collector) -> None:
        mode = merged.get("mode")
        self._check_refs(merged, sent, errors)
        for key in PIPELINE_ONLY:
            if key in sent and merged.get(key) is not None and mode != "pipeline":
                errors.add(key, "The {attr} field is prohibited unless mode is pipeline.")
        for key in REALTIME_ONLY:
            if key in sent and merged.get(key) is not None and mode not in REALTIME:
                errors.add(key, "The {attr} field is prohibited unless mode is multimodal or dualplex.")
        # null is how the other mode stores these, so null is valid only there (required_if / boolean)
        for key, modes, message in (
            ("llm_model_id", ("pipeline",), "The {attr} field is required."),
            ("multimodal_model_id", REALTIME, "The {attr} field is required."),
            ("fillers", ("pipeline",), "The {attr} field must be true or false."),
        ):
            if mode in modes and merged.get(key) is None and {"mode", key} & sent:
                errors.add(key, message)
        if sent & {"voice_id", "mode"} and not self._voice_suits(merged.get("voice_id"), mode):
            errors.add("voice_id", "The selected voice is not compatible with the chosen engine type.")
        if (
            sent & {"allow_interruptions", "mode"}
            and merged.get("allow_interruptions") is False
            and mode in REALTIME
        ):
            errors.add(
                "allow_interruptions", "Interruptions cannot be disabled in multimodal or dualplex mode."
            )
        if (
            sent & {"knowledgebase_mode", "mode"}
            and merged.get("knowledgebase_mode") == "prompt"
            and mode != "pipeline"
        ):
            errors.add(
                "knowledgebase_mode", "The prompt knowledgebase mode is only available in pipeline mode."
            )
        if (
            sent & {"is_webhook_active", "webhook_url"}
            and merged.get("is_webhook_active")
            and not merged.get("webhook_url")
        ):
            errors.add("webhook_url", "The webhook url field is required when is webhook active is true.")
        if sent & {"phone_number_id", "type"}:
            self._check_inbound_number(merged, errors)

    def _check_refs(self, merged: dict[str, Any], sent: set[str], errors: Collector) -> None:
        mode = merged.get("mode")
        tables = {
            "voice_id": self.catalog["voices"],
            "language_id": self.catalog["languages"],
            "llm_model_id": self.catalog["models"]["llm"],
            "chat_llm_fallback_id": self.catalog["models"]["llm"],
            "multimodal_model_id": self.catalog["models"].get(str(mode), []),
            "knowledgebase_id": self.catalog["knowledgebases"],
            "phone_number_id": self.catalog["phone_numbers"],
            "synthesizer_provider_id": self.catalog["synthesizer_providers"],
            "transcriber_provider_id": self.catalog["transcriber_providers"],
        }
        for key, table in tables.items():
            value = merged.get(key)
            checked = key in sent or (key == "multimodal_model_id" and "mode" in sent)
            if key == "multimodal_model_id" and mode not in REALTIME:
                continue  # reported as prohibited instead
            if checked and value is not None and not any(row["id"] == value for row in table):
                errors.add(key, "The selected {attr} is invalid.")
        for key, table in (("secondary_language_ids", "languages"), ("tool_ids", "tools")):
            ids = {row["id"] for row in self.catalog[table]}
            for index, value in enumerate(merged.get(key) or [] if key in sent else []):
                if value is not None and value not in ids:
                    errors.add(f"{key}.{index}", "The selected {attr} is invalid.")

    def _voice_suits(self, voice_id: Any, mode: Any) -> bool:
        voice = next((v for v in self.catalog["voices"] if v["id"] == voice_id), None)
        return voice is None or mode in voice["modes"]  # an unknown voice is reported as invalid instead

    def _check_inbound_number(self, merged: dict[str, Any], errors: Collector) -> None:
        number_id = merged.get("phone_number_id")
        if merged.get("type") != "inbound" or number_id is None:
            return
        number = next((n for n in self.catalog["phone_numbers"] if n["id"] == number_id), None)
        if number is not None and "inbound" not in number["directions"]:
            errors.add("phone_number_id", "A Caller ID number cannot be used for an inbound assistant.")
        elif any(user != merged.get("id") for user in self.others.inbound_users(number_id)):
            errors.add("phone_number_id", "The phone number is already used by another inbound assistant.")

    # --- defaults -------------------------------------------------------------------------------------------

    def _defaults(self, mode: str) -> dict[str, Any]:
        nulls = dict.fromkeys(NULLABLE)
        return {**nulls, **DEFAULTS, **self.growth.defaults, **self._mode_defaults(mode)}

    def _mode_defaults(self, mode: str) -> dict[str, Any]:
        values: dict[str, Any] = dict.fromkeys(MODE_RESET)
        if mode == "pipeline":
            values.update(llm_model_id=self.catalog["models"]["llm"][0]["id"], fillers=False)
        elif mode in REALTIME and self.catalog["models"].get(mode):
            values["multimodal_model_id"] = self.catalog["models"][mode][0]["id"]
        return values

    def _iso(self, language_id: Any) -> str | None:
        return next((lang["iso_2"] for lang in self.catalog["languages"] if lang["id"] == language_id), None)

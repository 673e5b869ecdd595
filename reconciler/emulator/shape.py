"""The list endpoint's read shape: how the API returns what it stores (docs/api.md#read-shape-vs-write-shape).

The one place to change if the real API turns out to differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReadShape:
    """How the list endpoint renders a stored assistant. The one place to change if the real API differs."""

    string_numbers: tuple[str, ...] = (
        "llm_temperature",
        "voice_stability",
        "voice_similarity",
        "speech_speed",
        "ambient_sound_volume",
    )
    int_booleans: tuple[str, ...] = ("fillers", "end_call_on_voicemail")
    write_only: tuple[str, ...] = (
        "tool_ids",
        "secondary_language_ids",
        "chat_llm_fallback_id",
        "turn_detection_threshold",
        "tts_emotion_enabled",
        "reengagement_prompt",
        "voice_mail_message",
    )
    nested_tools: bool = True
    bool_label: str = "boolean"

    def render(self, stored: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in stored.items() if k not in self.write_only}
        for key in self.string_numbers:
            if isinstance(out.get(key), int | float):
                out[key] = str(float(out[key]))
        for key in self.int_booleans:
            if isinstance(out.get(key), bool):
                out[key] = int(out[key])
        if self.nested_tools and isinstance(out.get("tools"), list):
            out["tools"] = [
                {"type": t["type"], "data": {k: v for k, v in t.items() if k != "type"}} for t in out["tools"]
            ]
        if isinstance(out.get("post_call_schema"), list):
            out["post_call_schema"] = [_label_bool(item, self.bool_label) for item in out["post_call_schema"]]
        if out.get("variables") == {}:
            out["variables"] = []  # PHP: an empty JSON object decodes to an empty array
        return out


def _label_bool(item: dict[str, Any], label: str) -> dict[str, Any]:
    return {**item, "type": label} if item.get("type") == "bool" else item

"""Hypothesis strategies for random assistants in the API's write shape (valid against the demo catalog)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

VOICES = {"pipeline": [101, 102, 105], "multimodal": [201, 202, 302], "dualplex": [301, 302]}
MODELS = {"multimodal": [1, 2], "dualplex": [3, 4]}
names = itertools.count()  # unique assistant names across examples

padded = st.sampled_from(["", " ", "  "])


def text(words: list[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda pre, w, post: f"{pre}{w}{post}", padded, st.sampled_from(words), padded)


def unit(low: float = 0.0, high: float = 1.0) -> st.SearchStrategy[float]:
    return st.integers(int(low * 100), int(high * 100)).map(lambda n: n / 100)


TOOLS = st.lists(
    st.one_of(
        st.fixed_dictionaries({"type": st.just("end_call"), "description": text(["Bye.", "End it."])}),
        st.fixed_dictionaries({"type": st.just("dtmf_input")}, optional={"description": text(["Keys."])}),
        st.fixed_dictionaries(
            {
                "type": st.just("call_transfer"),
                "phone_number": st.sampled_from(["+14155550100", "+4930123456"]),
            },
            optional={"custom": st.booleans(), "timezone": st.sampled_from(["Europe/Berlin", "UTC"])},
        ),
    ),
    max_size=3,
)
SCHEMA = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["score", "booked", "reason_code"]),
            "type": st.sampled_from(["string", "number", "bool"]),
            "description": text(["What it is.", "A summary."]),
        }
    ),
    max_size=3,
    unique_by=lambda item: item["name"],
)
OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "speech_speed": unit(0.7, 1.2),
    "voice_stability": unit(),
    "llm_temperature": unit(),
    "ambient_sound_volume": unit(),
    "record": st.booleans(),
    "end_call_on_voicemail": st.booleans(),
    "tts_emotion_enabled": st.booleans(),
    "max_duration": st.integers(20, 1200),
    "min_interrupt_words": st.none() | st.integers(0, 10),
    "ambient_sound": st.sampled_from(["off", "office", "cafe"]),
    "knowledgebase_id": st.none() | st.sampled_from([10, 11]),
    "webhook_url": st.none() | st.sampled_from(["https://a.example/h", "https://b.example/h"]),
    "reengagement_prompt": st.none() | text(["Still there?", "Hello?"]),
    "voice_mail_message": st.none() | text(["Call back.", ""]),
    "tool_ids": st.lists(st.sampled_from([31, 32]), unique=True),
    "secondary_language_ids": st.lists(st.sampled_from([2, 3, 4]), unique=True),
    "variables": st.dictionaries(st.sampled_from(["a", "b"]), text(["x", "y z"]), max_size=2),
    "tools": TOOLS,
    "post_call_schema": SCHEMA,
    "system_prompt": text(["You help.", "Line one.\nLine two.\n"]),
}
MODE_SPECIFIC: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "pipeline": {"fillers": st.booleans(), "transcriber_provider_id": st.none() | st.sampled_from([1, 2])},
    "multimodal": {
        "chat_llm_fallback_id": st.none() | st.sampled_from([1, 2]),
        "turn_detection_threshold": st.none() | unit(),
    },
    "dualplex": {"turn_detection_threshold": st.none() | unit()},
}


@st.composite
def assistant(draw: st.DrawFn, name: str) -> dict[str, Any]:
    mode = draw(st.sampled_from(["pipeline", "multimodal", "dualplex"]))
    body: dict[str, Any] = {
        "name": name,
        "type": "outbound",
        "mode": mode,
        "language_id": draw(st.sampled_from([1, 2])),
        "voice_id": draw(st.sampled_from(VOICES[mode])),
        "timezone": "Europe/Berlin",
        "initial_message": draw(text(["Hi.", "Hello there."])),
        "system_prompt": "You help.",
    }
    if mode == "pipeline":
        body["llm_model_id"] = draw(st.sampled_from([1, 2, 3]))
    else:
        body["multimodal_model_id"] = draw(st.sampled_from(MODELS[mode]))
    optional = {**OPTIONAL, **MODE_SPECIFIC[mode]}
    chosen = draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=len(optional)))
    body.update({key: draw(optional[key]) for key in chosen})
    if body.get("webhook_url") and draw(st.booleans()):
        body["is_webhook_active"] = True
    return body


def property_settings(examples: int) -> settings:
    """Hypothesis settings of the end-to-end properties: no deadline (they talk HTTP), fixtures shared."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


#: Built-in tools of types the reconciler does not know, as a newer API takes them (emulator/growth.py).
NEWER_TOOLS = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("warm_call_transfer"), "supervisor_phone": st.sampled_from(["+14155550100"])},
            optional={
                "outbound_phone_id": st.sampled_from([7, 8]),
                "description": text(["To a person.", "42"]),
                "hold_music_volume": st.integers(0, 100),
                "caller_id_mode": st.sampled_from(["assistant", "caller"]),
            },
        ),
        st.fixed_dictionaries(
            {"type": st.just("collect_keypad")},
            optional={"timeout": st.integers(1, 30), "stop_key": st.sampled_from(["#", "*"])},
        ),
        st.fixed_dictionaries({"type": st.just("assistant_transfer"), "assistant_id": st.integers(1, 99)}),
    ),
    max_size=2,
)
#: Fields the reconciler does not know, as a newer API takes them.
NEWER_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "folder_id": st.none() | st.integers(1, 9),
    "label_ids": st.lists(st.integers(1, 9), max_size=2),
    "filler_config": st.none() | st.fixed_dictionaries({"words": st.lists(st.sampled_from(["um", "uh"]))}),
    "conversation_inactivity_timeout": st.integers(10, 3600),
}


@st.composite
def newer_assistant(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """An assistant of a newer API: new tool types among the known ones, and new fields."""
    body = draw(assistant(name))
    body["tools"] = [*body.get("tools", []), *draw(NEWER_TOOLS)]
    chosen = draw(st.lists(st.sampled_from(sorted(NEWER_FIELDS)), unique=True))
    body.update({key: draw(NEWER_FIELDS[key]) for key in chosen})
    return body

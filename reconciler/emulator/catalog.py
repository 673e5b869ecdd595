"""The emulator's seed data: an account catalog (what the lookup endpoints list) and the demo assistants.

The demo assistants deliberately differ from the repository's ``assistants.d/`` examples, so that the first
``plan --emulator`` a newcomer runs shows an update, a create and an unmanaged assistant.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = [
    {"id": 1, "name": "English", "iso_2": "en"},
    {"id": 2, "name": "Spanish", "iso_2": "es"},
    {"id": 3, "name": "German", "iso_2": "de"},
    {"id": 4, "name": "French", "iso_2": "fr"},
]

# Each voice suits a set of engine modes; ``language_id`` null means multilingual.
VOICES = [
    {"id": 101, "name": "Maya", "language_id": 1, "gender": "female", "modes": ["pipeline"]},
    {"id": 102, "name": "Ethan", "language_id": 1, "gender": "male", "modes": ["pipeline"]},
    {"id": 103, "name": "Lucia", "language_id": 2, "gender": "female", "modes": ["pipeline"]},
    {"id": 104, "name": "Jonas", "language_id": 3, "gender": "male", "modes": ["pipeline"]},
    {"id": 105, "name": "Nova", "language_id": None, "gender": "female", "modes": ["pipeline"]},
    {"id": 201, "name": "Alloy", "language_id": None, "gender": "neutral", "modes": ["multimodal"]},
    {"id": 202, "name": "Shimmer", "language_id": None, "gender": "female", "modes": ["multimodal"]},
    {"id": 203, "name": "Echo", "language_id": None, "gender": "male", "modes": ["multimodal"]},
    {"id": 301, "name": "Clara", "language_id": 3, "gender": "female", "modes": ["dualplex"]},
    {"id": 302, "name": "Orion", "language_id": None, "gender": "male", "modes": ["dualplex", "multimodal"]},
]

# Model ids are per type: llm 1 and multimodal 1 are different models.
MODELS: dict[str, list[dict[str, Any]]] = {
    "llm": [
        {"id": 1, "name": "GPT-4o mini", "code": "gpt-4o-mini"},
        {"id": 2, "name": "GPT-4.1", "code": "gpt-4.1"},
        {"id": 3, "name": "Claude Sonnet", "code": "claude-sonnet"},
    ],
    "multimodal": [
        {"id": 1, "name": "GPT-4o Realtime", "code": "gpt-4o-realtime"},
        {"id": 2, "name": "Gemini Live", "code": "gemini-live"},
    ],
    "dualplex": [
        {"id": 3, "name": "Dualplex One", "code": "dualplex-1"},
        {"id": 4, "name": "Dualplex Mini", "code": "dualplex-mini"},
    ],
}

# ``directions``: where a number may be used. Caller ID numbers only present an outbound caller id.
PHONE_NUMBERS = [
    {
        "id": 501,
        "phone_number": "+14155550101",
        "country_code": "US",
        "type_label": "Normal",
        "directions": ["inbound", "outbound"],
    },
    {
        "id": 502,
        "phone_number": "+14155550102",
        "country_code": "US",
        "type_label": "SIP",
        "directions": ["inbound", "outbound"],
    },
    {
        "id": 503,
        "phone_number": "+442071838750",
        "country_code": "GB",
        "type_label": "Caller ID",
        "directions": ["outbound"],
    },
    {
        "id": 504,
        "phone_number": "+4930901820",
        "country_code": "DE",
        "type_label": "Normal",
        "directions": ["inbound", "outbound"],
    },
]

SYNTHESIZER_PROVIDERS = [
    {"id": 1, "name": "ElevenLabs", "code": "elevenlabs", "language_ids": None},
    {"id": 2, "name": "Cartesia", "code": "cartesia", "language_ids": [1, 2, 4]},
]
TRANSCRIBER_PROVIDERS = [
    {"id": 1, "name": "Deepgram", "code": "deepgram", "language_ids": None},
    {"id": 2, "name": "AssemblyAI", "code": "assemblyai", "language_ids": [1, 2]},
]

TOOLS = [
    {
        "id": 31,
        "name": "lookup_order",
        "description": "Look up an order by its number.",
        "endpoint": "https://api.example.com/orders/lookup",
        "method": "POST",
        "timeout": 10,
        "headers": {"Authorization": "Bearer tool-header-secret-31"},
        "schema": {"type": "object", "properties": {"order_number": {"type": "string"}}},
    },
    {
        "id": 32,
        "name": "crm_create_lead",
        "description": "Create a lead in the CRM.",
        "endpoint": "https://crm.example.com/leads",
        "method": "POST",
        "timeout": 15,
        "headers": {"X-Api-Key": "tool-header-secret-32"},
        "schema": {"type": "object", "properties": {"name": {"type": "string"}, "phone": {"type": "string"}}},
    },
]

KNOWLEDGEBASES = [
    {"id": 10, "name": "Product FAQ", "documents_count": 14},
    {"id": 11, "name": "Returns policy", "documents_count": 3},
]


ID_FIELDS = (
    "voice_id",
    "language_id",
    "llm_model_id",
    "multimodal_model_id",
    "chat_llm_fallback_id",
    "knowledgebase_id",
    "phone_number_id",
    "synthesizer_provider_id",
    "transcriber_provider_id",
)


def catalog(offset: int = 0) -> dict[str, Any]:
    """A fresh copy of the whole catalog, as stored with the emulator's state.

    ``offset`` shifts every id, so that two emulators give the same names different ids (another account).
    """
    import copy

    data: dict[str, Any] = copy.deepcopy(
        {
            "languages": LANGUAGES,
            "voices": VOICES,
            "models": MODELS,
            "phone_numbers": PHONE_NUMBERS,
            "synthesizer_providers": SYNTHESIZER_PROVIDERS,
            "transcriber_providers": TRANSCRIBER_PROVIDERS,
            "tools": TOOLS,
            "knowledgebases": KNOWLEDGEBASES,
        }
    )
    for table in (*(v for k, v in data.items() if k != "models"), *data["models"].values()):
        for row in table:
            row["id"] += offset
            if row.get("language_id") is not None:
                row["language_id"] += offset
            if row.get("language_ids"):
                row["language_ids"] = [i + offset for i in row["language_ids"]]
    return data


def demo_assistants(offset: int = 0) -> list[dict[str, Any]]:
    """The demo assistants, their references shifted like ``catalog(offset)``."""
    import copy

    bodies = copy.deepcopy(DEMO_ASSISTANTS)
    for body in bodies:
        for name in ID_FIELDS:
            if isinstance(body.get(name), int):
                body[name] += offset
    return bodies


# Write-shape bodies, created through the emulator's own create logic when seeding.
DEMO_ASSISTANTS: list[dict[str, Any]] = [
    {
        "name": "Sales Assistant",
        "type": "outbound",
        "mode": "pipeline",
        "language_id": 1,
        "voice_id": 102,
        "llm_model_id": 1,
        "timezone": "America/New_York",
        "initial_message": "Hi, this is Northwind Solar. Do you have a minute?",
        "system_prompt": "You are a sales representative for Northwind Solar. Qualify the lead.",
        "variables": {"first_name": "there"},
        "llm_temperature": 0.5,
        "speech_speed": 1.0,
        "fillers": False,
        "end_call_on_voicemail": True,
        "webhook_url": "https://old.example.com/hook",
        "tools": [{"type": "end_call", "description": "End the call."}],
    },
    {
        "name": "Support Line",
        "type": "inbound",
        "mode": "multimodal",
        "language_id": 1,
        "voice_id": 202,
        "multimodal_model_id": 1,
        "timezone": "Europe/London",
        "phone_number_id": 501,
        "initial_message": "Thanks for calling Northwind support. How can I help you today?",
        "system_prompt": (
            "You are the support assistant for Northwind Solar customers.\n"
            "Answer from the knowledge base; if the answer is not there, say so and offer\n"
            "to open a ticket. Keep answers under three sentences."
        ),
        "knowledgebase_id": 10,
        "knowledgebase_mode": "function_call",
        "record": True,
        "max_silence_duration": 30,
        "max_initial_silence_duration": 10,
        "ambient_sound": "cafe",
        "ambient_sound_volume": 0.4,
        "tools": [
            {"type": "end_call", "description": "End the call when the customer says goodbye."},
            {"type": "dtmf_input", "description": "Collect the customer's order number from the keypad."},
        ],
        "is_webhook_active": True,
        "webhook_url": "https://hooks.example.com/gloriagent/support",
    },
    {
        "name": "Legacy Survey",
        "type": "outbound",
        "mode": "pipeline",
        "language_id": 2,
        "voice_id": 103,
        "llm_model_id": 3,
        "timezone": "America/Mexico_City",
        "initial_message": "Hola, tiene un minuto para una breve encuesta?",
        "system_prompt": "Haz tres preguntas de satisfacción y agradece al cliente.",
        "post_call_schema": [
            {"name": "score", "type": "number", "description": "Satisfaction from 1 to 10."}
        ],
    },
]

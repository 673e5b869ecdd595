"""Every field of the API's Update endpoint (``docs/api.md#update-fields``) as one row of facts, in the
order ``export`` writes them. The core derives its views from ``FIELDS`` (``spec``, ``rules``, ``names``,
``remote``, ``diff``, ``export``, ``reconcile``, ``descriptions`` and so the JSON Schema), so that a new field is
one row here, plus its type in ``spec.AssistantSpec`` (and its name key's, if it has one).

The emulator keeps its own table on purpose: it plays the platform, and must be able to disagree with this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["str", "int", "float", "bool", "list", "dict"]

MODES: tuple[str, ...] = ("pipeline", "multimodal", "dualplex")
ALL_MODES = frozenset(MODES)
PIPELINE = frozenset({"pipeline"})
REALTIME = frozenset({"multimodal", "dualplex"})

#: The read-shape quirks the normaliser undoes (``remote.canonical``, by kind); recorded here as the page says.
NUMBER_AS_STRING = "number as string"
ZERO_ONE_BOOLEAN = "0/1 boolean"
NESTED_TOOL_DATA = "nested under data"
BOOLEAN_SPELLED_OUT = '"boolean" for bool'


@dataclass(frozen=True)
class Reference:
    """A name key a file may write instead of the id field (``voice: Alloy`` for ``voice_id``)."""

    key: str
    lookup: str  # which catalog endpoint resolves it (names.Catalog)
    description: str


@dataclass(frozen=True)
class Field:
    """The facts about one API field that the core needs; the type's range, length and enum are in ``spec``."""

    name: str
    kind: Kind  # its JSON kind, as the normaliser and the clearing rule see it
    group: str  # the export's section
    description: str  # one line for the JSON Schema's hover text
    nullable: bool = False  # the API takes null ("null clears"), so a file leaving it out clears it
    modes: frozenset[str] = ALL_MODES  # the engine modes the field exists in
    mode_only_value: tuple[Any, frozenset[str]] | None = None  # a value only these modes accept
    reset_by_mode_change: bool = False  # the API resets it on a mode change unless the same body sets it
    reference: Reference | None = None
    unordered: bool = False  # a list whose order means nothing to the API
    create_position: int = 0  # its place in the API page's create requirements (0: not required)
    read_shape: str = ""  # how the list endpoint returns it, when that differs from what was written
    write_only: bool = False  # the page says the list never returns it
    suits_mode: bool = (
        False  # a reference the API checks against the mode after the update, even one it keeps
    )
    inbound_exclusive: bool = False  # for an inbound assistant: not a Caller ID number, nobody else's inbound
    element_key: str = ""  # a list of objects: the key that names an element (the plan pairs elements by it)

    @property
    def clearable(self) -> bool:
        return self.nullable or self.kind in ("list", "dict")

    @property
    def cleared_to(self) -> Any:
        """What a missing key clears the field to (contract: nullable → null, list → [], variables → {})."""
        return [] if self.kind == "list" else {} if self.kind == "dict" else None


_IDENTITY = "identity"
_ENGINE = "engine and voice"
_PROMPTS = "prompts"
_BEHAVIOUR = "behaviour"
_TIMING = "timing"
_TELEPHONY = "telephony and voicemail"
_WEBHOOKS = "webhooks"
_ANALYSIS = "post-call analysis"
_VARIABLES = "variables"
_TOOLS = "tools"

FIELDS: tuple[Field, ...] = (
    # identity
    Field(
        "name", "str", _IDENTITY, create_position=1,
        description="The assistant's name, at most 255 characters. Without id, the file manages the assistant of "
        "this name (or creates it).",
    ),
    Field("type", "str", _IDENTITY, create_position=4, description="Call direction: inbound or outbound."),
    Field(
        "mode", "str", _IDENTITY, create_position=5,
        description="Engine mode: pipeline, multimodal or dualplex. Changing it resets the mode-specific settings "
        "(LLM model, multimodal model, providers) to the new mode's defaults unless the same file sets them.",
    ),
    # engine and voice
    Field(
        "language_id", "int", _ENGINE, create_position=3,
        reference=Reference("language", "languages", "The main language by name, instead of language_id."),
        description="Id of the main language (GET /user/assistants/languages). Or give language by name.",
    ),
    Field(
        "secondary_language_ids", "list", _ENGINE, unordered=True, write_only=True,
        reference=Reference(
            "secondary_languages", "languages", "Further languages by name, instead of secondary_language_ids."
        ),
        description="Ids of further languages; replaces the whole list, [] clears it. Or give "
        "secondary_languages by name.",
    ),
    Field(
        "voice_id", "int", _ENGINE, create_position=2, suits_mode=True,
        reference=Reference("voice", "voices", "The voice by name, instead of voice_id."),
        description="Id of the voice (GET /user/assistants/voices); it must suit the mode. Or give voice by name.",
    ),
    Field(
        "llm_model_id", "int", _ENGINE, modes=PIPELINE, reset_by_mode_change=True, create_position=9,
        reference=Reference("llm_model", "llm_models", "The LLM by name, instead of llm_model_id. Pipeline only."),
        description="Id of the LLM (GET /user/assistants/models?type=llm). Pipeline only, and required there on "
        "create. Or give llm_model by name.",
    ),
    Field(
        "multimodal_model_id", "int", _ENGINE, modes=REALTIME, reset_by_mode_change=True, create_position=9,
        reference=Reference(
            "multimodal_model", "mode_models", "The multimodal or dualplex model by name, instead of "
            "multimodal_model_id. Multimodal and dualplex only.",
        ),
        description="Id of the multimodal or dualplex model (GET /user/assistants/models?type=multimodal or "
        "dualplex). Multimodal and dualplex only, and required there on create. Or give multimodal_model by name.",
    ),
    Field(
        "chat_llm_fallback_id", "int", _ENGINE, nullable=True, modes=REALTIME, reset_by_mode_change=True,
        write_only=True,
        reference=Reference(
            "chat_llm_fallback", "llm_models", "The chat LLM to fall back on, by name, instead of "
            "chat_llm_fallback_id. Multimodal and dualplex only.",
        ),
        description="Id of the chat LLM to fall back on. Multimodal and dualplex only; null removes it. Or give "
        "chat_llm_fallback by name.",
    ),
    Field(
        "turn_detection_threshold", "float", _ENGINE, nullable=True, modes=REALTIME, reset_by_mode_change=True,
        write_only=True,
        description="Turn detection threshold, 0 to 1. Multimodal and dualplex only; null means automatic.",
    ),
    Field(
        "synthesizer_provider_id", "int", _ENGINE, nullable=True, reset_by_mode_change=True,
        reference=Reference(
            "synthesizer_provider", "synthesizer_providers",
            "The text-to-speech provider by name, instead of synthesizer_provider_id.",
        ),
        description="Id of the text-to-speech provider (GET /user/assistants/synthesizer-providers); null means "
        "the language's default. Or give synthesizer_provider by name.",
    ),
    Field(
        "transcriber_provider_id", "int", _ENGINE, nullable=True, modes=PIPELINE, reset_by_mode_change=True,
        reference=Reference(
            "transcriber_provider", "transcriber_providers",
            "The speech-to-text provider by name, instead of transcriber_provider_id. Pipeline only.",
        ),
        description="Id of the speech-to-text provider (GET /user/assistants/transcriber-providers). Pipeline "
        "only; null means the language's default. Or give transcriber_provider by name.",
    ),
    Field(
        "timezone", "str", _ENGINE, create_position=6,
        description="IANA time zone name, such as Europe/Berlin.",
    ),
    Field(
        "tts_emotion_enabled", "bool", _ENGINE, write_only=True,
        description="Emotional text-to-speech. Platform default: true.",
    ),
    Field(
        "voice_stability", "float", _ENGINE, read_shape=NUMBER_AS_STRING,
        description="Voice stability, 0 to 1. Platform default: 0.7.",
    ),
    Field(
        "voice_similarity", "float", _ENGINE, read_shape=NUMBER_AS_STRING,
        description="Voice similarity, 0 to 1. Platform default: 0.5.",
    ),
    Field(
        "speech_speed", "float", _ENGINE, read_shape=NUMBER_AS_STRING,
        description="Speech speed, 0.7 to 1.2. Platform default: 1.0.",
    ),
    Field(
        "llm_temperature", "float", _ENGINE, read_shape=NUMBER_AS_STRING,
        description="LLM temperature, 0 to 1. Platform default: 0.1.",
    ),
    # prompts
    Field(
        "initial_message", "str", _PROMPTS, create_position=7,
        description="What the assistant says first, at most 200 characters. Variables appear as {{name}}.",
    ),
    Field(
        "system_prompt", "str", _PROMPTS, create_position=8,
        description="The system prompt. Variables appear as {{name}}.",
    ),
    Field(
        "knowledgebase_id", "int", _PROMPTS, nullable=True,
        reference=Reference(
            "knowledgebase", "knowledgebases", "The knowledge base by name, instead of knowledgebase_id."
        ),
        description="Id of the knowledge base (GET /user/knowledgebases); null detaches it. Or give "
        "knowledgebase by name.",
    ),
    Field(
        "knowledgebase_mode", "str", _PROMPTS, mode_only_value=("prompt", PIPELINE),
        description="How the knowledge base is used: function_call or prompt; prompt is pipeline only.",
    ),
    # behaviour
    Field(
        "allow_interruptions", "bool", _BEHAVIOUR, mode_only_value=(False, PIPELINE),
        description="Whether the caller may interrupt the assistant. Cannot be false in multimodal or dualplex "
        "mode. Platform default: true.",
    ),
    Field(
        "fillers", "bool", _BEHAVIOUR, modes=PIPELINE, reset_by_mode_change=True, read_shape=ZERO_ONE_BOOLEAN,
        description="Filler words while the assistant thinks. Pipeline only. Platform default: false.",
    ),
    Field("record", "bool", _BEHAVIOUR, description="Record calls. Platform default: false."),
    Field(
        "enable_noise_cancellation", "bool", _BEHAVIOUR,
        description="Noise cancellation. Platform default: true.",
    ),
    Field(
        "wait_for_customer", "bool", _BEHAVIOUR,
        description="Wait for the customer to speak first. Platform default: false.",
    ),
    Field(
        "endpoint_type", "str", _BEHAVIOUR,
        description="How the end of the caller's turn is detected: vad (voice activity detection) or ai. "
        "Platform default: vad.",
    ),
    Field(
        "endpoint_sensitivity", "float", _BEHAVIOUR,
        description="Sensitivity of the end-of-turn detection, 0 to 5. Platform default: 0.5.",
    ),
    Field(
        "interrupt_sensitivity", "float", _BEHAVIOUR,
        description="Sensitivity to the caller's interruptions, 0 to 5. Platform default: 0.5.",
    ),
    Field(
        "min_interrupt_words", "int", _BEHAVIOUR, nullable=True,
        description="Words the caller must say to interrupt, 0 to 10; null clears it.",
    ),
    Field(
        "ambient_sound", "str", _BEHAVIOUR,
        description="Background sound: off, office, city, forest, crowded_room, cafe or nature. Platform "
        "default: off.",
    ),
    Field(
        "ambient_sound_volume", "float", _BEHAVIOUR, read_shape=NUMBER_AS_STRING,
        description="Volume of the background sound, 0 to 1. Platform default: 0.5.",
    ),
    # timing
    Field(
        "max_duration", "int", _TIMING,
        description="Longest call, 20 to 1200 seconds. Platform default: 600.",
    ),
    Field(
        "max_silence_duration", "int", _TIMING,
        description="Longest silence in a call, 1 to 360 seconds. Platform default: 40.",
    ),
    Field(
        "max_initial_silence_duration", "int", _TIMING, nullable=True,
        description="Longest silence at the start of a call, 1 to 120 seconds; null disables it.",
    ),
    Field(
        "ringing_time", "int", _TIMING,
        description="How long the phone rings, 1 to 60 seconds. Platform default: 30.",
    ),
    Field(
        "reengagement_interval", "int", _TIMING,
        description="Silence before the assistant re-engages the caller, 7 to 600 seconds. Platform default: 30.",
    ),
    Field(
        "reengagement_prompt", "str", _TIMING, nullable=True, write_only=True,
        description="What the assistant says to re-engage a silent caller, at most 1000 characters; null means "
        "the platform's default.",
    ),
    # telephony and voicemail
    Field(
        "phone_number_id", "int", _TELEPHONY, nullable=True, inbound_exclusive=True,
        reference=Reference(
            "phone_number", "phone_numbers",
            "The assistant's phone number in E.164 form (like +14155550100), instead of phone_number_id.",
        ),
        description="Id of the phone number (GET /user/assistants/phone-numbers); it must belong to the account, "
        "and an inbound assistant's may be neither a Caller ID number nor another inbound assistant's. null "
        "detaches it. Or give phone_number in E.164 form.",
    ),
    Field(
        "end_call_on_voicemail", "bool", _TELEPHONY, read_shape=ZERO_ONE_BOOLEAN,
        description="End the call on reaching voicemail. Platform default: true.",
    ),
    Field(
        "voice_mail_message", "str", _TELEPHONY, nullable=True, write_only=True,
        description="The message left on voicemail, at most 1000 characters; null disables it.",
    ),
    # webhooks
    Field(
        "is_webhook_active", "bool", _WEBHOOKS,
        description="Send the webhook after calls; when true, webhook_url must be set in the same file. Platform "
        "default: false.",
    ),
    Field(
        "webhook_url", "str", _WEBHOOKS, nullable=True,
        description="The http(s) URL the webhook goes to; null removes it.",
    ),
    Field(
        "send_webhook_only_on_completed", "bool", _WEBHOOKS,
        description="Send the webhook only for completed calls. Platform default: true.",
    ),
    Field(
        "include_recording_in_webhook", "bool", _WEBHOOKS,
        description="Include the recording in the webhook. Platform default: true.",
    ),
    # post-call analysis
    Field(
        "post_call_evaluation", "bool", _ANALYSIS,
        description="Analyse each call after it ends. Platform default: true.",
    ),
    Field(
        "post_call_schema", "list", _ANALYSIS, unordered=True, read_shape=BOOLEAN_SPELLED_OUT, element_key="name",
        description="The fields the post-call analysis extracts, names unique. Replaces the whole list; [] "
        "clears it.",
    ),
    # variables
    Field(
        "variables", "dict", _VARIABLES,
        description="Variables for the prompts, used there as {{name}}: names of ASCII letters, digits and _, "
        "string values. Replaces all variables; {} removes them. Names starting with _reconciler are reserved.",
    ),
    # tools
    Field(
        "tool_ids", "list", _TOOLS, unordered=True, write_only=True,
        reference=Reference("custom_tools", "tools", "Custom mid-call tools by name, instead of tool_ids."),
        description="Ids of custom mid-call tools (GET /user/tools); replaces the whole list, [] clears it. Or "
        "give custom_tools by name.",
    ),
    Field(
        "tools", "list", _TOOLS, unordered=True, read_shape=NESTED_TOOL_DATA, element_key="type",
        description="Built-in tools, each by its type: call_transfer, end_call, dtmf_input or "
        "calendar_integration. Replaces the whole list; [] clears it.",
    ),
)  # fmt: skip

BY_NAME: dict[str, Field] = {field.name: field for field in FIELDS}

#: What the list returns besides the Update fields, set by the platform (docs/api.md#read-shape-vs-write-shape):
#: known, so neither ``doctor`` nor the escape hatch (``tolerance.py``) takes them for fields of a newer API.
READ_ONLY: frozenset[str] = frozenset(
    {"id", "uuid", "status", "user_id", "created_at", "updated_at", "deleted_at", "language"}
)
#: The file's key for API fields this version does not know yet: sent as written (docs/contract.md).
EXTRA_FIELDS_KEY = "extra_fields"


def _export_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    titles = dict.fromkeys(field.group for field in FIELDS)  # in order of first appearance
    return tuple((title, tuple(f.name for f in FIELDS if f.group == title)) for title in titles)


#: The export's sections, each with its fields, in the order of ``FIELDS``.
EXPORT_GROUPS = _export_groups()
#: The catalog's lookups in the order names are resolved: languages first, as voices are looked up per language.
LOOKUPS: tuple[str, ...] = (
    "languages", "voices", "llm_models", "mode_models", "knowledgebases", "phone_numbers", "tools",
    "synthesizer_providers", "transcriber_providers",
)  # fmt: skip


def _references() -> dict[str, tuple[str, str]]:
    pairs = [(f.reference, f.name) for f in FIELDS if f.reference is not None]
    pairs.sort(key=lambda pair: LOOKUPS.index(pair[0].lookup))  # stable: the order of FIELDS within a lookup
    return {reference.key: (name, reference.lookup) for reference, name in pairs}


#: Name key → (id field, catalog lookup), in the order of resolution.
REFERENCES = _references()
#: Id field → its reference: every field whose value the account's catalog must know (the API answers 422
#: for an id it does not have).
REFERENCE_FIELDS: dict[str, Reference] = {f.name: f.reference for f in FIELDS if f.reference is not None}
#: Id fields whose value must suit the mode after the update (a mode change re-checks the value it keeps).
SUITS_MODE: frozenset[str] = frozenset(f.name for f in FIELDS if f.suits_mode)
#: Id fields an inbound assistant must hold alone, and not as a Caller ID number.
INBOUND_EXCLUSIVE: frozenset[str] = frozenset(f.name for f in FIELDS if f.inbound_exclusive)
#: Fields the API accepts ``null`` for.
NULLABLE: frozenset[str] = frozenset(f.name for f in FIELDS if f.nullable)
#: Fields a missing key clears, with the value it clears them to.
#: Optional fields a file leaving them out does not clear: the platform keeps their value (record.py ``managed``).
KEPT_WHEN_LEFT_OUT: frozenset[str] = frozenset(
    f.name for f in FIELDS if not f.clearable and not f.create_position
)
CLEARED_TO: dict[str, Any] = {f.name: f.cleared_to for f in FIELDS if f.clearable}
#: The JSON kind of each field.
FIELD_KINDS: dict[str, str] = {f.name: f.kind for f in FIELDS}
#: Fields the API resets on a mode change unless the same body sets them.
RESET_BY_MODE_CHANGE: frozenset[str] = frozenset(f.name for f in FIELDS if f.reset_by_mode_change)
#: Lists whose order means nothing to the API.
UNORDERED: frozenset[str] = frozenset(f.name for f in FIELDS if f.unordered)
#: Lists of objects → the key that names one of their elements (a tool's ``type``, a schema item's ``name``).
ELEMENT_KEYS: dict[str, str] = {f.name: f.element_key for f in FIELDS if f.element_key}
#: Fields the page says the list never returns.
WRITE_ONLY: frozenset[str] = frozenset(f.name for f in FIELDS if f.write_only)


def _mode_only() -> dict[str, frozenset[str]]:
    """Mode-only fields and their name keys, each id field followed by its name key, pipeline's first."""
    result: dict[str, frozenset[str]] = {}
    for modes in (PIPELINE, REALTIME):
        for field in FIELDS:
            if field.modes == modes:
                result[field.name] = modes
                if field.reference is not None:
                    result[field.reference.key] = modes
    return result


#: Fields (and name keys) that exist in only some engine modes, with those modes.
MODE_ONLY: dict[str, frozenset[str]] = _mode_only()
#: Values that only some engine modes accept, with those modes, by field name.
MODE_ONLY_VALUES: dict[str, tuple[Any, frozenset[str]]] = {
    f.name: f.mode_only_value for f in sorted(FIELDS, key=lambda f: f.name) if f.mode_only_value is not None
}
#: What a file's name key means, for the JSON Schema.
NAME_KEY_DESCRIPTIONS: dict[str, str] = {
    f.reference.key: f.reference.description for f in FIELDS if f.reference is not None
}


def required_on_create(mode: str | None) -> tuple[str, ...]:
    """The fields a create needs, in the page's order; the model is the multimodal one unless mode is pipeline."""
    engine = "pipeline" if mode == "pipeline" else "multimodal"
    needed = [f for f in FIELDS if f.create_position and engine in f.modes]
    return tuple(f.name for f in sorted(needed, key=lambda f: f.create_position))

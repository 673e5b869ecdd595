"""The desired state of one assistant, as a file declares it: every Update field of the API with its type,
range, length and enum (``docs/api.md#update-fields``), plus the reconciler's own keys. The other facts
about each field (nullable, engine modes, name key, ...) are its row in ``fields.py``.

Only per-field rules live in the model. Rules that relate fields to each other live in ``rules.py`` and run
on the raw file, so that one run reports every problem of a file, not just the first layer of them.
A field the file leaves out stays out of ``model_fields_set``: the plan needs to know what was declared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from reconciler import fields
from reconciler.constraints import (
    API_NAME,
    E164,
    SCHEMA_NAME,
    VARIABLE_NAME,
    Between,
    FlatValue,
    PositiveId,
    Text,
    Timezone,
    Unique,
    WebUrl,
)

Id = Annotated[int, PositiveId()]
Unit = Annotated[float, Between(0, 1)]
Sensitivity = Annotated[float, Between(0, 5)]
Name = Annotated[str, Text()]
IdList = Annotated[list[Id], Unique()]
NameList = Annotated[list[Name], Unique()]
OptionalText = Annotated[str, Text(blank_ok=True)]
Mode = Literal["pipeline", "multimodal", "dualplex"]

#: The one ``variables`` key reserved for the reconciler's own bookkeeping on the platform.
RESERVED_VARIABLE_PREFIX = "_reconciler"


class _Hidden:
    def __repr__(self) -> str:
        return "(hidden)"


class _Strict(BaseModel):
    # strict: a quoted "0.9" is not a number and "yes" is not a boolean; files say what they mean.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Any value may have come from ${NAME} (a secret): a model prints which fields it holds, never their values.
        for name in self.model_fields_set:
            yield name, _Hidden()


class CallTransfer(_Strict):
    type: Literal["call_transfer"]
    phone_number: Annotated[str, E164]
    description: OptionalText | None = None
    custom: bool | None = None
    timezone: Annotated[str, Timezone()] | None = None


class EndCall(_Strict):
    type: Literal["end_call"]
    description: OptionalText | None = None


class DtmfInput(_Strict):
    type: Literal["dtmf_input"]
    description: OptionalText | None = None


class CalendarIntegration(_Strict):
    type: Literal["calendar_integration"]
    calcom_api_key: Name
    calcom_event_slug: Name


class UnknownTool(_Strict):
    """A built-in tool of a type this version of reconciler does not know: its type and flat values, sent as
    written."""

    # The API grows new tool types (docs/api.md#growth), and an account that uses one must still
    # export, validate and plan; tolerance.py says how its values are compared and warns about the type.

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Annotated[Any, FlatValue()]] = Field(init=False)

    type: Annotated[str, API_NAME]


KNOWN_TOOLS: dict[str, type[_Strict]] = {
    "call_transfer": CallTransfer,
    "end_call": EndCall,
    "dtmf_input": DtmfInput,
    "calendar_integration": CalendarIntegration,
}
#: The discriminator's tag for a tool whose type is none of ``KNOWN_TOOLS`` (it appears in pydantic's error
#: locations, which ``desired`` drops).
UNKNOWN_TOOL_TAG = "(unknown tool type)"


def _tool_tag(value: Any) -> str | None:
    """The model a tool item is checked against: its own type's, or the fallback; None when it has no type."""
    if isinstance(value, BaseModel):  # serialising a validated tool
        value = {"type": getattr(value, "type", None)}
    if not isinstance(value, dict):
        return UNKNOWN_TOOL_TAG  # reported as not a mapping
    if "type" not in value:
        return None
    kind = value["type"]
    return kind if isinstance(kind, str) and kind in KNOWN_TOOLS else UNKNOWN_TOOL_TAG


BuiltinTool = Annotated[
    Annotated[CallTransfer, Tag("call_transfer")]
    | Annotated[EndCall, Tag("end_call")]
    | Annotated[DtmfInput, Tag("dtmf_input")]
    | Annotated[CalendarIntegration, Tag("calendar_integration")]
    | Annotated[UnknownTool, Tag(UNKNOWN_TOOL_TAG)],
    Discriminator(_tool_tag),
]


class PostCallField(_Strict):
    name: Annotated[str, SCHEMA_NAME]
    type: Literal["string", "number", "bool"]
    description: Annotated[str, Text(min_length=3, max_length=255)]


class AssistantSpec(_Strict):
    """One file of ``assistants.d/``. Every field is optional: what a file leaves out is handled by the plan."""

    model_config = ConfigDict(title="gloriagent assistant (reconciler file)")

    # identity: the reconciler's own keys
    id: Id | None = None
    ignore_changes: Annotated[list[str], Unique()] | None = None
    # API fields this version does not know yet, sent as written (tolerance.py; docs/contract.md)
    extra_fields: dict[Annotated[str, API_NAME], Any] | None = None

    # identity and engine
    name: Annotated[str, Text(max_length=255)] | None = None
    type: Literal["inbound", "outbound"] | None = None
    mode: Mode | None = None
    voice_id: Id | None = None
    language_id: Id | None = None
    secondary_language_ids: IdList | None = None
    timezone: Annotated[str, Timezone()] | None = None
    llm_model_id: Id | None = None
    multimodal_model_id: Id | None = None
    chat_llm_fallback_id: Id | None = None
    turn_detection_threshold: Unit | None = None
    synthesizer_provider_id: Id | None = None
    transcriber_provider_id: Id | None = None

    # prompts
    initial_message: Annotated[str, Text(max_length=200)] | None = None
    system_prompt: Name | None = None
    variables: dict[Annotated[str, VARIABLE_NAME], str] | None = None

    # knowledge and tools
    knowledgebase_id: Id | None = None
    knowledgebase_mode: Literal["function_call", "prompt"] | None = None
    tool_ids: IdList | None = None
    tools: list[BuiltinTool] | None = None

    # voice
    tts_emotion_enabled: bool | None = None
    voice_stability: Unit | None = None
    voice_similarity: Unit | None = None
    speech_speed: Annotated[float, Between(0.7, 1.2)] | None = None
    llm_temperature: Unit | None = None

    # conversation behaviour
    allow_interruptions: bool | None = None
    fillers: bool | None = None
    record: bool | None = None
    enable_noise_cancellation: bool | None = None
    wait_for_customer: bool | None = None
    endpoint_type: Literal["vad", "ai"] | None = None
    endpoint_sensitivity: Sensitivity | None = None
    interrupt_sensitivity: Sensitivity | None = None
    min_interrupt_words: Annotated[int, Between(0, 10)] | None = None
    ambient_sound: Literal["off", "office", "city", "forest", "crowded_room", "cafe", "nature"] | None = None
    ambient_sound_volume: Unit | None = None

    # timing
    max_duration: Annotated[int, Between(20, 1200)] | None = None
    max_silence_duration: Annotated[int, Between(1, 360)] | None = None
    max_initial_silence_duration: Annotated[int, Between(1, 120)] | None = None
    ringing_time: Annotated[int, Between(1, 60)] | None = None
    reengagement_interval: Annotated[int, Between(7, 600)] | None = None
    reengagement_prompt: Annotated[str, Text(max_length=1000, blank_ok=True)] | None = None

    # telephony and voicemail
    phone_number_id: Id | None = None
    end_call_on_voicemail: bool | None = None
    voice_mail_message: Annotated[str, Text(max_length=1000, blank_ok=True)] | None = None

    # webhooks and post-call analysis
    is_webhook_active: bool | None = None
    webhook_url: Annotated[str, WebUrl()] | None = None
    send_webhook_only_on_completed: bool | None = None
    include_recording_in_webhook: bool | None = None
    post_call_evaluation: bool | None = None
    post_call_schema: list[PostCallField] | None = None

    # name references: the same settings by name instead of id (resolved against the account's catalog)
    voice: Name | None = None
    language: Name | None = None
    secondary_languages: NameList | None = None
    llm_model: Name | None = None
    multimodal_model: Name | None = None
    chat_llm_fallback: Name | None = None
    knowledgebase: Name | None = None
    phone_number: Annotated[str, E164] | None = None
    custom_tools: NameList | None = None
    synthesizer_provider: Name | None = None
    transcriber_provider: Name | None = None

    def declared(self) -> dict[str, Any]:
        """The fields this file sets, ``null`` included, as plain data."""
        return self.model_dump(include=set(self.model_fields_set), mode="json")


OWN_KEYS = frozenset({"id", "ignore_changes", fields.EXTRA_FIELDS_KEY})
#: Name-reference keys and the id field each one stands for (docs/contract.md#name-references), in the model's order.
NAME_KEYS: dict[str, str] = {
    key: fields.REFERENCES[key][0] for key in AssistantSpec.model_fields if key in fields.REFERENCES
}
#: The API's Update fields, by API name, in the model's order (the order of plans and of the JSON Schema).
API_FIELDS: tuple[str, ...] = tuple(
    name for name in AssistantSpec.model_fields if name not in OWN_KEYS and name not in NAME_KEYS
)
#: The old names of views of ``fields.FIELDS``, kept for the tests that read them.
NULLABLE = fields.NULLABLE
FIELD_KINDS = fields.FIELD_KINDS
CLEARED_TO = fields.CLEARED_TO
MODE_ONLY = fields.MODE_ONLY
RESET_BY_MODE_CHANGE = fields.RESET_BY_MODE_CHANGE
#: The keys a file may set to ``null``: the nullable fields, the name keys standing for them, the own keys.
NULL_ALLOWED: frozenset[str] = (
    NULLABLE | OWN_KEYS | {name for name, id_key in NAME_KEYS.items() if id_key in NULLABLE}
)

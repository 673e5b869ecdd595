"""The table of API fields (``reconciler/fields.py``) covers every field of the API page, and every view the core
derives from it holds each field it should, with the same contents the hand-kept tables had before the table.

The API's fields are listed here again on purpose, from the Update table of the API page: a field missing from
``FIELDS`` would otherwise be missing from every view at once, and no view could notice.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal

import pytest

from reconciler import export, fields, names, rules
from reconciler.descriptions import DESCRIPTIONS
from reconciler.fields import FIELDS, PIPELINE, REALTIME, required_on_create
from reconciler.spec import API_FIELDS, NAME_KEYS, NULL_ALLOWED, AssistantSpec

#: The Update table of the API page, field by field, with what its "type" and "rule" columns say.
UPDATE_TABLE = (
    "name", "voice_id", "language_id", "type", "mode", "timezone", "initial_message", "system_prompt",
    "llm_model_id", "multimodal_model_id", "chat_llm_fallback_id", "turn_detection_threshold",
    "secondary_language_ids", "knowledgebase_id", "knowledgebase_mode", "phone_number_id", "tool_ids", "tools",
    "tts_emotion_enabled", "voice_stability", "voice_similarity", "llm_temperature", "speech_speed",
    "synthesizer_provider_id", "transcriber_provider_id", "allow_interruptions", "fillers", "record",
    "enable_noise_cancellation", "wait_for_customer", "max_duration", "max_silence_duration",
    "max_initial_silence_duration", "ringing_time", "reengagement_interval", "reengagement_prompt",
    "end_call_on_voicemail", "voice_mail_message", "endpoint_type", "endpoint_sensitivity",
    "interrupt_sensitivity", "min_interrupt_words", "ambient_sound", "ambient_sound_volume", "is_webhook_active",
    "webhook_url", "send_webhook_only_on_completed", "include_recording_in_webhook", "post_call_evaluation",
    "post_call_schema", "variables",
)  # fmt: skip
#: "int/null", "number/null", "string/null" in the table.
TAKES_NULL = {
    "chat_llm_fallback_id", "turn_detection_threshold", "knowledgebase_id", "phone_number_id",
    "synthesizer_provider_id", "transcriber_provider_id", "max_initial_silence_duration", "reengagement_prompt",
    "voice_mail_message", "webhook_url", "min_interrupt_words",
}  # fmt: skip
#: "pipeline only" and "multimodal/dualplex" in the table.
MODE_ONLY = {
    "llm_model_id": PIPELINE, "transcriber_provider_id": PIPELINE, "fillers": PIPELINE,
    "multimodal_model_id": REALTIME, "chat_llm_fallback_id": REALTIME, "turn_detection_threshold": REALTIME,
}  # fmt: skip
#: The contract's name keys: each id field a file may give by name instead.
NAMED = {
    "voice_id": "voice", "language_id": "language", "secondary_language_ids": "secondary_languages",
    "llm_model_id": "llm_model", "multimodal_model_id": "multimodal_model",
    "chat_llm_fallback_id": "chat_llm_fallback", "knowledgebase_id": "knowledgebase",
    "phone_number_id": "phone_number", "tool_ids": "custom_tools",
    "synthesizer_provider_id": "synthesizer_provider", "transcriber_provider_id": "transcriber_provider",
}  # fmt: skip
#: "never returned" in the page's read-shape section.
NEVER_RETURNED = {
    "tool_ids", "secondary_language_ids", "chat_llm_fallback_id", "turn_detection_threshold", "tts_emotion_enabled",
    "reengagement_prompt", "voice_mail_message",
}  # fmt: skip


def test_every_api_field_has_one_row_and_no_row_is_invented() -> None:
    names_in_table = [field.name for field in FIELDS]
    assert sorted(names_in_table) == sorted(UPDATE_TABLE)
    assert len(set(names_in_table)) == len(names_in_table)


def test_the_model_and_the_table_hold_the_same_fields_and_name_keys() -> None:
    # a model field without a row would be neither normalised, cleared nor exported
    own = {"id", "ignore_changes", "extra_fields"}
    assert set(AssistantSpec.model_fields) - own == set(fields.BY_NAME) | set(fields.REFERENCES)


@pytest.mark.parametrize("name", UPDATE_TABLE)
def test_every_api_field_is_in_every_view_it_belongs_to(name: str) -> None:
    assert name in AssistantSpec.model_fields
    assert name in API_FIELDS
    assert name in DESCRIPTIONS
    assert sum(name in group for _, group in export.GROUPS) == 1
    assert (name in fields.NULLABLE) == (name in TAKES_NULL)
    assert (name in NULL_ALLOWED) == (name in TAKES_NULL)
    assert fields.MODE_ONLY.get(name) == MODE_ONLY.get(name)
    assert {v: k for k, v in NAME_KEYS.items()}.get(name) == NAMED.get(name)
    assert (name in fields.WRITE_ONLY) == (name in NEVER_RETURNED)


@pytest.mark.parametrize(("id_field", "name_key"), NAMED.items())
def test_every_name_key_is_in_the_model_the_descriptions_and_the_mode_rules(
    id_field: str, name_key: str
) -> None:
    assert name_key in AssistantSpec.model_fields
    assert names.REFERENCES[name_key][0] == id_field
    assert names.NAME_OF_ID[id_field] == name_key
    assert name_key in DESCRIPTIONS
    assert fields.MODE_ONLY.get(name_key) == MODE_ONLY.get(id_field)
    assert (name_key in NULL_ALLOWED) == (id_field in TAKES_NULL)


def _kind_in_model(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _kind_in_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind_in_model(inner)
    if origin is Literal:
        return "str"
    return origin.__name__ if origin in (list, dict) else str(annotation.__name__)


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_each_row_kind_is_the_kind_of_the_model_type(field: fields.Field) -> None:
    assert field.kind == _kind_in_model(AssistantSpec.model_fields[field.name].annotation)


def test_export_groups_are_the_ones_export_wrote_before_the_table() -> None:
    assert [title for title, _ in export.GROUPS] == [
        "identity", "engine and voice", "prompts", "behaviour", "timing", "telephony and voicemail", "webhooks",
        "post-call analysis", "variables", "tools",
    ]  # fmt: skip
    assert dict(export.GROUPS)["engine and voice"] == (
        "language_id", "secondary_language_ids", "voice_id", "llm_model_id", "multimodal_model_id",
        "chat_llm_fallback_id", "turn_detection_threshold", "synthesizer_provider_id", "transcriber_provider_id",
        "timezone", "tts_emotion_enabled", "voice_stability", "voice_similarity", "speech_speed", "llm_temperature",
    )  # fmt: skip
    assert dict(export.GROUPS)["tools"] == ("tool_ids", "tools")


def test_mode_only_fields_keep_their_order_each_id_field_before_its_name_key() -> None:
    # the JSON Schema's dependentRequired and the order of validate's messages follow it
    assert list(fields.MODE_ONLY) == [
        "llm_model_id", "llm_model", "transcriber_provider_id", "transcriber_provider", "fillers",
        "multimodal_model_id", "multimodal_model", "chat_llm_fallback_id", "chat_llm_fallback",
        "turn_detection_threshold",
    ]  # fmt: skip


def test_mode_only_values_are_the_two_the_page_names() -> None:
    assert list(fields.MODE_ONLY_VALUES.items()) == [
        ("allow_interruptions", (False, PIPELINE)),
        ("knowledgebase_mode", ("prompt", PIPELINE)),
    ]


def test_name_keys_keep_the_model_order_and_references_resolve_the_language_first() -> None:
    assert list(NAME_KEYS) == [
        "voice", "language", "secondary_languages", "llm_model", "multimodal_model", "chat_llm_fallback",
        "knowledgebase", "phone_number", "custom_tools", "synthesizer_provider", "transcriber_provider",
    ]  # fmt: skip
    assert list(names.REFERENCES.items()) == [
        ("language", ("language_id", "languages")),
        ("secondary_languages", ("secondary_language_ids", "languages")),
        ("voice", ("voice_id", "voices")),
        ("llm_model", ("llm_model_id", "llm_models")),
        ("chat_llm_fallback", ("chat_llm_fallback_id", "llm_models")),
        ("multimodal_model", ("multimodal_model_id", "mode_models")),
        ("knowledgebase", ("knowledgebase_id", "knowledgebases")),
        ("phone_number", ("phone_number_id", "phone_numbers")),
        ("custom_tools", ("tool_ids", "tools")),
        ("synthesizer_provider", ("synthesizer_provider_id", "synthesizer_providers")),
        ("transcriber_provider", ("transcriber_provider_id", "transcriber_providers")),
    ]


def test_clearing_means_null_for_nullable_fields_an_empty_list_and_an_empty_map() -> None:
    assert {
        **dict.fromkeys(TAKES_NULL),
        "secondary_language_ids": [], "tool_ids": [], "tools": [], "post_call_schema": [], "variables": {},
    } == fields.CLEARED_TO  # fmt: skip


def test_lists_unordered_and_reset_by_a_mode_change_are_the_old_sets() -> None:
    assert {"tool_ids", "secondary_language_ids", "tools", "post_call_schema"} == fields.UNORDERED
    assert {
        "secondary_language_ids", "tool_ids", "tools", "post_call_schema", "secondary_languages", "custom_tools",
    } == rules._LISTS  # fmt: skip
    assert {*MODE_ONLY, "synthesizer_provider_id"} == fields.RESET_BY_MODE_CHANGE


@pytest.mark.parametrize(
    ("mode", "model"),
    [("pipeline", "llm_model_id"), ("multimodal", "multimodal_model_id"), ("dualplex", "multimodal_model_id"),
     (None, "multimodal_model_id")],
)  # fmt: skip
def test_a_create_needs_the_page_list_in_its_order_and_the_mode_model(mode: str | None, model: str) -> None:
    assert required_on_create(mode) == (
        "name", "voice_id", "language_id", "type", "mode", "timezone", "initial_message", "system_prompt", model,
    )  # fmt: skip


def test_read_shape_quirks_are_the_ones_the_page_lists() -> None:
    quirks = {field.name: field.read_shape for field in FIELDS if field.read_shape}
    assert quirks == {
        **dict.fromkeys(
            (
                "llm_temperature",
                "voice_stability",
                "voice_similarity",
                "speech_speed",
                "ambient_sound_volume",
            ),
            fields.NUMBER_AS_STRING,
        ),
        "fillers": fields.ZERO_ONE_BOOLEAN,
        "end_call_on_voicemail": fields.ZERO_ONE_BOOLEAN,
        "tools": fields.NESTED_TOOL_DATA,
        "post_call_schema": fields.BOOLEAN_SPELLED_OUT,
    }
    assert all(
        fields.FIELD_KINDS[name] == "float" for name, q in quirks.items() if q == fields.NUMBER_AS_STRING
    )
    assert all(
        fields.FIELD_KINDS[name] == "bool" for name, q in quirks.items() if q == fields.ZERO_ONE_BOOLEAN
    )


def test_a_description_names_its_field_for_the_schema_hover_text() -> None:
    assert DESCRIPTIONS["speech_speed"] == "Speech speed, 0.7 to 1.2. Platform default: 1.0."
    assert DESCRIPTIONS["voice"] == "The voice by name, instead of voice_id."
    assert DESCRIPTIONS["tools.custom"] == "The transfer's custom flag, as the API takes it."

"""The normaliser: the API's read shape and a file's write shape become one canonical shape.

The contract is ``docs/api.md#read-shape-vs-write-shape`` and the plan
issue: strings → numbers, 0/1 → booleans, nested tools → flat, "boolean" → "bool", read-only and server fields
dropped, fields of the other mode dropped; desired values get what the API does on write (trim, "" → null).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import remote
from reconciler.constraints import api_trim
from reconciler.record import RECORD_KEY
from reconciler.remote import RemoteAssistant, canonical, fingerprint, normalise
from reconciler.spec import API_FIELDS, FIELD_KINDS

DECIMAL_STRINGS = (
    "llm_temperature",
    "voice_stability",
    "voice_similarity",
    "speech_speed",
    "ambient_sound_volume",
)
FLOAT_FIELDS = tuple(sorted(f for f, kind in FIELD_KINDS.items() if kind == "float"))
INT_FIELDS = tuple(sorted(f for f, kind in FIELD_KINDS.items() if kind == "int"))
BOOL_FIELDS = tuple(sorted(f for f, kind in FIELD_KINDS.items() if kind == "bool"))
STR_FIELDS = tuple(sorted(f for f, kind in FIELD_KINDS.items() if kind == "str"))
READ_ONLY = ("id", "uuid", "status", "user_id", "created_at", "updated_at", "deleted_at", "language")
WRITE_ONLY = frozenset(
    {
        "tool_ids",
        "secondary_language_ids",
        "chat_llm_fallback_id",
        "turn_detection_threshold",
        "tts_emotion_enabled",
        "reengagement_prompt",
        "voice_mail_message",
    }
)


def test_the_field_kinds_cover_the_read_shape_differences() -> None:
    assert set(DECIMAL_STRINGS) <= set(FLOAT_FIELDS)
    assert {"fillers", "end_call_on_voicemail"} <= set(BOOL_FIELDS)
    assert {"voice_id", "max_duration", "llm_model_id", "multimodal_model_id"} <= set(INT_FIELDS)
    assert WRITE_ONLY.issubset(API_FIELDS)


# --- canonical: scalars -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("llm_temperature", "0.7", 0.7),
        ("voice_stability", "0.70", 0.7),
        ("voice_similarity", "0.5", 0.5),
        ("speech_speed", "1", 1.0),
        ("speech_speed", "1.2", 1.2),
        ("ambient_sound_volume", "0", 0.0),
        ("ambient_sound_volume", ".25", 0.25),
        ("llm_temperature", " 0.3 ", 0.3),
        ("endpoint_sensitivity", "2.5", 2.5),
        ("turn_detection_threshold", "1e-1", 0.1),
    ],
)
def test_string_numbers_become_floats(field: str, value: str, expected: float) -> None:
    result = canonical(field, value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize("field", DECIMAL_STRINGS)
def test_the_five_decimal_strings_match_their_write_values(field: str) -> None:
    assert canonical(field, "0.7") == canonical(field, 0.7) == 0.7
    assert canonical(field, "1") == canonical(field, 1.0) == 1.0
    assert canonical(field, "1.00") == 1.0


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("max_duration", "5", 5),
        ("max_duration", 5.0, 5),
        ("max_duration", "600.0", 600),
        ("max_duration", 600, 600),
        ("voice_id", "12", 12),
        ("ringing_time", " 30 ", 30),
        ("min_interrupt_words", "0", 0),
        ("knowledgebase_id", 3.0, 3),
    ],
)
def test_integer_fields_become_ints(field: str, value: Any, expected: int) -> None:
    result = canonical(field, value)
    assert result == expected
    assert type(result) is int


def test_a_fractional_value_of_an_integer_field_is_left_for_the_comparison() -> None:
    assert canonical("max_duration", 5.5) == 5.5
    assert canonical("max_duration", "5.5") == 5.5


@pytest.mark.parametrize("field", ["fillers", "end_call_on_voicemail", "record", "allow_interruptions"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, False), (1, True), ("0", False), ("1", True), (True, True), (False, False)],
)
def test_zero_and_one_become_booleans(field: str, value: Any, expected: bool) -> None:
    assert canonical(field, value) is expected


@pytest.mark.parametrize("field", [*FLOAT_FIELDS, *INT_FIELDS, *BOOL_FIELDS, *STR_FIELDS])
def test_null_stays_null(field: str) -> None:
    assert canonical(field, None) is None


def test_booleans_are_not_numbers() -> None:
    assert canonical("fillers", True) is True
    assert canonical("fillers", False) is False
    assert canonical("tts_emotion_enabled", 1) is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" Sales ", "Sales"), ("Sales", "Sales"), ("", None), ("   ", None), ("\n\tx\n", "x"), (None, None)],
)
@pytest.mark.parametrize(
    "field", ["name", "system_prompt", "initial_message", "voice_mail_message", "webhook_url"]
)
def test_strings_are_trimmed_and_blank_is_null(field: str, value: str | None, expected: str | None) -> None:
    assert canonical(field, value) == expected


def test_inner_whitespace_is_kept() -> None:
    assert canonical("system_prompt", "  line one\n\nline two  ") == "line one\n\nline two"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("secondary_language_ids", ["1", 2, "3"], [1, 2, 3]),
        ("tool_ids", [5.0, "6"], [5, 6]),
        ("tool_ids", [], []),
    ],
)
def test_id_lists_become_ints(field: str, value: list[Any], expected: list[int]) -> None:
    result = canonical(field, value)
    assert result == expected
    assert all(type(v) is int for v in result)


# --- canonical: tools, post-call schema, variables ----------------------------------------------------------


def test_nested_tools_become_flat_and_trimmed() -> None:
    read = [{"type": "end_call", "data": {"description": " Bye "}}]
    assert canonical("tools", read) == [{"type": "end_call", "description": "Bye"}]


def test_read_and_write_shapes_of_tools_agree() -> None:
    read = [
        {
            "type": "call_transfer",
            "data": {"phone_number": "+4930123456", "description": "To sales", "custom": "1"},
        },
        {"type": "dtmf_input", "data": {"description": "Menu"}},
        {"type": "calendar_integration", "data": {"calcom_api_key": "cal_x", "calcom_event_slug": "demo"}},
        {"type": "end_call", "data": {}},
    ]
    write = [
        {"type": "call_transfer", "phone_number": "+4930123456", "description": "To sales", "custom": True},
        {"type": "dtmf_input", "description": "Menu"},
        {"type": "calendar_integration", "calcom_api_key": "cal_x", "calcom_event_slug": "demo"},
        {"type": "end_call", "description": None},
    ]
    assert canonical("tools", read) == canonical("tools", write)
    assert canonical("tools", write) == [
        {"type": "call_transfer", "phone_number": "+4930123456", "description": "To sales", "custom": True},
        {"type": "dtmf_input", "description": "Menu"},
        {"type": "calendar_integration", "calcom_api_key": "cal_x", "calcom_event_slug": "demo"},
        {"type": "end_call"},
    ]


def test_a_tools_null_and_blank_keys_are_dropped() -> None:
    read = [
        {
            "type": "call_transfer",
            "data": {"phone_number": "+4930123456", "description": None, "timezone": "", "custom": None},
        }
    ]
    assert canonical("tools", read) == [{"type": "call_transfer", "phone_number": "+4930123456"}]
    assert canonical("tools", [{"type": "end_call", "description": "  "}]) == [{"type": "end_call"}]


@pytest.mark.parametrize(
    ("custom", "expected"), [("1", True), (1, True), ("0", False), (0, False), (True, True), (False, False)]
)
def test_a_tools_custom_flag_becomes_a_boolean(custom: Any, expected: bool) -> None:
    read = [{"type": "call_transfer", "data": {"phone_number": "+4930123456", "custom": custom}}]
    assert canonical("tools", read)[0]["custom"] is expected


def test_canonical_tools_do_not_change_the_input() -> None:
    read = [{"type": "end_call", "data": {"description": " Bye "}}]
    before = copy.deepcopy(read)
    canonical("tools", read)
    assert read == before


def test_empty_tools_stay_empty() -> None:
    assert canonical("tools", []) == []


def test_post_call_schema_boolean_becomes_bool() -> None:
    read = [
        {"name": "sold", "type": "boolean", "description": " Did they buy? "},
        {"name": "amount", "type": "number", "description": "How much"},
        {"name": "notes", "type": "string", "description": "Notes"},
        {"name": "happy", "type": "bool", "description": "Happy"},
    ]
    assert canonical("post_call_schema", read) == [
        {"name": "sold", "type": "bool", "description": "Did they buy?"},
        {"name": "amount", "type": "number", "description": "How much"},
        {"name": "notes", "type": "string", "description": "Notes"},
        {"name": "happy", "type": "bool", "description": "Happy"},
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], {}),  # PHP reads an empty object back as an empty array
        ({}, {}),
        ({"city": " Berlin "}, {"city": "Berlin"}),
        ({"a": "x", "b": "y"}, {"a": "x", "b": "y"}),
        ({"a": ""}, {"a": None}),
        (None, None),
    ],
)
def test_variables(value: Any, expected: Any) -> None:
    assert canonical("variables", value) == expected


# --- normalise ----------------------------------------------------------------------------------------------


def pipeline_item(**changes: Any) -> dict[str, Any]:
    """A pipeline assistant as the list returns it: read shape, read-only fields, no write-only fields."""
    item: dict[str, Any] = {
        "id": 7,
        "uuid": "0b7c9b7e-5f7b-4a53-9b49-2f1f7a0c1e11",
        "user_id": 3,
        "status": "inactive",
        "created_at": "2025-08-02T09:18:42.000000Z",
        "updated_at": "2025-08-02T09:18:42.000000Z",
        "deleted_at": None,
        "language": {"id": 1, "name": "English"},
        "internal_flag_id": 99,
        "name": "Sales Assistant",
        "type": "outbound",
        "mode": "pipeline",
        "voice_id": 4,
        "language_id": 1,
        "timezone": "Europe/Berlin",
        "initial_message": "Hello!",
        "system_prompt": "You sell.",
        "llm_model_id": 2,
        "multimodal_model_id": None,
        "transcriber_provider_id": None,
        "synthesizer_provider_id": None,
        "knowledgebase_id": None,
        "knowledgebase_mode": "function_call",
        "phone_number_id": None,
        "tools": [{"type": "end_call", "data": {"description": "Bye"}}],
        "voice_stability": "0.7",
        "voice_similarity": "0.5",
        "speech_speed": "1",
        "llm_temperature": "0.1",
        "allow_interruptions": True,
        "fillers": 0,
        "record": False,
        "enable_noise_cancellation": True,
        "wait_for_customer": False,
        "endpoint_type": "vad",
        "endpoint_sensitivity": 0.5,
        "interrupt_sensitivity": 0.5,
        "min_interrupt_words": None,
        "ambient_sound": "off",
        "ambient_sound_volume": "0.5",
        "max_duration": 600,
        "max_silence_duration": 40,
        "max_initial_silence_duration": None,
        "ringing_time": 30,
        "reengagement_interval": 30,
        "end_call_on_voicemail": 1,
        "is_webhook_active": False,
        "webhook_url": None,
        "send_webhook_only_on_completed": True,
        "include_recording_in_webhook": True,
        "post_call_evaluation": True,
        "post_call_schema": [{"name": "sold", "type": "boolean", "description": "Did they buy?"}],
        "variables": [],
    }
    item.update(changes)
    return item


def multimodal_item(**changes: Any) -> dict[str, Any]:
    item = pipeline_item(
        id=8,
        name="Support Line",
        mode="multimodal",
        llm_model_id=None,
        multimodal_model_id=5,
        fillers=None,
        transcriber_provider_id=None,
    )
    item.update(changes)
    return item


def test_normalise_keeps_id_name_and_mode_on_the_object() -> None:
    remote = normalise(pipeline_item())
    assert isinstance(remote, RemoteAssistant)
    assert remote.id == 7
    assert remote.name == "Sales Assistant"
    assert remote.mode == "pipeline"


def test_normalise_reads_a_string_id_and_trims_name_and_mode() -> None:
    remote = normalise(pipeline_item(id="7", name=" Sales Assistant ", mode=" pipeline "))
    assert remote.id == 7
    assert type(remote.id) is int
    assert remote.name == "Sales Assistant"
    assert remote.mode == "pipeline"
    assert remote.fields["name"] == "Sales Assistant"


def test_normalise_drops_read_only_server_and_unknown_fields() -> None:
    fields = normalise(pipeline_item()).fields
    for key in (*READ_ONLY, "internal_flag_id"):
        assert key not in fields
    assert set(fields) <= set(API_FIELDS)


def test_normalise_gives_canonical_values() -> None:
    fields = normalise(pipeline_item()).fields
    assert fields["voice_stability"] == 0.7
    assert fields["voice_similarity"] == 0.5
    assert fields["speech_speed"] == 1.0
    assert fields["llm_temperature"] == 0.1
    assert fields["ambient_sound_volume"] == 0.5
    assert fields["fillers"] is False
    assert fields["end_call_on_voicemail"] is True
    assert fields["tools"] == [{"type": "end_call", "description": "Bye"}]
    assert fields["post_call_schema"] == [{"name": "sold", "type": "bool", "description": "Did they buy?"}]
    assert fields["variables"] == {}
    assert fields["llm_model_id"] == 2
    assert fields["webhook_url"] is None


def test_observed_is_exactly_the_api_fields_the_item_carried() -> None:
    item = pipeline_item()
    remote = normalise(item)
    assert remote.observed == frozenset(item) & frozenset(API_FIELDS)
    assert remote.observed.isdisjoint(WRITE_ONLY)
    assert remote.observed.isdisjoint(READ_ONLY)
    assert "multimodal_model_id" in remote.observed  # returned (as null) though not of this mode
    assert "internal_flag_id" not in remote.observed


def test_a_write_only_field_that_does_come_back_is_observed() -> None:
    remote = normalise(pipeline_item(tts_emotion_enabled=1, tool_ids=["4"]))
    assert {"tts_emotion_enabled", "tool_ids"} <= remote.observed
    assert remote.fields["tts_emotion_enabled"] is True
    assert remote.fields["tool_ids"] == [4]


def test_the_fields_are_the_observed_fields_of_the_items_mode() -> None:
    remote = normalise(pipeline_item())
    assert set(remote.fields) == set(remote.observed) - {"multimodal_model_id"}


def test_a_pipeline_item_drops_the_realtime_fields() -> None:
    fields = normalise(pipeline_item(multimodal_model_id=5, chat_llm_fallback_id=None)).fields
    assert "multimodal_model_id" not in fields
    assert "chat_llm_fallback_id" not in fields
    assert fields["llm_model_id"] == 2
    assert fields["fillers"] is False
    assert "transcriber_provider_id" in fields


@pytest.mark.parametrize("mode", ["multimodal", "dualplex"])
def test_a_realtime_item_drops_the_pipeline_fields(mode: str) -> None:
    remote = normalise(multimodal_item(mode=mode, llm_model_id=2, fillers=1, transcriber_provider_id=3))
    assert remote.mode == mode
    for key in ("llm_model_id", "fillers", "transcriber_provider_id"):
        assert key not in remote.fields
        assert key in remote.observed
    assert remote.fields["multimodal_model_id"] == 5


def test_the_record_is_taken_out_of_variables() -> None:
    record = {"version": 1, "fields": {"tool_ids": [1, 2]}}
    item = pipeline_item(variables={"city": " Berlin ", RECORD_KEY: json.dumps(record)})
    remote = normalise(item)
    assert remote.record == record
    assert remote.fields["variables"] == {"city": "Berlin"}
    assert RECORD_KEY in item["variables"]  # the item itself is left alone


def test_a_record_alone_leaves_empty_variables() -> None:
    remote = normalise(pipeline_item(variables={RECORD_KEY: "{}"}))
    assert remote.record == {}
    assert remote.fields["variables"] == {}


@pytest.mark.parametrize("damaged", ["{not json", "[1, 2]", '"text"', "", "null"])
def test_a_damaged_record_counts_as_none(damaged: str) -> None:
    remote = normalise(pipeline_item(variables={"city": "Berlin", RECORD_KEY: damaged}))
    assert remote.record is None
    assert remote.fields["variables"] == {"city": "Berlin"}


def test_no_record_is_none() -> None:
    assert normalise(pipeline_item()).record is None
    assert normalise(pipeline_item(variables={"city": "Berlin"})).record is None
    remote = normalise({"id": 1, "name": "Bare"})
    assert remote.record is None
    assert remote.fields == {"name": "Bare"}
    assert remote.observed == frozenset({"name"})
    assert remote.mode is None


def test_normalise_does_not_change_the_item() -> None:
    item = pipeline_item(variables={"a": " b ", RECORD_KEY: "{}"})
    before = copy.deepcopy(item)
    normalise(item)
    assert item == before


def test_the_fingerprint_is_stable() -> None:
    one = normalise(pipeline_item()).fingerprint
    assert one == normalise(pipeline_item()).fingerprint
    reordered = dict(reversed(list(pipeline_item().items())))
    assert normalise(reordered).fingerprint == one
    assert len(one) == 16
    assert int(one, 16) >= 0
    assert fingerprint(pipeline_item()) == one


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=8))
def test_the_fingerprint_is_the_digest_of_the_sorted_compact_json_saved_plans_were_made_with(
    item: dict[str, Any],
) -> None:
    """Saved plans carry fingerprints, compared at apply time: the text digested may be made faster, never
    different (one encoder kept for the run, without the check for circular values a decoded item never has)."""
    text = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)
    assert fingerprint(item) == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_an_assistant_read_for_a_plan_only_shown_has_no_fingerprint_and_nothing_else_differs() -> None:
    item = pipeline_item(tools=[{"type": "end_call", "data": {"description": "Bye!"}}])
    shown = normalise(item, fingerprinted=False)
    assert shown.fingerprint is None
    assert dataclasses.replace(shown, fingerprint=fingerprint(item)) == normalise(item)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("updated_at", "2025-08-02T09:18:43.000000Z"),
        ("status", "active"),
        ("name", "Sales Assistant 2"),
        ("speech_speed", "1.1"),
        ("speech_speed", 1),  # same canonical value, another returned value
        ("fillers", 1),
        ("tools", []),
        ("variables", {"a": "b"}),
        ("multimodal_model_id", 5),  # a field of the other mode
        ("internal_flag_id", 100),  # an unknown field
        ("tool_ids", [1]),  # a new key
    ],
)
def test_the_fingerprint_changes_when_any_returned_value_changes(key: str, value: Any) -> None:
    assert normalise(pipeline_item(**{key: value})).fingerprint != normalise(pipeline_item()).fingerprint


def test_the_fingerprint_changes_when_a_key_disappears() -> None:
    item = pipeline_item()
    del item["webhook_url"]
    assert normalise(item).fingerprint != normalise(pipeline_item()).fingerprint


def test_the_fingerprint_sees_a_change_inside_a_nested_value() -> None:
    changed = pipeline_item(tools=[{"type": "end_call", "data": {"description": "Bye!"}}])
    assert normalise(changed).fingerprint != normalise(pipeline_item()).fingerprint


# --- properties ---------------------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(field=st.sampled_from(FLOAT_FIELDS), value=finite)
def test_a_float_read_as_a_string_is_the_same_float(field: str, value: float) -> None:
    assert canonical(field, str(value)) == canonical(field, value)
    assert type(canonical(field, str(value))) is float


@given(field=st.sampled_from(FLOAT_FIELDS), value=st.floats(min_value=0, max_value=5, allow_nan=False))
def test_a_write_shape_float_survives_the_read_shape(field: str, value: float) -> None:
    assert canonical(field, str(value)) == canonical(field, value) == value


@given(field=st.sampled_from(INT_FIELDS), value=st.integers(min_value=-(2**53), max_value=2**53))
def test_an_int_read_as_a_string_is_the_same_int(field: str, value: int) -> None:
    assert canonical(field, str(value)) == canonical(field, value) == value
    assert type(canonical(field, str(value))) is int


def test_a_large_int_read_as_a_string_is_exact() -> None:
    assert canonical("voice_id", "9007199254740993") == 9007199254740993


@given(field=st.sampled_from(BOOL_FIELDS), value=st.booleans())
def test_a_boolean_read_as_zero_or_one_is_the_same_boolean(field: str, value: bool) -> None:
    assert (
        canonical(field, int(value)) is canonical(field, str(int(value))) is canonical(field, value) is value
    )


# U+001C..U+001F: str.strip() removes them and float() does not: a regression case for canonical()
SEPARATORS = "\x1c\x1d\x1e\x1f"
numeric_text = st.from_regex(
    r"[ \t\n]*[-+]?(\d{1,12}(\.\d{0,8})?|\.\d{1,8})([eE][-+]?\d{1,3})?[ \t\n]*", fullmatch=True
)
values = st.one_of(
    st.none(),
    st.text(),
    numeric_text,
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.sampled_from(["0", "1", "", " ", " x ", "0.7", "1.0", "5", "true"]),
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


@given(field=st.sampled_from([*STR_FIELDS, *FLOAT_FIELDS, *INT_FIELDS, *BOOL_FIELDS]), value=values)
def test_canonical_is_idempotent(field: str, value: Any) -> None:
    once = canonical(field, value)
    assert same(canonical(field, once), once)


tool = st.fixed_dictionaries(
    {"type": st.sampled_from(["end_call", "dtmf_input", "call_transfer"])},
    optional={
        "description": st.one_of(st.none(), st.text(max_size=5)),
        "custom": st.one_of(st.none(), st.sampled_from([0, 1, "0", "1", True, False])),
        "phone_number": st.sampled_from(["+4930123456", " +4930123456 "]),
    },
)


@given(tools=st.lists(tool, max_size=3), nested=st.booleans())
def test_canonical_tools_are_idempotent_in_either_shape(tools: list[dict[str, Any]], nested: bool) -> None:
    shaped = (
        [{"type": t["type"], "data": {k: v for k, v in t.items() if k != "type"}} for t in tools]
        if nested
        else tools
    )
    once = canonical("tools", shaped)
    assert canonical("tools", once) == once
    assert once == canonical("tools", tools)  # read and write shapes of the same tools agree


@pytest.mark.parametrize("field", ["llm_temperature", "max_duration", "secondary_language_ids"])
def test_canonical_never_raises_on_a_numeric_string_with_a_separator(field: str) -> None:
    value = "0.5\x1f"
    result = canonical(field, [value] if field == "secondary_language_ids" else value)
    assert result in (0.5, [0.5], value, [value])


def _by_the_general_rule(field: str, value: Any) -> Any:
    """What ``canonical`` answered before its fast paths (issue 19): every text trimmed and ``""`` as null,
    every number through the text-or-number rule, every boolean through the 0/1 rule."""
    kind = FIELD_KINDS[field]
    if value is None:
        return None
    if kind == "str":
        return (api_trim(value) or None) if isinstance(value, str) else value
    if kind in ("int", "float"):
        return remote._number(value, integer=kind == "int")
    if value in (0, 1, "0", "1") and not isinstance(value, bool | float):
        return value in (1, "1")
    return value


@given(field=st.sampled_from([*STR_FIELDS, *FLOAT_FIELDS, *INT_FIELDS, *BOOL_FIELDS]), value=values)
def test_canonical_scalars_answer_as_the_general_rule_does(field: str, value: Any) -> None:
    assert same(canonical(field, value), _by_the_general_rule(field, value))

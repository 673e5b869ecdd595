"""tolerance.py and what it feeds: unknown tool types and fields, compared without false drift, found for doctor."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from reconciler.diff import same
from reconciler.remote import canonical, normalise
from reconciler.schema import json_schema
from reconciler.spec import AssistantSpec
from reconciler.tolerance import Unknowns, as_stored, comparable, extra_values, tool_value, unknowns

NEWER_ITEM: dict[str, Any] = {
    "id": 5,
    "uuid": "0b7c9b7e-5f7b-4a53-9b49-2f1f7a0c1e11",
    "status": "inactive",
    "user_id": 1,
    "created_at": "2026-12-01T09:18:42.000000Z",
    "updated_at": "2026-12-01T09:18:42.000000Z",
    "deleted_at": None,
    "language": "en",
    "name": "Newer",
    "mode": "pipeline",
    "speech_speed": "1.0",
    "compliance_blocked_at": None,
    "inbound_webhook_url": "https://app.gloriagent.ai/api/webhooks/inbound/0b7c",
    "folder_id": 4,
    "tools": [
        {"type": "end_call", "data": {"description": "Bye."}},
        {
            "type": "warm_call_transfer",
            "data": {"supervisor_phone": "+14155550100", "outbound_phone_id": "7"},
        },
        {"type": "collect_keypad", "data": {"timeout": "10"}},
    ],
}


def test_unknowns_names_the_fields_and_tool_types_this_version_does_not_know() -> None:
    found = unknowns([NEWER_ITEM, {**NEWER_ITEM, "tools": [{"type": "assistant_transfer"}], "label_ids": []}])
    assert found == Unknowns(
        fields=("compliance_blocked_at", "folder_id", "inbound_webhook_url", "label_ids"),
        tool_types=("assistant_transfer", "collect_keypad", "warm_call_transfer"),
    )
    assert not found.empty


def test_unknowns_of_a_documented_read_is_empty_and_bad_items_are_skipped() -> None:
    documented = {
        k: v for k, v in NEWER_ITEM.items() if k not in ("compliance_blocked_at", "inbound_webhook_url")
    }
    documented = {**documented, "tools": NEWER_ITEM["tools"][:1]}
    del documented["folder_id"]
    assert unknowns(
        [documented, "not an item", {"tools": "nor tools", "id": 1}, {"tools": [3, {"type": 4}]}]
    ) == (Unknowns((), ()))


def test_a_tool_id_read_back_as_a_string_is_the_integer_and_a_phone_number_stays_text() -> None:
    tools = normalise(NEWER_ITEM).fields["tools"]
    assert tools[1] == {
        "type": "warm_call_transfer",
        "supervisor_phone": "+14155550100",
        "outbound_phone_id": 7,
    }
    assert tools[2] == {"type": "collect_keypad", "timeout": "10"}  # not an id: compared loosely instead
    assert tool_value("assistant_id", " 12 ") == 12
    assert tool_value("assistant_id", "12a") == "12a"
    assert tool_value("phone_number", "4930123456") == "4930123456"


def test_numeric_strings_inside_tool_data_equal_numbers() -> None:
    read = canonical("tools", [{"type": "collect_keypad", "data": {"timeout": "10", "stop_key": "#"}}])
    assert same("tools", [{"type": "collect_keypad", "timeout": 10, "stop_key": "#"}], read)
    assert not same("tools", [{"type": "collect_keypad", "timeout": 11, "stop_key": "#"}], read)


@pytest.mark.parametrize(
    ("desired", "current", "equal"),
    [
        (90, "90", True),
        (0.5, "0.5", True),
        ("+14155550100", "+14155550100", True),
        (14155550100, "+14155550100", False),  # a phone number is never a number
        ("007", 7, False),  # nor is a code with a leading zero
        ({"words": ["um"]}, {"words": ["um"]}, True),
        ({"words": ["um"]}, {"words": ["uh"]}, False),
        (None, 0, False),
    ],
)
def test_a_field_this_version_does_not_know_is_compared_loosely(
    desired: Any, current: Any, equal: bool
) -> None:
    assert same("conversation_inactivity_timeout", desired, current) is equal


def test_a_known_field_keeps_its_strict_comparison() -> None:
    assert not same("name", "90", 90)


def test_comparable_and_as_stored_reach_every_depth() -> None:
    assert comparable({"a": ["1", "x", {"b": "-2.5"}]}) == {"a": [1, "x", {"b": -2.5}]}
    assert as_stored({"a": [" x ", ""], "b": "  "}) == {"a": ["x", None], "b": None}


def test_extra_fields_reach_the_plan_flat_and_trimmed() -> None:
    spec = AssistantSpec.model_validate({"name": "A", "extra_fields": {"folder_id": 4, "note": " hi "}})
    assert extra_values(spec.declared()) == {"folder_id": 4, "note": "hi"}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema())


@pytest.mark.parametrize(
    ("document", "valid"),
    [
        ({"name": "A", "extra_fields": {"folder_id": 4, "filler_config": {"words": ["um"]}}}, True),
        ({"name": "A", "extra_fields": {"speech_speed": 1.0}}, False),
        ({"name": "A", "extra_fields": {"voice": "Alloy"}}, False),
        ({"name": "A", "extra_fields": {"uuid": "x"}}, False),
        ({"name": "A", "extra_fields": {"Folder": 1}}, False),
        ({"name": "A", "tools": [{"type": "collect_keypad", "timeout": 5, "stop_key": "#"}]}, True),
        ({"name": "A", "tools": [{"type": "collect_keypad", "keys": ["#"]}]}, False),
        ({"name": "A", "tools": [{"type": "end_call", "timeout": 5}]}, False),  # a known type stays strict
    ],
)
def test_the_schema_agrees_with_validate_on_extra_fields_and_unknown_tools(
    document: dict[str, Any], valid: bool, validator: jsonschema.Draft202012Validator
) -> None:
    assert validator.is_valid(document) is valid

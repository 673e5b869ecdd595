"""The pure core: field changes and minimal bodies from canonical values, and the import boundary."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.diff import diff_create, diff_update, same, same_by_deepdiff
from reconciler.plan import REASON_CHANGED, REASON_MODE, REASON_NEW
from reconciler.record import RECORD_KEY, encode_record
from reconciler.remote import normalise
from reconciler.spec import API_FIELDS


def digest(field: str, value: Any) -> str:
    return f"{field}:{json.dumps(value, sort_keys=True)}"


SYMMETRIC = dict.fromkeys(API_FIELDS) | {
    "name": "A",
    "mode": "pipeline",
    "type": "outbound",
    "voice_id": 101,
    "llm_model_id": 2,
    "speech_speed": 1.0,
    "tool_ids": [31, 32],
    "secondary_language_ids": [],
    "tools": [{"type": "end_call", "description": "Bye."}],
    "post_call_schema": [],
    "variables": {},
    "fillers": False,
}
WRITE_ONLY = ("tool_ids", "secondary_language_ids", "voice_mail_message", "chat_llm_fallback_id")


def remote(overrides: dict[str, Any] | None = None, *, hide: tuple[str, ...] = (), record: Any = None) -> Any:
    item = {"id": 7, **SYMMETRIC, **(overrides or {})}
    for name in hide:
        item.pop(name)
    if record is not None:
        item["variables"] = {**(item["variables"] or {}), RECORD_KEY: encode_record(record)}
    return normalise(item)


def test_unchanged_is_empty() -> None:
    declared = {
        "name": "A",
        "speech_speed": 1,
        "tool_ids": [32, 31],
        "tools": [{"type": "end_call", "description": "Bye."}],
    }
    result = diff_update(declared, (), remote(), digest)
    assert result.empty
    assert result.changes == ()


def test_only_changed_fields_and_explicit_clears() -> None:
    current = remote({"webhook_url": "https://old.example/hook", "knowledgebase_id": 10})
    result = diff_update({"name": "A", "speech_speed": 0.9}, (), current, digest)
    # left out of the file and clearable: cleared; left out and not clearable (mode, voice_id...): untouched
    assert result.body == {
        "tool_ids": [],
        "knowledgebase_id": None,
        "tools": [],
        "speech_speed": 0.9,
        "webhook_url": None,
    }
    assert [c.path for c in result.changes] == list(result.body)


def test_whole_list_sent_when_one_item_changes() -> None:
    tools = [{"type": "end_call", "description": "Bye now."}, {"type": "dtmf_input"}]
    result = diff_update({"tools": tools, "tool_ids": [31, 32]}, (), remote(), digest)
    assert result.body == {"tools": tools}


def test_ignore_changes_is_neither_diffed_nor_sent() -> None:
    result = diff_update(
        {"speech_speed": 0.8, "tool_ids": [31, 32]}, ("speech_speed", "tools"), remote(), digest
    )
    assert result.empty
    assert result.changes == ()


def test_other_mode_fields_are_never_managed() -> None:
    current = remote({"mode": "multimodal", "llm_model_id": None, "multimodal_model_id": 1, "fillers": None})
    result = diff_update({"fillers": True, "llm_model_id": 3, "tool_ids": [31, 32]}, (), current, digest)
    assert result.body == {"tools": []}


def test_mode_change_resends_declared_mode_fields_with_a_reason() -> None:
    current = remote({"mode": "multimodal", "llm_model_id": None, "multimodal_model_id": 2, "fillers": None})
    declared = {
        "mode": "dualplex",
        "multimodal_model_id": 2,
        "synthesizer_provider_id": None,
        "tool_ids": [31, 32],
    }
    result = diff_update(declared, (), current, digest)
    assert result.body == {
        "mode": "dualplex",
        "multimodal_model_id": 2,
        "synthesizer_provider_id": None,
        "tools": [],
    }
    reasons = {c.path: c.reason for c in result.changes}
    assert reasons == {
        "mode": None,
        "multimodal_model_id": REASON_MODE,
        "synthesizer_provider_id": REASON_MODE,
        "tools": None,
    }


def test_numbers_within_tolerance_and_int_float_are_the_same() -> None:
    assert same("speech_speed", 0.7, 0.7000000000001)
    assert same("max_duration", 600, 600.0)
    assert not same("speech_speed", 0.7, 0.71)
    assert same("tool_ids", [1, 2], [2, 1])
    assert not same("tool_ids", [1, 2], [1, 2, 3])
    assert same("post_call_schema", [{"name": "a"}, {"name": "b"}], [{"name": "b"}, {"name": "a"}])
    assert not same("system_prompt", "a", None)


class TestWriteOnly:
    def current(self, overrides: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return remote(overrides, hide=WRITE_ONLY, **kwargs)

    def test_left_out_write_only_fields_are_not_managed(self) -> None:
        assert diff_update({"name": "A", "tools": SYMMETRIC["tools"]}, (), self.current(), digest).empty

    def test_first_declaration_is_sent_with_a_record(self) -> None:
        result = diff_update(
            {"tool_ids": [], "voice_mail_message": "Hi", "tools": SYMMETRIC["tools"]},
            (),
            self.current(),
            digest,
        )
        record = {
            "tool_ids": digest("tool_ids", []),
            "voice_mail_message": digest("voice_mail_message", "Hi"),
        }
        assert result.body == {
            "tool_ids": [],
            "voice_mail_message": "Hi",
            "variables": {RECORD_KEY: encode_record(record)},
        }
        assert [(c.path, c.before_known, c.reason) for c in result.changes] == [
            ("tool_ids", False, REASON_NEW),
            ("voice_mail_message", False, REASON_NEW),
        ]

    def test_matching_record_means_no_change(self) -> None:
        record = {"tool_ids": digest("tool_ids", [])}
        result = diff_update(
            {"tool_ids": [], "tools": SYMMETRIC["tools"]}, (), self.current(record=record), digest
        )
        assert result.empty

    def test_changed_value_is_sent_and_record_rewritten_keeping_user_variables(self) -> None:
        record = {"tool_ids": digest("tool_ids", [31])}
        current = self.current({"variables": {"a": "b"}}, record=record)
        result = diff_update(
            {"tool_ids": [32], "variables": {"a": "b"}, "tools": SYMMETRIC["tools"]}, (), current, digest
        )
        new_record = encode_record({"tool_ids": digest("tool_ids", [32])})
        assert result.body == {"tool_ids": [32], "variables": {"a": "b", RECORD_KEY: new_record}}
        assert [(c.path, c.reason) for c in result.changes] == [("tool_ids", REASON_CHANGED)]

    def test_record_deleted_by_hand_resends_the_fields(self) -> None:
        result = diff_update({"tool_ids": [31], "tools": SYMMETRIC["tools"]}, (), self.current(), digest)
        assert result.body["tool_ids"] == [31]

    def test_record_does_not_ride_along_when_nothing_write_only_changed(self) -> None:
        record = {"tool_ids": digest("tool_ids", [])}
        current = self.current(record=record)
        result = diff_update(
            {"tool_ids": [], "speech_speed": 0.9, "tools": SYMMETRIC["tools"]}, (), current, digest
        )
        assert result.body == {"speech_speed": 0.9}

    def test_user_variables_change_keeps_the_record(self) -> None:
        record = {"tool_ids": digest("tool_ids", [])}
        result = diff_update(
            {"tool_ids": [], "variables": {"x": "y"}, "tools": SYMMETRIC["tools"]},
            (),
            self.current(record=record),
            digest,
        )
        assert result.body == {"variables": {"x": "y", RECORD_KEY: encode_record(record)}}

    def test_without_variables_no_record_can_be_kept(self) -> None:
        current = remote(hide=(*WRITE_ONLY, "variables"))
        result = diff_update({"tool_ids": [], "tools": SYMMETRIC["tools"]}, (), current, digest)
        assert result.body == {"tool_ids": []}
        assert result.unobservable == ("tool_ids",)


def test_create_sends_the_full_body_and_records_unseen_fields() -> None:
    declared = {
        "name": "N",
        "mode": "pipeline",
        "llm_model_id": 2,
        "multimodal_model_id": 1,
        "tool_ids": [31],
    }
    observed = frozenset(API_FIELDS) - {"tool_ids"}
    result = diff_create(declared, observed, digest)
    record = encode_record({"tool_ids": digest("tool_ids", [31])})
    assert result.body == {
        "name": "N",
        "mode": "pipeline",
        "llm_model_id": 2,
        "tool_ids": [31],
        "variables": {RECORD_KEY: record},
    }
    assert diff_create(declared, frozenset(API_FIELDS), digest).body == {
        "name": "N",
        "mode": "pipeline",
        "llm_model_id": 2,
        "tool_ids": [31],
    }


@pytest.mark.parametrize("module", ["reconciler.diff", "reconciler.plan"])
def test_pure_core_imports_no_io_library(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in ('httpx', 'click', 'yaml') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


_SCALARS = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.7, 0.7 + 1e-10, 0.7 + 1e-8, 1, 1.0, True, False, 0, "", "a", "0.7", "1"]),
    st.text(max_size=4),
    st.booleans(),
)


@given(desired=_SCALARS, current=_SCALARS)
@settings(max_examples=400, deadline=None)
def test_numbers_and_text_are_compared_as_deepdiff_compares_them(desired: object, current: object) -> None:
    """``same`` answers two numbers or two strings without DeepDiff (issue 19): always as DeepDiff would."""
    for name in ("speech_speed", "max_duration", "system_prompt", "tool_ids"):
        expected = desired == current and type(desired) is type(current)
        if not expected and desired is not None and current is not None:
            expected = same_by_deepdiff(name, desired, current)
        assert same(name, desired, current) == expected, name

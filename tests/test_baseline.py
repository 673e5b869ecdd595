"""The pure pass of ``plan --baseline``: which field changes are the files' and which the platform's."""

from __future__ import annotations

from typing import Any

from reconciler.baseline import _IGNORED, top_level, with_origins
from reconciler.plan import REASON_MODE, REASON_OWNER, Change, FieldChange, Plan


def plan_of(*fields: FieldChange, file: str | None = "one.yaml") -> Plan:
    return Plan.of([Change("one", file, "update", 1, "One", {}, fields)])  # type: ignore[arg-type]


def marked(plan: Plan, now: dict[str, Any], then: dict[str, Any] | None) -> dict[str, str | None]:
    result = with_origins(plan, {"one": now}, {} if then is None else {"one": then})
    return {f.path: f.origin for f in result.changes[0].fields}


def test_a_field_re_sent_for_a_mode_change_has_the_modes_origin() -> None:
    plan = plan_of(FieldChange("mode", "a", "b"), FieldChange("voice_id", 1, 1, reason=REASON_MODE))
    assert marked(plan, {"mode": "b", "voice_id": 1}, {"mode": "a", "voice_id": 1}) == {
        "mode": "files",
        "voice_id": "files",
    }
    assert marked(plan, {"mode": "b", "voice_id": 1}, {"mode": "b", "voice_id": 1}) == {
        "mode": "platform",
        "voice_id": "platform",
    }


def test_bookkeeping_is_the_files_and_a_nested_path_compares_its_top_level_field() -> None:
    plan = plan_of(FieldChange("variables", {}, {}, reason=REASON_OWNER), FieldChange("tools[0].x", 1, 2))
    same = {"variables": {}, "tools": [{"x": 2}]}
    assert marked(plan, same, same) == {"variables": "files", "tools[0].x": "platform"}
    assert top_level("voice_settings.speed") == "voice_settings"


def test_a_field_absent_both_times_is_the_platforms_and_one_the_pr_stops_ignoring_is_the_files() -> None:
    plan = plan_of(FieldChange("webhook_url", "https://x.example", None), FieldChange("timezone", "A", "B"))
    assert marked(plan, {"timezone": "B"}, {"timezone": _IGNORED}) == {
        "webhook_url": "platform",  # the file never declared it: someone set it in the dashboard
        "timezone": "files",
    }
    assert marked(plan, {"timezone": "B"}, None) == {"webhook_url": "files", "timezone": "files"}


def test_a_delete_has_nothing_to_mark() -> None:
    plan = plan_of(file=None)
    assert with_origins(plan, {}, {}) == plan

"""Renderers: exact text, markdown structure and size, JSON masking."""

from __future__ import annotations

import io
import json
import re

from reconciler.plan import Change, FieldChange, Plan
from reconciler.render import MARKDOWN_LIMIT, MARKER, Style, render_json, render_markdown, render_text


def update(key: str, **extra: object) -> Change:
    fields = (
        FieldChange("speech_speed", 1.0, 0.9),
        FieldChange("system_prompt", "One.\nTwo.", "One.\nTwo!\nThree."),
        FieldChange("voice_mail_message", None, "Hi", before_known=False, reason="write-only"),
    )
    return Change(
        key,
        f"assistants.d/{key}.yaml",
        "update",
        7,
        f"Name {key}",
        {"speech_speed": 0.9},
        fields,
        "f" * 16,
        **extra,
    )  # type: ignore[arg-type]


def rendered(render: object, plan: Plan, **kwargs: object) -> str:
    stream = io.StringIO()
    render(plan, stream, **kwargs)  # type: ignore[operator]
    return stream.getvalue()


def test_text_for_no_changes() -> None:
    plan = Plan.of([Change("a", "a.yaml", "noop", 1, "A")])
    assert rendered(render_text, plan) == "No changes. The platform matches the files (1 assistant).\n"


def test_text_field_lines_and_line_diff() -> None:
    text = rendered(render_text, Plan.of([update("sales")]))
    assert text == (
        "reconciler will make these changes:\n\n"
        '  ~ update sales "Name sales" (id 7)    assistants.d/sales.yaml\n'
        "      ~ speech_speed: 1.0 → 0.9\n"
        "      ~ system_prompt:\n"
        "            One.\n"
        "          - Two.\n"
        "          + Two!\n"
        "          + Three.\n"
        '      ~ voice_mail_message: (not returned by the API) → "Hi"  # write-only\n\n'
        "Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged.\n"
    )


def test_colour_only_when_asked() -> None:
    plain = rendered(render_text, Plan.of([update("a")]))
    coloured = rendered(render_text, Plan.of([update("a")]), style=Style(colour=True))
    assert "\033[" not in plain
    assert "\033[33m  ~ update a" in coloured


def test_secrets_are_masked_in_every_renderer() -> None:
    change = Change(
        "cal",
        "cal.yaml",
        "update",
        3,
        "Cal",
        body={
            "tools": [
                {"type": "calendar_integration", "calcom_api_key": "cal_live_x1", "calcom_event_slug": "s"}
            ]
        },
        fields=(FieldChange("voice_mail_message", "old-secret-1", "new-secret-2"),),
        secret_paths=frozenset({"voice_mail_message"}),
    )
    plan = Plan.of([change])
    for render in (render_text, render_markdown, render_json):
        out = rendered(render, plan)
        assert "old-secret-1" not in out
        assert "new-secret-2" not in out
        assert "cal_live_x1" not in out
    data = json.loads(rendered(render_json, plan))
    assert data["changes"][0]["body"]["tools"][0]["calcom_api_key"] == "(sensitive)"
    assert data["changes"][0]["fields"] == [
        {"path": "voice_mail_message", "before": "(sensitive)", "after": "(sensitive value changed)"}
    ]


def test_markdown_has_marker_table_and_one_section_per_assistant() -> None:
    plan = Plan.of([update("b"), update("a"), Change("c", "c.yaml", "noop", 9, "C")])
    text = rendered(render_markdown, plan)
    assert text.startswith(
        MARKER + "\n### reconciler plan: 0 to create, 2 to update, 0 to delete, 1 unchanged\n"
    )
    rows = [line for line in text.splitlines() if line.startswith("| ~ update")]
    assert rows == [
        "| ~ update | `a` | Name a | 7 | `speech_speed`, `system_prompt`, `voice_mail_message` |",
        "| ~ update | `b` | Name b | 7 | `speech_speed`, `system_prompt`, `voice_mail_message` |",
    ]
    assert text.count("<details>") == text.count("</details>") == 2
    assert re.findall(r"<summary>(.*?)</summary>", text) == [
        "~ update <code>a</code> — Name a (3 fields)",
        "~ update <code>b</code> — Name b (3 fields)",
    ]
    assert text.count("```diff") == 3  # the changes a and b share, then a section each


def test_markdown_escapes_table_breaking_names() -> None:
    change = Change(
        "x", "x.yaml", "update", 1, "A | B <script>", {"record": True}, (FieldChange("record", False, True),)
    )
    text = rendered(render_markdown, Plan.of([change]))
    assert "| A \\| B &lt;script&gt; |" in text


def test_markdown_stays_under_the_limit_for_2000_assistants() -> None:
    plan = Plan.of([update(f"assistant-{i:04d}") for i in range(2000)])
    text = rendered(render_markdown, plan)
    assert len(text) <= MARKDOWN_LIMIT
    assert text.count("<details>") == text.count("</details>") > 10
    shown = text.count("<details>")
    assert text.rstrip().endswith(
        f"… {2000 - shown} more assistants are not shown here; the JSON plan has every change."
    )
    assert "- **update** (2000): `assistant-0000`" in text  # the table became a key list


def test_json_plan_keys_are_in_key_order_with_summary() -> None:
    data = json.loads(rendered(render_json, Plan.of([update("b"), update("a")])))
    assert data["format_version"] == 1
    assert data["summary"] == {"create": 0, "update": 2, "delete": 0, "noop": 0}
    assert [c["key"] for c in data["changes"]] == ["a", "b"]
    assert data["changes"][0]["fields"][2] == {
        "path": "voice_mail_message",
        "before": None,
        "after": "Hi",
        "before_known": False,
        "reason": "write-only",
    }

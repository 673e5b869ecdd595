"""The renderers with ``plan --baseline``: the fields changed outside the repository come first, apart; the
field's ``origin`` in the JSON plan and back from a saved plan."""

from __future__ import annotations

import io
import json

import cmarkgfm  # type: ignore[import-untyped]
import pytest
from cmarkgfm.cmark import Options

from reconciler.errors import PlanFileError
from reconciler.plan import Change, FieldChange, Plan, plan_from_data
from reconciler.render import Style, render_json, render_markdown, render_text


def sales(*fields: FieldChange, notes: tuple[str, ...] = ()) -> Change:
    body = {f.path: f.after for f in fields}
    return Change(
        "sales", "assistants.d/sales.yaml", "update", 7, "Sales", body, fields, "f" * 16, notes=notes
    )  # type: ignore[arg-type]


SPEED = FieldChange("speech_speed", 1.0, 0.9, origin="platform")
PROMPT = FieldChange("system_prompt", "Hi.", "Hello.", origin="files")


def rendered(render: object, plan: Plan, **kwargs: object) -> str:
    stream = io.StringIO()
    render(plan, stream, **kwargs)  # type: ignore[operator]
    return stream.getvalue()


def test_text_shows_the_platforms_changes_first_and_the_plans_own_after() -> None:
    plan = Plan.of([sales(SPEED, PROMPT, notes=("adopted by name",))])
    assert rendered(render_text, plan) == (
        "Changed outside the repository (their files are as they were at the baseline; apply restores the "
        "files' values):\n\n"
        '  ~ update sales "Sales" (id 7)    assistants.d/sales.yaml\n'
        "      ~ speech_speed: 1.0 → 0.9\n\n"
        "reconciler will make these changes:\n\n"
        '  ~ update sales "Sales" (id 7)    assistants.d/sales.yaml\n'
        '      ~ system_prompt: "Hi." → "Hello."\n'
        "      note: adopted by name\n\n"
        "Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged.\n"
    )


def test_text_of_a_plan_that_only_restores_has_no_section_of_its_own() -> None:
    plan = Plan.of([sales(SPEED, notes=("adopted by name",)), Change("b", "b.yaml", "noop", 2, "B")])
    assert rendered(render_text, plan, style=Style(colour=True)) == (
        "Changed outside the repository (their files are as they were at the baseline; apply restores the "
        "files' values):\n\n"
        '\033[33m  ~ update sales "Sales" (id 7)\033[0m    assistants.d/sales.yaml\n'
        "\033[33m      ~ speech_speed: 1.0 → 0.9\033[0m\n"
        "      note: adopted by name\n\n"
        "Plan: 0 to create, 1 to update, 0 to delete, 1 unchanged.\n"
    )


def test_text_without_origins_is_as_before() -> None:
    unmarked = Plan.of([sales(FieldChange("speech_speed", 1.0, 0.9))])
    files = Plan.of([sales(FieldChange("speech_speed", 1.0, 0.9, origin="files"))])
    assert rendered(render_text, unmarked) == rendered(render_text, files)
    assert rendered(render_text, unmarked).startswith("reconciler will make these changes:\n")


def test_markdown_puts_the_table_first_then_the_outside_sections_then_the_own_ones() -> None:
    text = rendered(render_markdown, Plan.of([sales(SPEED, PROMPT)]))
    html = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    assert html.index("<h3>") < html.index("<table>")
    assert html.split("</table>\n")[1].startswith(
        "<h4>Changed outside the repository</h4>\n"
        "<p>These fields differ on the platform, but their files are as they were at the baseline; apply "
        "restores the files' values.</p>\n"
        "<details><summary>~ update <code>sales</code> — Sales (1 field)</summary>\n"
        '<pre lang="diff"><code>- speech_speed: 1.0\n+ speech_speed: 0.9\n</code></pre>\n'
        "</details>\n"
        "<h4>All changes</h4>\n"
    )
    assert html.split("<h4>All changes</h4>")[1] == (
        "\n<details><summary>~ update <code>sales</code> — Sales (1 field)</summary>\n"
        '<pre lang="diff"><code>- system_prompt: &quot;Hi.&quot;\n+ system_prompt: &quot;Hello.&quot;\n'
        "</code></pre>\n</details>\n"
    )


def test_markdown_without_origins_has_no_outside_section() -> None:
    text = rendered(render_markdown, Plan.of([sales(FieldChange("speech_speed", 1.0, 0.9))]))
    assert "Changed outside" not in text
    assert "####" not in text


def test_json_origin_and_the_saved_plan_round_trip() -> None:
    plan = Plan.of([sales(SPEED, PROMPT, FieldChange("voice_id", 1, 2))])
    data = json.loads(rendered(render_json, plan))
    assert [f.get("origin") for f in data["changes"][0]["fields"]] == ["platform", "files", None]
    assert plan_from_data(data) == plan


def test_a_saved_plan_without_origins_loads_and_a_bad_origin_is_refused() -> None:
    data = json.loads(rendered(render_json, Plan.of([sales(FieldChange("speech_speed", 1.0, 0.9))])))
    assert plan_from_data(data).changes[0].fields[0].origin is None
    data["changes"][0]["fields"][0]["origin"] = "dashboard"
    with pytest.raises(PlanFileError, match="bad origin 'dashboard' of field 'speech_speed'"):
        plan_from_data(data)

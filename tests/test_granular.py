"""The granular view of one field change (render/granular.py): what each kind of value shows, and — as a
property — that an element of a list of objects that did not change never appears in the change."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.plan import Action, Change, FieldChange, Plan
from reconciler.render import render_markdown, render_text
from reconciler.render.granular import (
    CONTEXT_CHARS,
    Part,
    Row,
    changed_rows,
    line_pair,
    text_rows,
)

TYPES = ("call_transfer", "end_call", "dtmf_input")


def shown(rows: list[Row]) -> list[str]:
    """Rows as compact strings: sign, depth, and what the row says."""
    out = []
    for row in rows:
        if row.parts:
            what = "".join(f"<{p.mark}{p.text}>" if p.mark else p.text for p in row.parts)
        elif row.before is not None:
            what = f"{row.label}: {row.before} -> {row.after}"
        elif row.value is not None:
            what = f"{row.label}: {row.value}" if row.label else row.value
        else:
            what = f"{row.label}:"
        out.append(f"{row.depth}{row.sign} {what}")
    return out


def test_elements_are_paired_by_their_naming_key_and_only_changed_keys_are_shown() -> None:
    before = [{"type": "call_transfer", "phone_number": "+491", "description": "Desk"}]
    after = [{"type": "call_transfer", "phone_number": "+492", "description": "Desk"}]
    assert shown(changed_rows("tools", before, after)) == [
        "0~ tools:",
        "1~ call_transfer:",
        '2~ phone_number: "+491" -> "+492"',
    ]


def test_two_elements_sharing_a_type_are_told_apart_and_elements_without_a_key_by_position() -> None:
    before: list[dict[str, object]] = []
    after = [
        {"type": "call_transfer", "phone_number": "+491"},
        {"type": "call_transfer", "phone_number": "+492"},
    ]
    assert shown(changed_rows("tools", before, after)) == [
        "0~ tools:",
        "1+ call_transfer:",
        '2+ phone_number: "+491"',
        "1+ call_transfer #2:",
        '2+ phone_number: "+492"',
    ]
    unnamed = changed_rows("tools", [{"description": "x"}], [{"description": "y"}])
    assert shown(unnamed) == ["0~ tools:", "1+ [0]:", '2+ description: "y"', "1- [0]:", '2- description: "x"']


def test_id_lists_show_the_ids_that_joined_and_left_with_their_names() -> None:
    from reconciler.render.granular import Names

    rows = changed_rows("tool_ids", [5, 9], [9, 12], Names(["crm", "weather"], ["weather", "lookup_order"]))
    assert shown(rows) == [
        "0~ tool_ids:",
        "1+ 12 (lookup_order)",
        "1- 5 (crm)",
        "1  (1 unchanged id not shown)",
    ]


def test_a_word_changed_in_a_long_line_is_marked_with_a_little_context_around_it() -> None:
    words = " ".join(f"w{i}" for i in range(200))
    rows = line_pair(words, words.replace("w100", "CHANGED"), 1)
    removed, added = rows
    assert [p for p in removed.parts if p.mark] == [Part("w100", "-")]
    assert [p for p in added.parts if p.mark] == [Part("CHANGED", "+")]
    text = "".join(p.text for p in added.parts)
    assert text.startswith("…")
    assert text.endswith("…")
    assert len(text) < 2 * CONTEXT_CHARS + len("CHANGED") + 4


def test_a_line_rewritten_whole_is_not_marked_word_by_word() -> None:
    rows = line_pair("Greet the caller warmly.", "Ask for the order number first, then wait.", 0)
    assert [row.parts for row in rows] == [
        (Part("Greet the caller warmly."),),
        (Part("Ask for the order number first, then wait."),),
    ]


def test_long_unchanged_runs_of_lines_are_counted_not_shown() -> None:
    lines = [f"line {i}" for i in range(20)]
    changed = [*lines[:10], "line ten", *lines[11:]]
    assert shown(text_rows("\n".join(lines), "\n".join(changed), 1)) == [
        "1  (8 unchanged lines not shown)",
        "1  line 8",
        "1  line 9",
        "1- line <-10>",
        "1+ line <+ten>",
        "1  line 11",
        "1  line 12",
        "1  (7 unchanged lines not shown)",
    ]


tool = st.builds(
    lambda kind, n: {"type": kind, "description": f"desc-{n:06d}"},
    st.sampled_from(TYPES),
    st.integers(0, 999_999),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(tool, max_size=8, unique_by=lambda t: t["description"]),
    st.lists(st.booleans(), min_size=8, max_size=8),
    st.lists(tool, max_size=3, unique_by=lambda t: t["description"]),
)
def test_an_unchanged_element_never_appears_in_the_change(
    before: list[dict[str, str]], edits: list[bool], added: list[dict[str, str]]
) -> None:
    """Any list of tools, some elements edited, some removed, some added: every element equal on both sides
    is absent from the text and the markdown (only counted)."""
    after = []
    for element, edit in zip(before, edits, strict=False):
        if edit:
            after.append({**element, "description": element["description"] + "-edited"})
        elif element["description"][-1] in "02468":  # keep it as it is
            after.append(dict(element))
    known = {t["description"] for t in before}
    after += [t for t in added if t["description"] not in known]
    unchanged = [t for t in before if t in after]
    change = Change(
        "a", "a.yaml", Action.UPDATE, 1, "A", {"tools": after}, (FieldChange("tools", before, after),)
    )
    for render in (render_text, render_markdown):
        out = io.StringIO()
        render(Plan.of([change]), out)
        for element in unchanged:
            assert f'"{element["description"]}"' not in out.getvalue()
        if unchanged and before != after:
            assert f"({len(unchanged)} unchanged element" in out.getvalue()


def test_values_of_any_size_render_in_proportion_to_their_size() -> None:
    """A platform (or a hostile one) may return lists and texts of any size: pairing is linear, and text past
    the diff bounds is summed up instead of compared (difflib's cost grows faster than the text)."""
    before = [{"type": "end_call", "description": f"d{i}"} for i in range(20_000)]
    after = [*before[:-1], {"type": "end_call", "description": "changed"}]
    rows = changed_rows("tools", before, after)
    assert rows[-1].value == "(19999 unchanged elements not shown)"
    assert changed_rows("tool_ids", list(range(50_000)), list(range(1, 50_001)))[-1].value == (
        "(49999 unchanged ids not shown)"
    )
    many = "\n".join(f"line {i}" for i in range(15_000))
    assert shown(text_rows(many, many + "\nmore", 1)) == [
        "1  (15000 lines → 15001 lines: too long to compare here; the JSON plan has both)"
    ]
    words = " ".join(["word"] * 12_000)
    assert [row.parts for row in line_pair(words, words + " more", 0)] == [
        (Part(words),),
        (Part(words + " more"),),
    ]

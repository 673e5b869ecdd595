"""yamledit: one value replaced in a file's text, every other byte kept (docs/contract.md, adopt)."""

from __future__ import annotations

import pytest

from reconciler.yamledit import Change, edited_file


def edited(text: str, *changes: Change) -> str:
    result = edited_file(text.encode(), "f.yaml", changes)
    assert isinstance(result, bytes), result
    return result.decode()


def one(path: str, value: object, key: str | None = None) -> Change:
    return Change((path,), key or path, value)


def test_a_plain_value_keeps_its_comment_and_the_lines_around_it() -> None:
    text = "# top\nname: A   # the name\n\nspeech_speed: 1.0 # pace\nrecord: true\n"
    assert edited(text, one("speech_speed", 1.25)) == text.replace("1.0 #", "1.25 #")


def test_crlf_line_endings_a_bom_and_a_missing_final_newline_stay() -> None:
    text = "\ufeffname: A\r\nsystem_prompt: |\r\n  one\r\n  two\r\nrecord: true"
    result = edited_file(
        text.encode(), "f.yaml", [one("system_prompt", "one\nthree\n"), one("record", False)]
    )
    assert result == "\ufeffname: A\r\nsystem_prompt: |\r\n  one\r\n  three\r\nrecord: false".encode()


@pytest.mark.parametrize(
    ("before", "value", "after"),
    [
        ("q: 'x'\n", "it's", "q: 'it''s'\n"),
        ('q: "x"\n', "y", 'q: "y"\n'),
        ("q: x\n", "a: b", 'q: "a: b"\n'),  # plain would read as a mapping
        ("q: x\n", "1e3", 'q: "1e3"\n'),  # plain would read as a number in YAML 1.2
        ("q: x\n", "true", 'q: "true"\n'),
        ("q: x\n", "two\nlines\n", 'q: "two\\nlines\\n"\n'),
        ("q:\n", "now set", "q: now set\n"),
        ("q: |\n  a\n  b\n", "a", "q: |-\n  a\n"),
        ("q: >-\n  a long line\n", "a longer line", "q: >-\n  a longer line\n"),
        ("q: |\n    deep\n", " leading space", 'q: " leading space"\n'),
    ],
)
def test_a_string_keeps_the_style_it_can(before: str, value: str, after: str) -> None:
    assert edited(before, one("q", value)) == after


def test_a_literal_dollar_brace_is_written_escaped_and_placeholders_elsewhere_stay() -> None:
    text = "webhook_url: ${HOOK}\nsystem_prompt: old\n"
    assert (
        edited(text, one("system_prompt", "costs $${PRICE}"))
        == "webhook_url: ${HOOK}\nsystem_prompt: costs $${PRICE}\n"
    )


def test_lists_keep_block_or_flow_style_and_the_comments_after_them() -> None:
    text = "ids:\n  - 1   # first\n  - 2\n# after\nflow: [1, 2]\nname: A\n"
    assert (
        edited(text, one("ids", [3]), one("flow", [4, 5])) == "ids:\n  - 3\n# after\nflow: [4, 5]\nname: A\n"
    )
    assert edited(text, one("ids", [])) == "ids: []\n# after\nflow: [1, 2]\nname: A\n"


def test_a_name_key_can_give_way_to_its_id_field_on_the_same_line() -> None:
    text = "voice: Maya  # warm\nname: A\n"
    assert edited(text, Change(("voice",), "voice_id", 105)) == "voice_id: 105  # warm\nname: A\n"


def test_a_missing_key_is_added_at_the_end_and_a_variable_after_the_last_one() -> None:
    text = "name: A\nvariables:\n  a: b   # keep\nrecord: true"
    assert (
        edited(text, one("webhook_url", "https://x.example/h"), Change(("variables", "c"), "c", "d"))
        == "name: A\nvariables:\n  a: b   # keep\n  c: d\nrecord: true\nwebhook_url: https://x.example/h\n"
    )


def test_a_flow_mapping_file_is_refused_rather_than_rewritten() -> None:
    result = edited_file(b"{name: A, record: true}\n", "f.yaml", [one("speech_speed", 1.1)])
    assert result == "speech_speed cannot be written in place (an unusual layout); write it by hand"

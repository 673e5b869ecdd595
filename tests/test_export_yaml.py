"""Export's YAML reads back through the project's own loader as exactly the strings that were exported.

The exporter (PyYAML's emitter) speaks YAML 1.1; the loader reads YAML 1.2. A string the emitter leaves
unquoted because 1.1 sees no number in it (``1e3``, ``0o17``, ``+.5``) is a number to the loader, so these
properties feed the exporter the strings where the two disagree, and the ones where YAML syntax is at stake:
U+2028, U+2029 and U+0085 are line breaks to 1.1 only, and text ending in blank lines needs keep chomping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from reconciler.export import export
from reconciler.remote import Account, RemoteAssistant
from reconciler.yamlfile import Parsed, parse

numbers = st.one_of(
    st.from_regex(r"[-+]?(\d{1,4}|\d{0,3}\.\d{0,3})([eE][-+]?\d{1,3})?", fullmatch=True),
    st.from_regex(
        r"[-+]?0([oO][0-7_]{1,5}|[xX][0-9a-fA-F_]{1,5}|[bB][01_]{1,5}|[0-9_]{1,5})", fullmatch=True
    ),
    st.from_regex(r"[-+]?\.(inf|Inf|INF|nan|NaN|NAN)", fullmatch=True),
    st.from_regex(r"[-+]?\d{1,3}(_\d{1,3}){1,2}(\.\d{0,2})?", fullmatch=True),  # 1.1 digit groups
    st.from_regex(r"[-+]?\d{1,3}(:[0-5]?\d){1,2}(\.\d{0,2})?", fullmatch=True),  # 1.1 base 60
)
booleans = st.sampled_from(
    [
        *("true", "True", "TRUE", "false", "False", "FALSE", "tRUE"),
        *("y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO"),
        *("on", "On", "ON", "off", "Off", "OFF"),
    ]
)
nulls = st.sampled_from(["", "~", "null", "Null", "NULL", "nULL"])
dates = st.from_regex(
    r"\d{4}-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d{2}:\d{2}(\.\d{0,3})?( ?(Z|[-+]\d{1,2}(:\d{2})?))?)?",
    fullmatch=True,
)
#: Pieces that mean something to YAML, or to the loader (``${`` is a placeholder; export escapes it).
syntax = st.sampled_from(
    [
        *(" ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\ufeff", "\x00", "\x1b"),
        *("#", " #", ": ", ":", "- ", "-", "? ", "?", ",", "[", "]", "{", "}", "&a", "*a", "!", "!!str", "|"),
        *(">", "'", '"', "%", "@", "`", "<<", "=", "---", "...", "\\"),
        *("${", "$${", "${NAME}", "$", "}"),
        *("é", "日本語", "\U0001f600", "\u00a0", "\u200b"),
    ]
)
yaml_looking = st.one_of(numbers, booleans, nulls, dates)
strings = st.one_of(
    yaml_looking,
    st.lists(st.one_of(yaml_looking, syntax, st.text(max_size=5)), min_size=1, max_size=5).map("".join),
    st.text(),
)


def exported_and_read(value: str) -> Parsed:
    """``value`` in a string field at the top level, in a mapping and in a list: exported, then loaded."""
    fields: dict[str, Any] = {
        "name": value,
        "system_prompt": value,
        "variables": {"promo": value},
        "tools": [{"type": "end_call", "description": value}],
    }
    remote = RemoteAssistant(
        id=7,
        name=value,
        mode="pipeline",
        fields=fields,
        observed=frozenset(fields),
        record=None,
        fingerprint="",
    )
    (exported,) = export(Account((remote,)), [7], catalog=None)
    parsed = parse(exported.text.encode(), "exported.yaml", environ=exported.secrets)
    assert isinstance(parsed, Parsed), parsed
    return parsed


def with_examples(*values: str) -> Callable[[Callable[[str], None]], Callable[[str], None]]:
    def decorate(test: Callable[[str], None]) -> Callable[[str], None]:
        for value in values:
            test = example(value)(test)
        return test

    return decorate


@given(strings)
@with_examples("1e3", "0o17", "-2E5", "+.5", "1.5e3", ".5", "-.5", "+.5e1", "09", "1e+3")  # 1.2 numbers only
@with_examples("0x1F", "on", "~", "", " ${X}: #")  # 1.1 quotes them too; syntax
@with_examples("a\u2028b", "one\ntwo\u2029three", "a\x85b", "\n", "ends\n\n")  # 1.1 breaks; keep chomping
def test_an_exported_string_reads_back_as_the_same_string(value: str) -> None:
    parsed = exported_and_read(value)
    assert parsed.problems == []
    data = parsed.data
    assert [
        data["name"],
        data["system_prompt"],
        data["variables"]["promo"],
        data["tools"][0]["description"],
    ] == [value] * 4

"""``api_trim``: what the API's input trimming leaves of a string, its fast path included (issue 19)."""

from __future__ import annotations

import re
import sys

import pytest

from reconciler.constraints import TRIMMED, api_trim

#: Every character the API trims, and their neighbours that it keeps (a non-joiner, NUL, letters).
TRIMMED_CHARS = [chr(code) for code in range(sys.maxunicode + 1) if re.fullmatch(rf"[{TRIMMED}]", chr(code))]
KEPT = ["a", "\u00e9", "\u200c", "\u200d", "\u200f", "\x00", "\u2060", "\ufffe"]


def test_the_trimmed_characters_are_whitespace_bom_zero_width_space_and_lrm() -> None:
    assert {" ", "\t", "\n", "\u00a0", "\u3000", "\ufeff", "\u200b", "\u200e"} <= set(TRIMMED_CHARS)
    assert not set(KEPT) & set(TRIMMED_CHARS)


@pytest.mark.parametrize("kept", KEPT)
def test_a_trimmed_character_goes_at_either_end_and_stays_inside(kept: str) -> None:
    for char in TRIMMED_CHARS:
        assert api_trim(f"{char}{kept}{char}{kept}{char}") == f"{kept}{char}{kept}", repr(char)
        assert api_trim(f"{char}{char}{kept}") == kept
        assert api_trim(f"{kept}{char}") == kept
        assert api_trim(char * 3) == ""


@pytest.mark.parametrize("text", ["", "a", "Hello from 1.", "two  words", "\u200c", "x\u200by"])
def test_a_string_with_nothing_to_trim_comes_back_as_it_is(text: str) -> None:
    assert api_trim(text) == text


def test_every_ascii_character_at_either_end_is_trimmed_as_the_api_trims_it() -> None:
    """The shortcut for printable ASCII ends (issue 19) answers as the regex does for every ASCII character."""
    reference = re.compile(rf"^[{TRIMMED}]+|[{TRIMMED}]+$")
    for code in range(128):
        for text in (f"{chr(code)}x{chr(code)}", f"{chr(code)}x", f"x{chr(code)}", chr(code)):
            assert api_trim(text) == reference.sub("", text), repr(text)

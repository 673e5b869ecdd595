"""Hostile input: alias bombs, huge and binary files, wrong encodings, deep nesting, tricky unicode, odd YAML
features, absurd numbers and odd directory entries. Each case goes through ``plan``, the command that would talk
to the API, with the API URL pointing at a loopback socket that only counts connections; each must end in one
clear ``FILE:LINE:`` problem and exit 1 without a traceback, without a hang and without a single request.

Every case is one file in its own directory (the directory-level cases excepted), built from a valid pipeline
assistant (``HEAD``, lines 1-9) plus exactly one defect beyond the attack itself. The cases are generated here,
not committed: most are binary, huge, or hold characters that should not sit in a text file in the repository.
The committed one-defect-a-file corpus is ``tests/corpus/invalid/`` (``test_corpus.py``); nothing here repeats it.

Cases marked ``xfail(strict=True)`` assert the correct behaviour the tool does not have yet; each reason says
what it does instead.
"""

from __future__ import annotations

import itertools
import os
import socket
import string
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import main

MIB = 1024 * 1024
#: A guard against hangs, not a benchmark: every case takes well under a second when it works.
HANG_LIMIT = 10.0
INVALID_CORPUS = Path(__file__).parent / "corpus" / "invalid"

HEAD = (
    "name: Hostile\n"
    "type: outbound\n"
    "mode: pipeline\n"
    "language_id: 1\n"
    "voice_id: 101\n"
    "llm_model_id: 2\n"
    "timezone: Europe/Berlin\n"
    "initial_message: Hello.\n"
    "system_prompt: Help.\n"
)  # a valid pipeline assistant on lines 1-9: line 10 is the first line a case adds
HEAD_BYTES = HEAD.encode()
RANGE_DEFECT = "ringing_time: 61\n"  # a plain one-line defect for cases whose attack alone is harmless
RANGE_PROBLEM = "ringing_time: must be between 1 and 60 (got 61)"

Make = Callable[[Path], None]
Check = Callable[[str, Path], None]


@dataclass(frozen=True)
class Case:
    """One hostile file and the one problem it must cause."""

    id: str
    file: str  # the file the problem names
    content: bytes | Make  # the file's bytes, or a function that fills the directory
    line: int | None  # None: ``check`` decides which lines are right
    message: str | None = None  # the exact problem after "FILE:LINE: "; None leaves it to ``check``
    check: Check | None = None  # further checks of the whole problem line
    xfail: str | None = None  # why the tool fails this case today
    files: int = 1  # how many files the summary line counts
    isolated: bool = False  # run in a child process with a memory limit: the case could exhaust the machine
    name_printed_as_is: bool = True  # False: the file name must be printed escaped, so not as it is


def case(id: str, content: bytes | Make, line: int | None, message: str | None = None, **more: Any) -> Case:
    return Case(id, more.pop("file", f"{id}.yaml"), content, line, message, **more)


def head(*, replace: tuple[str, str] | None = None) -> bytes:
    text = HEAD if replace is None else HEAD.replace(*replace)
    assert text != HEAD or replace is None, replace
    return text.encode()


def after_head(text: str | bytes) -> bytes:
    return HEAD_BYTES + (text.encode() if isinstance(text, str) else text)


def offset_of(content: bytes, needle: bytes) -> int:
    assert content.count(needle) == 1, needle
    return content.index(needle)


def shows_code_point(char: str) -> Check:
    """The problem line must show ``char`` escaped (as ``\\u200b`` or ``U+200B``), never the raw character."""

    def check(line: str, directory: Path) -> None:
        assert char not in line, f"the raw {unicodedata.name(char, hex(ord(char)))} is printed"
        escapes = (ascii(char)[1:-1], f"\\u{ord(char):04x}", f"U+{ord(char):04X}")
        assert any(escape in line for escape in escapes), line
        assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in line), line

    return check


# ---- alias bombs and anchors ----------------------------------------------------------------------------------

BUDGET = "more than 100000 values: an alias bomb, or far more than any assistant has"


def _bomb_wide() -> bytes:
    # One anchored list of 1,000 values, aliased 200 times: 200,000 values from two lines.
    return after_head(f"variables:\n  a: &a [{', '.join(['x'] * 1000)}]\n  b: [{', '.join(['*a'] * 200)}]\n")


def _bomb_deep(anchor_far_away: bool) -> bytes:
    # A binary tree 17 levels deep: 2**17 = 131,072 leaves from 18 short lines.
    levels = "".join(f"  l{i}: &l{i} [*l{i - 1}, *l{i - 1}]\n" for i in range(1, 18))
    if anchor_far_away:  # the leaf is anchored in an innocent list, far from the lines that expand it
        return after_head("tool_ids:\n  - &l0 1\nvariables:\n" + levels)
    return after_head("variables:\n  l0: &l0 x\n" + levels)


def _bomb_mapping() -> bytes:
    # Mapping anchors, ten keys a level, six levels: a million values.
    levels = "".join(
        f"  m{i}: &m{i} {{{', '.join(f'k{j}: *m{i - 1}' for j in range(10))}}}\n" for i in range(1, 7)
    )
    return after_head("variables:\n  m0: &m0 lol\n" + levels)


def _bomb_tools() -> bytes:
    # One built-in tool with a 400-item description, repeated 300 times as the tools list.
    tool = f"&t {{type: end_call, description: [{', '.join(['y'] * 400)}]}}"
    return after_head(f"tools: [{tool}, {', '.join(['*t'] * 300)}]\n")


def _alias_nesting() -> bytes:
    # Each alias wraps the previous one in a list: nesting 40 deep built from 40 flat lines.
    chain = "".join(f"  n{i}: &n{i} [*n{i - 1}]\n" for i in range(1, 40))
    return after_head("variables:\n  n0: &n0 x\n" + chain)


ALIASES = [
    case("alias-bomb-wide", _bomb_wide(), 11, BUDGET),
    # The value that crosses the budget is an expansion of l4: an alias is located at its anchor.
    case("alias-bomb-deep", _bomb_deep(anchor_far_away=False), 15, BUDGET),
    case("alias-bomb-mapping-anchor", _bomb_mapping(), 11, BUDGET),
    case("alias-bomb-in-tools", _bomb_tools(), 10, BUDGET),
    case(
        "alias-bomb-anchor-elsewhere",
        _bomb_deep(anchor_far_away=True),
        None,
        check=lambda line, _: _line_between(line, 12, 29, BUDGET),
        xfail="reports line 11, the innocent `- &l0 1` under tool_ids, instead of a line of the variables "
        "block (12-29) that expands it: an alias is located at its anchor, never where it is used",
    ),
    case(
        "recursive-alias-in-tools",
        after_head("tools: &t\n  - type: end_call\n    description: *t\n"),
        10,
        "an alias refers to a value that contains it (recursive alias)",
    ),
    case(
        "alias-nesting-40-deep",
        _alias_nesting(),
        42,  # n31: &n31 [*n30] is the first value nested 33 deep
        "nesting deeper than 32 levels",
        xfail="reports line 11 (`n0: &n0 x`, a plain string) instead of line 42, where the chain of aliases "
        "first nests 33 deep",
    ),
    case(
        "anchored-key-repeated-by-alias",
        after_head("&k record: true\n*k : false\n"),
        11,
        "record: duplicate key (first defined on line 10)",
        xfail="reports `10: record: duplicate key (first defined on line 10)`: the repeated key is on line 11",
    ),
    case(
        "undefined-alias",
        after_head("variables: {a: *nowhere}\n"),
        10,
        "YAML syntax error: found undefined alias",
    ),
    case(
        "duplicate-anchor",
        after_head("variables:\n  a: &x one\n  b: &x two\n  c: *x\n"),
        12,
        "YAML syntax error: this anchor is already defined on line 11",
    ),
    case(
        "merge-key-in-a-tool",
        after_head("tools:\n  - &t {type: end_call}\n  - <<: *t\n    description: Bye.\n"),
        12,
        "tools[1]: YAML merge keys (<<) are not supported; write the fields out",
    ),
]


def _line_between(line: str, low: int, high: int, message: str) -> None:
    number, _, rest = line.rpartition(".yaml:")[2].partition(": ")
    assert low <= int(number) <= high, line
    assert rest == message


def _message_starts(line: str, start: str, *contains: str) -> None:
    message = line.split(".yaml:", 1)[1].partition(": ")[2]
    assert message.startswith(start), line
    for text in contains:
        assert text in message, line


# ---- size --------------------------------------------------------------------------------------------------


def _sparse(directory: Path) -> None:
    with (directory / "sparse-50mib.yaml").open("wb") as f:
        f.truncate(50 * MIB)  # no data blocks: fast to make, and the loader must not read it to refuse it


def _multibyte_over_limit() -> bytes:
    # 1 MiB + 1 byte, but only about half a million characters: the limit is on bytes.
    prefix = after_head("voice_mail_message: ")
    rest = MIB + 1 - len(prefix) - 1
    content = prefix + ("é" * (rest // 2) + "x" * (rest % 2)).encode() + b"\n"
    assert len(content) == MIB + 1
    assert len(content.decode()) < 600_000
    return content


def _variable_names(count: int) -> list[str]:
    words = (
        "".join(letters)
        for size in itertools.count(1)
        for letters in itertools.product(string.ascii_lowercase, repeat=size)
    )
    return list(itertools.islice(words, count))


def _many_keys(count: int, last: str = "") -> bytes:
    content = after_head("variables:\n" + "".join(f"  {key}: x\n" for key in _variable_names(count)) + last)
    assert len(content) <= MIB
    return content


SIZES = [
    case(
        "sparse-50mib",
        _sparse,
        1,
        "file is 52428800 bytes; the limit is 1048576 (1 MiB)",
        file="sparse-50mib.yaml",
    ),
    case(
        "bytes-not-characters",
        _multibyte_over_limit(),
        1,
        "file is 1048577 bytes; the limit is 1048576 (1 MiB)",
    ),
    case(
        "single-900kb-line",
        after_head("voice_mail_message: " + "a" * 900_000 + "\n"),
        10,
        "voice_mail_message: must be at most 1000 characters (got 900000)",
    ),
    # The root, nine HEAD values and the variables mapping come first: the 100,001st value is the 99,990th
    # variable, on line 10 + 99,990.
    case("100k-keys", _many_keys(100_000), 100_000, BUDGET),
    case(
        "99k-keys-then-one-bad-name",
        _many_keys(99_000, "  bad-name: x\n"),
        10 + 99_000 + 1,
        "variables.bad-name: must be a name of ASCII letters, digits and _ usable as {{name}} (got 'bad-name')",
    ),
    case(
        "key-of-2000-characters",
        after_head("k" * 2000 + ": 1\n"),
        10,
        "YAML syntax error: could not find expected ':' (while scanning a simple key)",
    ),
]


# ---- binary and wrong encodings ----------------------------------------------------------------------------


def _not_utf8(content: bytes, bad: bytes, line: int) -> tuple[bytes, int, str]:
    at = offset_of(content, bad)
    return content, line, f"not valid UTF-8 (byte 0x{bad[0]:02x} at offset {at})"


_SMART = HEAD_BYTES.replace(b"system_prompt: Help.", b"system_prompt: \x93Help.\x94")
_CONTROL = (
    "YAML syntax error: unacceptable character #x{0:04X}: control characters are not allowed; "
    "the line holds an invisible U+{0:04X} control character"
)

ENCODINGS = [
    case(
        "png-header",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00",
        1,
        "not valid UTF-8 (byte 0x89 at offset 0)",
    ),
    case(
        "nul-byte",
        after_head(b"voice_mail_message: call\x00me\n"),
        10,
        _CONTROL.format(0),
    ),
    case(
        "bell-in-plain-scalar",
        after_head(b"voice_mail_message: ring\x07ring\n"),
        10,
        _CONTROL.format(7),
    ),
    case(
        "utf16-le-bom",
        b"\xff\xfe" + HEAD.encode("utf-16-le"),
        1,
        "the file is encoded as UTF-16; save it as UTF-8",
    ),
    case(
        "utf16-be-bom",
        b"\xfe\xff" + HEAD.encode("utf-16-be"),
        1,
        "the file is encoded as UTF-16; save it as UTF-8",
    ),
    case("utf16-le-no-bom", HEAD.encode("utf-16-le"), 1, _CONTROL.format(0)),
    case(
        "utf32-be-bom",
        b"\x00\x00\xfe\xff" + HEAD.encode("utf-32-be"),
        1,
        "the file is encoded as UTF-32; save it as UTF-8",
    ),
    case("windows-1252-quotes", *_not_utf8(_SMART, b"\x93", 9)),
    case("lone-lead-byte-at-eof", *_not_utf8(after_head(b"voice_mail_message: Caf\xc3"), b"\xc3", 10)),
    case("overlong-slash", *_not_utf8(after_head(b"voice_mail_message: a\xc0\xafb\n"), b"\xc0", 10)),
    case("cesu-surrogate", *_not_utf8(after_head(b"voice_mail_message: a\xed\xa0\x80b\n"), b"\xed", 10)),
]


# ---- nesting -----------------------------------------------------------------------------------------------

_FLOW_DEPTH = "YAML syntax error: exceeded maximum nesting depth (while increasing flow level)"


def _block_mappings(depth: int) -> bytes:
    keys = "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth - 1))
    return after_head("variables:\n" + keys + "  " * depth + f"k{depth - 1}: x\n")


NESTING = [
    case("10000-brackets", after_head("variables: " + "[" * 10_000 + "]" * 10_000 + "\n"), 10, _FLOW_DEPTH),
    case(
        "10000-braces",
        after_head("variables: " + "{a: " * 10_000 + "b" + "}" * 10_000 + "\n"),
        10,
        _FLOW_DEPTH,
    ),
    case("10000-unclosed-braces", after_head("variables: " + "{" * 10_000 + "\n"), 10, _FLOW_DEPTH),
    case(
        "10000-block-sequences",
        after_head("tool_ids:\n" + "- " * 10_000 + "1\n"),
        11,
        "YAML syntax error: exceeded maximum nesting depth (while increasing block level)",
    ),
    # variables (line 10) holds k0 (line 11), ..., k31 on line 42 holds the 33rd level, starting on line 43.
    case("block-mappings-40-deep", _block_mappings(40), 43, "nesting deeper than 32 levels"),
    case(
        "tool-item-33-deep",
        after_head("tools:\n  - type: end_call\n    description: " + "[" * 33 + "]" * 33 + "\n"),
        12,
        "nesting deeper than 32 levels",
    ),
]


# ---- tricky unicode ----------------------------------------------------------------------------------------


def _named(name: str) -> Make:
    def make(directory: Path) -> None:
        try:
            (directory / name).write_bytes(HEAD_BYTES)
        except (OSError, UnicodeEncodeError) as exc:
            pytest.skip(f"the file system refuses the name {name!r}: {exc}")

    return make


_BAD_FILE_NAME = "file name must start with a letter or digit and use only letters, digits, . _ -"


def _name_problem(char: str) -> Check:
    escaped = shows_code_point(char)

    def check(line: str, directory: Path) -> None:
        assert line.startswith(f"{directory}/"), line
        assert line.endswith(f":1: {_BAD_FILE_NAME}"), line
        escaped(line, directory)

    return check


UNICODE = [
    case(
        "zero-width-space-in-key",
        after_head("speech\u200b_speed: 1.0\n"),
        10,
        check=shows_code_point("\u200b"),
    ),
    case(
        "cyrillic-homoglyph-key",
        head(replace=("name: Hostile", "n\u0430me: Hostile")) + b"id: 7\n",
        1,
        check=shows_code_point("\u0430"),
    ),
    case(
        "escape-sequence-in-key",
        after_head('"speech_speed\\e[2J\\e]0;pwned\\a": 1.0\n'),
        10,
        check=shows_code_point("\x1b"),
    ),
    case(
        "right-to-left-override-in-value",
        after_head('ambient_sound: "off\u202e"\n'),
        10,
        "ambient_sound: must be one of: off, office, city, forest, crowded_room, cafe, nature (got 'off\\u202e'); "
        "did you mean 'off'?",
    ),
    case(
        "right-to-left-override-in-file-name",
        _named("sales\u202elmay.yaml"),
        1,
        check=_name_problem("\u202e"),
        file="sales\u202elmay.yaml",
        name_printed_as_is=False,
    ),
    case(
        "newline-in-file-name",
        _named("x\nforged.yaml:3: voice_id: looks fine.yaml"),
        1,
        check=_name_problem("\n"),
        file="x\nforged.yaml:3: voice_id: looks fine.yaml",
        name_printed_as_is=False,
    ),
    case(
        "byte-order-mark-mid-file",
        after_head("\ufeffname: Hostile again\n"),
        10,
        check=lambda line, _: _mentions_any(line, "U+FEFF", "\\ufeff", "byte-order mark", "byte order mark"),
    ),
    case(
        "line-separator-in-value",
        head(replace=("system_prompt: Help.", "system_prompt: Help.\u2028Be brief.")) + RANGE_DEFECT.encode(),
        10,
        RANGE_PROBLEM,
    ),
    case(
        "nfd-variable-name",
        after_head("variables:\n  cafe\u0301: x\n"),
        11,
        "variables.cafe\\u0301: must be a name of ASCII letters, digits and _ usable as {{name}} (got 'cafe\u0301')",
    ),
    case(
        "surrogate-escape",
        after_head('voice_mail_message: "\\ud800"\n'),
        10,
        "YAML syntax error: found invalid Unicode character escape code (while parsing a quoted scalar)",
    ),
    case(
        "nul-escape-in-timezone",
        head(replace=("timezone: Europe/Berlin", 'timezone: "Europe/Berlin\\u0000"')),
        7,
        "timezone: must be an IANA time zone like 'Europe/Berlin' (got 'Europe/Berlin\\x00'); "
        "did you mean 'Europe/Berlin'?",
    ),
    case(
        "em-space-name",
        head(replace=("name: Hostile", 'name: "\\u2003"')),
        1,
        "name: must not be empty (the API stores an empty string as null)",
    ),
    case(
        "zero-width-space-prompt",
        head(replace=("system_prompt: Help.", 'system_prompt: "\\u200b"')),
        9,
        "system_prompt: must not be empty (the API stores an empty string as null)",
    ),
]


def _mentions_any(line: str, *texts: str) -> None:
    assert any(text.lower() in line.lower() for text in texts), line


# ---- YAML features -----------------------------------------------------------------------------------------


def _python_apply(directory: Path) -> None:
    marker = directory.parent / "pwned"
    content = after_head(f'record: !!python/object/apply:os.system ["touch {marker}"]\n')
    (directory / "python-apply.yaml").write_bytes(content)


def _not_executed(line: str, directory: Path) -> None:
    assert not (directory.parent / "pwned").exists(), "the tag was executed"


_TAG = "unsupported YAML tag"

YAML_FEATURES = [
    case(
        "yaml-1-1-directive",
        b"%YAML 1.1\n---\n" + after_head("record: yes\n"),
        12,
        "record: must be true or false (got string 'yes')",
    ),
    case(
        "yaml-2-0-directive",
        b"%YAML 2.0\n---\n" + HEAD_BYTES,
        1,
        "YAML syntax error: found incompatible YAML document",
    ),
    case(
        "python-apply",
        _python_apply,
        10,
        f"record: {_TAG} !!python/object/apply:os.system",
        check=_not_executed,
        file="python-apply.yaml",
    ),
    case(
        "python-tag-through-tag-directive",
        b"%TAG !p! tag:yaml.org,2002:python/\n---\n"
        + after_head('record: !p!object/apply:os.system ["true"]\n'),
        12,
        f"record: {_TAG} !!python/object/apply:os.system",
    ),
    case(
        "python-verbatim-tag",
        after_head("record: !<tag:yaml.org,2002:python/name:os.system> x\n"),
        10,
        f"record: {_TAG} !!python/name:os.system",
    ),
    case(
        "secondary-handle-redefined",
        b"%TAG !! tag:evil.example,2024:\n---\n" + after_head("max_duration: !!int 600\n"),
        12,
        f"max_duration: {_TAG} tag:evil.example,2024:int",
    ),
    case("set-tag", after_head("tool_ids: !!set {31: null, 32: null}\n"), 10, f"tool_ids: {_TAG} !!set"),
    case("omap-tag", after_head("variables: !!omap [{a: b}]\n"), 10, f"variables: {_TAG} !!omap"),
    case(
        "timestamp-tag",
        after_head("voice_mail_message: !!timestamp 2001-12-14\n"),
        10,
        f"voice_mail_message: {_TAG} !!timestamp",
    ),
    case("str-tag-on-a-mapping", after_head("variables: !!str {a: b}\n"), 10, f"variables: {_TAG} !!str"),
    case(
        "int-tag-on-words",
        after_head("max_duration: !!int ten\n"),
        10,
        check=lambda line, _: _message_starts(line, "max_duration: "),
    ),
    case(
        "float-tag-on-words",
        after_head("speech_speed: !!float fast\n"),
        10,
        check=lambda line, _: _message_starts(line, "speech_speed: "),
    ),
    case(
        "bool-tag-on-yes",
        after_head("record: !!bool yes\n"),
        10,
        check=lambda line, _: _message_starts(line, "record: "),
    ),
    case(
        "complex-key-in-a-tool",
        after_head("tools:\n  - type: end_call\n    ? {description: x}\n    : y\n"),
        12,
        "tools[0]: a key must be a plain string, not a list or mapping",
    ),
    case(
        "duplicate-key-by-escape",
        after_head('record: true\n"re\\x63ord": false\n'),
        11,
        "record: duplicate key (first defined on line 10)",
    ),
    case(
        "documents-after-end-marker",
        after_head("...\n---\nname: Second\n"),
        11,
        "several YAML documents in one file; put one assistant in each file",
    ),
    case(
        "content-after-end-marker",
        after_head("...\n" + RANGE_DEFECT),
        11,
        "YAML syntax error: did not find expected <document start>",
    ),
    case(
        "only-a-document-start",
        b"---\n",
        1,
        "the file is empty; expected a mapping of assistant fields",
    ),
]


# ---- numbers -----------------------------------------------------------------------------------------------

NUMBERS = [
    case(
        "id-with-1001-digits",
        head(replace=("voice_id: 101", "voice_id: 1" + "0" * 1000)),
        5,
        check=lambda line, _: _message_starts(line, "voice_id: "),
    ),
    case(
        "integer-with-5000-digits",
        after_head("max_duration: " + "9" * 5000 + "\n"),
        10,
        "max_duration: a 5000-digit number is far beyond any value the API accepts",
    ),
    case(
        "huge-negative-integer",
        after_head("ringing_time: -1" + "0" * 400 + "\n"),
        10,
        "ringing_time: a 402-digit number is far beyond any value the API accepts",
    ),
    case(
        "integer-beyond-float-for-a-float",
        after_head("speech_speed: 1" + "0" * 400 + "\n"),
        10,
        "speech_speed: a 401-digit number is far beyond any value the API accepts",
    ),
    case(
        "exponent-overflow-to-inf",
        after_head("speech_speed: 1e999\n"),
        10,
        "speech_speed: must be between 0.7 and 1.2 (got inf)",
    ),
    case(
        "negative-inf",
        after_head("llm_temperature: -.inf\n"),
        10,
        "llm_temperature: must be between 0 and 1 (got -inf)",
    ),
    case(
        "inf-for-an-integer",
        after_head("max_duration: .inf\n"),
        10,
        "max_duration: must be an integer (got number inf)",
    ),
    case(
        "negative-zero",
        after_head("max_duration: -0\n"),
        10,
        "max_duration: must be between 20 and 1200 (got 0)",
    ),
    case(
        "hex-for-a-float",
        after_head("speech_speed: 0x10\n"),
        10,
        "speech_speed: must be between 0.7 and 1.2 (got 16)",
    ),
    # Hex is an integer in the YAML 1.2 core schema, so 0x1F is the id 31: accepted, and compared as 31.
    case(
        "hex-id-equals-decimal-id",
        after_head("tool_ids: [0x1F, 31]\n"),
        10,
        "tool_ids: contains 31 more than once",
    ),
]


# ---- the directory -----------------------------------------------------------------------------------------


def _same_name(directory: Path) -> None:
    (directory / "a.yaml").write_bytes(HEAD_BYTES)
    (directory / "b.yaml").write_bytes(head(replace=("name: Hostile", 'name: "Hostile "')))


def _same_key(directory: Path) -> None:
    (directory / "a.yaml").write_bytes(HEAD_BYTES)
    (directory / "a.yml").write_bytes(head(replace=("name: Hostile", "name: Other")))


def _symlink(target: str, name: str) -> Make:
    def make(directory: Path) -> None:
        if target.startswith("/dev/") and not Path(target).exists():
            pytest.skip(f"no {target} here")
        try:
            (directory / name).symlink_to(target)
        except (OSError, NotImplementedError) as exc:
            pytest.skip(f"symlinks are not supported here: {exc}")

    return make


def _fifo(directory: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    os.mkfifo(directory / "pipe.yaml")


def _refused_outside(target: str) -> Check:
    def check(line: str, directory: Path) -> None:
        assert line == (
            f"{directory}/outside.yaml:1: resolves to {target}, outside the repository {directory}; "
            "refusing to read it"
        )

    return check


def _also_declared(line: str, directory: Path) -> None:
    assert line == f"{directory}/b.yaml:1: name: 'Hostile' is also declared by {directory}/a.yaml:1"


def _also_used(line: str, directory: Path) -> None:
    assert line == f"{directory}/a.yml:1: key 'a' is also used by {directory}/a.yaml"


DIRECTORY = [
    case("same-name-in-two-files", _same_name, 1, check=_also_declared, file="b.yaml", files=2),
    case("same-key-in-two-files", _same_key, 1, check=_also_used, file="a.yml", files=2),
    case(
        "directory-named-yaml",
        lambda directory: (directory / "dir.yaml").mkdir(),
        1,
        "is a directory, not an assistant file",
        file="dir.yaml",
    ),
    case(
        "dangling-symlink",
        _symlink("missing.yaml", "dangling.yaml"),
        1,
        "cannot read the file: No such file or directory",
        file="dangling.yaml",
    ),
    # Outside git and outside the current directory, the directory is its own repository (files.repository_of).
    case(
        "symlink-out-of-the-repository",
        _symlink("/nonexistent/hostile.yaml", "outside.yaml"),
        1,
        check=_refused_outside("/nonexistent/hostile.yaml"),
        file="outside.yaml",
    ),
    case(
        "symlink-to-dev-zero",
        _symlink("/dev/zero", "zero.yaml"),
        1,
        file="zero.yaml",
        isolated=True,
    ),
    case(
        "named-pipe",
        _fifo,
        1,
        file="pipe.yaml",
        isolated=True,
    ),
]


# ---- line endings ------------------------------------------------------------------------------------------


def _endings(content: bytes, ending: bytes) -> bytes:
    return content.replace(b"\n", ending)


_OLD_MAC_LATIN1 = _endings(after_head(b"voice_mail_message: caf\xe9\n"), b"\r")
_OLD_MAC_AT = offset_of(_OLD_MAC_LATIN1, b"\xe9")

LINE_ENDINGS = [
    case("windows-crlf", _endings(after_head(RANGE_DEFECT), b"\r\n"), 10, RANGE_PROBLEM),
    case("old-mac-cr", _endings(after_head(RANGE_DEFECT), b"\r"), 10, RANGE_PROBLEM),
    case(
        "mixed-crlf-and-lf",
        HEAD_BYTES.replace(b"\n", b"\r\n", 4) + RANGE_DEFECT.encode(),
        10,
        RANGE_PROBLEM,
    ),
    case(
        "old-mac-cr-latin1",
        _OLD_MAC_LATIN1,
        10,
        f"not valid UTF-8 (byte 0xe9 at offset {_OLD_MAC_AT})",
    ),
]


CASES = [
    *ALIASES,
    *SIZES,
    *ENCODINGS,
    *NESTING,
    *UNICODE,
    *YAML_FEATURES,
    *NUMBERS,
    *DIRECTORY,
    *LINE_ENDINGS,
]


def _param(c: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
    return pytest.param(c, id=c.id, marks=marks)


# ---- the API that must never be called ---------------------------------------------------------------------

_BODY = b'{"message": "Unauthenticated."}'
_UNAUTHORIZED = (
    b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n"
    + b"Content-Length: %d\r\n\r\n" % len(_BODY)
    + _BODY
)


class Listener:
    """A socket on 127.0.0.1 that counts connections. It answers each with a 401 so that a leaking case fails
    at once (the client does not retry a 401) instead of retrying a dead socket for half a minute."""

    def __init__(self) -> None:
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.05)
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(_UNAUTHORIZED)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def api(monkeypatch: pytest.MonkeyPatch, listener: Listener) -> None:
    monkeypatch.setenv("GLORIA_API_URL", f"http://127.0.0.1:{listener.port}/api")
    monkeypatch.setenv("GLORIA_API_TOKEN", "x")
    monkeypatch.delenv("NO_COLOR", raising=False)


# ---- running a case ----------------------------------------------------------------------------------------

_CHILD = (
    "import resource, sys\n"
    "try:\n"
    "    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
    "except (ValueError, OSError):\n"
    "    pass\n"
    "from reconciler.cli import main\n"
    "sys.exit(main(['plan', '--dir', sys.argv[1]]))\n"
)


def _plan(directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str, str]:
    code = main(["plan", "--dir", str(directory)])
    out, err = capsys.readouterr()
    return code, out, err


def _plan_in_child(directory: Path) -> tuple[int | None, str, str]:
    """The same command in a child process with 1 GiB of address space, killed after ``HANG_LIMIT``."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="backslashreplace",
    )
    try:
        out, err = child.communicate(timeout=HANG_LIMIT)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        return None, out, err + f"\n(killed after {HANG_LIMIT} s)"
    return child.returncode, out, err


def test_there_are_enough_hostile_cases() -> None:
    assert len(CASES) >= 45
    assert len({c.id for c in CASES}) == len(CASES)
    assert len(CASES) + len(list(INVALID_CORPUS.glob("*.yaml"))) >= 50


@pytest.mark.parametrize("hostile", [_param(c) for c in CASES])
def test_hostile_file_is_one_clear_problem_and_no_request(
    hostile: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], listener: Listener
) -> None:
    directory = tmp_path / "assistants.d"
    directory.mkdir()
    if isinstance(hostile.content, bytes):
        (directory / hostile.file).write_bytes(hostile.content)
    else:
        hostile.content(directory)
    before = listener.connections

    start = time.monotonic()
    code, out, err = _plan_in_child(directory) if hostile.isolated else _plan(directory, capsys)
    elapsed = time.monotonic() - start

    assert elapsed < HANG_LIMIT, f"took {elapsed:.1f} s"
    assert listener.connections == before, f"a request was sent; stderr: {err[-500:]!r}"
    assert "Traceback" not in err
    assert "unexpected error" not in err, err
    assert out == ""
    assert code == 1, err[-500:]
    *problems, summary = err.splitlines()
    where = "1 file" if hostile.files == 1 else f"1 of {hostile.files} files"
    assert summary == f"error: 1 problem in {where}"
    assert len(problems) == 1, problems
    (line,) = problems
    if hostile.name_printed_as_is and hostile.line is not None:
        assert line.startswith(f"{directory}/{hostile.file}:{hostile.line}: "), line[:300]
    if hostile.message is not None:
        assert line == f"{directory}/{hostile.file}:{hostile.line}: {hostile.message}", line[:300]
    if hostile.check is not None:
        hostile.check(line, directory)


def test_the_listener_does_see_a_plan_that_reaches_the_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], listener: Listener
) -> None:
    """The zero-connection checks above mean something: a valid file makes plan connect, and fail on the 401."""
    (tmp_path / "valid.yaml").write_bytes(HEAD_BYTES)
    before = listener.connections

    code = main(["plan", "--dir", str(tmp_path)])

    assert listener.connections > before
    assert code == 1
    assert "401" in capsys.readouterr().err

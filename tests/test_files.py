"""The YAML loader: line numbers, YAML 1.2 scalars, limits, interpolation and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import DirectoryError
from reconciler.files import MAX_FILE_BYTES, SourceFile, discover, load_file
from reconciler.secret import Secret
from reconciler.text import display_path


def load(
    tmp_path: Path, text: str | bytes, environ: dict[str, str] | None = None
) -> tuple[SourceFile | None, list[str]]:
    path = tmp_path / "a.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    source, problems = load_file(path, environ={} if environ is None else environ)
    return source, [str(p).removeprefix(f"{path}:") for p in problems]


def test_every_key_and_item_keeps_its_line(tmp_path: Path) -> None:
    source, problems = load(tmp_path, "name: A\n\ntools:\n  - type: end_call\n    description: bye\n")
    assert problems == []
    assert source is not None
    assert source.line_of(("name",)) == 1
    assert source.line_of(("tools",)) == 3
    assert source.line_of(("tools", 0)) == 4
    assert source.line_of(("tools", 0, "description")) == 5
    assert source.line_of(("tools", 0, "missing_key")) == 4  # falls back to the nearest ancestor


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("off", "off"),  # YAML 1.1 would make this False and break ambient_sound
        ("yes", "yes"),
        ("on", "on"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("", None),
        ("010", 10),  # decimal, not YAML 1.1 octal
        ("0o17", 15),
        ("0x1f", 31),
        ("1.5", 1.5),
        ("-2e3", -2000.0),
        ("1_000", "1_000"),
        ("2025-01-01", "2025-01-01"),  # no implicit timestamps
        ("1:20", "1:20"),  # no sexagesimal numbers
        ('"0.9"', "0.9"),
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(tmp_path: Path, text: str, value: object) -> None:
    source, problems = load(tmp_path, f"v: {text}\n")
    assert problems == []
    assert source is not None
    assert source.data["v"] == value
    assert type(source.data["v"]) is type(value)


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    _, problems = load(tmp_path, "name: A\nmode: pipeline\nname: B\n")
    assert problems == ["3: name: duplicate key (first defined on line 1)"]


def test_nested_duplicate_key_is_located(tmp_path: Path) -> None:
    _, problems = load(tmp_path, "variables:\n  a: x\n  a: y\n")
    assert problems == ["3: variables.a: duplicate key (first defined on line 2)"]


def test_aliases_are_expanded(tmp_path: Path) -> None:
    source, problems = load(tmp_path, "a: &ids [1, 2]\nb: *ids\n")
    assert problems == []
    assert source is not None
    assert source.data == {"a": [1, 2], "b": [1, 2]}


def test_alias_bomb_stops_early(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    _, problems = load(tmp_path, "\n".join(lines) + "\n")
    assert problems == ["1: more than 100000 values: an alias bomb, or far more than any assistant has"]


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    _, problems = load(tmp_path, "a: &x\n  - *x\n")
    assert problems == ["1: an alias refers to a value that contains it (recursive alias)"]


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    _, problems = load(tmp_path, "a: " + "[" * 40 + "]" * 40 + "\n")
    assert problems == ["1: nesting deeper than 32 levels"]


def test_very_deep_nesting_does_not_crash(tmp_path: Path) -> None:
    _, problems = load(tmp_path, "a: " + "[" * 20000 + "]" * 20000 + "\n")
    assert len(problems) == 1
    assert problems[0].startswith("1: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\n---\nb: 2\n", "2: several YAML documents in one file; put one assistant in each file"),
        ("- a\n- b\n", "1: expected a mapping of assistant fields at the top"),
        ("", "1: the file is empty; expected a mapping of assistant fields"),
        ("# only a comment\n", "1: the file is empty; expected a mapping of assistant fields"),
        ("a: !!binary aGk=\n", "1: a: unsupported YAML tag !!binary"),
        ("a: !vault x\n", "1: a: unsupported YAML tag !vault"),
        ("<<: {a: 1}\n", "1: YAML merge keys (<<) are not supported; write the fields out"),
        ("? [a]\n: 1\n", "1: a key must be a plain string, not a list or mapping"),
        ("a: [1,\n", "2: YAML syntax error: did not find expected node content (while parsing a flow node)"),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, expected: str) -> None:
    _, problems = load(tmp_path, text)
    assert problems == [expected]


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    _, problems = load(tmp_path, b"name: A\nsystem_prompt: caf\xe9\n")
    assert problems == ["2: not valid UTF-8 (byte 0xe9 at offset 26)"]


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    source, problems = load(tmp_path, "\ufeffname: A\n".encode())
    assert problems == []
    assert source is not None
    assert source.data == {"name": "A"}


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    _, problems = load(tmp_path, "a: " + "x" * MAX_FILE_BYTES + "\n")
    assert problems == [f"1: file is {MAX_FILE_BYTES + 4} bytes; the limit is 1048576 (1 MiB)"]


def test_interpolation_records_secret_paths_and_values(tmp_path: Path) -> None:
    text = "a: key-${K}\nb: ${K}\nc: plain\n"
    source, problems = load(tmp_path, text, {"K": "s3cret"})
    assert problems == []
    assert source is not None
    assert source.data == {"a": "key-s3cret", "b": "s3cret", "c": "plain"}
    assert source.secret_paths == {("a",), ("b",)}
    assert source.secrets == {Secret("s3cret")}
    assert source.is_secret(("a",))
    assert not source.is_secret(("c",))


def test_escaped_placeholder_stays_literal(tmp_path: Path) -> None:
    source, problems = load(tmp_path, "a: cost $$5 and $${NOT_ENV}\n")
    assert problems == []
    assert source is not None
    assert source.data["a"] == "cost $$5 and ${NOT_ENV}"
    assert source.secret_paths == frozenset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: ${MISSING}\n", "1: a: environment variable MISSING is not set"),
        ("a: ${1BAD}\n", "1: a: malformed placeholder ${1BAD}: write ${NAME}, or $${ for a literal ${"),
        ("a: ${OPEN\n", "1: a: malformed placeholder ${: write ${NAME}, or $${ for a literal ${"),
    ],
)
def test_interpolation_problems(tmp_path: Path, text: str, expected: str) -> None:
    _, problems = load(tmp_path, text)
    assert problems == [expected]


def test_no_env_mode_keeps_placeholders_unresolved(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: ${ANYTHING}\n")
    source, problems = load_file(path, environ=None)
    assert problems == []
    assert source is not None
    assert source.data == {"a": "${ANYTHING}"}
    assert source.placeholders == {("a",)}
    assert source.secrets == frozenset()


def test_discover_sorts_and_checks_names(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yml", "a.yaml", "_x.yaml", ".hidden.yaml", "notes.txt"):
        (tmp_path / name).write_text("name: x\n")
    paths, problems = discover(tmp_path)
    assert [p.name for p in paths] == ["_x.yaml", "a.yaml", "a.yml", "b.yaml"]
    assert [str(p).removeprefix(f"{tmp_path}/") for p in problems] == [
        "_x.yaml:1: file name must start with a letter or digit and use only letters, digits, . _ -",
        f"a.yml:1: key 'a' is also used by {tmp_path}/a.yaml",
    ]


def test_discover_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match=r"assistants directory .*/nope does not exist"):
        discover(tmp_path / "nope")


def test_display_path() -> None:
    assert display_path(("tools", 1, "phone_number")) == "tools[1].phone_number"
    assert display_path(("variables", "first_name")) == "variables.first_name"
    assert display_path(()) == ""

"""The YAML loader: line numbers, YAML 1.2 scalars, limits, interpolation and secrets."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reconciler import files, yamlfile
from reconciler.cli import main
from reconciler.errors import DirectoryError
from reconciler.files import MAX_FILE_BYTES, Boundary, SourceFile, discover, load_file
from reconciler.secret import Secret
from reconciler.text import display_path

YAML_TEST_SUITE = Path(__file__).parent / "corpus" / "yaml-test-suite"


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
        ("-.5", -0.5),
        ("+.5", 0.5),
        ("-.5E-1", -0.05),
        ("-.Inf", -math.inf),
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
        ("a: [1,\n", "1: YAML syntax error: did not find expected node content (while parsing a flow node)"),
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


@pytest.mark.parametrize("size_when_looked_at", [0, 5, 4095, 4096, 4097, 10_000], ids=lambda n: f"size-{n}")
def test_a_file_is_read_to_its_end_whatever_its_size_was_when_looked_at(
    tmp_path: Path, size_when_looked_at: int
) -> None:
    """A file that grew or shrank between its ``stat`` and its reading is read whole, as it is by then."""
    path = tmp_path / "a.yaml"
    contents = bytes(range(256)) * 16  # 4096 bytes
    path.write_bytes(contents)
    assert files._contents(path, size_when_looked_at) == contents


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
    for name in ("b.yaml", "a.yml", "a.yaml", "b+c.yaml", "_layer.yaml", ".hidden.yaml", "notes.txt"):
        (tmp_path / name).write_text("name: x\n")
    paths, problems = discover(tmp_path)
    assert [p.name for p in paths] == ["a.yaml", "a.yml", "b+c.yaml", "b.yaml"]  # _layer.yaml is a layer
    assert [str(p).removeprefix(f"{tmp_path}/") for p in problems] == [
        f"a.yml:1: key 'a' is also used by {tmp_path}/a.yaml",
        "b+c.yaml:1: file name must start with a letter or digit and use only letters, digits, . _ -",
    ]


def test_discover_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match=r"assistants directory .*/nope does not exist"):
        discover(tmp_path / "nope")


def test_display_path() -> None:
    assert display_path(("tools", 1, "phone_number")) == "tools[1].phone_number"
    assert display_path(("variables", "first_name")) == "variables.first_name"
    assert display_path(()) == ""


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (".5", 0.5),
        (".5e1", 5.0),
        (".5E-1", 0.05),
        (".25e+1", 2.5),
        ("!!float .5", 0.5),
        ("!!float .5e1", 5.0),
    ],
)
def test_a_float_with_a_leading_dot_keeps_its_value(
    tmp_path: Path, yaml_loader: str, text: str, value: float
) -> None:
    source, problems = load(tmp_path, f"v: {text}\n")
    assert problems == []
    assert source is not None
    assert source.data["v"] == value


#: The line of each case that a person would fix: the plain scalar that lacks its ':' (the parser notices only
#: on the line after it, where no ':' came).
YAML_TEST_SUITE_LINES = {
    "236B": 3,  # `invalid` after `foo:\n  bar`
    "6S55": 4,  # ` invalid` after the sequence under `key:`
    "7MNF": 3,  # `top2`, a key without its ':'
    "9CWY": 4,  # `invalid` after the sequence under `key:`
    "GDY7": 2,  # `this is #not a: key`: the ':' is inside the comment
    "TD5N": 3,  # `invalid` after a top-level sequence
}


def test_yaml_test_suite_errors_are_reported_on_the_line_to_fix(
    tmp_path: Path, yaml_loader: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for case in YAML_TEST_SUITE_LINES:
        (tmp_path / f"{case}.yaml").write_bytes((YAML_TEST_SUITE / f"{case}.yaml").read_bytes())

    code = main(["validate", "--dir", str(tmp_path)])

    *problems, summary = capsys.readouterr().err.splitlines()
    message = "YAML syntax error: could not find expected ':' (while scanning a simple key)"
    assert problems == [
        f"{tmp_path}/{case}.yaml:{line}: {message}" for case, line in YAML_TEST_SUITE_LINES.items()
    ]
    assert summary == "error: 6 problems in 6 of 6 files"
    assert code == 1


def test_an_unclosed_bracket_is_reported_where_it_opens(tmp_path: Path, yaml_loader: str) -> None:
    def line_of(text: str) -> str:
        _, problems = load(tmp_path, text)
        assert len(problems) == 1, problems
        line, _, message = problems[0].partition(": ")
        assert message.startswith("YAML syntax error: "), problems
        return line

    assert line_of("name: A\ntool_ids: [1, 2\nrecord: true\n") == "2"
    assert line_of("name: A\ntool_ids: [1,\n") == "2"  # the file ends inside the list
    assert line_of("variables: {a: b,\n  c: d\nname: A\n") == "1"  # a mapping over two lines
    assert line_of("tool_ids: [1, [2, 3]\nname: A\n") == "1"  # the outer list is the one left open
    assert line_of("tools:\n  - [1, 2\n  - 3\n") == "2"
    # A stray value inside a list that does go on: the line of the stray value, not of the bracket.
    assert line_of("tools: [\n  {type: end_call},\n  {type: x} {type: y},\n]\n") == "3"


def test_a_control_character_after_non_ascii_text_is_located(tmp_path: Path, yaml_loader: str) -> None:
    text = "name: Café\nsystem_prompt: " + "ü" * 40 + "\nvoice_mail_message: ring\x07ring\nrecord: true\n"
    _, problems = load(tmp_path, text)
    assert problems == [
        "3: YAML syntax error: unacceptable character #x0007: control characters are not allowed; "
        "the line holds an invisible U+0007 control character"
    ]


# PyYAML falls back to its own reader when ``import yaml._yaml`` fails, as it does where it was built without
# libyaml; the child makes it fail, checks that the fallback is taken, and imports the reconciler under test.
_WITHOUT_LIBYAML = (
    "import sys\n"
    "sys.modules['yaml._yaml'] = None\n"
    "sys.path.insert(0, sys.argv[2])\n"
    "import yaml\n"
    "assert not yaml.__with_libyaml__\n"
    "from reconciler.cli import main\n"
    "sys.exit(main(['validate', '--dir', sys.argv[1]]))\n"
)


def test_without_libyaml_a_nul_byte_is_one_problem_and_every_file_is_still_checked(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"name: A\nvoice_mail_message: call\x00me\n")
    (tmp_path / "b.yaml").write_bytes(b"name: B\nringing_time: 61\n")

    child = subprocess.run(
        [sys.executable, "-c", _WITHOUT_LIBYAML, str(tmp_path), str(Path(yamlfile.__file__).parents[1])],
        capture_output=True,
        text=True,
        check=False,
    )

    assert child.stderr.splitlines() == [
        f"{tmp_path}/a.yaml:2: YAML syntax error: unacceptable character #x0000: control characters are not "
        "allowed; the line holds an invisible U+0000 control character",
        f"{tmp_path}/b.yaml:2: ringing_time: must be between 1 and 60 (got 61)",
        "error: 2 problems in 2 of 2 files",
    ]
    assert child.returncode == 1


def test_line_and_paragraph_separators_and_nel_are_kept_in_keys(tmp_path: Path, yaml_loader: str) -> None:
    source, problems = load(tmp_path, "variables:\n  a\u2028b: x\n  c\u2029d: y\n  e\x85f: z\n")
    assert problems == []
    assert source is not None
    assert list(source.data["variables"]) == ["a\u2028b", "c\u2029d", "e\x85f"]
    assert source.line_of(("variables", "c\u2029d")) == 3


def test_a_separator_in_a_key_is_shown_escaped_in_its_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text("name: A\nvariables:\n  first\u2028name: x\n")

    code = main(["validate", "--dir", str(tmp_path)])

    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path}/a.yaml:3: variables.first\\u2028name: must be a name of ASCII letters, digits and _ usable "
        "as {{name}} (got 'first\\u2028name')",
        "error: 1 problem in 1 file",
    ]
    assert code == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!custom name: Sales\n", ["1: name: unsupported YAML tag !custom"]),
        (
            "name: A\nvariables:\n  !vault greeting: hi\n",
            ["3: variables.greeting: unsupported YAML tag !vault"],
        ),
        ("!!binary aGk=: x\n", ["1: aGk=: unsupported YAML tag !!binary"]),
    ],
)
def test_a_tag_on_a_key_is_refused_like_a_tag_on_a_value(
    tmp_path: Path, yaml_loader: str, text: str, expected: list[str]
) -> None:
    _, problems = load(tmp_path, text)
    assert problems == expected
    source, problems = load(tmp_path, "!!str name: Sales\n")  # a core tag stays allowed: the key is its text
    assert problems == []
    assert source is not None
    assert source.data == {"name": "Sales"}


def test_the_repository_is_found_once_per_directory_not_once_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The boundary every file must resolve inside is the same for all of a directory's files: finding it walks
    up the tree and resolves links, 21% of loading 2,000 files when it ran once per file (issue 19)."""
    from support import pipeline_file, write_files

    from reconciler import files, layerfiles
    from reconciler.desired import load_directory

    calls: list[Path] = []
    original = files.repository_of

    def counted(directory: Path) -> Path:
        calls.append(directory)
        return original(directory)

    monkeypatch.setattr(files, "repository_of", counted)
    monkeypatch.setattr(layerfiles, "repository_of", counted)
    directory = write_files(tmp_path / "d", {f"a{i}": pipeline_file(f"A{i}") for i in range(20)})
    state = load_directory(directory, environ={})
    assert len(state.assistants) == 20
    assert calls == [directory, directory]  # the directory's own check, and the run's layer loader


SCALAR_TEXTS = [
    *(
        "",
        "~",
        "null",
        "Null",
        "NULL",
        "nULL",
        "true",
        "True",
        "TRUE",
        "tRUE",
        "false",
        "FALSE",
        "yes",
        "off",
    ),
    *(
        "0",
        "-0",
        "+12",
        "010",
        "0o17",
        "0o8",
        "0x1f",
        "0xg",
        "1_000",
        "1.5",
        "-.5",
        ".5e1",
        "5.",
        "1e3",
        "-2E-3",
    ),
    *(
        ".inf",
        "-.Inf",
        "+.INF",
        ".nan",
        ".NaN",
        ".NAN",
        "-.nan",
        "inf",
        "nan",
        "2025-01-01",
        "1:20",
        "a b",
        ".",
    ),
]


@pytest.mark.parametrize("loader_name", sorted(yamlfile.LOADERS))
@given(extra=st.text(max_size=12))
@settings(max_examples=300, deadline=None)
def test_the_loaders_narrowed_resolution_answers_as_pyyaml_own_would(loader_name: str, extra: str) -> None:
    """The loaders answer the composer's resolve calls without PyYAML's generic resolver (issue 19): each
    answer must be the one PyYAML's own gives with the core schema's resolvers, for every kind of node."""
    loader = yamlfile.LOADERS[loader_name]("")
    try:
        for text in (*SCALAR_TEXTS, extra, extra.strip()):
            for implicit in ((True, False), (False, True), (False, False)):
                ours = loader.resolve(yaml.ScalarNode, text, implicit)  # type: ignore[attr-defined]
                theirs = yaml.resolver.BaseResolver.resolve(loader, yaml.ScalarNode, text, implicit)  # type: ignore[arg-type]
                assert ours == theirs, (text, implicit)
        for kind in (yaml.SequenceNode, yaml.MappingNode):
            ours = loader.resolve(kind, None, (True, False))  # type: ignore[attr-defined]
            assert ours == yaml.resolver.BaseResolver.resolve(loader, kind, None, (True, False))  # type: ignore[arg-type]
    finally:
        loader.dispose()


def test_the_boundary_resolves_every_path_as_realpath_does(tmp_path: Path) -> None:
    """Boundary resolves each directory once and a file that is not a link by its directory (issue 19): every
    kind of path must still lead where ``os.path.realpath`` says, and be refused by the same rule."""
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    (repo / "d" / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (repo / "d" / "a.yaml").write_text("name: A\n")
    (elsewhere / "secret.yaml").write_text("name: S\n")
    (repo / "d" / "to-secret.yaml").symlink_to(elsewhere / "secret.yaml")
    (repo / "d" / "to-a.yaml").symlink_to("a.yaml")
    (repo / "d" / "dangling.yaml").symlink_to("nowhere.yaml")
    (repo / "linked-dir").symlink_to(elsewhere)
    (repo / "d" / "up").symlink_to("..")
    paths = [
        repo / "d" / name
        for name in ("a.yaml", "to-secret.yaml", "to-a.yaml", "dangling.yaml", "missing.yaml")
    ]
    paths += [repo / "linked-dir" / "secret.yaml", repo / "d" / "up" / "d" / "a.yaml", repo / "d" / ".."]
    paths += [repo / "d" / "sub" / ".." / "a.yaml", repo / "d" / "up" / ".." / "elsewhere" / "secret.yaml"]
    paths += [repo]  # in a directory outside the repository, and still inside: it is the repository
    boundary = Boundary(repo)
    for path in paths * 2:  # the second time from the directories it has resolved already
        assert boundary.resolve(path)[0] == Path(os.path.realpath(path)), path
        problem, _ = boundary.check(path)
        outside = not Path(os.path.realpath(path)).is_relative_to(repo)
        assert (problem is not None) == outside, path
        if problem is not None:
            assert (
                problem.message
                == f"resolves to {os.path.realpath(path)}, outside the repository {repo}; refusing to read it"
            )


def test_files_with_the_same_paths_share_their_path_tuples(tmp_path: Path) -> None:
    """10,000 files of one fleet hold one tuple for each path, not one per file (issue 19)."""
    first, _ = load(tmp_path, "name: A\ntools:\n  - type: end_call\n")
    second, _ = load(tmp_path, "name: B\n\ntools:\n  - type: end_call\n")
    assert first is not None
    assert second is not None
    paths = {path: path for path in first.lines}
    assert set(paths) == {(), ("name",), ("tools",), ("tools", 0), ("tools", 0, "type")}
    for path in second.lines:
        assert path is paths[path] or path == (), path
    assert second.line_of(("tools", 0, "type")) == 4  # the same path, its own line


@given(st.lists(st.text(alphabet="ab.-_/ é", min_size=1, max_size=8), min_size=1, max_size=4))
def test_a_files_key_is_its_paths_stem(parts: list[str]) -> None:
    file = str(PurePosixPath("/".join(parts)))  # as files are named: a path as a string
    assume(file not in (".", "/"))  # which name a directory, never a file
    assert files.key_of(file) == PurePosixPath(file).stem

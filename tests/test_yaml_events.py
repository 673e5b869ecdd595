"""The event builder (issue 19) reads a file exactly as the composer does: same data, types, lines, secrets,
placeholders and problems, for every file of every corpus and for generated documents of every YAML style;
and the files of a fleet share their keys, short values and line layouts instead of holding copies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hostile import CASES

from reconciler import yamlfile
from reconciler.errors import Problem

TESTS = Path(__file__).parent
CORPUS_FILES = sorted([*(TESTS / "corpus").rglob("*.yaml"), *(TESTS.parent / "assistants.d").glob("*.yaml")])
HOSTILE = [c for c in CASES if isinstance(c.content, bytes)]
ENVIRON = {"TOKEN": "s3cret-value", "EMPTY": "", "LINES": "a\nb"}


def both(raw: bytes, environ: dict[str, str] | None = ENVIRON) -> tuple[Any, Any]:
    return (
        yamlfile.parse(raw, "f.yaml", environ),
        yamlfile.parse_through_composer(raw, "f.yaml", environ),
    )


def shown(result: yamlfile.Parsed | Problem) -> Any:
    """Everything a parse says, with the types of every value (repr tells 1 from 1.0 and True from 1)."""
    if isinstance(result, Problem):
        return result
    return (
        repr(result.data),
        dict(result.lines),
        result.secret_paths,
        dict(result.masks),
        dict(result.secrets),
        result.placeholders,
        result.problems,
    )


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(TESTS.parent)))
def test_every_corpus_file_reads_as_the_composer_reads_it(path: Path, yaml_loader: str) -> None:
    raw = path.read_bytes()
    for environ in (ENVIRON, None):
        fast, reference = both(raw, environ)
        assert shown(fast) == shown(reference)


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda c: c.id)
def test_every_hostile_file_reads_as_the_composer_reads_it(hostile: Any, yaml_loader: str) -> None:
    fast, reference = both(hostile.content)
    assert shown(fast) == shown(reference)


@pytest.mark.parametrize("depth", [31, 32, 33])
@pytest.mark.parametrize("leaf", ["1", "x", "[]", "{}", "[1]"])
def test_the_depth_limit_is_where_the_composer_puts_it(depth: int, leaf: str) -> None:
    """Nested ``depth`` mappings deep, with a plain value, an empty or a full collection at the bottom."""
    text = "".join(f"{'  ' * level}k{level}:\n" for level in range(depth - 1))
    raw = (text + f"{'  ' * (depth - 1)}k: {leaf}\n").encode()
    fast, reference = both(raw)
    assert shown(fast) == shown(reference)


ROW_CASES = [
    "a: 1\nb: two words # a comment\nc: 'it''s' # quoted\nd: \"x y\"\ne: ~\nf:\ng: [1, 2.5, true, x]\nh: []\ni: {}\n",
    "# top comment\n\na: |\n  one\n\n  two: not a key\n    deeper\n\n\nb: |-\n  kept\n  # text, not a comment\nc: 1\n",
    "tools:\n- type: end_call\n  description: bye\n-   type: x\n    n: 3\nafter: 1\n",
    "tools:\n  - type: a\n    args:\n    - 1\n    - two\n    more:\n      deep: ok\n  - plain item\nz: ${TOKEN}\n",
    "a: b\n  continued\n",
    "a: 'two\n  rows'\n",
    "a: |\n   first\n  less\n",
    "a: |\n  x\n   \n  y\n",
    "a: |\n\n  late start\n",
    "a: |2\n  x\n",
    "a: >\n  folded\n",
    "a: b: c\n",
    "a: b:\n",
    "a: - b\n",
    "a:\n  - \n",
    "a: x #c\nb: x#c\nc: C# and F#\n",
    "a: 1\n  # an indented comment\nb: 2\n",
    "a: 1\n b: 2\n",
    "a:\n  b: 1\n c: 2\n",
    "a: [1, 2,]\n",
    "a: [ ]\n",
    "a: '' \nb: \"\"\n",
    "a: 'x'y\n",
    'a: "x\\ty"\n',
    "a: 1\n...\n",
    "a: 1",
    "- a\n",
    "0: zero\ntrue: yes\nnull: ~\n",
    "a: 123456789012345678901234567890123\n",
    "a: ${NOPE} and ${TOKEN}\nb: $${literal}\n",
    "a: -1\nb: -x\nc: .inf\nd: +3\ne: 0o17\nf: 0x1F\ng: 1e3\nh: /path\ni: (x)\n",
]


@pytest.mark.parametrize("text", ROW_CASES)
def test_the_shapes_files_are_written_in_read_as_the_composer_reads_them(text: str) -> None:
    """Comments, ``|`` and ``|-``, lists of mappings at either indentation, ``[a, b]``, quotes, and their near
    misses (a text over rows, ``>``, ``|2``, a misaligned key, a trailing comma)."""
    for environ in (ENVIRON, None):
        fast, reference = both(text.encode(), environ)
        assert shown(fast) == shown(reference)


@pytest.mark.parametrize("keys", [yamlfile.MAX_VALUES - 1, yamlfile.MAX_VALUES])
def test_the_value_budget_ends_where_the_composer_ends_it(keys: int) -> None:
    """The document counts as a value: one key fewer than the budget is read, the budget itself is refused."""
    raw = "".join(f"k{index}: 1\n" for index in range(keys)).encode()
    fast, reference = both(raw)
    assert shown(fast) == shown(reference)
    assert isinstance(reference, Problem) == (keys == yamlfile.MAX_VALUES)


def test_the_usual_files_take_the_event_path_and_the_unusual_ones_the_composer() -> None:
    """The comparison above means something only if the event builder does read the files: the valid corpus
    and the example files all go through it, and a document with an anchor, a tag or a repeated key does not."""
    usual = [*(TESTS / "corpus" / "valid").glob("*.yaml"), *(TESTS.parent / "assistants.d").glob("*.yaml")]
    assert len(usual) >= 10
    for path in usual:
        text = path.read_text(encoding="utf-8")
        assert yamlfile._built_from_events(text, "f", ENVIRON, {}) is not None, path
    for text in (
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: 1\na: 2\n",
        "<<: {a: 1}\n",
        "a: 1\n---\nb: 2\n",
        "- a\n",
        "",
        "a: [\n",
    ):
        assert yamlfile._built_from_events(text, "f", ENVIRON, {}) is None, text


_PIECES = [*"ab $:{}#'\"\n\t-|>&*!%@`,[]?~\\é\u2028\u0085\ufeff", "${TOKEN}", "${NOPE}", "$${", "${", "${1x}"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True),
    _TEXT,
    st.sampled_from(
        ["on", "off", "yes", "0o17", "0x1F", ".inf", "-.Inf", ".NaN", "1e3", "null", "~", "TRUE"]
    ),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT | st.integers(0, 3), inner, max_size=4),
    max_leaves=20,
)
# a quoting style makes PyYAML tag every scalar that is not a string (``!!int "5"``): the composer's case
_STYLES = st.sampled_from([None, None, None, "'", '"', "|", ">"])
# mostly none, so that most documents take the event path; each other one sends a document to the composer
_MUTATIONS = st.sampled_from(
    [
        *[""] * 8,
        "k: ${TOKEN}\n",
        "x: &a 1\ny: *a\n",
        "dup: 1\ndup: 2\n",
        "t: !!int 7\n",
        "<<: {m: 1}\n",
        "---\nz: 1\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(_TEXT, _VALUES, min_size=1, max_size=6),
    style=_STYLES,
    flow=st.sampled_from([None, True, False]),
    mutation=_MUTATIONS,
)
def test_generated_documents_of_every_style_read_as_the_composer_reads_them(
    document: dict[str, Any], style: str | None, flow: bool | None, mutation: str
) -> None:
    text = yaml.safe_dump(document, default_style=style, default_flow_style=flow, allow_unicode=True)
    raw = (text + mutation).encode("utf-8")
    fast, reference = both(raw)
    assert shown(fast) == shown(reference)


def test_files_of_one_fleet_share_their_keys_short_values_and_line_layout(tmp_path: Path) -> None:
    """Two files with the same keys in the same order hold one string for each key and each short value, and
    one layout of their paths; each keeps its own lines (issue 19: 2.7 KB a file less)."""
    first = yamlfile.parse(b"name: A\ntype: outbound\ntools:\n  - type: end_call\n", "a.yaml", {})
    second = yamlfile.parse(b"name: B\ntype: outbound\n\n\ntools:\n  - type: end_call\n", "b.yaml", {})
    assert isinstance(first, yamlfile.Parsed)
    assert isinstance(second, yamlfile.Parsed)
    first_keys = {key: key for key in first.data}
    for key in second.data:
        assert key is first_keys[key]
    assert second.data["type"] is first.data["type"]
    assert second.data["tools"][0]["type"] is first.data["tools"][0]["type"]
    assert isinstance(first.lines, yamlfile.LinesOfValues)
    assert isinstance(second.lines, yamlfile.LinesOfValues)
    assert first.lines._lines is None  # no path is paired with its line before a line is asked for
    first_lines, second_lines = first.lines._paired(), second.lines._paired()
    assert isinstance(first_lines, yamlfile.Lines)
    assert isinstance(second_lines, yamlfile.Lines)
    assert first_lines._index is second_lines._index
    assert dict(first.lines) == {
        (): 1,
        ("name",): 1,
        ("type",): 2,
        ("tools",): 3,
        ("tools", 0): 4,
        ("tools", 0, "type"): 4,
    }
    assert second.lines[("tools", 0, "type")] == 6
    assert second.lines.get(("nope",), 0) == 0
    assert repr(second.lines).startswith("Lines({(): 1, ('name',): 1")


def test_a_long_text_and_a_secret_are_never_kept_for_sharing() -> None:
    """Only short texts written in the file are shared: not a prompt, and never a value from the environment."""
    long = "x" * 65
    for _ in range(2):
        parsed = yamlfile.parse(f"a: {long}\nb: ${{TOKEN}}\n".encode(), "f.yaml", ENVIRON)
        assert isinstance(parsed, yamlfile.Parsed)
    assert long not in yamlfile._shared_text
    assert ENVIRON["TOKEN"] not in yamlfile._shared_text


def test_lines_paired_with_data_that_changed_since_are_refused_not_shifted() -> None:
    """The event builder's lines follow the order of the file's data: were the data changed before a line is
    asked for, every line after the change would name the wrong value. That is refused, never guessed."""
    parsed = yamlfile.parse(b"name: A\ntools:\n  - type: end_call\n", "a.yaml", {})
    assert isinstance(parsed, yamlfile.Parsed)
    parsed.data["tools"].append({"type": "end_call"})
    with pytest.raises(RuntimeError, match="7 values for 5 lines: the data was changed"):
        parsed.lines.get(("name",))

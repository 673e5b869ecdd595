"""One assistant file's bytes → plain data with a line for every value, and ``${ENV}`` interpolation.

YAML is read with the YAML 1.2 core schema rather than PyYAML's YAML 1.1 default, because 1.1 turns
``ambient_sound: off`` into ``False`` and ``on``/``yes``/``no`` into booleans; here only ``true``/``false`` are
booleans and everything unquoted that is not a number or null stays a string. Only plain data is built:
no tags beyond the core ones, no merge keys, and a budget on values so that an alias bomb stops early.
libyaml reads the files when PyYAML has it, PyYAML's own reader and parser otherwise; both give the same
data, and a problem on the same line.

A usual document (no anchor, alias, explicit tag, merge key, repeated key, second document or line separator)
is built straight from the parser's events (``_Builder.build_from_events``); any other goes through PyYAML's
composer, which is the reference: tests/test_yaml_events.py holds the two to the same data, lines and
problems. Keys, short values, paths and line layouts are shared by every file that has them (issue 19).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

import yaml

from reconciler.errors import Problem
from reconciler.secret import SENSITIVE
from reconciler.text import Interner, Path_, display_path, frozen, invisible, line_at

MAX_VALUES = 100_000
MAX_DEPTH = 32
_TAG = "tag:yaml.org,2002:"


class _CoreLoader(Protocol):
    """What this module needs of a PyYAML loader: compose one document, scan tokens, and say how it counts."""

    #: A reader error's ``position`` counts bytes of the UTF-8 text (libyaml) rather than characters.
    positions_in_bytes: ClassVar[bool]

    def __init__(self, stream: str) -> None: ...
    def get_single_node(self) -> yaml.Node | None: ...
    def get_event(self) -> Any: ...
    def check_token(self) -> bool: ...
    def get_token(self) -> Any: ...
    def dispose(self) -> None: ...


_RESOLVERS = {
    "null": (re.compile(r"^(?:~|null|Null|NULL|)$"), [*"~nN", ""]),
    "bool": (re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")),
    "int": (re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")),
    "float": (
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    ),
}


#: Tags of plain scalars already resolved, by text: the keys and short values every file repeats.
_PLAIN_TAGS: dict[str, str] = {}
# entries at most, each of at most 64 characters: a bounded memo, not a cache of files
_PLAIN_TAGS_KEPT = 4096
_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"


def _plain_tag(value: str) -> str:
    tag = _PLAIN_TAGS.get(value)
    if tag is None:
        # the core schema's resolvers, indexed by their first character as PyYAML registered them
        candidates = _PureLoader.yaml_implicit_resolvers.get(value[:1], ())
        tag = next((t for t, regex in candidates if regex.match(value)), _STR)
        if len(value) <= 64 and len(_PLAIN_TAGS) < _PLAIN_TAGS_KEPT:
            _PLAIN_TAGS[value] = tag
    return tag


#: The value of each plain scalar met (``600``, ``0.7``, ``true``, ``off``, ``end_call``), by its text: most values
#: of a fleet's files are a few texts repeated, each otherwise resolved and converted again (issue 19). A text
#: that would need a problem (a 40-digit number) is not kept. Bounded as _PLAIN_TAGS is.
_PLAIN_VALUES: dict[str, Any] = {}
_NOT_PLAIN = object()


def _plain_value(text: str) -> Any:
    """The value of ``text`` written unquoted, without ``${NAME}``; ``_NOT_PLAIN`` if it is refused."""
    value = _PLAIN_VALUES.get(text, _NOT_PLAIN)
    if value is _NOT_PLAIN:
        try:
            value = _scalar(_plain_tag(text), text)
        except _BadScalar:
            return _NOT_PLAIN
        if len(text) <= 64 and len(_PLAIN_VALUES) < _PLAIN_TAGS_KEPT:
            _PLAIN_VALUES[text] = value
    return value


def _plain_from_event(event: Any) -> Any:
    """The value of a scalar event as the builder gives it, for the usual scalar (untagged, unanchored, with no
    ``${NAME}``); ``_NOT_PLAIN`` for any other event."""
    if type(event) is not yaml.ScalarEvent or event.tag is not None or event.anchor is not None:
        return _NOT_PLAIN
    text = event.value
    if "$" in text:
        return _NOT_PLAIN
    return _plain_value(text) if event.implicit[0] else _shared_text[text]


class _CoreResolution:
    """PyYAML's resolver narrowed to the core schema, for speed: the composer calls these three for every node.
    The answers are those of ``BaseResolver.resolve`` with the core schema's implicit resolvers and no path
    resolvers (``test_the_loaders_narrowed_resolution_answers_as_pyyaml_own_would`` compares the two); PyYAML's own runs regular expressions from a list
    each time and looks for path resolvers this module never adds."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            return _plain_tag(value) if implicit[0] else _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None  # path resolvers only: there are none

    def ascend_resolver(self) -> None:
        return None


def _use_the_core_schema(loader: type[yaml.SafeLoader | yaml.CSafeLoader]) -> None:
    loader.yaml_implicit_resolvers = {}  # none of PyYAML's YAML 1.1 types, only the core schema's
    for name, (regex, first) in _RESOLVERS.items():
        loader.add_implicit_resolver(_TAG + name, regex, first)


class _PureLoader(_CoreResolution, yaml.SafeLoader):
    """PyYAML's own reader and parser, for a PyYAML installed without libyaml."""

    positions_in_bytes: ClassVar[bool] = False


_use_the_core_schema(_PureLoader)

#: Every loader this PyYAML offers, by name. libyaml, when present, reads the UTF-8 encoding of the text.
LOADERS: dict[str, type[_CoreLoader]] = {"pure": _PureLoader}
if yaml.__with_libyaml__:

    class _LibyamlLoader(_CoreResolution, yaml.CSafeLoader):
        """libyaml's reader and parser: several times faster than PyYAML's own."""

        positions_in_bytes: ClassVar[bool] = True

    _use_the_core_schema(_LibyamlLoader)
    LOADERS["libyaml"] = _LibyamlLoader

#: The loader ``parse`` uses: libyaml when PyYAML was built with it, as ``yaml.__with_libyaml__`` says.
LOADER: type[_CoreLoader] = LOADERS.get("libyaml", _PureLoader)


#: The tags a scalar may carry, explicitly or by resolution: the YAML 1.2 core schema's.
_SCALAR_TAGS = frozenset(_TAG + kind for kind in ("str", "null", "bool", "int", "float"))


def plain_scalar_tag(text: str) -> str:
    """The tag the loader gives ``text`` written unquoted (``tag:yaml.org,2002:str`` when it stays a string),
    so that a writer of these files can quote every string the loader would read as something else. The
    loaders' own resolution answers, so the answer cannot drift from how files are read."""
    return _plain_tag(text)


class _BadScalar(ValueError):
    pass


def _scalar(tag: str, text: str) -> Any:
    """The value of a scalar of a core tag; ``_BadScalar`` when an explicit tag does not fit its text."""
    kind = tag.removeprefix(_TAG)
    if kind in ("null", "bool", "int", "float") and not _RESOLVERS[kind][0].match(text):
        raise _BadScalar(f"{text[:40]!r} is not a valid !!{kind}")
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() == "true"
    if kind == "int":
        digits = text[2:] if text.startswith(("0o", "0x")) else text
        if len(digits) > 30:  # no setting of the API needs more; int() would also refuse past 4,300 digits
            raise _BadScalar(f"a {len(digits)}-digit number is far beyond any value the API accepts")
        return int(digits, 8 if text.startswith("0o") else 16 if text.startswith("0x") else 10)
    if kind == "float":
        return _float(text)
    return text


def _float(text: str) -> float:
    """A core-schema float: Python reads every form (``.5``, ``-.5e1``, ``5.``) but the special values, which
    YAML writes with a leading point (``.inf``, ``-.Inf``, ``.NaN``)."""
    sign, digits = (text[0], text[1:]) if text[:1] in ("-", "+") else ("", text)
    if digits.lower() in (".inf", ".nan"):
        return float(sign + digits[1:])
    return float(text)


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


_PLACEHOLDER = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
#: The name inside a ``${NAME}`` placeholder (the JSON Schema checks placeholders with it too).
ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ENV_NAME = re.compile(rf"^{ENV_NAME}$")


def _line_of(event: Any) -> int:
    line: int = event.start_mark.line + 1
    return line


class _Unusual(Exception):
    """A document the event builder leaves to the composer (``_Builder.build_from_events``)."""


class _Fatal(Exception):
    """Stops building one file; the message becomes that file's single problem."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


#: One tuple for each path, shared by every file that has it: 10,000 files with the same 40 paths hold 40
#: tuples, not 400,000 (issue 19); and one string for each key, and for each short value written as it is.
_shared_path: Interner[Path_] = Interner(20_000)
_shared_text: Interner[str] = Interner(20_000, longest=64)


@dataclass
class _Builder:
    """Turns a composed node tree into plain data, recording lines, secrets and placeholders.

    Every path's line is the line of its key in a mapping, of its item in a list (the top: of the document).
    This runs for every value of every file, so it is written for speed (issue 19): one call per value, a
    string without ``$`` returned as it is, and the alias guard only in a document that has anchors."""

    file: str
    environ: Mapping[str, str] | None
    problems: list[Problem] = field(default_factory=list)
    lines: dict[Path_, int] = field(default_factory=dict)
    # the event builder's lines instead: one for each value, in the document's order (``LinesOfValues``)
    numbers: list[int] = field(default_factory=list)
    secret_paths: set[Path_] = field(default_factory=set)
    # the text of a value that mixes file text with ${NAME}s, each of those shown as the marker
    masks: dict[Path_, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # environment variable → its value
    placeholders: set[Path_] = field(default_factory=set)
    built: int = 0
    # the collections being built, by id, in a document with anchors: only an alias can make a node hold itself
    active: set[int] | None = None
    restore: dict[str, str] = field(default_factory=dict)  # placeholder → U+2028/U+2029/U+0085

    def problem(self, line: int, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.file, line, display_path(path), message))

    def build_document(self, node: yaml.Node) -> Any:
        self.lines[()] = node.start_mark.line + 1
        return self.build(node, ())

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.built += 1
        if self.built > MAX_VALUES:
            raise _Fatal(
                node.start_mark.line + 1,
                f"more than {MAX_VALUES} values: an alias bomb, or far more than any assistant has",
            )
        if len(path) > MAX_DEPTH:
            raise _Fatal(node.start_mark.line + 1, f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.ScalarNode):
            return self._build_scalar(node, path)
        if self.active is None:
            return self._build_collection(node, path)
        if id(node) in self.active:
            raise _Fatal(
                node.start_mark.line + 1, "an alias refers to a value that contains it (recursive alias)"
            )
        self.active.add(id(node))
        try:
            return self._build_collection(node, path)
        finally:
            self.active.discard(id(node))

    def _build_collection(self, node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return self._build_mapping(node, path)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            items = []
            for index, item in enumerate(node.value):
                item_path = _shared_path[(*path, index)]
                self.lines[item_path] = item.start_mark.line + 1
                items.append(self.build(item, item_path))
            return items
        self.problem(node.start_mark.line + 1, path, f"unsupported YAML tag {_short_tag(node.tag)}")
        return None

    def _build_scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        return self._scalar_value(node.tag, node.value, path, node.start_mark.line + 1)

    def _scalar_value(self, tag: str, text: str, path: Path_, line: int) -> Any:
        if self.restore:
            text = self._restored(text)
        if tag == _STR:
            return self._interpolate(text, path, line) if "$" in text else _shared_text[text]
        if tag not in _SCALAR_TAGS:
            self.problem(line, path, f"unsupported YAML tag {_short_tag(tag)}")
            return None
        try:
            return _scalar(tag, text)
        except _BadScalar as bad:
            self.problem(line, path, str(bad))
            return None

    # The same data built straight from the parser's events, for the documents nearly every file is: one
    # mapping, with no anchor, alias, explicit tag, merge key, duplicate key or line separator to restore.
    # libyaml no longer calls back into Python for every node, and a plain value costs a dict lookup (issue
    # 19). Anything else raises _Unusual, and the document is read again through the composer (``parse``),
    # whose problems are the ones reported: this path never reports a problem of YAML's structure. Without
    # aliases a document holds no more values than events, so the budget is counted per collection.

    def build_from_events(self, next_event: Callable[[], Any]) -> dict[str, Any]:
        if (
            type(next_event()) is not yaml.StreamStartEvent
            or type(next_event()) is not yaml.DocumentStartEvent
        ):
            raise _Unusual
        top = next_event()
        if type(top) is not yaml.MappingStartEvent or top.anchor is not None or top.tag is not None:
            raise _Unusual
        self.numbers.append(_line_of(top))
        self._count(1)  # the document itself, as the composer's builder counts it
        data = self._mapping_from_events(next_event, ())
        if type(next_event()) is not yaml.DocumentEndEvent or type(next_event()) is not yaml.StreamEndEvent:
            raise _Unusual  # a second document: the composer says so
        return data

    def _value_from_events(self, event: Any, next_event: Callable[[], Any], path: Path_) -> Any:
        """A value that is not a plain one (``_plain_from_event``): a collection, or a text to interpolate."""
        if event.anchor is not None or event.tag is not None:
            raise _Unusual
        kind = type(event)
        if kind is yaml.ScalarEvent:
            tag = _plain_tag(event.value) if event.implicit[0] else _STR
            return self._scalar_value(tag, event.value, path, _line_of(event))
        if kind is yaml.MappingStartEvent:
            return self._mapping_from_events(next_event, path)
        if kind is yaml.SequenceStartEvent:
            return self._sequence_from_events(next_event, path)
        raise _Unusual  # an alias

    def _mapping_from_events(self, next_event: Callable[[], Any], path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        numbers = self.numbers
        too_deep = len(path) >= MAX_DEPTH  # for a value inside: the composer's builder refuses it
        while True:
            event = next_event()
            if type(event) is yaml.MappingEndEvent:
                self._count(len(result))
                return result
            if type(event) is not yaml.ScalarEvent or event.tag is not None or event.anchor is not None:
                raise _Unusual
            if too_deep:
                raise _Unusual
            key = event.value
            if key in result or key == "<<":
                raise _Unusual
            key = _shared_text[key]
            numbers.append(_line_of(event))
            event = next_event()
            value = _plain_from_event(event)
            if value is _NOT_PLAIN:  # only such a value needs its path: a collection, a text to interpolate
                value = self._value_from_events(event, next_event, _shared_path[(*path, key)])
            result[key] = value

    def _sequence_from_events(self, next_event: Callable[[], Any], path: Path_) -> list[Any]:
        items: list[Any] = []
        numbers = self.numbers
        too_deep = len(path) >= MAX_DEPTH
        while True:
            event = next_event()
            if type(event) is yaml.SequenceEndEvent:
                self._count(len(items))
                return items
            if too_deep:
                raise _Unusual
            numbers.append(_line_of(event))
            value = _plain_from_event(event)
            if value is _NOT_PLAIN:
                value = self._value_from_events(event, next_event, _shared_path[(*path, len(items))])
            items.append(value)

    def _count(self, values: int) -> None:
        self.built += values
        if self.built > MAX_VALUES:
            raise _Unusual  # the composer reports it

    def _restored(self, text: str) -> str:
        for placeholder, original in self.restore.items():
            text = text.replace(placeholder, original)
        return text

    def _build_mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        lines = self.lines
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(line, path, "a key must be a plain string, not a list or mapping")
                continue
            key = self._restored(key_node.value) if self.restore else key_node.value
            if key in result or (key == "<<" and key_node.tag == _STR and not key_node.style):
                self._refuse_key(key_node, key, path, line)
                continue
            if key_node.tag not in _SCALAR_TAGS:  # the key is still read as its text: one problem is enough
                self.problem(line, (*path, key), f"unsupported YAML tag {_short_tag(key_node.tag)}")
            key = _shared_text[key]
            key_path = _shared_path[(*path, key)]
            lines[key_path] = line
            result[key] = self.build(value_node, key_path)
        return result

    def _refuse_key(self, key_node: yaml.ScalarNode, key: str, path: Path_, line: int) -> None:
        """A merge key, or a key the mapping has already (whose line is the first one's)."""
        if key == "<<" and key_node.tag == _STR and not key_node.style:
            self.problem(line, path, "YAML merge keys (<<) are not supported; write the fields out")
        else:
            first = self.lines[(*path, key)]
            self.problem(line, (*path, key), f"duplicate key (first defined on line {first})")

    def _interpolate(self, text: str, path: Path_, line: int) -> str:
        if "$" not in text:
            return text
        used_env = False
        pieces: list[str] = []  # the value as a plan may show it: the file's text, each secret a marker
        end = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal used_env, end
            pieces.append(text[end : match.start()])
            end = match.end()
            if match.group(0) == "$${":
                pieces.append("${")
                return "${"
            name = match.group(1)
            if name is None or not _ENV_NAME.match(name):
                shown = match.group(0) if name is not None else "${"
                self.problem(
                    line, path, f"malformed placeholder {shown!s}: write ${{NAME}}, or $${{ for a literal ${{"
                )
                self.placeholders.add(path)  # its value is unknown: skip checks that depend on it
                pieces.append(match.group(0))
                return match.group(0)
            if self.environ is None:
                self.placeholders.add(path)
                pieces.append(match.group(0))
                return match.group(0)
            if name not in self.environ:
                self.problem(line, path, f"environment variable {name} is not set")
                self.placeholders.add(path)  # its value is unknown: skip checks that depend on it
                pieces.append(match.group(0))
                return match.group(0)
            used_env = True
            self.secrets[name] = self.environ[name]
            pieces.append(SENSITIVE)
            return self.environ[name]

        result = _PLACEHOLDER.sub(replace, text)
        if used_env:
            self.secret_paths.add(path)
            mask = "".join(pieces) + text[end:]
            if mask != SENSITIVE:
                self.masks[path] = mask
        return result


_OTHER_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


def _decode(raw: bytes, file: str) -> str | Problem:
    for bom, encoding in _OTHER_BOMS.items():
        if raw.startswith(bom):
            return Problem(file, 1, "", f"the file is encoded as {encoding}; save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = len(re.split(rb"\r\n|\r|\n", raw[: exc.start]))  # line breaks as YAML counts them
        return Problem(file, line, "", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")
    return text.removeprefix("\ufeff")


def _compose(text: str, file: str) -> yaml.Node | Problem | None:
    loader_class = LOADER
    loader = None
    try:
        loader = loader_class(text)  # PyYAML's own reader checks every character here already
        node: yaml.Node | None = loader.get_single_node()
        return node
    except yaml.composer.ComposerError as exc:
        if "single document" in str(exc):
            line = exc.problem_mark.line + 1 if exc.problem_mark else 1
            return Problem(
                file, line, "", "several YAML documents in one file; put one assistant in each file"
            )
        return _yaml_problem(exc, file, text, loader_class)
    except yaml.YAMLError as exc:
        return _yaml_problem(exc, file, text, loader_class)
    except RecursionError:
        return Problem(file, 1, "", f"nesting deeper than {MAX_DEPTH} levels")
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_problem(exc: yaml.YAMLError, file: str, text: str, loader: type[_CoreLoader]) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        line = _reader_line(exc, text, loader)
        # Both readers refuse the same characters; libyaml's words say why, so both loaders use them.
        message = f"unacceptable character #x{exc.character:04x}: control characters are not allowed"
    else:
        line = _line_to_fix(exc, text, loader) if isinstance(exc, yaml.MarkedYAMLError) else 1
        message = _syntax_message(exc)
    return Problem(file, line, "", f"YAML syntax error: {message}{_line_hints(text, line)}")


def _syntax_message(exc: yaml.YAMLError) -> str:
    what = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
    context = getattr(exc, "context", None)
    opened = getattr(exc, "context_mark", None)
    if "duplicate anchor" in str(context) + what and opened is not None:
        return f"this anchor is already defined on line {opened.line + 1}"
    return what + (f" ({context})" if context else "")


def _line_hints(text: str, line: int) -> str:
    """What the reported line hides that can explain a syntax error: an invisible character, a tab indent."""
    lines = text.splitlines()
    row = lines[line - 1] if 0 < line <= len(lines) else ""
    hints = ""
    hidden = invisible(row)
    if hidden:
        hints += f"; the line holds an invisible {hidden}"
    if "\t" in row[: len(row) - len(row.lstrip())]:
        hints += "; this line is indented with a tab, and YAML indents with spaces only"
    return hints


def _reader_line(exc: yaml.reader.ReaderError, text: str, loader: type[_CoreLoader]) -> int:
    """The line of a refused character, located by the offset a reader error carries instead of a mark."""
    position = exc.position
    if loader.positions_in_bytes:  # libyaml reads the UTF-8 encoding of the text: its offset counts bytes
        position = len(text.encode("utf-8")[:position].decode("utf-8", errors="ignore"))
    return line_at(text, position)


def _line_to_fix(exc: yaml.MarkedYAMLError, text: str, loader: type[_CoreLoader]) -> int:
    """The line a person would fix, which is not always where the parser gave up (``problem_mark``)."""
    problem, opened = exc.problem_mark, exc.context_mark
    if problem is None:
        return 1
    if opened is not None and exc.context == "while scanning a simple key":
        return (
            opened.line + 1
        )  # a key without its ':': where it starts, not where no ':' came (the next line)
    if opened is not None and "end of stream" in str(exc.problem):
        return opened.line + 1  # an unclosed quote or bracket: point at where it opens, not past the end
    if isinstance(exc, yaml.parser.ParserError):
        bracket = _unclosed_bracket(text, problem, loader)
        if bracket is not None:
            return bracket.line + 1
    return problem.line + 1


def _unclosed_bracket(text: str, at: yaml.Mark, loader: type[_CoreLoader]) -> yaml.Mark | None:
    """The ``[`` or ``{`` a parser error at ``at`` shows was never closed, or None.

    The lines of a flow collection must be indented more than the block it sits in, which is the indentation
    of the line it opens on. A parser that fails on a line that is not (or at the end of the file) has run
    out of the collection without its closing bracket: the innermost bracket still open is the one to close.
    Failing on a line that does continue the collection is a stray value on that line.
    """
    brackets = _open_brackets(text, at, loader)
    if not brackets or at.line == brackets[0].line:
        return None
    rows = re.split(r"\r\n|\r|\n", text)
    row = rows[at.line] if at.line < len(rows) else ""
    if row.strip() and _indentation(row) > _indentation(rows[brackets[0].line]):
        return None
    return brackets[-1]


def _open_brackets(text: str, at: yaml.Mark, loader: type[_CoreLoader]) -> list[yaml.Mark]:
    """Where the flow collections still open just before ``at`` start, outermost first (a second scan of the
    text, made only for a syntax error)."""
    opened: list[yaml.Mark] = []
    scanner = loader(text)
    try:
        while scanner.check_token():
            token = scanner.get_token()
            if (token.start_mark.line, token.start_mark.column) >= (at.line, at.column):
                break
            if isinstance(token, yaml.FlowSequenceStartToken | yaml.FlowMappingStartToken):
                opened.append(token.start_mark)
            elif isinstance(token, yaml.FlowSequenceEndToken | yaml.FlowMappingEndToken) and opened:
                opened.pop()
    except yaml.YAMLError:
        pass  # past the error the parser stopped at: the brackets before it are all there is
    finally:
        scanner.dispose()
    return opened


def _indentation(row: str) -> int:
    return len(row) - len(row.lstrip(" "))


def _protect_separators(text: str) -> tuple[str, dict[str, str]]:
    """Hide U+2028, U+2029 and U+0085 from the readers (libyaml's and PyYAML's), which follow YAML 1.1 and
    read them as line breaks; YAML 1.2, which these files are, makes them ordinary characters. Placeholders
    from the private use area that the text does not contain stand in for them, and the builder puts them
    back into every key and value."""
    restore: dict[str, str] = {}
    spare = (chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
    for separator in ("\u2028", "\u2029", "\x85"):
        if separator in text:
            placeholder = next(spare)
            restore[placeholder] = separator
            text = text.replace(separator, placeholder)
    return text, restore


_NO_MASKS: Mapping[Any, str] = MappingProxyType({})  # shared by every file without ${NAME} values


class Lines(Mapping[Path_, int]):
    """The line of every path of one file, held compactly: the paths, in the order the file has them, are a
    layout shared by every file with the same keys in the same order, and the lines an array of numbers. A
    dict of the 22 paths of a typical file is 1.2 KB; this is 0.2 KB (issue 19)."""

    __slots__ = ("_index", "_numbers")

    def __init__(self, index: Mapping[Path_, int], numbers: array[int]) -> None:
        self._index = index  # path → its position in numbers, shared
        self._numbers = numbers

    def __getitem__(self, path: Path_) -> int:
        return self._numbers[self._index[path]]

    def get(self, path: Path_, default: Any = None) -> Any:
        position = self._index.get(path)
        return default if position is None else self._numbers[position]

    def __iter__(self) -> Iterator[Path_]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"Lines({dict(self)!r})"

    @property
    def numbers(self) -> array[int]:
        """The lines, in the order of the paths."""
        return self._numbers


class LinesOfValues(Mapping[Path_, int]):
    """The lines of a file the event builder read: one for each value, in the document's order, which is the
    order of its data (the document, then each key of a mapping and each item of a list before what it holds).
    The paths are paired with them when a line is first asked for: a file without a problem never asks, and
    a path built and stored for every value was 4-7 us of the 60 a file's parse costs (issue 19). ``data``
    is the file's own data, which nothing changes once it is read."""

    __slots__ = ("_data", "_lines", "_numbers")

    def __init__(self, data: dict[str, Any], numbers: array[int]) -> None:
        self._data: dict[str, Any] | None = data
        self._numbers = numbers
        self._lines: Mapping[Path_, int] | None = None

    def _paired(self) -> Mapping[Path_, int]:
        if self._lines is None:
            layout = tuple(_paths_in_order(self._data, ()))
            if len(layout) != len(self._numbers):
                raise RuntimeError(
                    f"{len(layout)} values for {len(self._numbers)} lines: the data was changed"
                )
            self._lines, self._data = _lines_of(layout, self._numbers), None
        return self._lines

    def __getitem__(self, path: Path_) -> int:
        return self._paired()[path]

    def get(self, path: Path_, default: Any = None) -> Any:
        return self._paired().get(path, default)

    def __iter__(self) -> Iterator[Path_]:
        return iter(self._paired())

    def __len__(self) -> int:
        return len(self._numbers)

    def __repr__(self) -> str:
        return f"Lines({dict(self)!r})"

    @property
    def numbers(self) -> array[int]:
        return self._numbers


def _paths_in_order(value: Any, path: Path_) -> Iterator[Path_]:
    yield _shared_path[path]
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths_in_order(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths_in_order(item, (*path, index))


#: Each layout of paths met, with the position of each path in it. Bounded: past it, a file keeps its dict.
_LAYOUTS: dict[tuple[Path_, ...], Mapping[Path_, int]] = {}
_LAYOUTS_KEPT = 4096


def _compact(lines: dict[Path_, int]) -> Mapping[Path_, int]:
    return _lines_of(tuple(lines), array("I", lines.values()))


def _lines_of(layout: tuple[Path_, ...], numbers: array[int]) -> Mapping[Path_, int]:
    """The lines of a file whose paths are ``layout``, in order, and ``numbers`` its lines."""
    index = _LAYOUTS.get(layout)
    if index is None:
        if len(_LAYOUTS) >= _LAYOUTS_KEPT:
            return dict(zip(layout, numbers, strict=True))
        index = _LAYOUTS[layout] = {path: position for position, path in enumerate(layout)}
    return Lines(index, numbers)


@dataclass
class Parsed:
    """One file's plain data, with a line for every value, and what interpolation found."""

    data: dict[str, Any] = field(repr=False)  # values from ${NAME} are secrets: never in a repr
    lines: Mapping[Path_, int]
    secret_paths: frozenset[Path_]
    masks: Mapping[Path_, str]  # secret paths whose value is partly file text (``_Builder.masks``)
    secrets: Mapping[str, str] = field(repr=False)  # environment variable → its value, for every ${NAME} used
    placeholders: frozenset[Path_]
    problems: list[Problem]


PlainParsed = tuple[Any, ...]


def plain(parsed: Parsed) -> PlainParsed:
    """``parsed`` in builtin types only, to send to another process (``readahead``); ``from_plain`` undoes it.
    The lines go as their layout and numbers, and come back sharing the layouts of this process."""
    lines = parsed.lines
    if isinstance(lines, LinesOfValues):
        layout: Any = lines.numbers  # paired with the paths of the data again where it arrives
    elif isinstance(lines, Lines):
        layout = (tuple(lines), lines.numbers)
    else:
        layout = dict(lines)
    masks, secrets = dict(parsed.masks), dict(parsed.secrets)
    return parsed.data, layout, parsed.secret_paths, masks, secrets, parsed.placeholders, parsed.problems


def from_plain(values: PlainParsed) -> Parsed:
    data, layout, secret_paths, masks, secrets, placeholders, problems = values
    if isinstance(layout, array):
        lines: Mapping[Path_, int] = LinesOfValues(data, layout)
    else:
        lines = _lines_of(*layout) if isinstance(layout, tuple) else layout
    return Parsed(data, lines, secret_paths, masks or _NO_MASKS, secrets or _NO_MASKS, placeholders, problems)


def parse(raw: bytes, file: str, environ: Mapping[str, str] | None) -> Parsed | Problem:
    """``raw`` bytes → data, or the one problem that stops the file. ``environ=None``: leave ``${NAME}``."""
    text = _decode(raw, file)
    if isinstance(text, Problem):
        return text
    text, restore = _protect_separators(text)
    built = _built_from_events(text, file, environ, restore)
    if built is not None:
        return _parsed(*built)
    return _parsed_through_composer(text, file, environ, restore)


def parse_through_composer(raw: bytes, file: str, environ: Mapping[str, str] | None) -> Parsed | Problem:
    """``parse`` without the event builder: what every file would give through the composer alone (the
    reference the event builder is tested against)."""
    text = _decode(raw, file)
    if isinstance(text, Problem):
        return text
    protected, restore = _protect_separators(text)
    return _parsed_through_composer(protected, file, environ, restore)


def _parsed_through_composer(
    text: str, file: str, environ: Mapping[str, str] | None, restore: dict[str, str]
) -> Parsed | Problem:
    node = _compose(text, file)
    if isinstance(node, Problem):
        return node
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "null" and not node.value):
        return Problem(file, 1, "", "the file is empty; expected a mapping of assistant fields")
    if not isinstance(node, yaml.MappingNode):
        return Problem(
            file, node.start_mark.line + 1, "", "expected a mapping of assistant fields at the top"
        )
    builder = _Builder(file, environ, restore=restore, active=set() if "&" in text else None)
    try:
        data = builder.build_document(node)
    except _Fatal as exc:
        return Problem(file, exc.line, "", str(exc))
    return _parsed(builder, data)


def _built_from_events(
    text: str, file: str, environ: Mapping[str, str] | None, restore: dict[str, str]
) -> tuple[_Builder, Any] | None:
    """The builder and data of a usual document, from its events; None for one the composer must read."""
    if restore:
        return None  # line separators to put back: the composer's builder does it
    loader = None
    try:
        loader = LOADER(text)
        builder = _Builder(file, environ)
        return builder, builder.build_from_events(loader.get_event)
    except (_Unusual, yaml.YAMLError, RecursionError):
        return None
    finally:
        if loader is not None:
            loader.dispose()


def _parsed(builder: _Builder, data: Any) -> Parsed:
    return Parsed(
        data=data if isinstance(data, dict) else {},
        lines=LinesOfValues(data, array("I", builder.numbers))
        if builder.numbers
        else _compact(builder.lines),
        secret_paths=frozen(builder.secret_paths),
        masks=dict(builder.masks) if builder.masks else _NO_MASKS,
        secrets=dict(builder.secrets) if builder.secrets else _NO_MASKS,
        placeholders=frozen(builder.placeholders),
        problems=builder.problems,
    )

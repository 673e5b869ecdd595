"""PURE: edits of a YAML file's text that change one value and keep every other byte (docs/contract.md, adopt).

A value is replaced where it is written, as a span of the text (``Edit``): the file is never re-serialised, so
comments, key order, quoting, blank lines and line endings outside the span stay as they were by construction.
That is why this module, and not a round-trip YAML library, writes for ``adopt``: ruamel.yaml re-emits the
whole document from its tree and normalises indentation, flow spacing and some quoting on the way; a span
replaced in the text touches nothing else. The spans come from PyYAML's own composer (the pure one, whose marks
count characters), the same grammar the project's loader reads with.

How a new value is written: a string keeps the style of the one it replaces (a block scalar stays a literal
block at its indentation, a quoted string keeps its quotes) where that style can hold it, and otherwise falls
back to a double-quoted string; numbers, booleans and null as the core schema writes them; lists and mappings
in block style where the old value was a block, else as flow (JSON, which YAML reads as flow). Every rendering
is checked by reading the edited text back (``edited_file``), and the first that reads back as the value wins.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.errors import Problem
from reconciler.text import Path_
from reconciler.yamlfile import LOADERS, parse, plain_scalar_tag

_STR = "tag:yaml.org,2002:str"
#: A string that may stay unquoted: no indicator first, no ``: `` or `` #`` inside, no space at either end.
_PLAIN = re.compile(r"^[^\s\-?:,\[\]{}#&*!|>'\"%@`](?:[^:#\n\r\t]|:(?=\S)|(?<=\S)#)*(?<!\s)$")


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` with ``new``. Edits of one file never overlap."""

    start: int
    end: int
    new: str


@dataclass(frozen=True)
class Change:
    """One value to write into a file: at ``path`` (a top-level key, or ``("variables", NAME)``), under the key
    ``key`` (the path's last part, or its twin: ``voice_id`` in place of ``voice``), the value ``value`` as the
    file means it (``${`` already escaped as ``$${``)."""

    path: Path_
    key: str
    value: Any
    remove: bool = False  # the key and its value go, with their lines (``value`` is then None)


def ending_of(text: str) -> str:
    """The file's line ending: that of its first line, else ``\\n``."""
    match = re.search(r"\r\n|\r|\n", text)
    return match.group(0) if match else "\n"


def edited_file(raw: bytes, file: str, changes: Sequence[Change]) -> bytes | str:
    """``raw`` with every change written in place, or why that cannot be done without touching anything else.

    Each change is tried in each of its renderings until one reads back as the value; then all of them
    together must read back as the file's own data with exactly these values changed."""
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    text = raw[len(bom) :].decode("utf-8")
    before = _data(raw, file)
    if before is None:
        return "the file does not parse"
    edits: list[Edit] = []
    for change in changes:
        found = _edit_for(text, raw, bom, file, before, change)
        if isinstance(found, str):
            return found
        edits += found
    result = bom + apply(text, edits).encode("utf-8")
    if _data(result, file) != expected(before, changes):
        return "the edits cannot be written without changing the rest of the file"
    return result


def _edit_for(
    text: str, raw: bytes, bom: bytes, file: str, before: dict[str, Any], change: Change
) -> list[Edit] | str:
    for edits in candidates(text, change):
        edited = bom + apply(text, edits).encode("utf-8")
        if _data(edited, file) == expected(before, [change]):
            return edits
    where = ".".join(str(part) for part in change.path)
    return f"{where} cannot be written in place (an unusual layout); write it by hand"


def _data(raw: bytes, file: str) -> dict[str, Any] | None:
    parsed = parse(raw, file, None)
    if isinstance(parsed, Problem) or parsed.problems or not isinstance(parsed.data, dict):
        return None
    return parsed.data


def expected(before: dict[str, Any], changes: Sequence[Change]) -> dict[str, Any]:
    """The data ``before`` with each change made: the value at its path, under its key (the twin removed)."""
    data = json.loads(json.dumps(before))
    for change in changes:
        node = data
        for part in change.path[:-1]:
            node = node.setdefault(part, {})
        node.pop(change.path[-1], None)
        if not change.remove:
            node[change.key] = _unescaped(change.value)
    return data  # type: ignore[no-any-return]


def _unescaped(value: Any) -> Any:
    """What the loader (placeholders left as they are) reads for a value written with ``$${``."""
    if isinstance(value, str):
        return value.replace("$${", "${")
    if isinstance(value, list):
        return [_unescaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _unescaped(v) for k, v in value.items()}
    return value


def apply(text: str, edits: Sequence[Edit]) -> str:
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start] + edit.new + text[edit.end :]
    return text


# ---- where a value is written --------------------------------------------------------------------------------


def _root(text: str) -> yaml.MappingNode | None:
    loader = LOADERS["pure"](text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return node if isinstance(node, yaml.MappingNode) else None


def _pair(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _located(text: str, path: Path_) -> tuple[yaml.MappingNode, tuple[yaml.Node, yaml.Node] | None] | None:
    """The mapping that holds the path's last part, and that part's (key, value) nodes if it is written."""
    mapping = _root(text)
    for part in path[:-1]:
        found = _pair(mapping, str(part)) if mapping is not None else None
        mapping = found[1] if found is not None and isinstance(found[1], yaml.MappingNode) else None
    if mapping is None:
        return None
    return mapping, _pair(mapping, str(path[-1]))


def candidates(text: str, change: Change) -> Iterator[list[Edit]]:
    """The ways to write ``change`` into ``text``, the most faithful to the file's own style first."""
    ending = ending_of(text)
    located = _located(text, change.path)
    if located is None:
        root = _root(text)
        if (
            len(change.path) == 2
            and root is not None
            and not root.flow_style
            and _pair(root, str(change.path[0])) is None  # no mapping to add to yet: the mapping itself
        ):
            yield [_appended(text, str(change.path[0]), {change.key: change.value}, ending)]
        return
    mapping, pair = located
    if pair is None:
        if mapping.flow_style:
            return
        if len(change.path) == 1:
            yield [_appended(text, change.key, change.value, ending)]
        elif mapping.value:
            yield [_added(text, mapping, change.key, change.value, ending)]
        return
    key_node, value_node = pair
    if change.remove:
        yield [_removed(text, key_node, value_node)]
        return
    renamed = (
        [Edit(key_node.start_mark.index, key_node.end_mark.index, change.key)]
        if change.key != key_node.value
        else []
    )
    for edit in _replacements(text, key_node, value_node, change.value, ending):
        yield [*renamed, edit]


def _removed(text: str, key_node: yaml.Node, node: yaml.Node) -> Edit:
    """The lines of one key and its value, from the key's line to the end of the value's last line."""
    start = text.rfind("\n", 0, key_node.start_mark.index) + 1
    end = _content_end(text, node)
    if text[end - 1 : end] not in ("\n", "\r"):
        found = re.compile(r"\r\n|\r|\n").search(text, end)
        end = found.end() if found else len(text)
    return Edit(start, end, "")


def _appended(text: str, key: str, value: Any, ending: str) -> Edit:
    """A new top-level key at the end of the file (after a line break, which a file without one gains)."""
    block = yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10**9)
    lead = "" if not text or text.endswith(("\n", "\r")) else ending
    return Edit(len(text), len(text), lead + block.replace("\n", ending))


def _added(text: str, mapping: yaml.MappingNode, key: str, value: Any, ending: str) -> Edit:
    """A new key at the end of a block mapping, at the indentation of its first key."""
    column = mapping.value[0][0].start_mark.column
    block = yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10**9)
    lines = [(" " * column + line if line else "") for line in block.rstrip("\n").split("\n")]
    at = _content_end(text, mapping.value[-1][1])
    if text[at - 1 : at] in ("\n", "\r"):  # after a block scalar: at the start of the next line
        return Edit(at, at, ending.join(lines) + ending)
    found = re.compile(r"\r\n|\r|\n").search(text, at)  # after the last entry's line, its comment included
    at = found.start() if found else len(text)
    return Edit(at, at, ending + ending.join(lines))


def _replacements(text: str, key_node: yaml.Node, node: yaml.Node, value: Any, ending: str) -> Iterator[Edit]:
    start, end = node.start_mark.index, _content_end(text, node)
    if isinstance(value, (list, dict)) and value and _is_block_collection(node):
        first_line = text.rfind("\n", 0, start) + 1
        column = start - first_line
        block = yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10**9)
        lines = [(" " * column + line if line else "") for line in block.rstrip("\n").split("\n")]
        yield Edit(first_line, end, ending.join(lines))
        return
    if _is_block_collection(node):  # a scalar (or []/{}) in place of a block: on the key's line
        for rendered in _inline(value):
            yield Edit(key_node.end_mark.index, end, ": " + rendered)
        return
    lead = " " if start == key_node.end_mark.index + 1 or text[start - 1 : start] == ":" else ""
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">") and isinstance(value, str):
        indent = _block_indent(text, node, key_node)
        literal = _folded(value, indent, ending) if node.style == ">" else None
        literal = literal or _literal(value, indent, ending)
        if literal is not None:
            yield Edit(start, end, literal if text[end - 1 : end] in ("\n", "\r") else literal.rstrip("\r\n"))
    broken = (
        text[end - 1 : end] in ("\n", "\r") and isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")
    )
    tail = ending if broken else ""
    style = node.style if isinstance(node, yaml.ScalarNode) else None
    for rendered in _inline(value, style):
        yield Edit(start, end, lead + rendered + tail)


def _is_block_collection(node: yaml.Node) -> bool:
    return isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and not node.flow_style


def _content_end(text: str, node: yaml.Node) -> int:
    """Where the value's own text ends: a block (scalar or collection) without the blank lines and comments the
    composer counts into it; every other value at its end mark."""
    end: int = node.end_mark.index
    if isinstance(node, yaml.ScalarNode) and node.style not in ("|", ">"):
        return end
    if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
        if node.flow_style or not node.value:
            return end
        last = node.value[-1]
        return _content_end(text, last[1] if isinstance(last, tuple) else last)
    body = text[node.start_mark.index : end]
    lines = body.splitlines(keepends=True)
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    return node.start_mark.index + sum(len(line) for line in lines)


def _block_indent(text: str, node: yaml.Node, key_node: yaml.Node) -> str:
    """The indentation of a block scalar's content: its first non-empty line's, else the key's plus two."""
    for line in text[node.start_mark.index : node.end_mark.index].splitlines()[1:]:
        if line.strip():
            return line[: len(line) - len(line.lstrip(" "))]
    return " " * (key_node.start_mark.column + 2)


def _literal(value: str, indent: str, ending: str) -> str | None:
    """``value`` as a literal block (``|``, ``|-`` or ``|+``) at ``indent``, or None when one cannot hold it (a
    first line that starts with a space would need an indentation indicator; a line break other than ``\\n``)."""
    if not value or value[0] in " \t" or "\r" in value or not indent:
        return None
    chomp = "-" if not value.endswith("\n") else ("+" if value.endswith("\n\n") else "")
    body = value if chomp == "-" else value[:-1]
    lines = [(indent + line if line else "") for line in body.split("\n")]
    return f"|{chomp}{ending}" + "".join(line + ending for line in lines)


def _folded(value: str, indent: str, ending: str) -> str | None:
    """One line of text as a folded block (``>``, ``>-``), as the file had it; None for anything else."""
    line = value.rstrip("\n")
    if not line or "\n" in line or line[0] in " \t" or value.endswith("\n\n") or not indent:
        return None
    return f">{'' if value.endswith(chr(10)) else '-'}{ending}{indent}{line}{ending}"


def _inline(value: Any, style: str | None = None) -> Iterator[str]:
    """One-line renderings of ``value``, the file's own quoting first."""
    if isinstance(value, str):
        if style == "'" and "\n" not in value and value.isprintable():
            yield "'" + value.replace("'", "''") + "'"
        if style is None and _PLAIN.match(value) and plain_scalar_tag(value) == _STR:
            yield value
        yield json.dumps(value, ensure_ascii=False)
        yield json.dumps(value)
        return
    yield (
        _scalar_text(value) if not isinstance(value, (list, dict)) else json.dumps(value, ensure_ascii=False)
    )
    if isinstance(value, (list, dict)):
        yield json.dumps(value)


def _scalar_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    return str(value)


class _Dumper(yaml.SafeDumper):
    """Block style for new keys and block values; strings the 1.2 loader would read otherwise are quoted
    (the export's rule), multi-line text as a literal block."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style: str | None = None
    if "\n" in value and not value.endswith("\n\n") and not value.startswith((" ", "\t")):
        style = "|"
    elif plain_scalar_tag(value) != _STR or not _PLAIN.match(value):
        style = '"'
    return dumper.represent_scalar(_STR, value, style=style)


_Dumper.add_representer(str, _str)

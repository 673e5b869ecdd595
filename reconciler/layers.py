"""PURE: layered files (docs/contract.md#layers) — what a file's ``extends`` says, and a stack of layers merged
into one assistant, every value with the file and line it came from.

Loading the layers (paths, the repository boundary, each file read once, cycles) is ``files.LayerLoader``'s;
checking them is ``desired``'s. This module only reads data that is already parsed.

The merge, lowest layer first and the assistant file last:
- scalars, lists and mappings are replaced whole (as the API replaces them), ``null`` included;
- ``variables`` merge key by key, and a key set to ``null`` removes the inherited key;
- a name key and its id key (``voice``/``voice_id``) are one field: the higher layer's form replaces the other;
- ``ignore_changes`` is the union of every layer's list;
- a layer's ``id`` and every ``extends`` are never merged (a layer may not set ``id``: ``desired`` says so);
- a mode-only field that only a layer sets, and that the merged ``mode`` does not have, is left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.errors import Problem
from reconciler.fields import MODE_ONLY, MODES
from reconciler.files import Origin, SourceFile
from reconciler.spec import NAME_KEYS
from reconciler.text import Path_

EXTENDS = "extends"
#: The keys a layer's data never gives the merged assistant: identity belongs to the assistant file.
NOT_FROM_LAYERS = frozenset({"id", EXTENDS})
#: A name key and its id key, each to the other: one field written two ways.
TWINS: dict[str, str] = {**NAME_KEYS, **{id_key: key for key, id_key in NAME_KEYS.items()}}
#: The id field → the name key standing for it.
NAME_KEY_OF: dict[str, str] = {id_key: key for key, id_key in NAME_KEYS.items()}

_KINDS = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}


@dataclass(frozen=True)
class Entry:
    """One path of an ``extends``: as written, and where (its path in the file, for the file's line)."""

    text: str
    at: Path_


def extends_of(source: SourceFile) -> tuple[list[Entry], list[Problem]]:
    """The layer paths ``source``'s ``extends`` names, in order, or the problems of a malformed one."""
    value = source.data.get(EXTENDS)
    if value is None and EXTENDS not in source.data:
        return [], []
    entries: list[tuple[Any, Path_]]
    if isinstance(value, str):
        entries = [(value, (EXTENDS,))]
    elif isinstance(value, list):
        entries = [(item, (EXTENDS, i)) for i, item in enumerate(value)]
    else:
        return [], [source.problem((EXTENDS,), f"must be a path or a list of paths (got {_kind(value)})")]
    problems = [
        source.problem(at, f"must be a path (got {_kind(text) if text != '' else 'an empty string'})")
        for text, at in entries
        if not isinstance(text, str) or not text
    ]
    if problems:
        return [], problems
    return [Entry(text, at) for text, at in entries], []


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return _KINDS.get(type(value), type(value).__name__)


def without_nulls(variables: Any) -> Any:
    """``variables`` as a layer checks it alone: a ``null`` value removes an inherited key, it is no value."""
    if not isinstance(variables, dict):
        return variables
    return {key: value for key, value in variables.items() if value is not None}


@dataclass
class _Merge:
    docs: Sequence[SourceFile]
    data: dict[str, Any]
    won: dict[str, int]  # top-level key → the document whose value stands
    variables: dict[str, int]  # variable → the document whose value stands
    ignored: list[tuple[str, int, int]]  # (field, document, index in its list), in order of first mention

    def take(self, index: int, key: str, value: Any) -> None:
        twin = TWINS.get(key)
        if twin is not None:
            self.data.pop(twin, None)
            self.won.pop(twin, None)
        if key == "ignore_changes":
            self._ignore(index, value)
        elif key == "variables" and isinstance(value, dict):
            self._variables(index, value)
        else:
            if key == "variables":
                self.variables = {}
            self.data[key] = value
            self.won[key] = index

    def _ignore(self, index: int, value: Any) -> None:
        if not isinstance(value, list):
            return  # null or malformed: the document's own problem, and nothing to add
        known = {name for name, _, _ in self.ignored}
        for position, name in enumerate(value):
            if name not in known:
                self.ignored.append((name, index, position))
                known.add(name)
        self.data["ignore_changes"] = [name for name, _, _ in self.ignored]
        self.won["ignore_changes"] = index

    def _variables(self, index: int, value: dict[str, Any]) -> None:
        current = self.data.get("variables")
        merged = dict(current) if isinstance(current, dict) else {}
        if not isinstance(current, dict):
            self.variables = {}
        for name, text in value.items():
            if text is None:
                merged.pop(name, None)
                self.variables.pop(name, None)
            else:
                merged[name] = text
                self.variables[name] = index
        self.data["variables"] = merged
        self.won["variables"] = index

    def drop_other_modes(self, own: int) -> None:
        """A mode-only field only a layer sets is left out where the merged mode does not have it."""
        mode = self.data.get("mode")
        if not isinstance(mode, str) or mode not in MODES:
            return  # no mode (or a bad one): the combined rules and the model say so, with the origins
        for key, modes in MODE_ONLY.items():
            if key in self.data and self.won[key] != own and mode not in modes:
                del self.data[key]
                del self.won[key]


def merge(stack: Sequence[SourceFile], own: SourceFile) -> SourceFile:
    """``own`` (an assistant file, its ``extends`` and all) on top of its layers, lowest first: the merged
    assistant, with the origin of every value, the secrets of every layer, and each layer's digest."""
    docs = (*stack, own)
    merging = _Merge(docs, {}, {}, {}, [])
    for index, doc in enumerate(docs):
        for key, value in doc.data.items():
            if key == EXTENDS or (key in NOT_FROM_LAYERS and index != len(stack)):
                continue
            merging.take(index, key, value)
    merging.drop_other_modes(len(stack))
    origins = dict(_origins(merging))
    layers = tuple(dict.fromkeys((doc.file, doc.digest) for doc in stack))
    return SourceFile(
        file=own.file,
        key=own.key,
        data=merging.data,
        lines=own.lines,
        secret_paths=frozenset(_kept(docs, origins, "secret_paths")),
        masks={p: m for doc in docs for p, m in doc.masks.items() if origins.get(p) == _at(doc, p)},
        secrets=frozenset().union(*(doc.secrets for doc in docs)),
        placeholders=frozenset(_kept(docs, origins, "placeholders")),
        digest=own.digest,
        origins=origins,
        layers=layers,
    )


def _at(doc: SourceFile, path: Path_) -> Origin | None:
    line = doc.lines.get(path)
    return None if line is None else (doc.file, line)


def _kept(docs: Sequence[SourceFile], origins: dict[Path_, Origin], what: str) -> Iterator[Path_]:
    """The paths of one kind (secret, placeholder) whose merged value is the one of the document that has them."""
    for doc in docs:
        for path in getattr(doc, what):
            if origins.get(path) == _at(doc, path):
                yield path


def _origins(merging: _Merge) -> Iterator[tuple[Path_, Origin]]:
    docs = merging.docs
    wanted: dict[int, set[str]] = {}
    for key, index in merging.won.items():
        wanted.setdefault(index, set()).add(key)
    for name, index in merging.variables.items():
        wanted.setdefault(index, set()).add(f"variables.{name}")
    for index, keys in wanted.items():
        doc = docs[index]
        for path, line in doc.lines.items():
            if not path or path[0] == "ignore_changes":
                continue
            top = path[0]
            if top == "variables" and len(path) > 1:
                if f"variables.{path[1]}" in keys:
                    yield path, (doc.file, line)
            elif top in keys:
                yield path, (doc.file, line)
    for position, (_, index, at) in enumerate(merging.ignored):
        doc = docs[index]
        yield ("ignore_changes", position), (doc.file, doc.lines.get(("ignore_changes", at), 1))
    if "ignore_changes" in merging.won:
        doc = docs[merging.won["ignore_changes"]]
        yield ("ignore_changes",), (doc.file, doc.lines.get(("ignore_changes",), 1))

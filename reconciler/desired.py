"""The desired state: every file of the directory parsed, checked against the model and the cross-field and
cross-file rules, with every problem located as ``FILE:LINE: field: message``. Nothing is returned unless all
files are valid, so no later step can act on half of a directory.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reconciler import layers, rules
from reconciler.constraints import api_trim
from reconciler.errors import FilesInvalid, Problem
from reconciler.files import FileRead, SourceFile, discover, load_file, read_file, read_files
from reconciler.layerfiles import LayerLoader
from reconciler.readahead import reading_ahead
from reconciler.secret import Secret
from reconciler.spec import (
    UNKNOWN_TOOL_TAG,
    AssistantSpec,
    CalendarIntegration,
    CallTransfer,
    DtmfInput,
    EndCall,
    PostCallField,
)
from reconciler.text import Path_, did_you_mean


@dataclass(frozen=True, slots=True)
class DesiredAssistant:
    """A valid file: its key, where it came from, and what its validated model declares (left out of the repr:
    its values include those from the environment). The model itself is not kept: it holds every field of the
    API, set or not, and that is 2.5 KB an assistant, a quarter of what a plan holds for one (issue 19)."""

    source: SourceFile
    values: MappingProxyType[str, Any] = dataclasses.field(repr=False)  # ``AssistantSpec.declared()``
    id: int | None = None
    name: str | None = None
    ignore_changes: tuple[str, ...] = ()

    @classmethod
    def of(cls, source: SourceFile, spec: AssistantSpec) -> DesiredAssistant:
        ignored = tuple(spec.ignore_changes or ())
        data = source.data
        # a value the model left as the file wrote it is the file's own object, not the model's copy of it;
        # most are that object already (a text, a number), and need no walk to tell
        values: dict[str, Any] = {}
        for key, value in spec.declared().items():
            written = data.get(key, _ABSENT)
            values[key] = written if written is value or _identical(written, value) else value
        return cls(source, MappingProxyType(values), spec.id, spec.name, ignored)

    @property
    def key(self) -> str:
        return self.source.key

    def declared(self) -> dict[str, Any]:
        """The fields this file sets, ``null`` included, as plain data (``AssistantSpec.declared``)."""
        return self.values.copy()  # the dict's own copy: dict(self.values) goes through the proxy, 10x slower


_ABSENT = object()  # a key the file does not have (of no type a value has)


def _identical(written: Any, declared: Any) -> bool:
    """Equal and of the same types all the way down (``1`` and ``1.0`` are equal to Python, not here)."""
    if type(written) is not type(declared):
        return False
    if isinstance(written, dict):
        return written.keys() == declared.keys() and all(
            _identical(v, declared[k]) for k, v in written.items()
        )
    if isinstance(written, list):
        return len(written) == len(declared) and all(map(_identical, written, declared))
    return bool(written == declared)


@dataclass(frozen=True)
class DesiredState:
    directory: Path
    assistants: tuple[DesiredAssistant, ...]
    #: ``(file, message)`` of what is allowed but likely a mistake (a layer no assistant uses): commands print
    #: each as ``warning: FILE: message`` on stderr, and go on.
    warnings: tuple[tuple[str, str], ...] = ()

    @property
    def secrets(self) -> frozenset[Secret]:
        return frozenset().union(*(a.source.secrets for a in self.assistants))


def load_directory(
    directory: Path, *, environ: Mapping[str, str] | None, read_ahead: bool = False
) -> DesiredState:
    """Load and check every file; raise ``FilesInvalid`` with all problems if any file is invalid.
    ``read_ahead``: a helper process reads and parses most files meanwhile (``readahead``): the same result in
    about 60% of the time on two cores, for a run that keeps the state only to check it (``validate``); the values
    it sends are not shared with the rest of the run, as those read here are (``yamlfile``)."""
    paths, problems = discover(directory)
    loader = layer_loader(directory, environ=environ)
    assistants: list[DesiredAssistant] = []
    read = partial(read_file, environ=environ, boundary=loader.boundary)  # what the helper does for each
    with reading_ahead(paths, read) if read_ahead else nullcontext() as ahead:
        for start in range(0, len(paths), BATCH):
            batch = paths[start : start + BATCH]
            if ahead is None:
                reads = read_files(batch, environ=environ, boundary=loader.boundary)
            else:
                reads = [ahead(path) for path in batch]
            for assistant, found in check_files(batch, reads, environ=environ, layers=loader):
                problems.extend(found)
                if assistant is not None:
                    assistants.append(assistant)
    warnings = loader.unused()
    problems.extend(loader.problems)
    problems.extend(_cross_file(assistants))
    if problems:
        raise FilesInvalid(problems, len(paths) + loader.files_read)
    return DesiredState(directory, tuple(assistants), tuple(warnings))


#: Files read, and then checked, together (``check_files``): enough for each stage's code to stay in the
#: processor's caches, few enough that their bytes and parsed values are nothing beside what a run keeps.
BATCH = 64


def layer_loader(directory: Path, *, environ: Mapping[str, str] | None) -> LayerLoader:
    """What reads the layers of ``directory``'s files, once each: share one across the files of a run."""
    return LayerLoader(directory, environ, check_layer)


Checked = tuple[DesiredAssistant | None, list[Problem]]
"""A file checked: the assistant it declares (None if it has a problem), and its problems."""


def check_file(
    path: Path,
    *,
    environ: Mapping[str, str] | None,
    layers: LayerLoader | None = None,
    read: FileRead | list[Problem] | None = None,
) -> Checked:
    """One assistant file checked, on its layers when it has any (``layers``: the run's loader; by default
    one of the file's own directory, whose problems are then the file's). ``read``: the file read already."""
    loader = layers or layer_loader(path.parent, environ=environ)
    [checked] = check_files([path], [read], environ=environ, layers=loader, own_layers=layers is None)
    return checked


def check_files(
    paths: Sequence[Path],
    reads: Sequence[FileRead | list[Problem] | None],
    *,
    environ: Mapping[str, str] | None,
    layers: LayerLoader,
    own_layers: bool = False,
) -> list[Checked]:
    """Each of ``paths`` checked as ``check_file`` checks it (``reads``: each one read already, or None).

    Stage by stage across the files, not file by file: every file's rules, then the model's validation of every
    file, then what follows it (``load_directory`` reads the batch before it). One file at a time, the code of
    YAML, of pydantic and of the rules evicts the others' from the processor's caches for every file; in stages
    the same 10,000 files load in 152 us a file instead of 186 (issue 19). Each file's problems, and their
    order, are the same either way. ``own_layers``: ``layers`` was made for these files alone, and its
    problems are theirs."""
    staged = [_before_the_model(p, r, environ, layers, own_layers) for p, r in zip(paths, reads, strict=True)]
    unvalidated = [s for s in staged if isinstance(s, _Unvalidated)]
    validated = iter([_validated(file.source.data) for file in unvalidated])
    return [_after_the_model(s, next(validated)) if isinstance(s, _Unvalidated) else s for s in staged]


@dataclass(slots=True)
class _Unvalidated:
    """A file without layers between the stages of ``check_files``: read, its rules checked, the model next."""

    source: SourceFile
    problems: list[Problem]  # the reader's (and the layers', for a file with its own loader)
    reported: set[str]  # their fields: a rule's problem at one of them, or below it, is a follow-on
    later: list[Problem]  # the rules' problems


def _before_the_model(
    path: Path,
    read: FileRead | list[Problem] | None,
    environ: Mapping[str, str] | None,
    loader: LayerLoader,
    own_layers: bool,
) -> Checked | _Unvalidated:
    # the loader knows the directory's repository: found and resolved once per run, not per file (issue 19)
    source, problems = load_file(path, environ=environ, boundary=loader.boundary, read=read)
    if source is None:
        return None, problems
    stack = loader.stack_of(path, source, problems)
    if own_layers:
        problems += loader.problems
    if stack != ():
        return _check_layered(source, stack, problems)
    if _LAYERED in source.data:
        source = dataclasses.replace(source, data=_document(source.data, (_LAYERED,)))
    reported = {p.field for p in problems}
    later = [_locate(source, where, message) for where, message in rules.check(source.data)]
    return _Unvalidated(source, problems, reported, later)


def _validated(data: dict[str, Any]) -> AssistantSpec | ValidationError:
    try:
        return AssistantSpec.model_validate(data)
    except ValidationError as exc:
        return exc


def _after_the_model(file: _Unvalidated, validated: AssistantSpec | ValidationError) -> Checked:
    source, problems, later = file.source, file.problems, file.later
    if isinstance(validated, AssistantSpec):
        problems += _unreported(later, file.reported)
        return (None if problems else DesiredAssistant.of(source, validated)), problems
    later += _translate(source, validated.errors(include_url=False))
    problems += _unreported(later, file.reported)
    if problems:
        return None, problems
    # Only checks that depend on unresolved ${NAME} values failed (--no-env): the file is as valid as
    # can be told. Such a spec is for reporting only; plan and apply never run without the environment.
    return DesiredAssistant.of(source, AssistantSpec.model_construct(**source.data)), []


_LAYERED = layers.EXTENDS
LAYER_ID = "a layer may not set id (identity belongs to the assistant file)"


def _document(data: dict[str, Any], leave_out: tuple[str, ...], *, layered: bool = False) -> dict[str, Any]:
    """One document's data as the model checks it alone: without the keys that are not fields of it, and in
    a stack of layers without the ``null`` variables that remove inherited ones."""
    kept = {key: value for key, value in data.items() if key not in leave_out}
    if layered and "variables" in kept:
        kept["variables"] = layers.without_nulls(kept["variables"])
    return kept


def _document_problems(source: SourceFile, problems: list[Problem]) -> list[Problem]:
    """The checks one document answers alone (types, ranges, enums, and ``rules.DOCUMENT_RULES``), each
    problem at the document's own file and line. ``problems``: the loader's, whose follow-ons are dropped."""
    found = [
        source.problem(where, message) for where, message in rules.check(source.data, rules.DOCUMENT_RULES)
    ]
    try:
        AssistantSpec.model_validate(source.data)
    except ValidationError as exc:
        found += _translate(source, exc.errors(include_url=False))
    return _unreported(found, {p.field for p in problems})


def check_layer(source: SourceFile, problems: list[Problem]) -> list[Problem]:
    """A layer's own problems: every field checked as in an assistant file, none required, and no ``id``."""
    found = [source.problem(("id",), LAYER_ID)] if "id" in source.data else []
    document = dataclasses.replace(source, data=_document(source.data, ("id", _LAYERED), layered=True))
    return found + _document_problems(document, problems)


def _check_layered(
    source: SourceFile, stack: tuple[SourceFile, ...] | None, problems: list[Problem]
) -> tuple[DesiredAssistant | None, list[Problem]]:
    """An assistant file with layers: the file checked alone, then the merged assistant by the rules that
    relate fields, each value named with its origin. ``stack`` None: a layer is broken (its own problems say
    how), so the merged assistant cannot be checked."""
    own = dataclasses.replace(source, data=_document(source.data, (_LAYERED,), layered=True))
    problems += _document_problems(own, problems)
    if stack is None or problems:
        return None, problems
    merged = layers.merge(stack, source)
    found = [
        merged.problem(where, message) for where, message in rules.check(merged.data, rules.COMBINED_RULES)
    ]
    if found:
        return None, found
    try:
        spec = AssistantSpec.model_validate(merged.data)
    except ValidationError as exc:
        found = _translate(merged, exc.errors(include_url=False))
        if found:
            return None, found
        # as for a file without layers: only checks of unresolved ${NAME} values failed (--no-env)
        return DesiredAssistant.of(merged, AssistantSpec.model_construct(**merged.data)), []
    return DesiredAssistant.of(merged, spec), []


def _unreported(problems: list[Problem], reported: set[str]) -> list[Problem]:
    """Drop follow-on problems of a value the loader already refused (an unsupported tag reads as null)."""

    def covered(field: str) -> bool:
        return any(field == r or field.startswith((f"{r}.", f"{r}[")) for r in reported if r)

    return [p for p in problems if not covered(p.field)]


def _locate(source: SourceFile, path: Path_, message: str) -> Problem:
    return source.problem(path, message)


def _cross_file(assistants: Iterable[DesiredAssistant]) -> list[Problem]:
    problems: list[Problem] = []
    for field in ("id", "name"):
        first: dict[Any, DesiredAssistant] = {}
        for assistant in assistants:
            value = getattr(assistant, field)
            if isinstance(value, str):
                value = api_trim(value)
            if value is None:
                continue
            if value in first:
                other = first[value].source
                message = f"{value!r} is also declared by {other.where((field,))}"
                problems.append(_locate(assistant.source, (field,), message))
            first.setdefault(value, assistant)
    return problems


# ---- pydantic errors → problems a person can act on ---------------------------------------------------------

_TOOL_MODELS: dict[str, type[BaseModel]] = {
    "call_transfer": CallTransfer,
    "end_call": EndCall,
    "dtmf_input": DtmfInput,
    "calendar_integration": CalendarIntegration,
}
_EXPECTED = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
# Errors that depend on the value itself: unknowable while a ${NAME} placeholder is unresolved (--no-env).
_VALUE_DEPENDENT = {"range", "blank", "too_long", "too_short", "format", "duplicate", "literal_error"}


def _translate(source: SourceFile, errors: list[ErrorDetails]) -> list[Problem]:
    problems = []
    for error in errors:
        path = _clean_path(source.data, error["loc"])
        if error["type"] == "union_tag_invalid":
            path = (*path, "type")
        if path in source.placeholders and error["type"] in _VALUE_DEPENDENT:
            continue
        message = _message(source, path, error)
        problems.append(_locate(source, path, message))
    return problems


def _clean_path(data: Any, loc: tuple[int | str, ...]) -> Path_:
    """Drop the discriminator tags pydantic inserts for tagged unions (``tools.0.end_call.description``)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself", which is already the last segment
            continue
        if part == UNKNOWN_TOOL_TAG:
            continue  # the fallback model's tag (spec.BuiltinTool)
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue
        path.append(part)
        node = node[part] if isinstance(node, dict | list) and _has(node, part) else None  # type: ignore[index]
    return tuple(path)


def _has(node: dict[str, Any] | list[Any], part: int | str) -> bool:
    if isinstance(node, list):
        return isinstance(part, int) and 0 <= part < len(node)
    return part in node


def _shown(source: SourceFile, path: Path_, value: Any) -> str:
    if source.is_secret(path):
        return "(sensitive)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}
    text = repr(value) if not isinstance(value, list | dict) else ""
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{kind.get(type(value), type(value).__name__)} {text}".strip()


def _message(source: SourceFile, path: Path_, error: ErrorDetails) -> str:
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown field" + did_you_mean(str(path[-1]), _fields_at(source.data, path), ignore_case=True)
    if kind in _EXPECTED:
        if value is None:
            return "cannot be null"
        if kind == "float_type" and isinstance(value, int) and not isinstance(value, bool):
            return "is far too large a number"  # an int beyond what a float holds
        hint = (
            "; quote it to make it a string"
            if kind == "string_type" and isinstance(value, int | float)
            else ""
        )
        return f"must be {_EXPECTED[kind]} (got {_shown(source, path, value)}){hint}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        if source.is_secret(path):
            return f"must be one of: {', '.join(options)} (got (sensitive))"
        return f"must be one of: {', '.join(options)} (got {value!r})" + did_you_mean(
            str(value), options, ignore_case=True
        )
    if kind == "union_tag_invalid":
        options = list(_TOOL_MODELS)
        return (
            f"unknown tool type {value.get('type')!r}; expected one of: {', '.join(options)}"
            + did_you_mean(str(value.get("type")), options, ignore_case=True)
        )
    if kind == "union_tag_not_found":
        return f"needs a type: one of {', '.join(_TOOL_MODELS)}"
    if source.is_secret(path):
        return error["msg"].split(" (got")[0]
    return error["msg"]


def _fields_at(data: dict[str, Any], path: Path_) -> list[str]:
    if len(path) == 1:
        return list(AssistantSpec.model_fields)
    if path[0] == "post_call_schema":
        return list(PostCallField.model_fields)
    if path[0] == "tools" and isinstance(path[1], int):
        tool = data["tools"][path[1]]
        model = _TOOL_MODELS.get(str(tool.get("type"))) if isinstance(tool, dict) else None
        return list(model.model_fields) if model else []
    return []

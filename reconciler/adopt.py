"""PURE: ``reconciler adopt`` — the platform's values of the fields that drifted, as edits of the files that set
them (docs/contract.md, Commands: adopt).

From a plan (``FieldChange.before`` is the platform's value, ``after`` the files') and the origin of every merged
value (``SourceFile.origin_of``), each drifted field of an existing assistant is written back where it was set:
- in the assistant file, on the line that set it (a key the file lacks is added at its end);
- in the layer that set it, when every assistant whose value comes from that line has the same new value on the
  platform: one edit, and the layer keeps saying it once;
- otherwise into each drifted assistant's own file, as an override, and the report says why.

Never written: a value that came from ``${NAME}`` (the report names the variable to update instead), a value of
the platform that holds a credential (it would be committed), and a write-only field (the platform never shows
it). A name reference (``voice: Maya``) gets the name of the platform's new value when that name resolves back to
it alone, else the id field in its place. The file texts come in as bytes and go out as bytes: reading and
writing them is ``adoptfiles``'.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler import names
from reconciler.constraints import api_trim
from reconciler.desired import DesiredAssistant, DesiredState
from reconciler.errors import Problem
from reconciler.export import SECRET_KEY, secret_url
from reconciler.fields import WRITE_ONLY
from reconciler.files import Origin, SourceFile
from reconciler.layers import NAME_KEY_OF, TWINS
from reconciler.plan import Action, FieldChange, Plan
from reconciler.remote import Account, RemoteAssistant
from reconciler.text import Path_, display_path
from reconciler.yamledit import Change, edited_file
from reconciler.yamlfile import parse

SECRET_NOTE = "the platform has a different value for a secret; update {names}"
WRITE_ONLY_NOTE = "write-only (the API never returns it): cannot be adopted; left as it is"
MODE_NOTE = "the platform has another engine mode: not adopted (the file's mode-only fields change with it); edit it by hand"
CREDENTIAL_NOTE = "the platform's value holds a credential: not written; write it as ${NAME} by hand"


@dataclass(frozen=True)
class Wanted:
    """One drifted value of one assistant: what to write, and where the files set it now (None: nowhere)."""

    key: str  # the assistant's
    file: str  # the assistant's file
    field: str  # as reports name it: ``system_prompt``, ``variables.greeting``
    path: Path_  # in the merged data: ``("voice",)``, ``("variables", "greeting")``
    origin: Origin | None
    change: Change


@dataclass(frozen=True)
class Adoption:
    """What adopt writes: each file's text before and after, the report of each value adopted, what was left
    (and why), and the files that cannot be edited safely."""

    files: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    adopted: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()

    @property
    def fields(self) -> int:
        return len(self.adopted)


def adoption(
    plan: Plan,
    state: DesiredState,
    account: Account,
    catalog: names.Catalog,
    texts: Mapping[str, bytes],
    *,
    keys: Iterable[str] | None = None,
    fields: Iterable[str] = (),
) -> Adoption:
    """The edits that make the files hold the platform's values of ``plan``'s drifted fields, for the assistants
    ``keys`` (None: all) and the API fields ``fields`` (empty: all)."""
    chosen = set(keys) if keys is not None else None
    fields = frozenset(fields)
    by_key = {a.key: a for a in state.assistants}
    remotes = {r.id: r for r in account.assistants}
    wanted: list[Wanted] = []
    notes: list[str] = []
    for change in plan.changes:
        assistant = by_key.get(change.key)
        if assistant is None or (chosen is not None and change.key not in chosen):
            continue
        if change.action == Action.CREATE:
            notes.append(
                f"{change.file}: {change.key} is not on the platform (the plan creates it): nothing to adopt"
            )
        if change.action != Action.UPDATE or change.id not in remotes:
            continue
        for item in change.fields:
            if fields and item.path not in fields:
                continue
            found = _wanted(
                assistant, remotes[change.id], item, catalog, _layered_variables(assistant, texts)
            )
            wanted += [w for w in found if isinstance(w, Wanted)]
            notes += [n for n in found if isinstance(n, str)]
    notes += [f"--field {name}: {WRITE_ONLY_NOTE}" for name in sorted(set(fields) & WRITE_ONLY)]
    placed, adopted = _placed(wanted, state.assistants, str(state.directory))
    files, refused = _edited(placed, texts)
    return Adoption(files, tuple(adopted), tuple(notes), tuple(refused))


# ---- what to write -------------------------------------------------------------------------------------------


def _layered_variables(assistant: DesiredAssistant, texts: Mapping[str, bytes]) -> frozenset[str]:
    """The variables some layer of the assistant sets: a variable the platform removed is removed from the
    assistant file only when no layer sets it too (else ``null`` there, which removes the inherited one)."""
    found: set[str] = set()
    for layer, _ in assistant.source.layers:
        parsed = parse(texts.get(layer, b""), layer, None)
        variables = parsed.data.get("variables") if not isinstance(parsed, Problem) else None
        if isinstance(variables, dict):
            found |= {name for name, value in variables.items() if value is not None}
    return frozenset(found)


def _wanted(
    assistant: DesiredAssistant,
    remote: RemoteAssistant,
    item: FieldChange,
    catalog: names.Catalog,
    inherited: frozenset[str] = frozenset(),
) -> list[Wanted | str]:
    source = assistant.source
    if not item.before_known:
        return [_note(source, (_file_key(source, item.path) or item.path,), item.path, WRITE_ONLY_NOTE)]
    if item.reason is not None:
        return []  # re-sent after a mode change, or bookkeeping: not a value the platform changed
    if item.path == "mode":  # the file's mode-only fields would no longer fit it: a person decides
        return [_note(source, ("mode",), "mode", MODE_NOTE)]
    if item.path == "variables" and "variables" in source.data:
        return [
            w
            for name in _drifted(item)
            for w in _one(assistant, remote, ("variables", name), item, catalog, inherited)
        ]
    return _one(assistant, remote, (_file_key(source, item.path) or item.path,), item, catalog)


def _drifted(item: FieldChange) -> list[str]:
    before = item.before if isinstance(item.before, dict) else {}
    after = item.after if isinstance(item.after, dict) else {}
    return sorted(n for n in {*before, *after} if before.get(n) != after.get(n))


def _one(
    assistant: DesiredAssistant,
    remote: RemoteAssistant,
    path: Path_,
    item: FieldChange,
    catalog: names.Catalog,
    inherited: frozenset[str] = frozenset(),
) -> list[Wanted | str]:
    source = assistant.source
    shown = display_path(path)  # as the file names it: ``voice``, ``variables.greeting``
    if _secret_under(source, path):
        return [_note(source, path, shown, SECRET_NOTE.format(names=", ".join(_variables_of(source, path))))]
    value = (item.before or {}).get(path[1]) if len(path) > 1 else item.before
    if _holds_credential(value, path[-1]):
        return [_note(source, path, shown, CREDENTIAL_NOTE)]
    value = _with_ending(value, _at(source.data, path))
    origin = source.origin_of(path) if _set_in(source, path) else None
    key, written = _written(str(path[-1]), item.path, value, remote, catalog)
    # a variable the platform no longer has: its line goes, unless a layer would then give it again (or it is
    # a layer's line: _placed removes it there, or writes null in each assistant file)
    gone = len(path) > 1 and path[1] not in (item.before or {})
    remove = gone and (origin is None or origin[0] != source.file or path[1] not in inherited)
    change = Change(path, key, _escaped(written), remove=remove)
    return [Wanted(assistant.key, source.file, shown, path, origin, change)]


def _with_ending(value: Any, old: Any) -> Any:
    """The platform's text with the file's own trailing line break (or spaces) kept, where the API trims them
    anyway: a literal block stays ``|`` instead of turning ``|-`` for a difference the platform cannot hold."""
    if not isinstance(value, str) or not isinstance(old, str) or value != value.rstrip():
        return value
    tail = old[len(old.rstrip()) :]
    return value + tail if tail and api_trim(value + tail) == api_trim(value) else value


def _file_key(source: SourceFile, field_name: str) -> str | None:
    """The key the merged files set ``field_name`` with: itself, or the name key standing for it."""
    if field_name in source.data:
        return field_name
    twin = NAME_KEY_OF.get(field_name)
    return twin if twin in source.data else None


def _set_in(source: SourceFile, path: Path_) -> bool:
    if len(path) == 1:
        return path[0] in source.data
    variables = source.data.get("variables")
    return isinstance(variables, dict) and path[1] in variables


def _written(
    key: str, field_name: str, value: Any, remote: RemoteAssistant, catalog: names.Catalog
) -> tuple[str, Any]:
    """The key and value to write: a name key gets the new value's unique name, or gives way to the id field."""
    if key not in TWINS or key == field_name or value is None or value == []:
        return key, value
    language = remote.fields.get("language_id")
    context = names.Context(
        remote.mode, language if isinstance(language, int) else None, remote.fields.get("type")
    )
    items = value if isinstance(value, list) else [value]
    try:
        found = [catalog.unique_name(field_name, v, context) for v in items]
    except Exception:
        found = [None]
    if not all(found):
        return field_name, value
    return key, found if isinstance(value, list) else found[0]


def _secret_under(source: SourceFile, path: Path_) -> bool:
    return any(p[: len(path)] == path or path[: len(p)] == p for p in source.secret_paths)


def _variables_of(source: SourceFile, path: Path_) -> list[str]:
    """The environment variables the value at ``path`` was made of (by the values they gave)."""
    texts = _strings(_at(source.data, path))
    found = sorted({s.origin for s in source.secrets if s.origin and any(s.reveal() in t for t in texts)})
    return found or ["the variable it names"]


def _at(data: Any, path: Path_) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _holds_credential(value: Any, label: Any) -> bool:
    """What export would write as a placeholder: a string under a secret-looking key, a URL with a credential."""
    if isinstance(value, dict):
        return any(_holds_credential(v, k) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_credential(v, label) for v in value)
    return isinstance(value, str) and (bool(SECRET_KEY.search(str(label))) or secret_url(value))


def _escaped(value: Any) -> Any:
    """A literal ``${`` of the platform's stays literal in a file: ``$${``."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def _note(source: SourceFile, path: Path_, shown: str, message: str) -> str:
    file, line = source.origin_of(path)
    return f"{file}:{line}: {shown}: {message}"


# ---- where to write it ---------------------------------------------------------------------------------------


def _placed(
    wanted: Sequence[Wanted], assistants: Sequence[DesiredAssistant], directory: str
) -> tuple[dict[str, list[Change]], list[str]]:
    """Each file's changes, and a report line per value: a layer's line once for all who share the new value."""
    placed: dict[str, list[Change]] = {}
    adopted: list[str] = []
    layered: dict[tuple[Origin, Path_], list[Wanted]] = {}
    for item in wanted:
        if item.origin is not None and item.origin[0] != item.file:
            layered.setdefault((item.origin, item.path), []).append(item)
            continue
        placed.setdefault(item.file, []).append(item.change)
        where = f"{item.file}:{item.origin[1]}" if item.origin else f"{item.file} (a key it did not have)"
        adopted.append(f"adopted {item.field} of {item.key} into {where}")
    for (origin, path), items in layered.items():
        users = sorted(
            a.key for a in assistants if _set_in(a.source, path) and a.source.origin_of(path) == origin
        )
        layer, line = origin
        # a layer outside the directory may be the base of other directories (accounts/*/): never edited here
        inside = os.path.normpath(os.path.dirname(layer) or ".") == os.path.normpath(directory)
        agree = (
            inside
            and {item.key for item in items} == set(users)
            and len({_same(i.change.value) for i in items}) == 1
        )
        if agree:
            first = items[0]
            placed.setdefault(layer, []).append(first.change)
            adopted.append(f"adopted {first.field} of {', '.join(users)} into {layer}:{line}")
            continue
        others = [k for k in users if k not in {i.key for i in items}]
        if not inside:
            why = f"{layer}:{line} is outside {directory}, and other directories may use it"
        elif others:
            why = f"{', '.join(others)} also {'uses' if len(others) == 1 else 'use'} {layer}:{line} and did not change"
        else:
            why = f"the assistants that use {layer}:{line} have different values on the platform"
        for item in items:  # a variable removed is an override too: null removes the inherited one
            placed.setdefault(item.file, []).append(replace(item.change, remove=False))
            adopted.append(f"adopted {item.field} of {item.key} into {item.file} as an override ({why})")
    return placed, adopted


def _same(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _edited(
    placed: Mapping[str, list[Change]], texts: Mapping[str, bytes]
) -> tuple[dict[str, tuple[bytes, bytes]], list[str]]:
    files: dict[str, tuple[bytes, bytes]] = {}
    refused: list[str] = []
    for file in sorted(placed):
        raw = texts.get(file)
        if raw is None:
            refused.append(f"{file}: not read; nothing was written")
            continue
        result = edited_file(raw, file, placed[file])
        if isinstance(result, str):
            refused.append(f"{file}: {result}")
        else:
            files[file] = (raw, result)
    return files, refused

"""PURE: ``reconciler explain KEY`` (docs/contract.md#layers) — one merged assistant, every field it sets with its
value and the ``FILE:LINE`` it came from, and every API field it leaves out with the reason, as text or JSON.

A field is left out for one of three reasons (listed in this order, each in the order of ``fields.FIELDS``):
- ``ignored``: ``ignore_changes`` names it, so no plan compares or sends it (a create still sends a value the
  files give it: a new assistant needs a first one);
- ``other_mode``: it exists only in the other engine mode, so it is never managed (one that a layer sets is
  dropped by the merge, and the explanation names that layer: a defaults file may say ``fillers: true`` for the
  pipeline assistants without breaking the multimodal ones);
- ``not_set``: no layer sets it, and what that means is the contract's rule for a missing key (cleared if it
  can be cleared, else the platform keeps its value; a write-only field is left as it is, as it cannot be read).
And a variable an inherited layer sets that a higher document removes (``name: null``) is ``removed``.

Each value is one row: a variable, a setting of one tool (``tools[0].calcom_api_key``), a list of scalars whole.

Secrets are masked as a plan masks them (``plan.Change.masked``): a value from ``${NAME}`` reads ``(sensitive)``,
and one mixing file text with a secret shows the text around the marker.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.fields import FIELDS, MODE_ONLY, MODES, REFERENCES, WRITE_ONLY, Field
from reconciler.plan import Action, Change
from reconciler.secret import SENSITIVE
from reconciler.streams import Writer
from reconciler.text import Path_, display_path, printable

if TYPE_CHECKING:
    from reconciler.files import SourceFile  # the files' parser (PyYAML): the renderers need only its shape

FORMAT_VERSION = 1

IGNORED = "ignored"
OTHER_MODE = "other_mode"
NOT_SET = "not_set"
REMOVED = "removed"
#: The reasons in the order the explanation lists them: what a file says first, what it does not say last.
REASONS = (IGNORED, REMOVED, OTHER_MODE, NOT_SET)

#: The longest value the text shows whole; longer ones end in ``...`` (the JSON has them all).
SHOWN_WIDTH = 40


@dataclass(frozen=True)
class Setting:
    """A value the merged assistant sets: the path (``variables.company`` for one variable), the value with its
    secrets masked, and ``FILE:LINE`` relative to the current directory."""

    path: str
    value: Any
    source: str


@dataclass(frozen=True)
class LeftOut:
    """An API field the merged assistant does not manage, and why (``IGNORED``, ``OTHER_MODE``, ``NOT_SET``):
    ``detail`` says it in words, ``source`` is where the decisive line is (None: no file says anything)."""

    path: str
    reason: str
    detail: str
    source: str | None = None


@dataclass(frozen=True)
class Explanation:
    key: str
    file: str
    settings: tuple[Setting, ...]
    left_out: tuple[LeftOut, ...]

    def data(self) -> dict[str, Any]:
        """The JSON view (``explain --format json``)."""
        return {
            "format_version": FORMAT_VERSION,
            "key": self.key,
            "file": self.file,
            "fields": [{"path": s.path, "value": s.value, "source": s.source} for s in self.settings],
            "left_out": [
                {"path": o.path, "reason": o.reason, "detail": o.detail, "source": o.source}
                for o in self.left_out
            ],
        }


def explain(
    merged: SourceFile, stack: Sequence[SourceFile] = (), own: SourceFile | None = None
) -> Explanation:
    """The explanation of ``merged`` (a valid assistant, merged on its layers), given the layers it was merged
    on, lowest first, and the assistant file as written (what the merge dropped or removed is no longer in
    ``merged``: the documents still say it)."""
    masker = _masker(merged)
    settings = tuple(_settings(merged, masker))
    docs = (*stack, own) if own is not None else tuple(stack)
    found = (*_left_out(merged, _dropped(merged, stack)), *_removed(merged, docs))
    left_out = tuple(
        sorted(found, key=lambda item: REASONS.index(item.reason))
    )  # stable: fields' order within
    return Explanation(merged.key, os.path.relpath(merged.file), settings, left_out)


def _masker(source: SourceFile) -> Change:
    """A plan's masking of this file's values: explain hides exactly what a plan of it would hide."""
    return Change(
        source.key,
        source.file,
        Action.NOOP,
        None,
        None,
        secret_paths=frozenset(display_path(p) for p in source.secret_paths),
        secret_masks={display_path(p): mask for p, mask in source.masks.items()},
    )


def _where(source: SourceFile, path: Path_) -> str:
    file, line = source.origin_of(path)
    return f"{os.path.relpath(file)}:{line}"


def _order() -> list[str]:
    """The keys of a file in the export's order: ``id``, then each API field followed by its name key."""
    keys = ["id"]
    for field in FIELDS:
        keys.append(field.name)
        if field.reference is not None:
            keys.append(field.reference.key)
    return keys


def _settings(source: SourceFile, masker: Change) -> Iterator[Setting]:
    for key in _order():
        if key in source.data:
            yield from _leaves(source, (key,), masker.masked(source.data[key], key))


def _leaves(source: SourceFile, path: Path_, value: Any) -> Iterator[Setting]:
    """One row per value a person reads on its own: a variable, a tool's setting; a list of scalars whole."""
    if isinstance(value, dict) and value:
        for name, item in value.items():
            yield from _leaves(source, (*path, name), item)
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for index, item in enumerate(value):
            yield from _leaves(source, (*path, index), item)
    else:
        yield Setting(display_path(path), value, _where(source, path))


def _field_of(key: str) -> str:
    """The API field a key stands for (``voice`` → ``voice_id``)."""
    return REFERENCES[key][0] if key in REFERENCES else key


def _dropped(merged: SourceFile, stack: Sequence[SourceFile]) -> dict[str, tuple[str, str]]:
    """API field → (the key as written, ``FILE:LINE``) of each mode-only value a layer set and the merge left out
    (the highest layer's, whichever form it used)."""
    dropped: dict[str, tuple[str, str]] = {}
    for layer in stack:
        for key in layer.data:
            if key in MODE_ONLY:
                dropped[_field_of(key)] = key, _where(layer, (key,))
    return {field: found for field, found in dropped.items() if not _sets(merged, field)}


def _sets(source: SourceFile, name: str) -> bool:
    """Whether the file sets the API field ``name``, by its name or by its name key."""
    field = next(f for f in FIELDS if f.name == name)
    return name in source.data or (field.reference is not None and field.reference.key in source.data)


def _left_out(merged: SourceFile, dropped: dict[str, tuple[str, str]]) -> Iterator[LeftOut]:
    ignored = merged.data.get("ignore_changes") or []
    mode = merged.data.get("mode") if merged.data.get("mode") in MODES else None
    for field in FIELDS:
        if field.name in ignored:
            yield _ignored(merged, field, ignored.index(field.name))
        elif _sets(merged, field.name):
            continue
        elif mode is not None and mode not in field.modes:
            yield _other_mode(field, mode, dropped.get(field.name))
        else:
            yield LeftOut(field.name, NOT_SET, _not_set(field, mode))


def _removed(merged: SourceFile, docs: Sequence[SourceFile]) -> Iterator[LeftOut]:
    """Each inherited variable a higher document removes (``name: null``), at the last line that removes it."""
    removed: dict[str, str] = {}
    for doc in docs:
        variables = doc.data.get("variables")
        for name, value in (variables if isinstance(variables, dict) else {}).items():
            if value is None:
                removed[name] = _where(doc, ("variables", name))
            else:
                removed.pop(name, None)
    kept = merged.data.get("variables") or {}
    for name, where in removed.items():
        if name not in kept:
            path = display_path(("variables", name))
            yield LeftOut(path, REMOVED, f"removed (null, {where})", where)


def _ignored(merged: SourceFile, field: Field, position: int) -> LeftOut:
    where = _where(merged, ("ignore_changes", position))
    detail = f"ignored (ignore_changes, {where})"
    if _sets(merged, field.name):
        detail += "; the value set is sent only on create"
    return LeftOut(field.name, IGNORED, detail, where)


def _modes_text(modes: frozenset[str]) -> str:
    return " or ".join(m for m in MODES if m in modes)


def _other_mode(field: Field, mode: str, dropped: tuple[str, str] | None) -> LeftOut:
    detail = f"{_modes_text(field.modes)} only (this assistant is {mode})"
    if dropped is None:
        return LeftOut(field.name, OTHER_MODE, detail)
    key, where = dropped
    return LeftOut(key, OTHER_MODE, f"{detail}, from {where}", where)


def _not_set(field: Field, mode: str | None) -> str:
    if field.name in WRITE_ONLY:
        consequence = "the platform keeps its value; write-only"
    elif field.clearable:
        consequence = f"cleared to {json.dumps(field.cleared_to)}"
    else:
        consequence = "the platform keeps its value"
    only = f"; {_modes_text(field.modes)} only" if mode is None and len(field.modes) < len(MODES) else ""
    return f"not set in any layer ({consequence}){only}"


# ---- renderers ----------------------------------------------------------------------------------------------


def render_explanation_json(explanation: Explanation, stream: Writer) -> None:
    stream.write(json.dumps(explanation.data(), indent=2, ensure_ascii=False) + "\n")


def render_explanation_text(explanation: Explanation, stream: Writer) -> None:
    """The assistant's heading, its settings as aligned columns (path, value, origin), then what it leaves out."""
    rows = [(printable(s.path), _shown(s.value), s.source) for s in explanation.settings]
    out_rows = [(printable(o.path), printable(o.detail)) for o in explanation.left_out]
    width = max((len(row[0]) for row in [*rows, *out_rows]), default=0)
    values = max((len(row[1]) for row in rows), default=0)
    lines = [f"{printable(explanation.key)} ({printable(explanation.file)})"]
    lines += [f"  {path.ljust(width)}  {value.ljust(values)}  {source}" for path, value, source in rows]
    if out_rows:
        lines.append("left out:")
        lines += [f"  {path.ljust(width)}  {detail}" for path, detail in out_rows]
    stream.write("".join(f"{line.rstrip()}\n" for line in lines))


def _shown(value: Any) -> str:
    """A value on one line: JSON, a long one cut at ``SHOWN_WIDTH`` (a masked secret as its marker)."""
    if value == SENSITIVE:
        return SENSITIVE
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > SHOWN_WIDTH:
        text = text[: SHOWN_WIDTH - 3] + "..."
    return printable(text)

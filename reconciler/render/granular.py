"""PURE: what changed inside one field's value, as rows a person can review (the view Terraform gives).

Only the rendering looks inside a value; the request body stays whole, as the API replaces lists and objects whole.
- a list of objects (``tools``, ``post_call_schema``): the elements added, removed and changed, each changed one
  with only its changed keys, paired by the key that names an element (``fields.ELEMENT_KEYS``); unchanged
  elements are counted, never shown;
- an object (``variables``): key by key;
- a list of ids or other scalars whose order means nothing (``tool_ids``): what joined it and what left it, each
  id with its name;
- long text: a line diff whose unchanged runs are counted, not shown; a line changed in place shows its changed
  words marked, with only a few words around each change, so one word in a 2,000-character prompt is one
  short pair of lines;
- anything else: ``before → after``.

The values given are the ones people may see (secrets already masked). A row says what it is; the renderers only
indent, sign, mark and colour it (``render.text``, ``render.markdown``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.fields import ELEMENT_KEYS, UNORDERED
from reconciler.text import counted

#: Longer than this, or with a line break, a string is text: shown as lines, diffed as lines and words.
LONG = 60
#: Unchanged lines shown around a changed one, and characters of unchanged text around a changed word.
CONTEXT_LINES = 2
CONTEXT_CHARS = 40
#: Below this similarity, a changed line is shown as removed and added whole: marking every word helps nobody.
WORD_DIFF_SIMILARITY = 0.5
#: Past these sizes a text is not compared line by line, nor a line word by word: difflib's cost grows faster
#: than the text, and a platform (or a hostile one) may return a value of any size. Far beyond any prompt.
MAX_DIFF_LINES = 20_000
MAX_DIFF_WORDS = 20_000

ADDED, REMOVED, CHANGED, SAME = "+", "-", "~", " "


@dataclass(frozen=True)
class Part:
    """A run of a line's text; ``mark`` is ``-`` (a removed word) or ``+`` (an added one), else empty."""

    text: str
    mark: str = ""


@dataclass(frozen=True)
class Row:
    """One line of a field's diff, ``depth`` levels inside it.

    ``sign``: ``+`` added, ``-`` removed, ``~`` changed (a heading whose rows follow, or a value pair), `` ``
    unchanged context or a remark. What it shows is one of: ``label: before → after`` (both set: a value pair a
    renderer may split over two lines), ``label: value`` (``value`` set), ``label:`` (a heading), or the line
    ``parts`` (text, its changed words marked). ``remark`` is a row that counts what is not shown.
    """

    depth: int
    sign: str
    label: str = ""
    value: str | None = None
    before: str | None = None
    after: str | None = None
    parts: tuple[Part, ...] = ()
    remark: bool = False
    note: str = ""  # why the field is sent although it may not look changed (``FieldChange.reason``)


def value_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def is_text(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or len(value) > LONG)


@dataclass(frozen=True)
class Names:
    """The names beside ids, for people reading the plan: one name, or one per id of a list."""

    before: Any = None
    after: Any = None


def changed_rows(
    field: str, before: Any, after: Any, names: Names = Names(), depth: int = 0, label: str | None = None
) -> list[Row]:
    """An existing value replaced by another: the rows that show what changed inside it."""
    label = field if label is None else label
    if _objects(before) and _objects(after):
        return [Row(depth, CHANGED, label), *_element_rows(field, before, after, depth + 1)]
    if isinstance(before, dict) and isinstance(after, dict):
        return [Row(depth, CHANGED, label), *_key_rows(field, before, after, depth + 1)]
    if _scalars(before) and _scalars(after) and field in UNORDERED:
        return [Row(depth, CHANGED, label), *_member_rows(before, after, names, depth + 1)]
    if (is_text(before) or is_text(after)) and isinstance(before, str) and isinstance(after, str):
        return [Row(depth, CHANGED, label), *text_rows(before, after, depth + 1)]
    return [
        Row(
            depth,
            CHANGED,
            label,
            before=value_text(before) + named(names.before),
            after=value_text(after) + named(names.after),
        )
    ]


def new_rows(
    label: str, value: Any, sign: str = ADDED, depth: int = 0, names: Any = None, field: str = ""
) -> list[Row]:
    """A value that is all new (a create, an added key) or all gone: text as a block of lines, each element of
    a list of objects (``field``'s, by default the label's) as its keys, anything else on one line."""
    if is_text(value):
        lines = value.split("\n")
        return [
            Row(depth, sign, label, value="|"),
            *(Row(depth + 1, sign, parts=(Part(line),)) for line in lines),
        ]
    if _objects(value) and value:
        key = ELEMENT_KEYS.get(field or label)
        labels = _labels(key, value, value)
        rows = [Row(depth, sign, label)]
        for element in value:
            rows += _element(sign, labels[id(element)], _without(element, key), depth + 1)
        return rows
    return [Row(depth, sign, label, value=value_text(value) + named(names))]


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _scalars(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(item, dict | list) for item in value)


def _element(sign: str, label: str, element: dict[str, Any], depth: int) -> list[Row]:
    rows = [Row(depth, sign, label)]
    for key, value in element.items():
        rows += new_rows(key, value, sign, depth + 1)
    return rows


def _element_rows(field: str, before: list[Any], after: list[Any], depth: int) -> list[Row]:
    """Elements paired: unchanged ones (equal) counted, then pairs sharing their naming key as changed ones
    (only their changed keys shown), the rest removed or added whole. Linear in the lists' lengths: a
    platform's list of any size renders in proportion to it."""
    key = ELEMENT_KEYS.get(field)
    old, new, unchanged = _unmatched(before, after, _sameness)
    twins: dict[Any, deque[dict[str, Any]]] = defaultdict(deque)
    for element in old:
        if (name := _name_of(element, key)) is not None:
            twins[name].append(element)
    labels = _labels(key, new, after)
    rows: list[Row] = []
    paired: set[int] = set()
    for element in new:
        name = _name_of(element, key)
        candidates = twins.get(name) if name is not None else None
        if not candidates:
            rows += _element(ADDED, labels[id(element)], _without(element, key), depth)
            continue
        twin = candidates.popleft()
        paired.add(id(twin))
        rows += [
            Row(depth, CHANGED, labels[id(element)]),
            *_key_rows(field, twin, element, depth + 1, count=False),
        ]
    gone = [element for element in old if id(element) not in paired]
    old_labels = _labels(key, gone, before)
    for element in gone:
        rows += _element(REMOVED, old_labels[id(element)], _without(element, key), depth)
    if unchanged:
        rows.append(_hidden(depth, unchanged, "element"))
    return rows


def _name_of(element: dict[str, Any], key: str | None) -> str | None:
    """The element's name under its naming key, if it has one (a non-empty string)."""
    name = element.get(key) if key is not None else None
    return name if isinstance(name, str) and name else None


def _sameness(value: Any) -> Any:
    """What two equal values share: their canonical JSON (a dict's key order does not matter)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _unmatched(
    before: list[Any], after: list[Any], same: Callable[[Any], Any]
) -> tuple[list[Any], list[Any], int]:
    """(the old values no new one equals, the new values no old one equals, how many are equal), each list in
    its order; as multisets: two equal elements on one side pair with two on the other."""
    old_keys = [same(value) for value in before]
    new_keys = [same(value) for value in after]
    common = Counter(old_keys) & Counter(new_keys)
    kept = sum(common.values())
    old_left, new_left = common.copy(), common.copy()
    old = [v for v, k in zip(before, old_keys, strict=True) if not _take(old_left, k)]
    new = [v for v, k in zip(after, new_keys, strict=True) if not _take(new_left, k)]
    return old, new, kept


def _take(pool: Counter[Any], key: Any) -> bool:
    if pool[key] > 0:
        pool[key] -= 1
        return True
    return False


def _labels(key: str | None, elements: Sequence[dict[str, Any]], whole: Sequence[Any]) -> dict[int, str]:
    """How each element is named: by its naming key's value (``end_call``), ``#2`` after it when two share one;
    by its position in its list when it has none."""
    positions = {id(item): index for index, item in enumerate(whole)}
    labels: dict[int, str] = {}
    seen: dict[str, int] = {}
    for element in elements:
        name = _name_of(element, key)
        if name is not None:
            seen[name] = seen.get(name, 0) + 1
            labels[id(element)] = name if seen[name] == 1 else f"{name} #{seen[name]}"
        else:
            labels[id(element)] = f"[{positions[id(element)]}]"
    return labels


def _without(element: dict[str, Any], key: str | None) -> dict[str, Any]:
    """An element's keys but the one that names it: its label already says it."""
    return {k: v for k, v in element.items() if k != key or not isinstance(v, str) or not v}


def _key_rows(
    field: str, before: dict[str, Any], after: dict[str, Any], depth: int, *, count: bool = True
) -> list[Row]:
    rows: list[Row] = []
    unchanged = 0
    for key, value in after.items():
        if key not in before:
            rows += new_rows(key, value, ADDED, depth)
        elif before[key] == value and type(before[key]) is type(value):
            unchanged += 1
        else:
            rows += changed_rows(key, before[key], value, depth=depth, label=key)
    for key, value in before.items():
        if key not in after:
            rows += new_rows(key, value, REMOVED, depth)
    if count and unchanged:
        rows.append(_hidden(depth, unchanged, "key"))
    return rows


def _member_rows(before: list[Any], after: list[Any], names: Names, depth: int) -> list[Row]:
    """What joined the list and what left it, each member with its name: ``+ 12 (lookup_order)``."""
    old_names = _names_by_member(before, names.before)
    new_names = _names_by_member(after, names.after)
    left, joined, kept = _unmatched(before, after, _hashable)
    rows = [Row(depth, ADDED, value=value_text(m) + named(new_names.get(_hashable(m)))) for m in joined]
    rows += [Row(depth, REMOVED, value=value_text(m) + named(old_names.get(_hashable(m)))) for m in left]
    if kept:
        rows.append(_hidden(depth, kept, "id" if all(type(m) is int for m in before) else "value"))
    return rows


def _names_by_member(members: list[Any], names: Any) -> dict[Any, Any]:
    if not isinstance(names, list) or len(names) != len(members):
        return {}
    return {_hashable(m): n for m, n in zip(members, names, strict=True)}


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else value_text(value)


def named(names: Any) -> str:
    """`` (Maya)`` beside an id, ``(lookup_order, crm_create_lead)`` beside a list of ids."""
    if isinstance(names, list):
        known = [str(n) for n in names if n]
        return f" ({', '.join(known)})" if known else ""
    return f" ({names})" if names else ""


def _hidden(depth: int, count: int, noun: str) -> Row:
    return _remark(depth, f"({counted(count, 'unchanged ' + noun)} not shown)")


def _remark(depth: int, text: str) -> Row:
    return Row(depth, SAME, value=text, remark=True)


def text_rows(before: str, after: str, depth: int) -> list[Row]:
    """Long text: the changed lines with a little unchanged context, the runs between counted; a line changed
    in place as a pair whose changed words are marked."""
    old, new = before.split("\n"), after.split("\n")
    if len(old) + len(new) > MAX_DIFF_LINES:
        too_long = f"({len(old)} lines → {len(new)} lines: too long to compare here; the JSON plan has both)"
        return [_remark(depth, too_long)]
    rows: list[Row] = []
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            rows += _context(old[i1:i2], depth, first=index == 0, last=index == len(opcodes) - 1)
        elif tag == "replace" and i2 - i1 == j2 - j1:
            for old_line, new_line in zip(old[i1:i2], new[j1:j2], strict=True):
                rows += line_pair(old_line, new_line, depth)
        else:
            rows += [Row(depth, REMOVED, parts=(Part(line),)) for line in old[i1:i2]]
            rows += [Row(depth, ADDED, parts=(Part(line),)) for line in new[j1:j2]]
    return rows


def _context(lines: list[str], depth: int, *, first: bool, last: bool) -> list[Row]:
    """An unchanged run: the lines next to a change shown, the rest counted."""
    head = [] if first else lines[:CONTEXT_LINES]
    tail = [] if last else lines[-CONTEXT_LINES:]
    if len(head) + len(tail) >= len(lines):
        return [Row(depth, SAME, parts=(Part(line),)) for line in lines]
    hidden = len(lines) - len(head) - len(tail)
    return [
        *(Row(depth, SAME, parts=(Part(line),)) for line in head),
        _hidden(depth, hidden, "line"),
        *(Row(depth, SAME, parts=(Part(line),)) for line in tail),
    ]


_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


def line_pair(before: str, after: str, depth: int) -> list[Row]:
    """A line changed in place: removed and added, the changed words marked and, in a long line, only a few
    words of the unchanged text around them kept (``…`` for the rest)."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    if len(old) + len(new) > MAX_DIFF_WORDS or matcher.ratio() < WORD_DIFF_SIMILARITY:
        return [Row(depth, REMOVED, parts=(Part(before),)), Row(depth, ADDED, parts=(Part(after),))]
    removed: list[Part] = []
    added: list[Part] = []
    for same, old_run, new_run in _runs(matcher.get_opcodes(), old, new):
        if same:
            removed.append(Part(old_run))
            added.append(Part(new_run))
            continue
        removed += _marked(old_run, REMOVED) if old_run else []
        added += _marked(new_run, ADDED) if new_run else []
    return [Row(depth, REMOVED, parts=_trimmed(removed)), Row(depth, ADDED, parts=_trimmed(added))]


def _runs(
    opcodes: Sequence[tuple[str, int, int, int, int]], old: list[str], new: list[str]
) -> list[tuple[bool, str, str]]:
    """The line as runs (unchanged?, old text, new text). A space alone between two changes joins them, so
    ``[-a minute-]`` is one change, not ``[-a-] [-minute-]``."""
    runs: list[tuple[bool, str, str]] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        old_text, new_text = "".join(old[i1:i2]), "".join(new[j1:j2])
        between = 0 < index < len(opcodes) - 1
        same = tag == "equal" and not (between and not old_text.strip())
        if runs and not same and not runs[-1][0]:
            _, old_before, new_before = runs.pop()
            old_text, new_text = old_before + old_text, new_before + new_text
        runs.append((same, old_text, new_text))
    return runs


def _marked(text: str, mark: str) -> list[Part]:
    """A changed run marked without the spaces at its edges: `` {+and the name+}`` reads better than
    ``{+ and the name+}``."""
    core = text.strip()
    if not core:
        return [Part(text, mark)]
    start = text.index(core)
    edges = [Part(text[:start]), Part(core, mark), Part(text[start + len(core) :])]
    return [part for part in edges if part.text]


def _trimmed(parts: list[Part]) -> tuple[Part, ...]:
    """The unchanged runs of a line cut to ``CONTEXT_CHARS`` next to each change, at a word's edge."""
    kept: list[Part] = []
    for index, part in enumerate(parts):
        if part.mark or len(part.text) <= 2 * CONTEXT_CHARS:
            kept.append(part)
            continue
        after_change = index > 0
        before_change = index < len(parts) - 1
        head = _head(part.text) if after_change else ""
        tail = _tail(part.text) if before_change else ""
        kept.append(Part(f"{head}…{tail}"))
    return tuple(kept)


def _head(text: str) -> str:
    cut = text[:CONTEXT_CHARS]
    space = cut.rfind(" ")
    return cut[: space + 1] if space > 0 else cut


def _tail(text: str) -> str:
    cut = text[-CONTEXT_CHARS:]
    space = cut.find(" ")
    return cut[space:] if 0 <= space < len(cut) - 1 else cut

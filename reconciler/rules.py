"""Cross-field rules of one assistant file, checked on the raw data so that they are reported together with
the per-field problems of the model. Each rule yields ``(path, message)``; the caller adds file and line.

Sources: the Update table of ``docs/api.md#update-fields`` (mode-only fields, interruptions, knowledgebase mode,
webhook) and the contract's rules on name keys and null (``docs/contract.md#name-references``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from reconciler.constraints import api_trim
from reconciler.fields import FIELD_KINDS, MODE_ONLY, MODE_ONLY_VALUES, MODES, REFERENCES
from reconciler.spec import API_FIELDS, NAME_KEYS, NULL_ALLOWED, RESERVED_VARIABLE_PREFIX
from reconciler.text import did_you_mean
from reconciler.tolerance import extra_fields_rule

Finding = tuple[tuple[str | int, ...], str]
Rule = Callable[[dict[str, Any]], Iterator[Finding]]

#: The keys whose value is a list: the list fields and the name keys standing for them.
_LISTS = {name for name, kind in FIELD_KINDS.items() if kind == "list"} | {
    key for key, (id_field, _) in REFERENCES.items() if FIELD_KINDS[id_field] == "list"
}


def _mode(data: dict[str, Any]) -> str | None:
    mode = data.get("mode")
    return mode if isinstance(mode, str) and mode in MODES else None


def _modes_text(modes: frozenset[str]) -> str:
    return " or ".join(m for m in MODES if m in modes)


def identity(data: dict[str, Any]) -> Iterator[Finding]:
    if data.get("id") is not None or "name" in data:  # a null name is no_null's to report
        return
    if "id" in data:  # id: null binds to nothing, so the file is matched by name like one without id
        yield ("id",), "is null, so the file needs a name to find its assistant on the platform"
    else:
        yield (), "needs a name (or an id) to find its assistant on the platform"


def name_or_id(data: dict[str, Any]) -> Iterator[Finding]:
    for name_key, id_key in NAME_KEYS.items():
        if name_key in data and id_key in data:
            yield (name_key,), f"give either {name_key} or {id_key}, not both"


def no_null(data: dict[str, Any]) -> Iterator[Finding]:
    for key, value in data.items():
        if value is not None or key in NULL_ALLOWED or key not in (*API_FIELDS, *NAME_KEYS):
            continue
        if key in _LISTS:
            yield (key,), "cannot be null; write [] to empty the list"
        elif key == "variables":
            yield (key,), "cannot be null; write {} to remove every variable"
        else:
            yield (key,), "cannot be null; remove the line to leave the platform's value as it is"


def mode_only_fields(data: dict[str, Any]) -> Iterator[Finding]:
    mode = _mode(data)
    for key, modes in MODE_ONLY.items():
        if key not in data:
            continue
        if "mode" not in data:
            yield (key,), f"applies only to {_modes_text(modes)} assistants; declare mode in this file"
        elif mode is not None and mode not in modes:
            yield (key,), f"applies only to {_modes_text(modes)} assistants, and this one is {mode}"


def mode_only_values(data: dict[str, Any]) -> Iterator[Finding]:
    for key, (value, modes) in MODE_ONLY_VALUES.items():
        yield from _mode_dependent_value(data, key, value, modes)


def _mode_dependent_value(
    data: dict[str, Any], key: str, value: Any, modes: frozenset[str]
) -> Iterator[Finding]:
    if data.get(key) != value or isinstance(data.get(key), bool) != isinstance(value, bool):
        return
    shown = str(value).lower() if isinstance(value, bool) else value
    mode = _mode(data)
    if "mode" not in data:
        yield (
            (key,),
            f"{shown} is allowed only for {_modes_text(modes)} assistants; declare mode in this file",
        )
    elif mode is not None and mode not in modes:
        yield (key,), f"cannot be {shown} in {mode} mode (the API refuses it)"


def webhook(data: dict[str, Any]) -> Iterator[Finding]:
    ignored = data.get("ignore_changes")
    ignored = ignored if isinstance(ignored, list) else []
    if "webhook_url" in ignored or "is_webhook_active" in ignored:
        return  # the file does not manage the pair, so the platform's URL stands
    if data.get("is_webhook_active") is True and not api_trim(str(data.get("webhook_url") or "")):
        yield ("is_webhook_active",), "is true, so webhook_url must be set in this file too"


def post_call_names(data: dict[str, Any]) -> Iterator[Finding]:
    items = data.get("post_call_schema")
    if not isinstance(items, list):
        return
    seen: set[str] = set()
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name in seen:
            yield (
                ("post_call_schema", index, "name"),
                f"{name!r} is used by an earlier item; names must be unique",
            )
        elif isinstance(name, str):
            seen.add(name)


def ignore_changes(data: dict[str, Any]) -> Iterator[Finding]:
    fields = data.get("ignore_changes")
    if not isinstance(fields, list):
        return
    for index, name in enumerate(fields):
        if not isinstance(name, str) or name in API_FIELDS:
            continue
        target = NAME_KEYS.get(name)
        hint = f"; did you mean {target!r}?" if target else did_you_mean(name, API_FIELDS)
        yield ("ignore_changes", index), f"{name!r} is not a field of the API{hint}"


def reserved_variables(data: dict[str, Any]) -> Iterator[Finding]:
    variables = data.get("variables")
    if not isinstance(variables, dict):
        return
    for key in variables:
        if isinstance(key, str) and key.startswith(RESERVED_VARIABLE_PREFIX):
            yield (
                ("variables", key),
                f"names starting with {RESERVED_VARIABLE_PREFIX} are reserved for the reconciler",
            )


RULES: tuple[Rule, ...] = (
    identity,
    name_or_id,
    no_null,
    mode_only_fields,
    mode_only_values,
    webhook,
    post_call_names,
    ignore_changes,
    reserved_variables,
    extra_fields_rule,
)


#: The rules one document answers alone: a layer is checked by them as much as an assistant file.
DOCUMENT_RULES: tuple[Rule, ...] = (name_or_id, no_null, post_call_names, ignore_changes, reserved_variables)
#: The rules of the assistant as a whole: on a file with layers they run on the merged assistant
#: (docs/contract.md#layers), since its values may come from several files.
COMBINED_RULES: tuple[Rule, ...] = tuple(rule for rule in RULES if rule not in DOCUMENT_RULES)


def check(data: dict[str, Any], rules: tuple[Rule, ...] = RULES) -> list[Finding]:
    return [finding for rule in rules for finding in rule(data)]

"""The JSON Schema (2020-12) of an assistant file, for editors (``# yaml-language-server: $schema=...``):
``reconciler schema`` prints it, and ``schema/assistant.schema.json`` is that output, committed.

Pydantic renders the model's per-field types, ranges, lengths and patterns. Editors should flag what
``validate`` refuses and nothing else, so this module adds:

- ``null`` only where the API takes it (pydantic makes every optional field nullable);
- the rules of ``rules.py`` that JSON Schema can express: mode-only fields and values, a name or an id, a name
  key or its id key, the webhook URL, ``ignore_changes`` entries, variable names;
- built-in tools chosen by ``type`` with ``if``/``then``: 2020-12 ignores the OpenAPI ``discriminator``
  pydantic writes, and a bare ``oneOf`` reports a typo only as "not valid under any of the given schemas";
- ``${NAME}`` placeholders: well formed in every string, and a string holding one skips the pattern and length
  checks, whose outcome depends on the environment (``validate --no-env`` skips them too);
- a description for every property, from ``descriptions.py``.

What JSON Schema cannot express is listed, with the reason for each, in ``tests/test_schema.py``.
"""

from __future__ import annotations

from typing import Any

from reconciler.constraints import NOT_BLANK, VARIABLE_NAME
from reconciler.descriptions import DESCRIPTIONS
from reconciler.fields import EXTRA_FIELDS_KEY, MODE_ONLY, MODE_ONLY_VALUES, MODES, READ_ONLY
from reconciler.layers import EXTENDS
from reconciler.spec import (
    API_FIELDS,
    NAME_KEYS,
    NULL_ALLOWED,
    OWN_KEYS,
    RESERVED_VARIABLE_PREFIX,
    AssistantSpec,
)
from reconciler.yamlfile import ENV_NAME

Schema = dict[str, Any]

SCHEMA_ID = "https://github.com/gloriagent/reconciler/schema/assistant.json"
_DOCUMENT = "One gloriagent.ai assistant as the reconciler manages it: one file of assistants.d/."

#: Every string the loader accepts: ``$${`` is a literal ``${``, any other ``${`` opens a ``${NAME}``.
_PLACEHOLDER_SYNTAX = rf"^(?:[^$]|\$(?!\{{)|\$\$\{{|\$\{{{ENV_NAME}\}})*$"
#: A string holding a placeholder (a ``${`` with no ``$`` before it, which would make it a literal).
_HOLDS_PLACEHOLDER = rf"(?:^|[^$])\$\{{{ENV_NAME}\}}"
#: The string checks whose outcome depends on the value behind a placeholder.
_VALUE_CHECKS = ("pattern", "minLength", "maxLength")


def json_schema() -> Schema:
    generated = AssistantSpec.model_json_schema()
    defs: dict[str, Schema] = generated["$defs"]
    properties = {
        name: _field(prop, nullable=name in NULL_ALLOWED) for name, prop in generated["properties"].items()
    }
    properties["ignore_changes"]["items"] = {"enum": list(API_FIELDS)}  # rules.ignore_changes
    properties["variables"] = _variables()
    properties[EXTRA_FIELDS_KEY] = _extra_fields(properties[EXTRA_FIELDS_KEY])
    properties["tools"]["items"] = _tool_by_type(properties["tools"]["items"], defs)
    properties[EXTENDS] = _extends()
    _describe(properties, "")
    for name, model in defs.items():
        # optional item fields (a tool's description) take null, as the model does
        model["properties"] = {key: _field(prop, nullable=None) for key, prop in model["properties"].items()}
        _describe(model["properties"], "post_call_schema." if name == "PostCallField" else "tools.")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": generated["title"],
        "description": _DOCUMENT,
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        **_rules(),
        "$defs": defs,
    }


# ---- one field ------------------------------------------------------------------------------------------------


def _field(prop: Schema, *, nullable: bool | None) -> Schema:
    """Pydantic's ``anyOf: [X, null]`` folded into X, with ``null`` kept only if ``nullable`` (None: as generated).

    One schema with a list of types reports "is not of type" and the range at the field, where ``anyOf`` says
    only "not valid under any of the given schemas".
    """
    prop = dict(prop)
    prop.pop("default", None)
    branches = prop.pop("anyOf", None)
    if branches is not None:
        kept = [b for b in branches if b != {"type": "null"}]
        (inner,) = kept  # every optional field of the model is one type or null
        prop = {**inner, **prop}
        if nullable or (nullable is None and len(kept) < len(branches)):
            prop["type"] = [inner["type"], "null"]
    return _allow_placeholders(prop)


def _allow_placeholders(prop: Schema) -> Schema:
    """Strings: placeholders well formed; one that holds a placeholder skips the checks of its value."""
    prop = dict(prop)
    if prop.get("type") == "array":
        return {**prop, "items": _allow_placeholders(prop["items"])}
    types = prop.get("type")
    if "string" not in (types if isinstance(types, list) else [types]) or "const" in prop or "enum" in prop:
        return prop  # tool types and enums stay exact, so that editors complete them
    checks = {key: prop.pop(key) for key in _VALUE_CHECKS if key in prop}
    prop["pattern"] = _PLACEHOLDER_SYNTAX
    if checks:
        prop["if"] = {"pattern": _HOLDS_PLACEHOLDER}
        prop["else"] = checks
    return prop


def _variables() -> Schema:
    """Names are checked as names (``propertyNames``): ``patternProperties`` alone lets any other name in."""
    return {
        "type": "object",
        "propertyNames": {
            "pattern": VARIABLE_NAME.schema_extra()["pattern"],
            "not": {"pattern": f"^{RESERVED_VARIABLE_PREFIX}"},
        },
        "additionalProperties": _allow_placeholders({"type": "string"}),
    }


def _tool_by_type(items: Schema, defs: dict[str, Schema]) -> Schema:
    """``type`` picks the tool's own schema, so a typo is reported as the unknown key or value it is; a type
    none of them has is a tool this version does not know (``spec.UnknownTool``): flat values, any keys."""
    refs = [branch["$ref"] for branch in items["oneOf"]]
    types = {ref: defs[ref.rsplit("/", 1)[-1]]["properties"]["type"] for ref in refs}
    known = {ref: kind["const"] for ref, kind in types.items() if "const" in kind}
    (unknown,) = set(refs) - set(known)
    kinds = list(known.values())
    # "type": "object" in each condition too, so that an item that is not a mapping gets one error, not two
    return {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {"anyOf": [{"enum": kinds}, types[unknown]]}
        },  # enum first: editors complete it
        "allOf": [
            *(
                {
                    "if": {"type": "object", "required": ["type"], "properties": {"type": {"const": kind}}},
                    "then": {"$ref": ref},
                }
                for ref, kind in known.items()
            ),
            {
                "if": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"not": {"enum": kinds}}},
                },
                "then": {"$ref": unknown},
            },
        ],
    }


def _extra_fields(prop: Schema) -> Schema:
    """Any field name the API may add, with any value; not one this version knows (tolerance.py)."""
    (names,) = prop["patternProperties"]
    known = sorted({*API_FIELDS, *NAME_KEYS, *OWN_KEYS, *READ_ONLY})
    return {
        "type": "object",
        "propertyNames": {"pattern": names, "not": {"enum": known}},
        "additionalProperties": True,
    }


def _describe(properties: dict[str, Schema], prefix: str) -> None:
    for name, prop in properties.items():
        prop["description"] = DESCRIPTIONS[prefix + name]
        if prop.get("type") == "array" and "properties" in prop["items"]:
            _describe(prop["items"]["properties"], f"{name}.")


# ---- the rules that relate fields (rules.py) ------------------------------------------------------------------


def _extends() -> Schema:
    return {"type": ["string", "array"], "minLength": 1, "items": {"type": "string", "minLength": 1}}


def _rules() -> Schema:
    """The cross-field rules. Those that need the whole assistant (a name or an id, the mode of a mode-only
    field, a webhook URL, what a mode refuses) hold for a document without ``extends`` only: a file with
    ``extends``, and every layer, is part of an assistant, and ``validate`` checks them on the merged one
    (docs/contract.md#layers). So a layer validates against this schema with every field optional once it says
    ``extends`` (``extends: []`` for one that extends nothing, such as ``_defaults.yaml``)."""
    return {
        # a name key or its id key, not both: reported at the name key, as validate does
        "dependentSchemas": {id_key: {"properties": {key: False}} for key, id_key in NAME_KEYS.items()},
        "if": {"required": [EXTENDS]},
        "else": _whole_assistant(),
    }


def _whole_assistant() -> Schema:
    return {
        # a mode-only field needs the file to say the mode
        "dependentRequired": {field: ["mode"] for field in MODE_ONLY},
        "allOf": [
            # a file finds its assistant by a (non-null) id, else by name
            {
                "if": {"required": ["id"], "properties": {"id": {"type": "integer"}}},
                "else": {"required": ["name"]},
            },
            *(_value_needs_mode(field, value) for field, (value, _modes) in MODE_ONLY_VALUES.items()),
            *(_in_mode(mode) for mode in MODES),
            _webhook_needs_url(),
        ],
    }


def _value_needs_mode(field: str, value: Any) -> Schema:
    return {"if": _holds(field, value), "then": {"required": ["mode"]}}


def _in_mode(mode: str) -> Schema:
    """What one mode refuses: the other modes' fields, and the values only other modes accept."""
    refused: dict[str, Any] = {field: False for field, modes in MODE_ONLY.items() if mode not in modes}
    refused |= {
        field: {"not": {"const": value}}
        for field, (value, modes) in MODE_ONLY_VALUES.items()
        if mode not in modes
    }
    return {"if": _holds("mode", mode), "then": {"properties": refused}}


def _webhook_needs_url() -> Schema:
    """``is_webhook_active: true`` needs a URL, unless the file leaves the pair to the platform."""
    pair = ["is_webhook_active", "webhook_url"]
    ignores_pair = {"type": "array", "contains": {"enum": pair}}
    leaves_pair = {"required": ["ignore_changes"], "properties": {"ignore_changes": ignores_pair}}
    return {
        "if": {**_holds("is_webhook_active", True), "not": leaves_pair},
        "then": {
            "required": ["webhook_url"],
            "properties": {"webhook_url": {"type": "string", "pattern": NOT_BLANK}},
        },
    }


def _holds(field: str, value: Any) -> Schema:
    return {"required": [field], "properties": {field: {"const": value}}}

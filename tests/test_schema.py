"""The committed JSON Schema agrees with ``validate``: editors flag what ``validate`` refuses, and nothing else.

Files are read with the project's own loader (YAML 1.2) and without the environment, as an editor sees them:
``${NAME}`` placeholders stay as they are written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import assistant, property_settings
from test_corpus import COMMITTED, INVALID, VALID

from reconciler.errors import Problem
from reconciler.files import load_file
from reconciler.spec import API_FIELDS
from reconciler.yamlfile import parse

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schema" / "assistant.schema.json"
EXAMPLES = ROOT / "assistants.d"
API = list(API_FIELDS)

#: Rules of ``validate`` that JSON Schema 2020-12 cannot express; the schema accepts these files.
INEXPRESSIBLE = {
    # the file name is not part of the document a schema sees
    "bad+name.yaml": "the file name rule",
    # the zone list is the machine's tz database; a committed enum would drift from it between tzdata releases
    "bad-timezone.yaml": "IANA time zone names",
    # a placeholder's value is known only where the file is applied, from the environment
    "env-secret-bad-url.yaml": "the value behind a ${NAME} placeholder",
    # whether a variable is set is known only where the file is applied
    "env-unset.yaml": "an unset environment variable",
    # JSON has no NaN, and minimum/maximum let it through because every comparison with NaN is false
    "range-nan.yaml": "NaN",
    # uniqueItems compares whole items; no keyword makes one property unique across the items of a list
    "rule-post-call-duplicate-names.yaml": "unique post-call schema names",
    # JSON Schema counts 600.0 as an integer (2020-12: a number with a zero fractional part)
    "type-whole-float-for-int.yaml": "whole-number floats where an integer is required",
}
# Across files (the same id or name in two files, a.yaml beside a.yml) no single document shows the problem,
# and the corpus holds single files only.

#: Problems of the YAML text itself: the loader stops, or drops the offending part, before there is a document
#: for a schema to check (an editor's YAML parser reports most of them on its own).
YAML_LEVEL = {
    "comments-only.yaml": "no document",
    "deep-nesting.yaml": "a nesting limit of the loader",
    "duplicate-key.yaml": "a document holds one value per key",
    "empty.yaml": "no document",
    "key-not-a-string.yaml": "a document's keys are strings",
    "merge-key.yaml": "a YAML construct",
    "not-a-mapping-list.yaml": "the loader refuses it before the schema",
    "not-a-mapping-scalar.yaml": "the loader refuses it before the schema",
    "recursive-alias.yaml": "a YAML construct",
    "several-documents.yaml": "a YAML construct",
    "tag-binary.yaml": "a YAML tag",
    "tag-custom.yaml": "a YAML tag",
    "tag-on-key.yaml": "a YAML tag",
    "yaml-syntax-mapping-value.yaml": "YAML syntax",
    "yaml-syntax-tab-indent.yaml": "YAML syntax",
    "yaml-syntax-unclosed-quote.yaml": "YAML syntax",
}
EXPRESSIBLE = sorted(set(COMMITTED) - set(INEXPRESSIBLE) - set(YAML_LEVEL))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _document(path: Path) -> dict[str, Any]:
    source, _problems = load_file(path, environ=None)
    assert source is not None, f"{path.name}: the loader gives no document"
    return source.data


def _errors(validator: jsonschema.Draft202012Validator, document: Any) -> list[tuple[str, str]]:
    """Each error as an editor shows it: where (a JSON pointer) and what."""
    found = validator.iter_errors(document)
    return sorted(("/" + "/".join(map(str, e.absolute_path)), e.message) for e in found)


def test_the_exception_lists_name_existing_corpus_files() -> None:
    assert set(INEXPRESSIBLE) <= set(COMMITTED)
    assert set(YAML_LEVEL) <= set(COMMITTED)
    assert not set(INEXPRESSIBLE) & set(YAML_LEVEL)


@pytest.mark.parametrize("name", EXPRESSIBLE)
def test_schema_refuses_every_invalid_corpus_file_it_can_express(
    name: str, validator: jsonschema.Draft202012Validator
) -> None:
    assert _errors(validator, _document(INVALID / name)) != []


@pytest.mark.parametrize("name", sorted(INEXPRESSIBLE))
def test_schema_cannot_see_the_rules_listed_as_inexpressible(
    name: str, validator: jsonschema.Draft202012Validator
) -> None:
    # when the schema learns one of these rules, this fails: take the file off the list
    assert _errors(validator, _document(INVALID / name)) == []


@pytest.mark.parametrize("name", sorted(YAML_LEVEL))
def test_yaml_level_problems_are_the_loaders(name: str) -> None:
    source, problems = load_file(INVALID / name, environ=None)
    assert source is None or problems != []


@pytest.mark.parametrize("document", [None, [], ["name", "A"], "name: A", 3])
def test_schema_refuses_a_document_that_is_not_a_mapping(
    document: Any, validator: jsonschema.Draft202012Validator
) -> None:
    assert _errors(validator, document) != []


@pytest.mark.parametrize(
    "path", sorted(VALID.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name
)
def test_schema_accepts_the_valid_corpus_and_the_examples(
    path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    assert _errors(validator, _document(path)) == []


@property_settings(examples=200)
@given(assistant("Schema"))
def test_schema_accepts_generated_valid_assistants(document: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(document)) == []


@pytest.mark.parametrize(
    ("variables", "refused"),
    [
        ({"first-name": 5}, True),
        ({"first-name": "Ann"}, True),
        ({"first name": "Ann"}, True),
        ({"1st": "Ann"}, True),
        ({"_reconciler": "x"}, True),
        ({"_reconciler_hash": "x"}, True),
        ({"count": 3}, True),
        ({"first_name": "Ann", "_private": "x", "reconciler_": "y"}, False),
    ],
)
def test_schema_checks_every_variable_name_and_value(
    variables: dict[str, Any], refused: bool, validator: jsonschema.Draft202012Validator
) -> None:
    assert (_errors(validator, {"name": "A", "variables": variables}) != []) == refused


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"name": "A", "tools": [{"type": "end_call", "descripton": "Bye."}]},
            ("/tools/0", "Additional properties are not allowed ('descripton' was unexpected)"),
        ),
        (
            {
                "name": "A",
                "tools": [{"type": "call_transfer", "phone_number": "+14155550100", "timezon": "UTC"}],
            },
            ("/tools/0", "Additional properties are not allowed ('timezon' was unexpected)"),
        ),
        (
            {"name": "A", "tools": [{"type": "calendar_integration", "calcom_api_key": "k"}]},
            ("/tools/0", "'calcom_event_slug' is a required property"),
        ),
        (  # a type this version does not know is accepted (validate warns), with flat values only
            {"name": "A", "tools": [{"type": "warm_call_transfer", "outbound_phone_id": [7]}]},
            ("/tools/0/outbound_phone_id", "[7] is not of type 'string', 'number', 'boolean', 'null'"),
        ),
        ({"name": "A", "tools": [{"description": "Bye."}]}, ("/tools/0", "'type' is a required property")),
        ({"name": "A", "tools": ["end_call"]}, ("/tools/0", "'end_call' is not of type 'object'")),
    ],
)
def test_a_tool_error_names_the_real_problem(
    document: dict[str, Any], expected: tuple[str, str], validator: jsonschema.Draft202012Validator
) -> None:
    assert _errors(validator, document) == [expected]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"type": "inbound"}, ("/", "'name' is a required property")),
        ({"name": "A", "fillers": True}, ("/", "'mode' is a dependency of 'fillers'")),
        ({"name": "A", "allow_interruptions": False}, ("/", "'mode' is a required property")),
        # A field no mode or key allows is a false schema, which yaml-language-server reports on the key as
        # "Property voice is not allowed."; the jsonschema package leaves the path of a false schema out.
        ({"name": "A", "voice": "Alloy", "voice_id": 3}, ("/", "False schema does not allow 'Alloy'")),
        ({"name": "A", "mode": "dualplex", "llm_model": "G"}, ("/", "False schema does not allow 'G'")),
        (
            {"name": "A", "mode": "pipeline", "turn_detection_threshold": 0.5},
            ("/", "False schema does not allow 0.5"),
        ),
        (
            {"name": "A", "mode": "multimodal", "allow_interruptions": False},
            ("/allow_interruptions", "False should not be valid under {'const': False}"),
        ),
        (
            {"name": "A", "mode": "dualplex", "knowledgebase_mode": "prompt"},
            ("/knowledgebase_mode", "'prompt' should not be valid under {'const': 'prompt'}"),
        ),
        ({"name": "A", "is_webhook_active": True}, ("/", "'webhook_url' is a required property")),
        ({"name": "A", "ignore_changes": ["voice"]}, ("/ignore_changes/0", f"'voice' is not one of {API}")),
    ],
)
def test_a_rule_error_names_the_rule(
    document: dict[str, Any], expected: tuple[str, str], validator: jsonschema.Draft202012Validator
) -> None:
    assert _errors(validator, document) == [expected]


@pytest.mark.parametrize(
    "document",
    [
        {"name": "A", "is_webhook_active": True, "webhook_url": " "},
        {"name": "A", "is_webhook_active": True, "webhook_url": None},
        {"name": "A", "is_webhook_active": True, "ignore_changes": None},
        {"name": "A", "system_prompt": "\u200b"},  # the API trims a zero-width space away: blank
        {"name": "A", "system_prompt": "Say ${1BAD}."},
        {"name": "A", "tools": [{"type": "end_call", "description": "Bye ${NAME"}]},
        {"name": "A", "variables": {"x": "${}"}},
        {"name": "A", "webhook_url": "ftp://hooks.example.com/x"},
    ],
)
def test_schema_refuses_what_validate_refuses_in_strings(
    document: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    assert _errors(validator, document) != []


@pytest.mark.parametrize(
    "document",
    [
        {"name": "A", "is_webhook_active": True, "webhook_url": "${HOOK_URL}"},
        {"name": "A", "webhook_url": ""},  # the API stores "" as null: clearing the URL
        {"name": "A", "webhook_url": "  https://hooks.example.com/x"},  # the API trims it
        {"name": "A", "is_webhook_active": True, "ignore_changes": ["webhook_url"]},
        {"name": "A", "phone_number": "${SUPPORT_LINE}", "voice": "${VOICE}"},
        {"name": "A", "system_prompt": "Prices as $${price}, $$${literal} and ${COMPANY}."},
        {"id": 7},
    ],
)
def test_schema_accepts_what_validate_accepts(
    document: dict[str, Any], validator: jsonschema.Draft202012Validator
) -> None:
    assert _errors(validator, document) == []


@property_settings(examples=500)
@given(
    st.lists(st.sampled_from(["$", "{", "}", "A", "1", " ", "${", "$${", "${A}", "${1}"]), max_size=8).map(
        "".join
    )
)
def test_placeholder_patterns_read_strings_as_the_loader_does(text: str) -> None:
    parsed = parse(f"system_prompt: {json.dumps(text)}\n".encode(), "a.yaml", None)
    assert not isinstance(parsed, Problem)
    malformed = any("malformed placeholder" in p.message for p in parsed.problems)
    prop = json.loads(SCHEMA_FILE.read_text())["properties"]["system_prompt"]
    assert (re.search(prop["pattern"], text) is None) == malformed
    if not malformed:
        assert (re.search(prop["if"]["pattern"], text) is not None) == (
            ("system_prompt",) in parsed.placeholders
        )


def _walk(node: Any, rules: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every schema object in ``node``, and whether it sits inside a rule (if/then/else/not) rather than
    declaring a property."""
    if isinstance(node, dict):
        yield node, rules
        for key, value in node.items():
            yield from _walk(value, rules or key in ("if", "then", "else", "not", "dependentSchemas"))
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, rules)


def test_every_property_has_a_plain_description() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    declared = [
        (name, prop)
        for node, in_rule in _walk(schema)
        if not in_rule
        for name, prop in node.get("properties", {}).items()
    ]
    assert len(declared) > len(schema["properties"])  # tools and post-call items are walked too
    assert [name for name, prop in declared if not prop.get("description")] == []
    descriptions = [
        node["description"] for node, _ in _walk(schema) if isinstance(node.get("description"), str)
    ]
    assert [text for text in descriptions if "``" in text or "`" in text] == []


def test_every_description_in_the_table_is_used() -> None:
    from reconciler.descriptions import DESCRIPTIONS

    text = SCHEMA_FILE.read_text()
    assert [key for key, value in DESCRIPTIONS.items() if json.dumps(value) not in text] == []

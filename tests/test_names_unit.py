"""Name references on their own: ``Catalog`` over a plain lookup function, ``resolve`` and ``labelled``, and the
client caching each lookup for the run (docs/api.md, lookup endpoints). End to end: test_export_e2e.py (--names)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.client import Client
from reconciler.names import Catalog, Context, Unresolved, labelled, resolve
from reconciler.plan import FieldChange

CATALOG: dict[str, Any] = {
    "/user/assistants/languages": [
        {"id": 1, "name": "English", "iso_2": "en"},
        {"id": 2, "name": "German", "iso_2": "de"},
    ],
    "/user/assistants/voices": [
        {"id": 101, "name": "Alloy"},
        {"id": 102, "name": "Echo"},
        {"id": 105, "name": "echo"},
    ],
    "/user/assistants/models": [{"id": 2, "name": "GPT-4o", "code": "gpt-4o"}],
    "/user/knowledgebases": {"data": [{"id": 9, "name": "FAQ"}]},  # a paginator, unlike the others
    "/user/assistants/phone-numbers": [{"id": 4, "phone_number": "+4930123456"}],
}
PIPELINE_EN = Context(mode="pipeline", language_id=1, type="inbound")


class Lookups:
    """A lookup function that answers from CATALOG and records what it was asked."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str] | None]] = []

    def __call__(self, path: str, params: dict[str, str] | None) -> Any:
        self.requests.append((path, params))
        return CATALOG[path]


@pytest.mark.parametrize(
    ("lookup", "name", "expected"),
    [
        ("languages", "German", 2),
        ("languages", "EN", 1),  # an iso code, any case
        ("voices", " alloy ", 101),  # trimmed, any case
        ("llm_models", "gpt-4o", 2),  # a model code
        ("knowledgebases", "faq", 9),
        ("phone_numbers", "+4930123456", 4),
    ],
)
def test_a_name_resolves_to_the_one_id_it_matches(lookup: str, name: str, expected: int) -> None:
    assert Catalog(Lookups()).resolve(lookup, name, PIPELINE_EN) == expected


@pytest.mark.parametrize(
    ("lookup", "name", "message"),
    [
        (
            "voices",
            "Echo",
            "'Echo' matches 2 voices for pipeline mode and language 1: 102 (Echo), 105 (echo); "
            "use the id field instead",
        ),
        (
            "voices",
            "Nova",
            "no voice for pipeline mode and language 1 named 'Nova'; candidates: Alloy, Echo, echo",
        ),
        ("llm_models", "gpt", "no LLM model named 'gpt'; candidates: GPT-4o"),
        ("phone_numbers", "+49301", "no phone number named '+49301'; candidates: +4930123456"),
    ],
)
def test_a_name_that_matches_none_or_several_is_refused_naming_the_candidates(
    lookup: str, name: str, message: str
) -> None:
    with pytest.raises(Unresolved) as refused:
        Catalog(Lookups()).resolve(lookup, name, PIPELINE_EN)
    assert str(refused.value) == message


def test_each_lookup_asks_its_endpoint_with_the_parameters_that_narrow_it() -> None:
    lookups = Lookups()
    catalog = Catalog(lookups)
    catalog.resolve("voices", "Alloy", PIPELINE_EN)
    catalog.resolve("voices", "Alloy", Context(mode="multimodal"))
    catalog.resolve("llm_models", "GPT-4o", PIPELINE_EN)
    catalog.resolve("knowledgebases", "FAQ", PIPELINE_EN)
    assert lookups.requests == [
        ("/user/assistants/voices", {"mode": "pipeline", "language_id": "1"}),
        ("/user/assistants/voices", {"mode": "multimodal"}),
        ("/user/assistants/models", {"type": "llm"}),
        ("/user/knowledgebases", None),
    ]


def test_resolve_turns_every_reference_into_its_id_field_language_first_and_reports_each_failure() -> None:
    lookups = Lookups()
    declared = {
        "voice": "Alloy",
        "language": "German",
        "secondary_languages": ["en", "fr"],
        "llm_model": "gpt",
    }
    values, failures = resolve(
        declared, {"mode": "pipeline", "name": "Front Desk"}, Context(), Catalog(lookups)
    )
    # a list with a failure, and a failed single reference, set no id field at all
    assert values == {"mode": "pipeline", "name": "Front Desk", "language_id": 2, "voice_id": 101}
    assert failures == [
        (("secondary_languages", 1), "no language named 'fr'; candidates: English, German"),
        (("llm_model",), "no LLM model named 'gpt'; candidates: GPT-4o"),
    ]
    # the voice is looked up for the language the same file names, resolved before it
    assert ("/user/assistants/voices", {"mode": "pipeline", "language_id": "2"}) in lookups.requests


def test_labelled_puts_the_names_of_an_id_field_beside_its_ids() -> None:
    catalog = Catalog(Lookups())
    change = labelled(FieldChange("voice_id", 101, 102), PIPELINE_EN, catalog)
    assert (change.before_name, change.after_name) == ("Alloy", "Echo")
    unknown_before = labelled(FieldChange("voice_id", None, 101, before_known=False), PIPELINE_EN, catalog)
    assert (unknown_before.before_name, unknown_before.after_name) == (None, "Alloy")
    listed = labelled(FieldChange("secondary_language_ids", [1], [1, 2, 3]), PIPELINE_EN, catalog)
    assert (listed.before_name, listed.after_name) == (["English"], ["English", "German", None])  # 3: unknown
    not_an_id = FieldChange("name", "A", "B")
    assert labelled(not_an_id, PIPELINE_EN, catalog) is not_an_id


def test_through_the_client_each_lookup_is_requested_once_per_run() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.path}?{request.url.query.decode()}")
        return httpx.Response(200, json=CATALOG[request.url.path.removeprefix("/api")])

    client = Client("https://api.test/api", "tok-unit-0123456789", transport=httpx.MockTransport(answer))
    catalog = Catalog(client.lookup)
    for _ in range(3):
        catalog.resolve("voices", "Alloy", PIPELINE_EN)
        catalog.label("voice_id", 102, PIPELINE_EN)
        catalog.unique_name("language_id", 1, PIPELINE_EN)
    catalog.resolve("voices", "Alloy", Context(mode="pipeline", language_id=2))  # other parameters: asked too
    assert seen == [
        "/api/user/assistants/voices?mode=pipeline&language_id=1",
        "/api/user/assistants/languages?",
        "/api/user/assistants/voices?mode=pipeline&language_id=2",
    ]

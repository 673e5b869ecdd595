"""The API emulator over real HTTP: every endpoint, status and body of the contract, driven through httpx.

The contract is ``docs/api.md`` plus the emulator issue: Laravel shapes for 401/404/422/429/500,
the seed's exact 422 messages, partial updates of the merged state, the read shape versus the stored write shape,
SQLite state shared by concurrent requests, and the seeded faults.

The demo seed creates, in this order (so ids 1, 2, 3): "Sales Assistant" (outbound pipeline), "Support Line"
(inbound multimodal on number 501, webhook active) and "Legacy Survey" (outbound pipeline, no webhook).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator.catalog import (
    DEMO_ASSISTANTS,
    KNOWLEDGEBASES,
    LANGUAGES,
    PHONE_NUMBERS,
    TOOLS,
    VOICES,
)
from reconciler.emulator.server import EmulatorOptions, running_emulator
from reconciler.spec import API_FIELDS

TOKEN = "t0ken"
SALES, SUPPORT, SURVEY = 1, 2, 3
DEMO_NAMES = ["Sales Assistant", "Support Line", "Legacy Survey"]

READ_ONLY = frozenset(
    {"id", "uuid", "status", "user_id", "created_at", "updated_at", "deleted_at", "language"}
)
WRITE_ONLY = frozenset(
    {
        "tool_ids",
        "secondary_language_ids",
        "chat_llm_fallback_id",
        "turn_detection_threshold",
        "tts_emotion_enabled",
        "reengagement_prompt",
        "voice_mail_message",
    }
)
DECIMAL_STRINGS = (
    "llm_temperature",
    "voice_stability",
    "voice_similarity",
    "speech_speed",
    "ambient_sound_volume",
)
ZERO_ONE = ("fillers", "end_call_on_voicemail")
PIPELINE_ONLY = ("llm_model_id", "transcriber_provider_id", "fillers")
REALTIME_ONLY = ("multimodal_model_id", "chat_llm_fallback_id", "turn_detection_threshold")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")

# What create stores for every field the body leaves out (the API page's defaults; lists [], variables {}, the
# other nullable fields null).
DEFAULTS: dict[str, Any] = {
    "tts_emotion_enabled": True,
    "voice_stability": 0.7,
    "voice_similarity": 0.5,
    "speech_speed": 1.0,
    "llm_temperature": 0.1,
    "allow_interruptions": True,
    "fillers": False,
    "record": False,
    "enable_noise_cancellation": True,
    "wait_for_customer": False,
    "max_duration": 600,
    "max_silence_duration": 40,
    "ringing_time": 30,
    "reengagement_interval": 30,
    "end_call_on_voicemail": True,
    "endpoint_type": "vad",
    "endpoint_sensitivity": 0.5,
    "interrupt_sensitivity": 0.5,
    "ambient_sound": "off",
    "ambient_sound_volume": 0.5,
    "is_webhook_active": False,
    "send_webhook_only_on_completed": True,
    "include_recording_in_webhook": True,
    "post_call_evaluation": True,
    "secondary_language_ids": [],
    "tool_ids": [],
    "tools": [],
    "post_call_schema": [],
    "variables": {},
    "llm_model_id": None,
    "multimodal_model_id": None,
    "chat_llm_fallback_id": None,
    "turn_detection_threshold": None,
    "synthesizer_provider_id": None,
    "transcriber_provider_id": None,
    "knowledgebase_id": None,
    "phone_number_id": None,
    "max_initial_silence_duration": None,
    "reengagement_prompt": None,
    "voice_mail_message": None,
    "webhook_url": None,
    "min_interrupt_words": None,
}

PIPELINE_BODY: dict[str, Any] = {
    "name": "New Pipeline",
    "voice_id": 101,
    "language_id": 1,
    "type": "outbound",
    "mode": "pipeline",
    "timezone": "Europe/Berlin",
    "initial_message": "Hello there.",
    "system_prompt": "You are a test assistant.",
    "llm_model_id": 2,
}
MULTIMODAL_BODY: dict[str, Any] = {
    **{k: v for k, v in PIPELINE_BODY.items() if k != "llm_model_id"},
    "name": "New Multimodal",
    "mode": "multimodal",
    "voice_id": 201,
    "multimodal_model_id": 2,
}
DUALPLEX_BODY: dict[str, Any] = {
    **MULTIMODAL_BODY,
    "name": "New Dualplex",
    "mode": "dualplex",
    "voice_id": 302,
    "multimodal_model_id": 4,
}


class OneOf:
    """A value the contract leaves open between a few choices (``knowledgebase_mode``'s default)."""

    def __init__(self, *choices: Any) -> None:
        self.choices = choices

    def __eq__(self, other: object) -> bool:
        return other in self.choices

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"OneOf{self.choices!r}"


def attr(field: str) -> str:
    return field.replace("_", " ")


def one_error(field: str, message: str) -> dict[str, Any]:
    return {"message": message, "errors": {field: [message]}}


def between(field: str, low: float, high: float) -> str:
    return f"The {attr(field)} must be between {low:g} and {high:g}."


# The contract leaves two stored values open: ``knowledgebase_mode`` when not given, and ``fillers`` outside
# pipeline mode ("the others null/false").
REALTIME_FILLERS = OneOf(None, False)


def expected_stored(body: dict[str, Any]) -> dict[str, Any]:
    """The write shape create stores for ``body``: the body over the defaults."""
    open_values: dict[str, Any] = {"knowledgebase_mode": OneOf(None, "function_call")}
    if body["mode"] != "pipeline":
        open_values["fillers"] = REALTIME_FILLERS
    stored = {**DEFAULTS, **open_values, **body}
    assert set(stored) == set(API_FIELDS)
    return stored


class Api:
    """A real httpx client on the emulator's base URL, with the bearer token and ``Accept: application/json``."""

    def __init__(self, base_url: str, token: str = TOKEN) -> None:
        self.base_url = base_url
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=15,
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def create(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.post("/user/assistant", json=body)

    def update(self, assistant_id: int, body: Any, method: str = "PUT") -> httpx.Response:
        return self.http.request(method, f"/user/assistant/{assistant_id}", json=body)

    def delete(self, assistant_id: int) -> httpx.Response:
        return self.http.delete(f"/user/assistant/{assistant_id}")

    def all(self) -> list[dict[str, Any]]:
        response = self.get("/user/assistants/get", per_page=100)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["last_page"] == 1, "tests keep fewer than 100 assistants"
        return list(body["data"])

    def item(self, assistant_id: int) -> dict[str, Any]:
        found = [a for a in self.all() if a["id"] == assistant_id]
        assert len(found) == 1, f"assistant {assistant_id} listed {len(found)} times"
        return found[0]

    def stored(self, assistant_id: int) -> dict[str, Any]:
        """The write-shape fields of one assistant (symmetric read mode only)."""
        return {k: v for k, v in self.item(assistant_id).items() if k not in READ_ONLY}

    def ok_update(self, assistant_id: int, body: dict[str, Any], method: str = "PUT") -> dict[str, Any]:
        response = self.update(assistant_id, body, method)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def close(self) -> None:
        self.http.close()


@contextmanager
def emulator(**options: Any) -> Iterator[Api]:
    options.setdefault("token", TOKEN)
    with running_emulator(EmulatorOptions(**options)) as base_url:
        api = Api(base_url)
        try:
            yield api
        finally:
            api.close()


# ---- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Iterator[Api]:
    """A demo emulator in the read shape, shared by the tests that only read."""
    with emulator() as api:
        yield api


@pytest.fixture(scope="module")
def demo_symmetric() -> Iterator[Api]:
    """A demo emulator in the symmetric read mode, shared by the tests that only read."""
    with emulator(read_mode="symmetric") as api:
        yield api


@pytest.fixture
def fresh() -> Iterator[Api]:
    """A demo emulator of its own, symmetric (reads return what is stored), for a test that writes."""
    with emulator(read_mode="symmetric") as api:
        yield api


@pytest.fixture
def fresh_read() -> Iterator[Api]:
    """A demo emulator of its own in the documented read shape, for a test that writes."""
    with emulator() as api:
        yield api


# ---- the seed ---------------------------------------------------------------------------------------------


def test_demo_seed_lists_three_assistants_in_id_order(demo: Api) -> None:
    items = demo.all()
    assert [(a["id"], a["name"]) for a in items] == list(
        zip([SALES, SUPPORT, SURVEY], DEMO_NAMES, strict=True)
    )
    assert [a["status"] for a in items] == ["inactive"] * 3


@pytest.mark.parametrize(("assistant_id", "index"), [(SALES, 0), (SUPPORT, 1), (SURVEY, 2)])
def test_symmetric_read_returns_exactly_the_stored_write_shape(
    demo_symmetric: Api, assistant_id: int, index: int
) -> None:
    item = demo_symmetric.item(assistant_id)
    assert set(item) == set(API_FIELDS) | READ_ONLY
    assert {k: v for k, v in item.items() if k not in READ_ONLY} == expected_stored(DEMO_ASSISTANTS[index])


def test_read_only_fields(demo_symmetric: Api) -> None:
    item = demo_symmetric.item(SUPPORT)
    assert item["id"] == SUPPORT
    assert item["status"] == "inactive"
    assert item["deleted_at"] is None
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", item["uuid"])
    assert TIMESTAMP.fullmatch(item["created_at"]), item["created_at"]
    assert TIMESTAMP.fullmatch(item["updated_at"]), item["updated_at"]
    assert len({a["uuid"] for a in demo_symmetric.all()}) == 3


# ---- auth and the Accept header ---------------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/user/assistants/get", None),
    ("POST", "/user/assistant", PIPELINE_BODY),
    ("PUT", f"/user/assistant/{SALES}", {"name": "Hijacked"}),
    ("PATCH", f"/user/assistant/{SALES}", {"name": "Hijacked"}),
    ("PUT", "/user/assistant/999", {"name": "Hijacked"}),
    ("DELETE", f"/user/assistant/{SALES}", None),
    ("GET", "/user/assistants/voices", None),
    ("GET", "/user/assistants/languages", None),
    ("GET", "/user/assistants/models?type=llm", None),
    ("GET", "/user/assistants/phone-numbers?type=inbound", None),
    ("GET", "/user/assistants/synthesizer-providers", None),
    ("GET", "/user/assistants/transcriber-providers", None),
    ("GET", "/user/tools", None),
    ("GET", "/user/knowledgebases", None),
]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "Bearer", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x"],
)
def test_missing_or_wrong_token_is_401(demo: Api, authorization: str | None) -> None:
    headers = {"Accept": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = httpx.get(demo.base_url + "/user/assistants/get", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_needs_the_token_and_writes_nothing_without_it(
    fresh: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = fresh.all()
    response = httpx.request(
        method,
        fresh.base_url + path,
        json=body,
        headers={"Authorization": "Bearer nope", "Accept": "application/json"},
    )
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert fresh.all() == before


def test_401_without_accept_json_redirects_to_login(demo: Api) -> None:
    response = httpx.get(demo.base_url + "/user/assistants/get", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 302
    assert response.headers["location"].endswith("/login")
    assert response.headers["content-type"].startswith("text/html")


def test_422_without_accept_json_redirects_with_html(fresh: Api) -> None:
    before = fresh.stored(SALES)
    response = httpx.put(
        fresh.base_url + f"/user/assistant/{SALES}",
        json={"speech_speed": 9},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 302
    assert "location" in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert fresh.stored(SALES) == before


def test_successful_get_without_accept_json_still_returns_json(demo: Api) -> None:
    response = httpx.get(demo.base_url + "/user/assistants/get", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["total"] == 3


def test_default_token_is_emulator_token() -> None:
    with running_emulator(EmulatorOptions()) as base_url:
        ok = httpx.get(
            base_url + "/user/assistants/get",
            headers={"Authorization": "Bearer emulator-token", "Accept": "application/json"},
        )
    assert ok.status_code == 200
    assert ok.json()["total"] == 3


# ---- the list ---------------------------------------------------------------------------------------------


def test_list_default_page(demo: Api) -> None:
    response = demo.get("/user/assistants/get")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert {k: body[k] for k in ("current_page", "per_page", "total", "last_page")} == {
        "current_page": 1,
        "per_page": 10,
        "total": 3,
        "last_page": 1,
    }
    assert [a["name"] for a in body["data"]] == DEMO_NAMES


@pytest.mark.parametrize(("asked", "used"), [(500, 100), (101, 100), (100, 100), (2, 2)])
def test_list_per_page_is_capped_at_100(demo: Api, asked: int, used: int) -> None:
    body = demo.get("/user/assistants/get", per_page=asked).json()
    assert body["per_page"] == used
    assert body["last_page"] == (3 + used - 1) // used


@pytest.mark.parametrize(
    ("page", "names", "current"),
    [(1, DEMO_NAMES[:2], 1), (2, DEMO_NAMES[2:], 2), (3, [], 3), (50, [], 50)],
)
def test_list_pages(demo: Api, page: int, names: list[str], current: int) -> None:
    response = demo.get("/user/assistants/get", per_page=2, page=page)
    assert response.status_code == 200
    body = response.json()
    assert [a["name"] for a in body["data"]] == names
    assert (body["current_page"], body["per_page"], body["total"], body["last_page"]) == (current, 2, 3, 2)


def test_list_orders_by_id_after_writes(fresh: Api) -> None:
    created = fresh.create({**PIPELINE_BODY, "name": "Aardvark"}).json()["data"]["id"]
    fresh.ok_update(SALES, {"name": "Zulu"})
    assert [a["id"] for a in fresh.all()] == [SALES, SUPPORT, SURVEY, created]


# ---- create -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [PIPELINE_BODY, MULTIMODAL_BODY, DUALPLEX_BODY], ids=lambda b: b["mode"])
def test_create_returns_201_and_stores_the_defaults(fresh: Api, body: dict[str, Any]) -> None:
    response = fresh.create(body)
    assert response.status_code == 201, response.text
    created = response.json()
    new_id = created["data"]["id"]
    assert isinstance(new_id, int)
    assert new_id > SURVEY
    assert created == {
        "message": "Assistant created successfully",
        "data": {
            "id": new_id,
            "name": body["name"],
            "status": "inactive",
            "type": "outbound",
            "mode": body["mode"],
        },
    }
    item = fresh.item(new_id)
    assert set(item) == set(API_FIELDS) | READ_ONLY
    assert item["status"] == "inactive"
    assert item["deleted_at"] is None
    assert TIMESTAMP.fullmatch(item["created_at"])
    assert item["created_at"] == item["updated_at"]
    assert fresh.stored(new_id) == expected_stored(body)
    assert fresh.get("/user/assistants/get").json()["total"] == 4


def test_create_with_every_field(fresh: Api) -> None:
    body = {
        **PIPELINE_BODY,
        "secondary_language_ids": [2, 4],
        "synthesizer_provider_id": 2,
        "transcriber_provider_id": 2,
        "variables": {"first_name": "Ana"},
        "knowledgebase_id": 11,
        "knowledgebase_mode": "prompt",
        "tool_ids": [32, 31],
        "tools": [
            {
                "type": "call_transfer",
                "phone_number": "+14155550199",
                "description": "Transfer to sales.",
                "custom": False,
                "timezone": "Europe/Berlin",
            },
            {"type": "end_call", "description": "Hang up."},
            {"type": "dtmf_input", "description": "Read digits."},
            {"type": "calendar_integration", "calcom_api_key": "cal_live_x", "calcom_event_slug": "intro"},
        ],
        "tts_emotion_enabled": False,
        "voice_stability": 0.2,
        "voice_similarity": 0.9,
        "speech_speed": 1.2,
        "llm_temperature": 0.0,
        "allow_interruptions": False,
        "fillers": True,
        "record": True,
        "enable_noise_cancellation": False,
        "wait_for_customer": True,
        "endpoint_type": "ai",
        "endpoint_sensitivity": 5,
        "interrupt_sensitivity": 0,
        "min_interrupt_words": 10,
        "ambient_sound": "crowded_room",
        "ambient_sound_volume": 1,
        "max_duration": 1200,
        "max_silence_duration": 360,
        "max_initial_silence_duration": 120,
        "ringing_time": 60,
        "reengagement_interval": 7,
        "reengagement_prompt": "Are you still there?",
        "phone_number_id": 504,
        "end_call_on_voicemail": False,
        "voice_mail_message": "Call us back.",
        "is_webhook_active": True,
        "webhook_url": "https://hooks.example.com/x",
        "send_webhook_only_on_completed": False,
        "include_recording_in_webhook": False,
        "post_call_evaluation": False,
        "post_call_schema": [
            {"name": "booked", "type": "bool", "description": "Whether a call was booked."},
            {"name": "score_1", "type": "number", "description": "Score."},
        ],
    }
    response = fresh.create(body)
    assert response.status_code == 201, response.text
    assert fresh.stored(response.json()["data"]["id"]) == expected_stored(body)


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({**PIPELINE_BODY, "status": "active"}, "New Pipeline"),
        ({**PIPELINE_BODY, "id": 77, "uuid": "x", "user_id": 9, "unknown_key": 1}, "New Pipeline"),
    ],
    ids=["status", "read-only-and-unknown"],
)
def test_create_ignores_status_and_unknown_keys(fresh: Api, body: dict[str, Any], name: str) -> None:
    response = fresh.create(body)
    assert response.status_code == 201, response.text
    new_id = response.json()["data"]["id"]
    assert new_id != 77
    item = fresh.item(new_id)
    assert item["status"] == "inactive"
    assert item["name"] == name
    assert "unknown_key" not in item
    assert fresh.stored(new_id) == expected_stored(PIPELINE_BODY)


def test_create_with_no_body_lists_every_required_field(fresh: Api) -> None:
    response = fresh.create({})
    assert response.status_code == 422
    required = [
        "name",
        "voice_id",
        "language_id",
        "type",
        "mode",
        "timezone",
        "initial_message",
        "system_prompt",
    ]
    assert response.json() == {
        "message": "The name field is required. (and 7 more errors)",
        "errors": {field: [f"The {attr(field)} field is required."] for field in required},
    }
    assert fresh.get("/user/assistants/get").json()["total"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in PIPELINE_BODY.items() if k != "llm_model_id"}, "llm_model_id"),
        ({k: v for k, v in MULTIMODAL_BODY.items() if k != "multimodal_model_id"}, "multimodal_model_id"),
        ({k: v for k, v in DUALPLEX_BODY.items() if k != "multimodal_model_id"}, "multimodal_model_id"),
        ({**PIPELINE_BODY, "llm_model_id": None}, "llm_model_id"),
        ({**PIPELINE_BODY, "name": "   "}, "name"),
        ({**PIPELINE_BODY, "system_prompt": ""}, "system_prompt"),
        ({**PIPELINE_BODY, "timezone": None}, "timezone"),
    ],
    ids=[
        "pipeline-llm",
        "multimodal-model",
        "dualplex-model",
        "null-llm",
        "blank-name",
        "empty-prompt",
        "null-tz",
    ],
)
def test_create_requires_per_mode(fresh: Api, body: dict[str, Any], field: str) -> None:
    response = fresh.create(body)
    assert response.status_code == 422
    assert response.json() == one_error(field, f"The {attr(field)} field is required.")
    assert fresh.get("/user/assistants/get").json()["total"] == 3


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {**PIPELINE_BODY, "voice_id": 201},
            "voice_id",
            "The selected voice is not compatible with the chosen engine type.",
        ),
        ({**PIPELINE_BODY, "voice_id": 999}, "voice_id", "The selected voice id is invalid."),
        (
            {**MULTIMODAL_BODY, "llm_model_id": 1},
            "llm_model_id",
            "The llm model id field is prohibited unless mode is pipeline.",
        ),
        (
            {**MULTIMODAL_BODY, "allow_interruptions": False},
            "allow_interruptions",
            "Interruptions cannot be disabled in multimodal or dualplex mode.",
        ),
        (
            {**DUALPLEX_BODY, "multimodal_model_id": 2},
            "multimodal_model_id",
            "The selected multimodal model id is invalid.",
        ),
        (
            {**MULTIMODAL_BODY, "multimodal_model_id": 3},
            "multimodal_model_id",
            "The selected multimodal model id is invalid.",
        ),
        (
            {**PIPELINE_BODY, "type": "inbound", "phone_number_id": 501},
            "phone_number_id",
            "The phone number is already used by another inbound assistant.",
        ),
        (
            {**PIPELINE_BODY, "type": "inbound", "phone_number_id": 503},
            "phone_number_id",
            "A Caller ID number cannot be used for an inbound assistant.",
        ),
        (
            {**PIPELINE_BODY, "is_webhook_active": True},
            "webhook_url",
            "The webhook url field is required when is webhook active is true.",
        ),
    ],
    ids=[
        "voice-mode",
        "voice-missing",
        "prohibited",
        "interruptions",
        "dualplex-model",
        "multimodal-model",
        "inbound-used",
        "inbound-caller-id",
        "webhook",
    ],
)
def test_create_validates_like_update(fresh: Api, body: dict[str, Any], field: str, message: str) -> None:
    response = fresh.create(body)
    assert response.status_code == 422
    assert response.json() == one_error(field, message)
    assert fresh.get("/user/assistants/get").json()["total"] == 3


@pytest.mark.parametrize(("phone", "kind"), [(501, "outbound"), (503, "outbound"), (504, "inbound")])
def test_create_accepts_valid_phone_numbers(fresh: Api, phone: int, kind: str) -> None:
    response = fresh.create({**PIPELINE_BODY, "type": kind, "phone_number_id": phone})
    assert response.status_code == 201, response.text
    assert fresh.stored(response.json()["data"]["id"])["phone_number_id"] == phone


def test_create_is_not_idempotent(fresh: Api) -> None:
    first = fresh.create(PIPELINE_BODY).json()["data"]["id"]
    second = fresh.create(PIPELINE_BODY).json()["data"]["id"]
    assert first != second
    assert [a["name"] for a in fresh.all()].count("New Pipeline") == 2


def test_create_reports_several_errors_with_the_count(fresh: Api) -> None:
    body = {**PIPELINE_BODY, "voice_id": 999, "language_id": 99, "tool_ids": [31, 40]}
    response = fresh.create(body)
    assert response.status_code == 422
    errors = {
        "voice_id": ["The selected voice id is invalid."],
        "language_id": ["The selected language id is invalid."],
        "tool_ids.1": ["The selected tool ids.1 is invalid."],
    }
    assert response.json() == {
        "message": "The selected voice id is invalid. (and 2 more errors)",
        "errors": errors,
    }


# ---- update and delete ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_returns_200_and_changes_only_the_keys_in_the_body(fresh: Api, method: str) -> None:
    before = fresh.item(SUPPORT)
    response = fresh.update(SUPPORT, {"name": "Support Line 2", "record": False}, method)
    assert response.status_code == 200
    assert response.json() == {
        "message": "Assistant updated successfully",
        "data": {
            "id": SUPPORT,
            "name": "Support Line 2",
            "status": "inactive",
            "type": "inbound",
            "mode": "multimodal",
        },
    }
    after = fresh.item(SUPPORT)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"name", "record", "updated_at"}
    assert (after["name"], after["record"]) == ("Support Line 2", False)
    assert after["created_at"] == before["created_at"]
    assert after["uuid"] == before["uuid"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_leaves_other_assistants_alone(fresh: Api, method: str) -> None:
    others = [fresh.item(SALES), fresh.item(SURVEY)]
    fresh.ok_update(SUPPORT, {"max_duration": 900}, method)
    assert [fresh.item(SALES), fresh.item(SURVEY)] == others


@pytest.mark.parametrize(
    "body",
    [{"status": "active"}, {"unknown_key": "x", "id": 99, "uuid": "u", "user_id": 5, "created_at": "2020"}],
    ids=["status", "unknown-and-read-only"],
)
def test_update_ignores_status_and_unknown_keys(fresh: Api, body: dict[str, Any]) -> None:
    before = fresh.item(SALES)
    response = fresh.update(SALES, body)
    assert response.status_code == 200
    assert response.json()["data"] == {
        "id": SALES,
        "name": "Sales Assistant",
        "status": "inactive",
        "type": "outbound",
        "mode": "pipeline",
    }
    after = fresh.item(SALES)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert [a["id"] for a in fresh.all()] == [SALES, SUPPORT, SURVEY]


def test_update_with_empty_body_changes_nothing_but_updated_at(fresh: Api) -> None:
    before = fresh.item(SURVEY)
    fresh.ok_update(SURVEY, {})
    after = fresh.item(SURVEY)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert after["updated_at"] > before["updated_at"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/user/assistant/999", {"name": "x"}),
        ("PATCH", "/user/assistant/999", {"name": "x"}),
        ("DELETE", "/user/assistant/999", None),
        ("PUT", "/user/assistant/0", {}),
    ],
)
def test_unknown_assistant_is_404(demo: Api, method: str, path: str, body: dict[str, Any] | None) -> None:
    response = demo.http.request(method, path, json=body)
    assert response.status_code == 404
    assert response.json() == {"message": "Assistant not found"}


def test_delete_removes_the_assistant(fresh: Api) -> None:
    response = fresh.delete(SUPPORT)
    assert response.status_code == 200
    assert response.json() == {"message": "Assistant deleted successfully"}
    assert [a["id"] for a in fresh.all()] == [SALES, SURVEY]
    assert fresh.get("/user/assistants/get").json()["total"] == 2
    for again in (
        fresh.delete(SUPPORT),
        fresh.update(SUPPORT, {"name": "x"}),
        fresh.update(SUPPORT, {}, "PATCH"),
    ):
        assert again.status_code == 404
        assert again.json() == {"message": "Assistant not found"}


def test_deleted_ids_are_not_reused(fresh: Api) -> None:
    created = fresh.create(PIPELINE_BODY).json()["data"]["id"]
    assert fresh.delete(created).status_code == 200
    assert fresh.create(PIPELINE_BODY).json()["data"]["id"] > created


def test_deleting_an_inbound_assistant_frees_its_number(fresh: Api) -> None:
    assert fresh.delete(SUPPORT).status_code == 200
    fresh.ok_update(SALES, {"type": "inbound", "phone_number_id": 501})
    assert fresh.stored(SALES)["phone_number_id"] == 501


# ---- validation: one rule each, exact 422 body, nothing written -------------------------------------------

CASES: list[tuple[str, int, Any, str, str]] = [
    # lengths and types
    (
        "name-long",
        SALES,
        {"name": "x" * 256},
        "name",
        "The name field must not be greater than 255 characters.",
    ),
    ("name-int", SALES, {"name": 42}, "name", "The name field must be a string."),
    (
        "prompt-list",
        SALES,
        {"system_prompt": ["a"]},
        "system_prompt",
        "The system prompt field must be a string.",
    ),
    (
        "initial-long",
        SALES,
        {"initial_message": "x" * 201},
        "initial_message",
        "The initial message field must not be greater than 200 characters.",
    ),
    (
        "reengagement-long",
        SALES,
        {"reengagement_prompt": "x" * 1001},
        "reengagement_prompt",
        "The reengagement prompt field must not be greater than 1000 characters.",
    ),
    (
        "voicemail-long",
        SALES,
        {"voice_mail_message": "y" * 1001},
        "voice_mail_message",
        "The voice mail message field must not be greater than 1000 characters.",
    ),
    # the seed's ranges
    (
        "speed-high",
        SALES,
        {"speech_speed": 1.5},
        "speech_speed",
        "The speech speed must be between 0.7 and 1.2.",
    ),
    ("speed-low", SALES, {"speech_speed": 0.69}, "speech_speed", between("speech_speed", 0.7, 1.2)),
    ("stability", SALES, {"voice_stability": 1.01}, "voice_stability", between("voice_stability", 0, 1)),
    ("similarity", SALES, {"voice_similarity": -0.01}, "voice_similarity", between("voice_similarity", 0, 1)),
    ("temperature", SALES, {"llm_temperature": 1.5}, "llm_temperature", between("llm_temperature", 0, 1)),
    (
        "volume",
        SALES,
        {"ambient_sound_volume": 2},
        "ambient_sound_volume",
        between("ambient_sound_volume", 0, 1),
    ),
    (
        "turn-threshold",
        SUPPORT,
        {"turn_detection_threshold": 1.1},
        "turn_detection_threshold",
        between("turn_detection_threshold", 0, 1),
    ),
    (
        "endpoint-sens",
        SALES,
        {"endpoint_sensitivity": 5.5},
        "endpoint_sensitivity",
        between("endpoint_sensitivity", 0, 5),
    ),
    (
        "interrupt-sens",
        SALES,
        {"interrupt_sensitivity": -1},
        "interrupt_sensitivity",
        between("interrupt_sensitivity", 0, 5),
    ),
    ("duration-low", SALES, {"max_duration": 19}, "max_duration", between("max_duration", 20, 1200)),
    ("duration-high", SALES, {"max_duration": 1201}, "max_duration", between("max_duration", 20, 1200)),
    (
        "silence-low",
        SALES,
        {"max_silence_duration": 0},
        "max_silence_duration",
        between("max_silence_duration", 1, 360),
    ),
    (
        "silence-high",
        SALES,
        {"max_silence_duration": 361},
        "max_silence_duration",
        between("max_silence_duration", 1, 360),
    ),
    (
        "initial-silence-low",
        SALES,
        {"max_initial_silence_duration": 0},
        "max_initial_silence_duration",
        between("max_initial_silence_duration", 1, 120),
    ),
    (
        "initial-silence-high",
        SALES,
        {"max_initial_silence_duration": 121},
        "max_initial_silence_duration",
        between("max_initial_silence_duration", 1, 120),
    ),
    ("ringing-low", SALES, {"ringing_time": 0}, "ringing_time", between("ringing_time", 1, 60)),
    ("ringing-high", SALES, {"ringing_time": 61}, "ringing_time", between("ringing_time", 1, 60)),
    (
        "reengage-low",
        SALES,
        {"reengagement_interval": 6},
        "reengagement_interval",
        between("reengagement_interval", 7, 600),
    ),
    (
        "reengage-high",
        SALES,
        {"reengagement_interval": 601},
        "reengagement_interval",
        between("reengagement_interval", 7, 600),
    ),
    (
        "words-low",
        SALES,
        {"min_interrupt_words": -1},
        "min_interrupt_words",
        between("min_interrupt_words", 0, 10),
    ),
    (
        "words-high",
        SALES,
        {"min_interrupt_words": 11},
        "min_interrupt_words",
        between("min_interrupt_words", 0, 10),
    ),
    # types
    (
        "speed-word",
        SALES,
        {"speech_speed": "fast"},
        "speech_speed",
        "The speech speed field must be a number.",
    ),
    (
        "temp-bool",
        SALES,
        {"llm_temperature": True},
        "llm_temperature",
        "The llm temperature field must be a number.",
    ),
    (
        "duration-frac",
        SALES,
        {"max_duration": 60.5},
        "max_duration",
        "The max duration field must be an integer.",
    ),
    (
        "duration-word",
        SALES,
        {"max_duration": "ten"},
        "max_duration",
        "The max duration field must be an integer.",
    ),
    ("voice-word", SALES, {"voice_id": "abc"}, "voice_id", "The voice id field must be an integer."),
    ("record-yes", SALES, {"record": "yes"}, "record", "The record field must be true or false."),
    ("record-true-string", SALES, {"record": "true"}, "record", "The record field must be true or false."),
    (
        "interrupt-2",
        SALES,
        {"allow_interruptions": 2},
        "allow_interruptions",
        "The allow interruptions field must be true or false.",
    ),
    ("tools-string", SALES, {"tools": "end_call"}, "tools", "The tools field must be an array."),
    ("tool-ids-int", SALES, {"tool_ids": 31}, "tool_ids", "The tool ids field must be an array."),
    (
        "languages-string",
        SALES,
        {"secondary_language_ids": "2"},
        "secondary_language_ids",
        "The secondary language ids field must be an array.",
    ),
    (
        "schema-string",
        SALES,
        {"post_call_schema": "x"},
        "post_call_schema",
        "The post call schema field must be an array.",
    ),
    ("variables-string", SALES, {"variables": "x"}, "variables", "The variables field must be an array."),
    # enums and formats
    ("type", SALES, {"type": "both"}, "type", "The selected type is invalid."),
    ("mode", SALES, {"mode": "hybrid"}, "mode", "The selected mode is invalid."),
    (
        "endpoint-type",
        SALES,
        {"endpoint_type": "auto"},
        "endpoint_type",
        "The selected endpoint type is invalid.",
    ),
    ("ambient", SALES, {"ambient_sound": "ofice"}, "ambient_sound", "The selected ambient sound is invalid."),
    (
        "kb-mode",
        SALES,
        {"knowledgebase_mode": "vector"},
        "knowledgebase_mode",
        "The selected knowledgebase mode is invalid.",
    ),
    (
        "timezone",
        SALES,
        {"timezone": "Mars/Olympus"},
        "timezone",
        "The timezone field must be a valid timezone.",
    ),
    (
        "webhook-url",
        SALES,
        {"webhook_url": "not a url"},
        "webhook_url",
        "The webhook url field must be a valid URL.",
    ),
    # required strings: "" and whitespace become null
    ("name-empty", SALES, {"name": ""}, "name", "The name field is required."),
    ("name-blank", SALES, {"name": "   "}, "name", "The name field is required."),
    ("name-null", SALES, {"name": None}, "name", "The name field is required."),
    ("prompt-empty", SALES, {"system_prompt": ""}, "system_prompt", "The system prompt field is required."),
    (
        "initial-blank",
        SALES,
        {"initial_message": " \n "},
        "initial_message",
        "The initial message field is required.",
    ),
    ("timezone-empty", SALES, {"timezone": ""}, "timezone", "The timezone field is required."),
    ("type-null", SALES, {"type": None}, "type", "The type field is required."),
    ("mode-null", SALES, {"mode": None}, "mode", "The mode field is required."),
    ("voice-null", SALES, {"voice_id": None}, "voice_id", "The voice id field is required."),
    # null only clears nullable fields; elsewhere it fails the field's type rule
    ("record-null", SALES, {"record": None}, "record", "The record field must be true or false."),
    ("speed-null", SALES, {"speech_speed": None}, "speech_speed", "The speech speed field must be a number."),
    (
        "duration-null",
        SALES,
        {"max_duration": None},
        "max_duration",
        "The max duration field must be an integer.",
    ),
    ("tools-null", SALES, {"tools": None}, "tools", "The tools field must be an array."),
    ("variables-null", SALES, {"variables": None}, "variables", "The variables field must be an array."),
    (
        "fillers-null-pipeline",
        SALES,
        {"fillers": None},
        "fillers",
        "The fillers field must be true or false.",
    ),
    (
        "llm-null-pipeline",
        SALES,
        {"llm_model_id": None},
        "llm_model_id",
        "The llm model id field is required.",
    ),
    (
        "model-null-multimodal",
        SUPPORT,
        {"multimodal_model_id": None},
        "multimodal_model_id",
        "The multimodal model id field is required.",
    ),
    (
        "llm-null-to-pipeline",
        SUPPORT,
        {"mode": "pipeline", "voice_id": 101, "llm_model_id": None},
        "llm_model_id",
        "The llm model id field is required.",
    ),
    # the seed's cross-field rules, on the merged state
    (
        "voice-pipeline",
        SALES,
        {"voice_id": 201},
        "voice_id",
        "The selected voice is not compatible with the chosen engine type.",
    ),
    (
        "voice-multimodal",
        SUPPORT,
        {"voice_id": 301},
        "voice_id",
        "The selected voice is not compatible with the chosen engine type.",
    ),
    (
        "voice-stored-mode",
        SALES,
        {"mode": "multimodal"},
        "voice_id",
        "The selected voice is not compatible with the chosen engine type.",
    ),
    (
        "interruptions",
        SUPPORT,
        {"allow_interruptions": False},
        "allow_interruptions",
        "Interruptions cannot be disabled in multimodal or dualplex mode.",
    ),
    (
        "interruptions-0",
        SUPPORT,
        {"allow_interruptions": "0"},
        "allow_interruptions",
        "Interruptions cannot be disabled in multimodal or dualplex mode.",
    ),
    (
        "kb-prompt",
        SUPPORT,
        {"knowledgebase_mode": "prompt"},
        "knowledgebase_mode",
        "The prompt knowledgebase mode is only available in pipeline mode.",
    ),
    (
        "kb-prompt-mode-switch",
        SALES,
        {"mode": "dualplex", "voice_id": 302, "knowledgebase_mode": "prompt"},
        "knowledgebase_mode",
        "The prompt knowledgebase mode is only available in pipeline mode.",
    ),
    (
        "webhook-active",
        SURVEY,
        {"is_webhook_active": True},
        "webhook_url",
        "The webhook url field is required when is webhook active is true.",
    ),
    (
        "webhook-null",
        SUPPORT,
        {"webhook_url": None},
        "webhook_url",
        "The webhook url field is required when is webhook active is true.",
    ),
    (
        "webhook-empty",
        SUPPORT,
        {"webhook_url": ""},
        "webhook_url",
        "The webhook url field is required when is webhook active is true.",
    ),
    # mode-only fields
    (
        "mm-model-on-pipeline",
        SALES,
        {"multimodal_model_id": 1},
        "multimodal_model_id",
        "The multimodal model id field is prohibited unless mode is multimodal or dualplex.",
    ),
    (
        "fallback-on-pipeline",
        SALES,
        {"chat_llm_fallback_id": 1},
        "chat_llm_fallback_id",
        "The chat llm fallback id field is prohibited unless mode is multimodal or dualplex.",
    ),
    (
        "threshold-on-pipeline",
        SALES,
        {"turn_detection_threshold": 0.5},
        "turn_detection_threshold",
        "The turn detection threshold field is prohibited unless mode is multimodal or dualplex.",
    ),
    (
        "llm-on-multimodal",
        SUPPORT,
        {"llm_model_id": 2},
        "llm_model_id",
        "The llm model id field is prohibited unless mode is pipeline.",
    ),
    (
        "transcriber-on-multimodal",
        SUPPORT,
        {"transcriber_provider_id": 1},
        "transcriber_provider_id",
        "The transcriber provider id field is prohibited unless mode is pipeline.",
    ),
    (
        "fillers-on-multimodal",
        SUPPORT,
        {"fillers": True},
        "fillers",
        "The fillers field is prohibited unless mode is pipeline.",
    ),
    (
        "llm-on-mode-switch",
        SALES,
        {"mode": "multimodal", "voice_id": 201, "llm_model_id": 2},
        "llm_model_id",
        "The llm model id field is prohibited unless mode is pipeline.",
    ),
    # inbound phone numbers
    (
        "inbound-caller-id",
        SUPPORT,
        {"phone_number_id": 503},
        "phone_number_id",
        "A Caller ID number cannot be used for an inbound assistant.",
    ),
    (
        "to-inbound-caller-id",
        SALES,
        {"type": "inbound", "phone_number_id": 503},
        "phone_number_id",
        "A Caller ID number cannot be used for an inbound assistant.",
    ),
    (
        "inbound-used",
        SALES,
        {"type": "inbound", "phone_number_id": 501},
        "phone_number_id",
        "The phone number is already used by another inbound assistant.",
    ),
    # post-call schema and built-in tools
    (
        "schema-name-short",
        SALES,
        {"post_call_schema": [{"name": "ab", "type": "string", "description": "Too short."}]},
        "post_call_schema.0.name",
        "The post call schema.0.name field format is invalid.",
    ),
    (
        "schema-name-caps",
        SALES,
        {
            "post_call_schema": [
                {"name": "fine_name", "type": "string", "description": "Fine."},
                {"name": "Bad-Name", "type": "string", "description": "Bad."},
            ]
        },
        "post_call_schema.1.name",
        "The post call schema.1.name field format is invalid.",
    ),
    (
        "schema-name-long",
        SALES,
        {"post_call_schema": [{"name": "x" * 17, "type": "number", "description": "Too long."}]},
        "post_call_schema.0.name",
        "The post call schema.0.name field format is invalid.",
    ),
    (
        "schema-type",
        SALES,
        {"post_call_schema": [{"name": "when", "type": "date", "description": "A date."}]},
        "post_call_schema.0.type",
        "The selected post call schema.0.type is invalid.",
    ),
    (
        "tool-type",
        SALES,
        {"tools": [{"type": "sms"}]},
        "tools.0.type",
        "The selected tools.0.type is invalid.",
    ),
    (
        "tool-no-type",
        SALES,
        {"tools": [{"description": "What am I?"}]},
        "tools.0.type",
        "The tools.0.type field is required.",
    ),
    (
        "transfer-no-number",
        SALES,
        {"tools": [{"type": "end_call", "description": "Bye."}, {"type": "call_transfer"}]},
        "tools.1.phone_number",
        "The tools.1.phone number field is required.",
    ),
    (
        "transfer-blank-number",
        SALES,
        {"tools": [{"type": "call_transfer", "phone_number": "  "}]},
        "tools.0.phone_number",
        "The tools.0.phone number field is required.",
    ),
    (
        "calendar-no-key",
        SALES,
        {"tools": [{"type": "calendar_integration", "calcom_event_slug": "intro"}]},
        "tools.0.calcom_api_key",
        "The tools.0.calcom api key field is required.",
    ),
    (
        "calendar-no-slug",
        SALES,
        {"tools": [{"type": "calendar_integration", "calcom_api_key": "cal_x"}]},
        "tools.0.calcom_event_slug",
        "The tools.0.calcom event slug field is required.",
    ),
    # every referenced id must exist in the account's catalog
    ("voice-missing", SALES, {"voice_id": 999}, "voice_id", "The selected voice id is invalid."),
    ("language-missing", SALES, {"language_id": 9}, "language_id", "The selected language id is invalid."),
    (
        "secondary-missing",
        SALES,
        {"secondary_language_ids": [2, 9]},
        "secondary_language_ids.1",
        "The selected secondary language ids.1 is invalid.",
    ),
    ("llm-missing", SALES, {"llm_model_id": 4}, "llm_model_id", "The selected llm model id is invalid."),
    (
        "multimodal-dualplex-id",
        SUPPORT,
        {"multimodal_model_id": 3},
        "multimodal_model_id",
        "The selected multimodal model id is invalid.",
    ),
    (
        "dualplex-multimodal-id",
        SUPPORT,
        {"mode": "dualplex", "voice_id": 302, "multimodal_model_id": 1},
        "multimodal_model_id",
        "The selected multimodal model id is invalid.",
    ),
    (
        "fallback-missing",
        SUPPORT,
        {"chat_llm_fallback_id": 4},
        "chat_llm_fallback_id",
        "The selected chat llm fallback id is invalid.",
    ),
    (
        "kb-missing",
        SALES,
        {"knowledgebase_id": 12},
        "knowledgebase_id",
        "The selected knowledgebase id is invalid.",
    ),
    (
        "phone-missing",
        SALES,
        {"phone_number_id": 599},
        "phone_number_id",
        "The selected phone number id is invalid.",
    ),
    ("tool-missing", SALES, {"tool_ids": [31, 33]}, "tool_ids.1", "The selected tool ids.1 is invalid."),
    (
        "synth-missing",
        SALES,
        {"synthesizer_provider_id": 3},
        "synthesizer_provider_id",
        "The selected synthesizer provider id is invalid.",
    ),
    (
        "transcriber-missing",
        SALES,
        {"transcriber_provider_id": 3},
        "transcriber_provider_id",
        "The selected transcriber provider id is invalid.",
    ),
]


@pytest.mark.parametrize(
    ("assistant_id", "body", "field", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_update_rule_422(fresh: Api, assistant_id: int, body: Any, field: str, message: str) -> None:
    before = fresh.item(assistant_id)
    response = fresh.update(assistant_id, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == one_error(field, message)
    assert fresh.item(assistant_id) == before


def test_patch_validates_like_put(fresh: Api) -> None:
    response = fresh.update(SALES, {"speech_speed": 2}, "PATCH")
    assert response.status_code == 422
    assert response.json() == one_error("speech_speed", "The speech speed must be between 0.7 and 1.2.")


def test_several_errors_are_counted_in_the_message(fresh: Api) -> None:
    body = {"speech_speed": 5, "max_duration": 5, "ambient_sound": "rain"}
    response = fresh.update(SALES, body)
    assert response.status_code == 422
    errors = {
        "speech_speed": ["The speech speed must be between 0.7 and 1.2."],
        "max_duration": ["The max duration must be between 20 and 1200."],
        "ambient_sound": ["The selected ambient sound is invalid."],
    }
    assert response.json() == {
        "message": f"{errors['speech_speed'][0]} (and 2 more errors)",
        "errors": errors,
    }


def test_one_more_error_is_singular_as_in_laravel(fresh: Api) -> None:
    response = fresh.update(SALES, {"speech_speed": 5, "max_duration": 5})
    assert response.status_code == 422
    assert response.json() == {
        "message": "The speech speed must be between 0.7 and 1.2. (and 1 more error)",
        "errors": {
            "speech_speed": ["The speech speed must be between 0.7 and 1.2."],
            "max_duration": ["The max duration must be between 20 and 1200."],
        },
    }


def test_a_422_writes_none_of_the_valid_keys(fresh: Api) -> None:
    before = fresh.item(SALES)
    response = fresh.update(SALES, {"name": "Renamed", "record": True, "speech_speed": 3})
    assert response.status_code == 422
    assert fresh.item(SALES) == before


# ---- validation: what is accepted -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assistant_id", "body"),
    [
        (SALES, {"allow_interruptions": False}),
        (SALES, {"knowledgebase_mode": "prompt", "knowledgebase_id": 11}),
        (SALES, {"phone_number_id": 503}),
        (SALES, {"phone_number_id": 501}),
        (SUPPORT, {"phone_number_id": 501}),
        (SUPPORT, {"phone_number_id": 502}),
        (SALES, {"is_webhook_active": True}),
        (SURVEY, {"is_webhook_active": True, "webhook_url": "https://hooks.example.com/s"}),
        (SUPPORT, {"is_webhook_active": False, "webhook_url": None}),
        (SUPPORT, {"llm_model_id": None, "transcriber_provider_id": None}),
        (
            SALES,
            {"multimodal_model_id": None, "chat_llm_fallback_id": None, "turn_detection_threshold": None},
        ),
        (SUPPORT, {"chat_llm_fallback_id": 3, "turn_detection_threshold": 0, "synthesizer_provider_id": 2}),
        (
            SALES,
            {"voice_id": 105, "language_id": 3, "transcriber_provider_id": 1, "synthesizer_provider_id": 1},
        ),
        (SUPPORT, {"voice_id": 302}),
        (SALES, {"speech_speed": 0.7, "voice_stability": 0, "llm_temperature": 1, "max_duration": 20}),
        (SALES, {"speech_speed": 1.2, "max_silence_duration": 360, "min_interrupt_words": 0}),
        (SALES, {"timezone": "Asia/Kolkata"}),
        (SALES, {"name": "x" * 255, "initial_message": "y" * 200}),
        (SALES, {"post_call_schema": [{"name": "abc", "type": "bool", "description": "abc"}]}),
        (
            SALES,
            {"post_call_schema": [{"name": "a_1234567890_bcd", "type": "string", "description": "x" * 255}]},
        ),
    ],
)
def test_update_accepts(fresh: Api, assistant_id: int, body: dict[str, Any]) -> None:
    fresh.ok_update(assistant_id, body)
    stored = fresh.stored(assistant_id)
    assert {k: stored[k] for k in body} == body


def test_numeric_strings_and_laravel_booleans_are_accepted_and_cast(fresh: Api) -> None:
    body = {
        "llm_temperature": "0.9",
        "speech_speed": "1.1",
        "max_duration": "300",
        "voice_id": "101",
        "record": "1",
        "fillers": 1,
        "wait_for_customer": "0",
        "enable_noise_cancellation": 0,
        "tts_emotion_enabled": False,
    }
    fresh.ok_update(SALES, body)
    stored = fresh.stored(SALES)
    got = {k: stored[k] for k in body}
    assert got == {
        "llm_temperature": 0.9,
        "speech_speed": 1.1,
        "max_duration": 300,
        "voice_id": 101,
        "record": True,
        "fillers": True,
        "wait_for_customer": False,
        "enable_noise_cancellation": False,
        "tts_emotion_enabled": False,
    }
    assert [type(got[k]).__name__ for k in ("max_duration", "voice_id", "record", "fillers")] == [
        "int",
        "int",
        "bool",
        "bool",
    ]
    assert not isinstance(got["llm_temperature"], str | bool)


# ---- semantics: trimming, null, whole lists ---------------------------------------------------------------


def test_strings_are_trimmed_and_empty_becomes_null(fresh: Api) -> None:
    response = fresh.update(
        SALES,
        {
            "name": "  Padded Name \t",
            "webhook_url": "",
            "reengagement_prompt": "  Still there?  ",
            "voice_mail_message": "   ",
            "system_prompt": "\n  Be brief.  \n",
        },
    )
    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Padded Name"
    stored = fresh.stored(SALES)
    assert {
        k: stored[k]
        for k in ("name", "webhook_url", "reengagement_prompt", "voice_mail_message", "system_prompt")
    } == {
        "name": "Padded Name",
        "webhook_url": None,
        "reengagement_prompt": "Still there?",
        "voice_mail_message": None,
        "system_prompt": "Be brief.",
    }


def test_create_trims_too(fresh: Api) -> None:
    response = fresh.create({**PIPELINE_BODY, "name": "  Trimmed  ", "webhook_url": " "})
    assert response.status_code == 201
    assert response.json()["data"]["name"] == "Trimmed"
    stored = fresh.stored(response.json()["data"]["id"])
    assert (stored["name"], stored["webhook_url"]) == ("Trimmed", None)


def test_nested_strings_are_trimmed_and_empty_becomes_null(fresh: Api) -> None:
    fresh.ok_update(
        SALES,
        {
            "tools": [
                {"type": "end_call", "description": "  Bye.  "},
                {"type": "dtmf_input", "description": ""},
                {
                    "type": "call_transfer",
                    "phone_number": " +14155550199 ",
                    "description": "Transfer",
                    "custom": True,
                    "timezone": "Europe/Berlin",
                },
            ],
            "variables": {"first_name": "  Ana ", "last_name": "\tLopez"},
            "post_call_schema": [{"name": "score", "type": "number", "description": "  The score.  "}],
        },
    )
    stored = fresh.stored(SALES)
    assert stored["tools"] == [
        {"type": "end_call", "description": "Bye."},
        {"type": "dtmf_input", "description": None},
        {
            "type": "call_transfer",
            "phone_number": "+14155550199",
            "description": "Transfer",
            "custom": True,
            "timezone": "Europe/Berlin",
        },
    ]
    assert stored["variables"] == {"first_name": "Ana", "last_name": "Lopez"}
    assert stored["post_call_schema"] == [{"name": "score", "type": "number", "description": "The score."}]


def test_null_clears_nullable_fields(fresh: Api) -> None:
    fresh.ok_update(
        SUPPORT, {"synthesizer_provider_id": 1, "chat_llm_fallback_id": 2, "min_interrupt_words": 3}
    )
    clear = {
        "knowledgebase_id": None,
        "phone_number_id": None,
        "max_initial_silence_duration": None,
        "synthesizer_provider_id": None,
        "chat_llm_fallback_id": None,
        "min_interrupt_words": None,
    }
    fresh.ok_update(SUPPORT, clear)
    stored = fresh.stored(SUPPORT)
    assert {k: stored[k] for k in clear} == clear
    assert stored["knowledgebase_mode"] == "function_call"


@pytest.mark.parametrize(
    ("field", "first", "second"),
    [
        (
            "tools",
            [{"type": "end_call", "description": "One."}, {"type": "dtmf_input", "description": "Two."}],
            [{"type": "calendar_integration", "calcom_api_key": "cal_k", "calcom_event_slug": "demo"}],
        ),
        ("variables", {"a": "1", "b": "2"}, {"c": "3"}),
        ("tool_ids", [31, 32], [32]),
        ("secondary_language_ids", [2, 3], [4]),
        (
            "post_call_schema",
            [{"name": "one", "type": "string", "description": "One."}],
            [{"name": "two", "type": "bool", "description": "Two."}],
        ),
    ],
)
def test_lists_and_objects_are_replaced_whole_and_cleared_by_empty(
    fresh: Api, field: str, first: Any, second: Any
) -> None:
    fresh.ok_update(SALES, {field: first})
    assert fresh.stored(SALES)[field] == first
    fresh.ok_update(SALES, {field: second})
    assert fresh.stored(SALES)[field] == second
    empty: Any = {} if field == "variables" else []
    fresh.ok_update(SALES, {field: empty})
    assert fresh.stored(SALES)[field] == empty


# ---- semantics: changing mode -----------------------------------------------------------------------------

MODE_FIELDS = (
    "llm_model_id",
    "multimodal_model_id",
    "chat_llm_fallback_id",
    "turn_detection_threshold",
    "synthesizer_provider_id",
    "transcriber_provider_id",
    "fillers",
)


def mode_fields(api: Api, assistant_id: int) -> dict[str, Any]:
    stored = api.stored(assistant_id)
    return {k: stored[k] for k in MODE_FIELDS}


def test_pipeline_to_multimodal_resets_mode_settings(fresh: Api) -> None:
    fresh.ok_update(
        SALES,
        {"llm_model_id": 3, "synthesizer_provider_id": 2, "transcriber_provider_id": 2, "fillers": True},
    )
    response = fresh.update(SALES, {"mode": "multimodal", "voice_id": 201})
    assert response.status_code == 200
    assert response.json()["data"]["mode"] == "multimodal"
    assert mode_fields(fresh, SALES) == {
        "llm_model_id": None,
        "multimodal_model_id": 1,
        "chat_llm_fallback_id": None,
        "turn_detection_threshold": None,
        "synthesizer_provider_id": None,
        "transcriber_provider_id": None,
        "fillers": REALTIME_FILLERS,
    }


def test_pipeline_to_dualplex_picks_the_first_dualplex_model(fresh: Api) -> None:
    fresh.ok_update(SURVEY, {"mode": "dualplex", "voice_id": 302})
    assert mode_fields(fresh, SURVEY) == {
        "llm_model_id": None,
        "multimodal_model_id": 3,
        "chat_llm_fallback_id": None,
        "turn_detection_threshold": None,
        "synthesizer_provider_id": None,
        "transcriber_provider_id": None,
        "fillers": REALTIME_FILLERS,
    }


def test_multimodal_to_pipeline_resets_mode_settings(fresh: Api) -> None:
    fresh.ok_update(
        SUPPORT,
        {
            "multimodal_model_id": 2,
            "chat_llm_fallback_id": 3,
            "turn_detection_threshold": 0.4,
            "synthesizer_provider_id": 1,
        },
    )
    fresh.ok_update(SUPPORT, {"mode": "pipeline", "voice_id": 101})
    assert mode_fields(fresh, SUPPORT) == {
        "llm_model_id": 1,
        "multimodal_model_id": None,
        "chat_llm_fallback_id": None,
        "turn_detection_threshold": None,
        "synthesizer_provider_id": None,
        "transcriber_provider_id": None,
        "fillers": False,
    }


def test_multimodal_to_dualplex_resets_the_model(fresh: Api) -> None:
    fresh.ok_update(SUPPORT, {"multimodal_model_id": 2, "turn_detection_threshold": 0.4})
    fresh.ok_update(SUPPORT, {"mode": "dualplex", "voice_id": 302})
    fields = mode_fields(fresh, SUPPORT)
    assert (fields["multimodal_model_id"], fields["turn_detection_threshold"]) == (3, None)


def test_mode_settings_in_the_same_body_win(fresh: Api) -> None:
    fresh.ok_update(
        SALES,
        {
            "mode": "dualplex",
            "voice_id": 302,
            "multimodal_model_id": 4,
            "chat_llm_fallback_id": 2,
            "turn_detection_threshold": 0.3,
            "synthesizer_provider_id": 2,
        },
    )
    assert mode_fields(fresh, SALES) == {
        "llm_model_id": None,
        "multimodal_model_id": 4,
        "chat_llm_fallback_id": 2,
        "turn_detection_threshold": 0.3,
        "synthesizer_provider_id": 2,
        "transcriber_provider_id": None,
        "fillers": REALTIME_FILLERS,
    }
    fresh.ok_update(
        SALES,
        {
            "mode": "pipeline",
            "voice_id": 101,
            "llm_model_id": 3,
            "fillers": True,
            "transcriber_provider_id": 1,
        },
    )
    assert mode_fields(fresh, SALES) == {
        "llm_model_id": 3,
        "multimodal_model_id": None,
        "chat_llm_fallback_id": None,
        "turn_detection_threshold": None,
        "synthesizer_provider_id": None,
        "transcriber_provider_id": 1,
        "fillers": True,
    }


def test_the_same_mode_in_the_body_resets_nothing(fresh: Api) -> None:
    fresh.ok_update(SALES, {"llm_model_id": 3, "synthesizer_provider_id": 2, "fillers": True})
    before = mode_fields(fresh, SALES)
    fresh.ok_update(SALES, {"mode": "pipeline"})
    assert mode_fields(fresh, SALES) == before


def test_mode_change_keeps_the_other_settings(fresh: Api) -> None:
    before = fresh.stored(SALES)
    fresh.ok_update(SALES, {"mode": "multimodal", "voice_id": 201})
    after = fresh.stored(SALES)
    changed = {k for k in after if after[k] != before[k]}
    assert changed - {"fillers"} == {"mode", "voice_id", "llm_model_id", "multimodal_model_id"}
    assert after["fillers"] == REALTIME_FILLERS


def test_mode_switch_checks_stored_interruptions(fresh: Api) -> None:
    fresh.ok_update(SALES, {"allow_interruptions": False})
    before = fresh.item(SALES)
    response = fresh.update(SALES, {"mode": "multimodal", "voice_id": 201})
    assert response.status_code == 422
    assert response.json() == one_error(
        "allow_interruptions", "Interruptions cannot be disabled in multimodal or dualplex mode."
    )
    assert fresh.item(SALES) == before
    fresh.ok_update(SALES, {"mode": "multimodal", "voice_id": 201, "allow_interruptions": True})
    assert fresh.stored(SALES)["allow_interruptions"] is True


def test_mode_switch_checks_stored_knowledgebase_mode(fresh: Api) -> None:
    fresh.ok_update(SALES, {"knowledgebase_id": 10, "knowledgebase_mode": "prompt"})
    response = fresh.update(SALES, {"mode": "dualplex", "voice_id": 302})
    assert response.status_code == 422
    assert response.json() == one_error(
        "knowledgebase_mode", "The prompt knowledgebase mode is only available in pipeline mode."
    )
    fresh.ok_update(SALES, {"mode": "dualplex", "voice_id": 302, "knowledgebase_mode": "function_call"})


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        (503, "A Caller ID number cannot be used for an inbound assistant."),
        (501, "The phone number is already used by another inbound assistant."),
    ],
)
def test_type_switch_checks_the_stored_phone_number(fresh: Api, phone: int, message: str) -> None:
    fresh.ok_update(SALES, {"phone_number_id": phone})
    response = fresh.update(SALES, {"type": "inbound"})
    assert response.status_code == 422
    assert response.json() == one_error("phone_number_id", message)
    assert fresh.stored(SALES)["type"] == "outbound"


def test_switch_to_inbound_with_a_free_number(fresh: Api) -> None:
    fresh.ok_update(SALES, {"type": "inbound", "phone_number_id": 504})
    response = fresh.update(SURVEY, {"type": "inbound", "phone_number_id": 504})
    assert response.status_code == 422
    assert response.json() == one_error(
        "phone_number_id", "The phone number is already used by another inbound assistant."
    )
    fresh.ok_update(SALES, {"type": "outbound"})
    fresh.ok_update(SURVEY, {"type": "inbound", "phone_number_id": 504})


# ---- updated_at -------------------------------------------------------------------------------------------


def test_updated_at_strictly_increases_on_every_write(fresh: Api) -> None:
    seen = [fresh.item(SALES)["updated_at"]]
    for body in ({"name": "A"}, {"name": "A"}, {}, {"record": True}, {"status": "active"}):
        fresh.ok_update(SALES, body, "PATCH" if len(seen) % 2 else "PUT")
        item = fresh.item(SALES)
        assert TIMESTAMP.fullmatch(item["updated_at"]), item["updated_at"]
        seen.append(item["updated_at"])
    assert seen == sorted(seen)
    assert len(set(seen)) == len(seen)


def test_a_rejected_write_does_not_move_updated_at(fresh: Api) -> None:
    before = fresh.item(SALES)["updated_at"]
    assert fresh.update(SALES, {"speech_speed": 9}).status_code == 422
    assert fresh.item(SALES)["updated_at"] == before


# ---- the read shape ---------------------------------------------------------------------------------------


def _decimal(value: Any) -> tuple[str, Any]:
    return ("str", Decimal(value)) if isinstance(value, str) else ("not a string", value)


def expected_read(stored: dict[str, Any]) -> dict[str, Any]:
    """What the read shape shows for a stored write shape (decimal strings compared as ``_decimal``)."""
    out = {k: v for k, v in stored.items() if k not in WRITE_ONLY}
    for key in DECIMAL_STRINGS:
        out[key] = ("str", Decimal(str(stored[key])))
    for key in ZERO_ONE:
        out[key] = int(stored[key]) if isinstance(stored[key], bool) else stored[key]
    out["tools"] = [
        {"type": tool["type"], "data": {k: v for k, v in tool.items() if k != "type"}}
        for tool in stored["tools"]
    ]
    out["post_call_schema"] = [
        {**item, "type": "boolean" if item["type"] == "bool" else item["type"]}
        for item in stored["post_call_schema"]
    ]
    if stored["variables"] == {}:
        out["variables"] = OneOf({}, [])  # the contract is silent; PHP would encode an empty map as []
    other = REALTIME_ONLY if stored["mode"] == "pipeline" else PIPELINE_ONLY
    for key in other:
        if key in out:
            out[key] = None
    return out


def read_view(item: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _decimal(item[key]) if key in DECIMAL_STRINGS else item.get(key, "<absent>") for key in expected
    }


@pytest.mark.parametrize(("assistant_id", "index"), [(SALES, 0), (SUPPORT, 1), (SURVEY, 2)])
def test_read_shape_of_the_demo_assistants(demo: Api, assistant_id: int, index: int) -> None:
    item = demo.item(assistant_id)
    expected = expected_read(expected_stored(DEMO_ASSISTANTS[index]))
    assert read_view(item, expected) == expected
    assert set(item) >= READ_ONLY
    assert not WRITE_ONLY & set(item)


def test_read_shape_numbers_are_strings_and_flags_are_0_or_1(demo: Api) -> None:
    sales, support = demo.item(SALES), demo.item(SUPPORT)
    assert (sales["llm_temperature"], sales["voice_stability"], sales["voice_similarity"]) == (
        "0.5",
        "0.7",
        "0.5",
    )
    assert (sales["ambient_sound_volume"], support["ambient_sound_volume"]) == ("0.5", "0.4")
    assert isinstance(sales["speech_speed"], str)
    assert Decimal(sales["speech_speed"]) == 1
    assert (sales["fillers"], sales["end_call_on_voicemail"]) == (0, 1)
    assert type(sales["fillers"]) is int
    assert type(sales["end_call_on_voicemail"]) is int
    assert sales["record"] is False
    assert support["record"] is True
    assert support["is_webhook_active"] is True


def test_read_shape_nests_built_in_tools(demo: Api) -> None:
    assert demo.item(SALES)["tools"] == [{"type": "end_call", "data": {"description": "End the call."}}]
    assert demo.item(SUPPORT)["tools"] == [
        {"type": "end_call", "data": {"description": "End the call when the customer says goodbye."}},
        {
            "type": "dtmf_input",
            "data": {"description": "Collect the customer's order number from the keypad."},
        },
    ]


def test_read_shape_nulls_the_other_modes_fields(demo: Api) -> None:
    support = demo.item(SUPPORT)
    assert (support["llm_model_id"], support["transcriber_provider_id"], support["fillers"]) == (
        None,
        None,
        None,
    )
    assert support["multimodal_model_id"] == 1
    sales = demo.item(SALES)
    assert (sales["multimodal_model_id"], sales["llm_model_id"]) == (None, 1)


def test_read_shape_hides_write_only_fields_after_they_are_set(fresh_read: Api) -> None:
    fresh_read.ok_update(
        SUPPORT,
        {
            "tool_ids": [31],
            "secondary_language_ids": [2],
            "chat_llm_fallback_id": 2,
            "turn_detection_threshold": 0.5,
            "tts_emotion_enabled": False,
            "reengagement_prompt": "Hello?",
            "voice_mail_message": "Call back.",
        },
    )
    item = fresh_read.item(SUPPORT)
    assert sorted(WRITE_ONLY & set(item)) == []
    assert set(item) >= READ_ONLY


def test_read_shape_of_written_values(fresh_read: Api) -> None:
    fresh_read.ok_update(
        SALES,
        {
            "llm_temperature": 0.25,
            "fillers": True,
            "end_call_on_voicemail": False,
            "tools": [
                {
                    "type": "call_transfer",
                    "phone_number": "+14155550199",
                    "description": "Transfer.",
                    "custom": False,
                    "timezone": "Europe/Berlin",
                },
            ],
            "post_call_schema": [
                {"name": "booked", "type": "bool", "description": "Booked?"},
                {"name": "notes", "type": "string", "description": "Notes."},
            ],
        },
    )
    item = fresh_read.item(SALES)
    assert item["llm_temperature"] == "0.25"
    assert (item["fillers"], item["end_call_on_voicemail"]) == (1, 0)
    assert item["tools"] == [
        {
            "type": "call_transfer",
            "data": {
                "phone_number": "+14155550199",
                "description": "Transfer.",
                "custom": False,
                "timezone": "Europe/Berlin",
            },
        }
    ]
    assert item["post_call_schema"] == [
        {"name": "booked", "type": "boolean", "description": "Booked?"},
        {"name": "notes", "type": "string", "description": "Notes."},
    ]


def test_read_shape_after_mode_switch(fresh_read: Api) -> None:
    fresh_read.ok_update(SALES, {"mode": "dualplex", "voice_id": 302})
    item = fresh_read.item(SALES)
    assert (item["mode"], item["multimodal_model_id"], item["llm_model_id"], item["fillers"]) == (
        "dualplex",
        3,
        None,
        None,
    )


def test_symmetric_read_keeps_types_and_flat_tools(fresh: Api) -> None:
    body = {
        "llm_temperature": 0.25,
        "fillers": True,
        "end_call_on_voicemail": False,
        "tool_ids": [31],
        "tts_emotion_enabled": False,
        "reengagement_prompt": "Hello?",
        "tools": [{"type": "dtmf_input", "description": "Digits."}],
        "post_call_schema": [{"name": "booked", "type": "bool", "description": "Booked?"}],
    }
    fresh.ok_update(SALES, body)
    stored = fresh.stored(SALES)
    assert {k: stored[k] for k in body} == body
    assert type(stored["llm_temperature"]) is float
    assert stored["fillers"] is True
    assert stored["end_call_on_voicemail"] is False


# ---- lookups ----------------------------------------------------------------------------------------------


def voice(voice_id: int) -> dict[str, Any]:
    (found,) = [
        {k: v[k] for k in ("id", "name", "language_id", "gender")} for v in VOICES if v["id"] == voice_id
    ]
    return found


@pytest.mark.parametrize(
    ("params", "ids"),
    [
        ({}, [101, 102, 103, 104, 105, 201, 202, 203, 301, 302]),
        ({"mode": "pipeline"}, [101, 102, 103, 104, 105]),
        ({"mode": "multimodal"}, [201, 202, 203, 302]),
        ({"mode": "dualplex"}, [301, 302]),
        ({"mode": "pipeline", "language_id": 1}, [101, 102, 105]),
        ({"mode": "pipeline", "language_id": 2}, [103, 105]),
        ({"mode": "dualplex", "language_id": 3}, [301, 302]),
        ({"mode": "dualplex", "language_id": 1}, [302]),
        ({"language_id": 4}, [105, 201, 202, 203, 302]),
    ],
)
def test_voices_filtered_by_mode_and_language(demo: Api, params: dict[str, Any], ids: list[int]) -> None:
    response = demo.get("/user/assistants/voices", **params)
    assert response.status_code == 200
    assert response.json() == [voice(i) for i in ids]


def test_languages(demo: Api) -> None:
    response = demo.get("/user/assistants/languages")
    assert response.status_code == 200
    assert response.json() == LANGUAGES


@pytest.mark.parametrize(
    ("kind", "models"),
    [
        (
            "llm",
            [
                {"id": 1, "name": "GPT-4o mini", "code": "gpt-4o-mini"},
                {"id": 2, "name": "GPT-4.1", "code": "gpt-4.1"},
                {"id": 3, "name": "Claude Sonnet", "code": "claude-sonnet"},
            ],
        ),
        (
            "multimodal",
            [
                {"id": 1, "name": "GPT-4o Realtime", "code": "gpt-4o-realtime"},
                {"id": 2, "name": "Gemini Live", "code": "gemini-live"},
            ],
        ),
        (
            "dualplex",
            [
                {"id": 3, "name": "Dualplex One", "code": "dualplex-1"},
                {"id": 4, "name": "Dualplex Mini", "code": "dualplex-mini"},
            ],
        ),
    ],
)
def test_models_by_type(demo: Api, kind: str, models: list[dict[str, Any]]) -> None:
    response = demo.get("/user/assistants/models", type=kind)
    assert response.status_code == 200
    assert response.json() == models


def _number(number_id: int, available: bool) -> dict[str, Any]:
    (found,) = [n for n in PHONE_NUMBERS if n["id"] == number_id]
    return {
        "id": number_id,
        "phone_number": found["phone_number"],
        "country_code": found["country_code"],
        "type_label": found["type_label"],
        "is_available": available,
    }


def test_inbound_phone_numbers_exclude_caller_id_and_mark_used_ones(demo: Api) -> None:
    response = demo.get("/user/assistants/phone-numbers", type="inbound")
    assert response.status_code == 200
    assert response.json() == [_number(501, False), _number(502, True), _number(504, True)]


def test_outbound_phone_numbers_include_caller_id(demo: Api) -> None:
    response = demo.get("/user/assistants/phone-numbers", type="outbound")
    assert response.status_code == 200
    numbers = response.json()
    assert [{k: v for k, v in n.items() if k != "is_available"} for n in numbers] == [
        {k: v for k, v in _number(i, True).items() if k != "is_available"} for i in (501, 502, 503, 504)
    ]
    assert all(isinstance(n["is_available"], bool) for n in numbers)


def test_inbound_availability_follows_the_assistants(fresh: Api) -> None:
    fresh.ok_update(SURVEY, {"type": "inbound", "phone_number_id": 504})
    assert fresh.delete(SUPPORT).status_code == 200
    response = fresh.get("/user/assistants/phone-numbers", type="inbound")
    assert response.json() == [_number(501, True), _number(502, True), _number(504, False)]


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        (
            "/user/assistants/synthesizer-providers",
            {},
            [
                {"id": 1, "name": "ElevenLabs", "code": "elevenlabs"},
                {"id": 2, "name": "Cartesia", "code": "cartesia"},
            ],
        ),
        (
            "/user/assistants/synthesizer-providers",
            {"language_id": 4},
            [
                {"id": 1, "name": "ElevenLabs", "code": "elevenlabs"},
                {"id": 2, "name": "Cartesia", "code": "cartesia"},
            ],
        ),
        (
            "/user/assistants/synthesizer-providers",
            {"language_id": 3},
            [{"id": 1, "name": "ElevenLabs", "code": "elevenlabs"}],
        ),
        (
            "/user/assistants/transcriber-providers",
            {},
            [
                {"id": 1, "name": "Deepgram", "code": "deepgram"},
                {"id": 2, "name": "AssemblyAI", "code": "assemblyai"},
            ],
        ),
        (
            "/user/assistants/transcriber-providers",
            {"language_id": 2},
            [
                {"id": 1, "name": "Deepgram", "code": "deepgram"},
                {"id": 2, "name": "AssemblyAI", "code": "assemblyai"},
            ],
        ),
        (
            "/user/assistants/transcriber-providers",
            {"language_id": 4},
            [{"id": 1, "name": "Deepgram", "code": "deepgram"}],
        ),
    ],
)
def test_providers(demo: Api, path: str, params: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    response = demo.get(path, **params)
    assert response.status_code == 200
    assert response.json() == expected


def test_tools_lookup_shows_headers_in_clear_text(demo: Api) -> None:
    response = demo.get("/user/tools")
    assert response.status_code == 200
    tools = response.json()
    assert isinstance(tools, list)
    assert [{k: t[k] for k in TOOLS[0]} for t in tools] == TOOLS
    assert tools[0]["headers"] == {"Authorization": "Bearer tool-header-secret-31"}


def test_knowledgebases_are_wrapped_in_data(demo: Api) -> None:
    response = demo.get("/user/knowledgebases")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data"]
    assert [{k: kb[k] for k in ("id", "name")} for kb in body["data"]] == [
        {"id": kb["id"], "name": kb["name"]} for kb in KNOWLEDGEBASES
    ]


# ---- faults and limits ------------------------------------------------------------------------------------


def test_faults_are_off_by_default(demo: Api) -> None:
    statuses = {demo.get("/user/assistants/languages").status_code for _ in range(40)}
    assert statuses == {200}


def test_rate_limit_429_with_headers() -> None:
    with emulator(rate_limit=3) as api:
        remaining = []
        for _ in range(3):
            response = api.get("/user/assistants/languages")
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Limit"] == "3"
            remaining.append(response.headers["X-RateLimit-Remaining"])
        assert remaining == ["2", "1", "0"]
        limited = api.get("/user/assistants/get")
        assert limited.status_code == 429
        assert limited.json() == {"message": "Too Many Attempts."}
        assert limited.headers["X-RateLimit-Limit"] == "3"
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        again = api.update(SALES, {"name": "Too many"})
        assert again.status_code == 429
        assert again.json() == {"message": "Too Many Attempts."}


def test_rate_limit_counts_per_token() -> None:
    with emulator(rate_limit=2) as api:
        other = {"Authorization": "Bearer someone-else", "Accept": "application/json"}
        url = api.base_url + "/user/assistants/languages"
        assert [httpx.get(url, headers=other).status_code for _ in range(3)] == [401, 401, 429]
        response = api.get("/user/assistants/languages")
        assert response.status_code == 200
        assert (response.headers["X-RateLimit-Limit"], response.headers["X-RateLimit-Remaining"]) == (
            "2",
            "1",
        )


def test_rate_limited_writes_do_not_happen(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with emulator(rate_limit=1, state=state) as api:
        assert api.get("/user/assistants/languages").status_code == 200
        assert api.update(SALES, {"name": "Too many"}).status_code == 429
        assert api.create(PIPELINE_BODY).status_code == 429
    with emulator(state=state) as api:
        assert [a["name"] for a in api.all()] == DEMO_NAMES


def test_error_rate_1_fails_every_request_with_the_documented_bodies(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with emulator(error_rate=1.0, state=state) as api:
        requests = [
            (api.update(SALES, {"name": "Changed"}), {"message": "Assistant update failed"}),
            (api.update(SALES, {"name": "Changed"}, "PATCH"), {"message": "Assistant update failed"}),
            (api.get("/user/assistants/get"), {"message": "Server Error"}),
            (api.create(PIPELINE_BODY), {"message": "Server Error"}),
            (api.delete(SURVEY), {"message": "Server Error"}),
            (api.get("/user/assistants/voices"), {"message": "Server Error"}),
        ]
        for response, body in requests:
            assert response.status_code == 500
            assert response.json() == body
    with emulator(state=state) as api:
        assert [a["name"] for a in api.all()] == DEMO_NAMES


def test_reset_rate_1_closes_the_connection_without_a_response() -> None:
    # Whether the work was done before the reset is left open (a real reset can come either side of it).
    with emulator(reset_rate=1.0) as api:
        for send in (
            lambda: api.get("/user/assistants/get"),
            lambda: api.get("/user/assistants/languages"),
            lambda: api.update(SALES, {"name": "Changed"}),
            lambda: api.create(PIPELINE_BODY),
            lambda: api.delete(SURVEY),
        ):
            with pytest.raises(httpx.TransportError):
                send()


def test_latency() -> None:
    with emulator(latency_ms=200) as api:
        start = time.monotonic()
        response = api.get("/user/assistants/languages")
        elapsed = time.monotonic() - start
    assert response.status_code == 200
    assert elapsed >= 0.2


def _statuses(seed: int) -> list[int]:
    with emulator(error_rate=0.3, fault_seed=seed) as api:
        return [api.get("/user/assistants/languages").status_code for _ in range(50)]


def test_fault_seed_makes_faults_repeatable() -> None:
    first = _statuses(7)
    assert set(first) == {200, 500}
    assert _statuses(7) == first


# ---- persistence ------------------------------------------------------------------------------------------


def test_state_file_persists_across_emulators_and_seeds_only_once(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with emulator(state=state, read_mode="symmetric") as api:
        created = api.create({**PIPELINE_BODY, "name": "Persisted"}).json()["data"]["id"]
        api.ok_update(SALES, {"speech_speed": 1.1, "variables": {"k": "v"}})
        assert api.delete(SURVEY).status_code == 200
        written = api.all()
    with emulator(state=state, read_mode="symmetric") as api:
        assert api.all() == written
        assert [a["id"] for a in written] == [SALES, SUPPORT, created]
        assert api.create({**PIPELINE_BODY, "name": "Next"}).json()["data"]["id"] > created


def test_a_new_state_file_is_seeded(tmp_path: Path) -> None:
    with emulator(state=tmp_path / "new.sqlite") as api:
        assert [a["name"] for a in api.all()] == DEMO_NAMES


def test_the_seed_applies_only_to_a_new_state_file(tmp_path: Path) -> None:
    state = tmp_path / "empty.sqlite"
    with emulator(state=state, seed="empty") as api:
        assert api.all() == []
        assert api.get("/user/assistants/languages").json() == LANGUAGES
        created = api.create(PIPELINE_BODY).json()["data"]["id"]
    with emulator(state=state, seed="demo") as api:
        assert [(a["id"], a["name"]) for a in api.all()] == [(created, "New Pipeline")]


def test_emulators_without_state_do_not_share(fresh: Api) -> None:
    fresh.ok_update(SALES, {"name": "Only here"})
    with emulator() as other:
        assert other.item(SALES)["name"] == "Sales Assistant"


# ---- concurrency ------------------------------------------------------------------------------------------


def test_concurrent_updates_lose_nothing(fresh: Api) -> None:
    fields = ["max_duration", "max_silence_duration", "ringing_time", "reengagement_interval"]
    plan = [(assistant, field) for assistant in (SALES, SURVEY) for field in fields]  # 8 writers
    statuses: list[int] = []
    lock = threading.Lock()

    def writer(assistant: int, field: str) -> None:
        with httpx.Client(
            base_url=fresh.base_url,
            headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
            timeout=30,
        ) as http:
            for step in range(25):
                response = http.put(f"/user/assistant/{assistant}", json={field: 30 + step})
                with lock:
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=writer, args=pair) for pair in plan]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 200
    for assistant in (SALES, SURVEY):
        stored = fresh.stored(assistant)
        assert {field: stored[field] for field in fields} == dict.fromkeys(fields, 54)


def test_concurrent_creates_get_distinct_ids(fresh: Api) -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def creator(worker: int) -> None:
        with httpx.Client(
            base_url=fresh.base_url,
            headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
            timeout=30,
        ) as http:
            for step in range(5):
                response = http.post("/user/assistant", json={**PIPELINE_BODY, "name": f"w{worker}-{step}"})
                assert response.status_code == 201, response.text
                with lock:
                    ids.append(response.json()["data"]["id"])

    threads = [threading.Thread(target=creator, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 40
    assert fresh.get("/user/assistants/get").json()["total"] == 43

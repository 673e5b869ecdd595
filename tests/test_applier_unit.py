"""The Applier on its own, over ``httpx.MockTransport``: what it sends, in which order, and what it reports
(docs/contract.md, Commands). End to end, against the emulator: test_apply_e2e.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx

from reconciler.apply import Applier
from reconciler.client import Client, RetryPolicy
from reconciler.desired import DesiredState, load_directory
from reconciler.errors import Problem
from reconciler.plan import Action, Change, Plan
from reconciler.results import Outcome, Status

VOICE_INVALID = "The selected voice id is invalid."


def assistant_file(name: str, voice_id: int, temperature: str) -> str:
    return (
        f"name: {name}\ntype: outbound\nmode: pipeline\nlanguage_id: 1\nvoice_id: {voice_id}\nllm_model_id: 2\n"
        f"timezone: Europe/Berlin\ninitial_message: Hello.\nsystem_prompt: Be brief.\n"
        f"llm_temperature: {temperature}\n"
    )


def desired(directory: Path) -> DesiredState:
    for key, name, voice_id, temperature in [
        ("a", "Alpha", 101, "0.2"),
        ("b", "Beta", 103, "0.5"),
        ("c", "Gamma", 101, "0.3"),
    ]:
        (directory / f"{key}.yaml").write_text(assistant_file(name, voice_id, temperature))
    (directory / "d.yaml").write_text(assistant_file("Delta", 101, "0.4"))
    return load_directory(directory, environ={})


class Platform:
    """A MockTransport handler: one listing page, 201 for a create, 200 for an update, 422 for the ids in
    ``refuse``; it records every write as (method, path, body)."""

    def __init__(self, listed: list[dict[str, Any]], refuse: frozenset[int] = frozenset()) -> None:
        self.listed = listed
        self.refuse = refuse
        self.writes: list[tuple[str, str, Any]] = []
        self.reads = 0
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.reads += 1
            page = {
                "current_page": 1,
                "data": self.listed,
                "per_page": 100,
                "total": len(self.listed),
                "last_page": 1,
            }
            return httpx.Response(200, json=page)
        with self._lock:
            self.writes.append((request.method, request.url.path, json.loads(request.content)))
        if request.method == "POST":
            return httpx.Response(201, json={"data": {"id": 30, **json.loads(request.content)}})
        assistant_id = int(request.url.path.rsplit("/", 1)[1])
        if assistant_id in self.refuse:
            errors = {"voice_id": [VOICE_INVALID]}
            return httpx.Response(422, json={"message": VOICE_INVALID, "errors": errors})
        return httpx.Response(200, json={"data": {"id": assistant_id}})


def client(platform: Platform) -> Client:
    retry = RetryPolicy(sleep=lambda _: None)
    return Client(
        "https://api.test/api",
        "tok-unit-0123456789",
        writable=True,
        retry=retry,
        transport=httpx.MockTransport(platform),
    )


def change(key: str, action: Action, assistant_id: int | None, name: str, body: dict[str, Any]) -> Change:
    return Change(key, f"{key}.yaml", action, assistant_id, name, body)


LISTED = [{"id": 1, "name": "Alpha"}, {"id": 2, "name": "Beta"}, {"id": 4, "name": "Delta"}]
PLAN = Plan(
    (
        change("a", Action.UPDATE, 1, "Alpha", {"llm_temperature": 0.2}),
        change("b", Action.UPDATE, 2, "Beta", {"voice_id": 103, "llm_temperature": 0.5}),
        change(
            "c", Action.CREATE, None, "Gamma", {"name": "Gamma", "type": "outbound", "llm_temperature": 0.3}
        ),
        change("d", Action.UPDATE, 4, "Delta", {"llm_temperature": 0.4}),
    )
)


def test_creates_go_first_then_the_updates_in_plan_order_each_body_exactly_as_planned(tmp_path: Path) -> None:
    platform = Platform(LISTED)
    outcomes = Applier(client(platform), desired(tmp_path), concurrency=1).run(PLAN)
    assert platform.writes == [
        ("POST", "/api/user/assistant", {"name": "Gamma", "type": "outbound", "llm_temperature": 0.3}),
        ("PUT", "/api/user/assistant/1", {"llm_temperature": 0.2}),
        ("PUT", "/api/user/assistant/2", {"voice_id": 103, "llm_temperature": 0.5}),
        ("PUT", "/api/user/assistant/4", {"llm_temperature": 0.4}),
    ]
    assert platform.reads == 1  # the listing right before the creates
    assert outcomes == [  # reported in the plan's order
        Outcome("a", Action.UPDATE, Status.APPLIED, 1),
        Outcome("b", Action.UPDATE, Status.APPLIED, 2),
        Outcome("c", Action.CREATE, Status.APPLIED, 30),
        Outcome("d", Action.UPDATE, Status.APPLIED, 4),
    ]


def test_a_422_on_one_update_fails_that_one_at_its_file_and_line_and_the_others_are_still_sent(
    tmp_path: Path,
) -> None:
    platform = Platform(LISTED, refuse=frozenset({2}))
    reported: list[str] = []
    outcomes = Applier(client(platform), desired(tmp_path), concurrency=1).run(
        PLAN, on_outcome=lambda outcome: reported.append(outcome.key)
    )
    assert [(method, path) for method, path, _ in platform.writes] == [
        ("POST", "/api/user/assistant"),
        ("PUT", "/api/user/assistant/1"),
        ("PUT", "/api/user/assistant/2"),  # sent once: a 422 is not retried
        ("PUT", "/api/user/assistant/4"),  # and does not stop the rest
    ]
    refused = Outcome(
        "b",
        Action.UPDATE,
        Status.FAILED,
        2,
        f"PUT /user/assistant/2: 422 {VOICE_INVALID}",
        (Problem(str(tmp_path / "b.yaml"), 5, "voice_id", VOICE_INVALID),),
    )
    assert outcomes == [
        Outcome("a", Action.UPDATE, Status.APPLIED, 1),
        refused,
        Outcome("c", Action.CREATE, Status.APPLIED, 30),
        Outcome("d", Action.UPDATE, Status.APPLIED, 4),
    ]
    assert reported == ["a", "b", "c", "d"]


def test_a_create_whose_name_appeared_since_the_plan_is_not_sent(tmp_path: Path) -> None:
    platform = Platform([*LISTED, {"id": 9, "name": "Gamma"}])
    outcomes = Applier(client(platform), desired(tmp_path), concurrency=1).run(PLAN)
    assert [method for method, _, _ in platform.writes] == ["PUT", "PUT", "PUT"]
    assert outcomes[2] == Outcome(
        "c",
        Action.CREATE,
        Status.FAILED,
        message="not sent: 'Gamma' appeared on the platform after the plan was made (id 9); "
        "run reconciler plan again: the file now matches that assistant",
    )

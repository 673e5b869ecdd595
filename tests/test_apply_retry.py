"""The one retry policy reaches creates: the applier's create loop waits as the client's own loop does.

A create is never resent blindly (apply.py decides when a resend is safe), but once it is safe to resend, how
long to wait is the client's one policy: the backoff, or the answer's ``Retry-After`` (capped), within the
run's deadline. Unit tests over ``httpx.MockTransport`` with a recording ``sleep``: nothing really waits.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from reconciler.apply import Applier
from reconciler.client import Client, RetryPolicy
from reconciler.desired import DesiredState
from reconciler.limits import Limits
from reconciler.plan import Action, Change, Plan
from reconciler.results import Status

BODY = {"name": "Front Desk", "type": "inbound", "mode": "pipeline"}
EMPTY_PAGE = {"current_page": 1, "data": [], "per_page": 100, "total": 0, "last_page": 1}


def applier(posts: list[httpx.Response], delays: list[float], limits: Limits | None = None) -> Applier:
    """An applier whose API lists an empty account and answers the creates with ``posts`` in turn."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=EMPTY_PAGE)
        assert json.loads(request.content) == BODY
        return posts.pop(0)

    client = Client(
        "https://api.test/api",
        "tok",
        writable=True,
        retry=RetryPolicy(attempts=3, sleep=delays.append),
        limits=limits,
        transport=httpx.MockTransport(handler),
    )
    return Applier(client, DesiredState(Path("."), ()), concurrency=1)


def create_plan() -> Plan:
    return Plan.of([Change("front-desk", "front-desk.yaml", Action.CREATE, None, "Front Desk", body=BODY)])


def throttled(seconds: str) -> httpx.Response:
    return httpx.Response(429, json={"message": "Too Many Attempts."}, headers={"Retry-After": seconds})


def test_a_throttled_create_waits_as_long_as_its_retry_after_asks() -> None:
    delays: list[float] = []
    created = httpx.Response(201, json={"data": {"id": 7}})
    (outcome,) = applier([throttled("30"), created], delays).run(create_plan())
    assert (outcome.status, outcome.id) == (Status.APPLIED, 7)
    assert delays == [30.0]


def test_a_create_retry_after_is_capped_like_any_other() -> None:
    delays: list[float] = []
    created = httpx.Response(201, json={"data": {"id": 7}})
    limits = Limits(max_retry_after=5)
    (outcome,) = applier([throttled("3600"), created], delays, limits).run(create_plan())
    assert outcome.status == Status.APPLIED
    assert delays == [5.0]


def test_a_create_throttled_on_every_try_fails_with_the_api_answer() -> None:
    delays: list[float] = []
    (outcome,) = applier([throttled("1")] * 3, delays).run(create_plan())
    assert outcome.status == Status.FAILED
    assert outcome.message == "POST /user/assistant: 429 Too Many Attempts."
    assert delays == [1.0, 1.0]


def test_a_create_retry_after_beyond_the_run_deadline_gives_up_at_once() -> None:
    delays: list[float] = []
    limits = Limits(run_deadline=10, max_retry_after=120)
    (outcome,) = applier([throttled("60")], delays, limits).run(create_plan())
    assert outcome.status == Status.FAILED
    assert outcome.message == (
        "POST /user/assistant: 429 Too Many Attempts.; gave up: the API asked to retry after 60 s, "
        "and the run's deadline (10 s) ends sooner"
    )
    assert delays == []

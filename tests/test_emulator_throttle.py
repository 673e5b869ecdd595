"""The emulator's throttle with a window of any length and a second, burst limit, its two 429 bodies, and a
platform whose update verb is PATCH (405 with ``Allow`` for PUT)."""

from __future__ import annotations

import httpx
import pytest
from support import PIPELINE, emulator

from reconciler.emulator.faults import RateLimiter, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_window_lasts_as_long_as_it_is_told() -> None:
    clock = Clock()
    limiter = RateLimiter(
        per_minute=2, window_seconds=2.0, clock=clock, wall=lambda: 1_000_000_000.0 + clock.now
    )
    assert [limiter.hit("k") for _ in range(3)] == [
        Verdict(True, 2, 1, 2),
        Verdict(True, 2, 0, 2),
        Verdict(False, 2, 0, 2),
    ]
    clock.now = 1.5
    refused = limiter.hit("k")
    assert refused == Verdict(False, 2, 0, 1)
    assert refused.reset == 1_000_000_002  # the Unix time the window closes
    clock.now = 2.0
    assert limiter.hit("k") == Verdict(True, 2, 1, 2)  # a new window


def test_a_burst_limit_refuses_within_the_first_and_its_429_names_itself() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=10, window_seconds=60.0, burst=3, burst_seconds=10.0, clock=clock)
    assert [limiter.hit("k") for _ in range(4)] == [
        Verdict(True, 10, 9, 60),  # successes carry the first limit's headers
        Verdict(True, 10, 8, 60),
        Verdict(True, 10, 7, 60),
        Verdict(False, 3, 0, 10),  # the burst limit refused: its own headers
    ]
    clock.now = 10.0
    assert limiter.hit("k") == Verdict(True, 10, 6, 50)  # the refusal counted in neither
    for _ in range(2):
        limiter.hit("k")
    clock.now = 20.0  # a new burst window; 6 of the minute's 10 spent
    assert [limiter.hit("k").remaining for _ in range(3)] == [3, 2, 1]
    assert limiter.hit("k") == Verdict(False, 3, 0, 10)
    clock.now = 30.0
    assert limiter.hit("k") == Verdict(True, 10, 0, 30)
    assert limiter.hit("k") == Verdict(False, 10, 0, 30)  # now the minute's budget is spent


@pytest.mark.parametrize(
    ("body", "expected", "retry_after"),
    [
        ("laravel", {"message": "Too Many Attempts."}, "2"),
        ("error", {"error": "Rate limit exceeded", "retry_after": 2}, None),
    ],
)
def test_the_two_429_bodies(
    body: str, expected: dict[str, object], retry_after: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator(monkeypatch, rate_limit=1, rate_window=2.0, rate_body=body) as api, api.http() as http:
        assert http.get("/user/tools").status_code == 200
        refused = http.get("/user/tools")
    assert refused.status_code == 429
    assert refused.json() == expected
    assert refused.headers.get("Retry-After") == retry_after
    assert (refused.headers["X-RateLimit-Limit"], refused.headers["X-RateLimit-Remaining"]) == ("1", "0")
    assert refused.headers["X-RateLimit-Reset"].isdigit()


def test_a_patch_only_platform_answers_put_405_with_allow(monkeypatch: pytest.MonkeyPatch) -> None:
    with emulator(monkeypatch, update_methods=("PATCH",)) as api:
        assistant = api.create(PIPELINE)
        with api.http() as http:
            put = http.put(f"/user/assistant/{assistant}", json={"name": "Put"})
            patch = http.patch(f"/user/assistant/{assistant}", json={"name": "Patched"})
        names = [item["name"] for item in api.items()]
    assert put.status_code == 405
    assert put.json() == {"message": "The PUT method is not supported for this route."}
    assert put.headers["Allow"] == "PATCH, DELETE"
    assert patch.status_code == 200
    assert names == ["Patched"]


def test_by_default_an_update_takes_put_and_patch(monkeypatch: pytest.MonkeyPatch) -> None:
    with emulator(monkeypatch) as api:
        assistant = api.create(PIPELINE)
        with api.http() as http:
            statuses = [
                http.request(m, f"/user/assistant/{assistant}", json={"name": m}).status_code
                for m in ("PUT", "PATCH")
            ]
            post = http.post(f"/user/assistant/{assistant}", json={})
    assert statuses == [200, 200]
    assert post.status_code == 405
    assert post.headers["Allow"] == "PUT, PATCH, DELETE"
    assert isinstance(post, httpx.Response)

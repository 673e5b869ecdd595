"""A rate limit that appears in the middle of an apply (issue 19), end to end through the CLI.

While no limit is announced, the writes in flight grow to ``MAX_IN_FLIGHT`` (32); the platform may still start
limiting half-way: its throttle switched on, or a gateway in front of it that says nothing until it refuses. The
writes already out cannot be called back, but nothing the pacer sends after the first sign of the limit may run
into it again and again: a 429 storm.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hostile_server import Reply, Request, assistant, honest_account, hostile_api
from support import pipeline_file, run, write_files

from reconciler.emulator.faults import RateLimiter
from reconciler.pacing import MAX_IN_FLIGHT

LATENCY = 0.05  # seconds before every answer: fast, but slow enough that the writes in flight matter
QUIET = 80  # requests answered before the limit appears: enough to grow to 32 in flight on the way
COUNT = 150  # assistants updated


class AppearingLimit:
    """An honest account whose first ``QUIET`` requests are answered with no limit at all; from then on a
    fixed-window throttle (the emulator's own, Laravel's), or a gateway that refuses as that throttle would but
    names no limit on its successes."""

    def __init__(self, limit: int, window: float, *, announced: bool) -> None:
        items = [assistant(100 + i, f"U{i:03d}") for i in range(COUNT)]
        self.account = honest_account(*items)
        self.throttle = RateLimiter(limit, window)
        self.announced = announced
        self.seen = 0
        self.refused: list[float] = []  # when each 429 went out
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            self.seen += 1
            quiet = self.seen <= QUIET
        if quiet:
            reply = self.account.handle(request)
            return Reply(reply.status, reply.body, reply.headers, delay=LATENCY)
        verdict = self.throttle.hit(request.headers.get("authorization", ""))
        assert verdict is not None
        if not verdict.allowed:
            body, headers = verdict.refusal()
            if not self.announced:
                headers = {"Retry-After": headers["Retry-After"]}
            with self._lock:
                self.refused.append(time.monotonic() + LATENCY)
            return Reply(429, body, headers | self._named(verdict), delay=LATENCY)
        reply = self.account.handle(request)
        return Reply(reply.status, reply.body, reply.headers | self._named(verdict), delay=LATENCY)

    def _named(self, verdict: Any) -> dict[str, str]:
        if not self.announced:
            return {}
        return {"X-RateLimit-Limit": str(verdict.limit), "X-RateLimit-Remaining": str(verdict.remaining)}


def files(tmp_path: Path) -> Path:
    texts = {f"u{i:03d}": pipeline_file(f"U{i:03d}", "speech_speed: 0.9\n") for i in range(COUNT)}
    return write_files(tmp_path / "d", texts)


@pytest.fixture(autouse=True)
def deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_DEADLINE", "60")


def apply(capsys: pytest.CaptureFixture[str], directory: Path) -> tuple[int, str, str]:
    return run(capsys, "--debug", "apply", "--dir", str(directory), "--auto-approve", "--force")


def in_flight_changes(err: str) -> list[tuple[int, int, str]]:
    found = re.findall(r"^debug: reconciler\.pacing: requests in flight: (\d+) -> (\d+) \((.*)\)$", err, re.M)
    return [(int(a), int(b), why) for a, b, why in found]


def growth_then_signs(err: str) -> tuple[list[tuple[int, int]], list[tuple[int, int, str]]]:
    """The changes of the requests in flight split where the first sign of a limit comes: before it, changes
    made by the answers' times alone (doubling while they stay fast; on a loaded machine, where the test server
    shares the interpreter with the CLI, halving too when they slow down and doubling again); from it, the
    changes the limit made, which are what these tests are about."""
    changes = in_flight_changes(err)
    cut = next(
        (i for i, (_, _, why) in enumerate(changes) if not why.startswith("answers in ")), len(changes)
    )
    growth = [(a, b) for a, b, _ in changes[:cut]]
    assert all(b in (2 * a, max(4, a // 2)) for a, b in growth), growth
    assert growth[0] == (4, 8), growth
    assert MAX_IN_FLIGHT in {b for _, b in growth}, growth
    return growth, changes[cut:]


def test_the_writes_grow_to_32_then_a_throttle_that_appears_costs_at_most_three_429s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Laravel's throttle switched on mid-run (40 a second, named on every answer): the first answer that names
    it brings the writes back to 4; its budget covers the 32 already out, and the pacer learns its window."""
    server = AppearingLimit(40, 1.0, announced=True)
    directory = files(tmp_path)
    with hostile_api(monkeypatch, server):
        code, out, err = apply(capsys, directory)
    assert code == 0, out + err
    assert f"Apply: {COUNT} applied, 0 failed; read back: 0 not converged." in out
    _, signs = growth_then_signs(err)
    assert [(b, why) for _, b, why in signs] == [(4, "a rate limit is announced")]
    assert len(server.refused) <= 3
    assert re.search(r"rate limit: 40 requests per [0-9.]+ s at most, learned from ", err)


def test_a_throttle_smaller_than_the_writes_out_refuses_them_once_and_the_pace_stays_at_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """20 a second switched on while 32 writes are out: 12 or so of them are refused, all sent before the limit
    was known. Each used to cut the pace by 10% as if another client shared the budget (0.9 ** 12: a quarter of
    the limit for the rest of the run); they are one sign, already acted on."""
    server = AppearingLimit(20, 1.0, announced=True)
    directory = files(tmp_path)
    with hostile_api(monkeypatch, server):
        code, out, err = apply(capsys, directory)
    assert code == 0, out + err
    assert f"Apply: {COUNT} applied, 0 failed; read back: 0 not converged." in out
    _, signs = growth_then_signs(err)
    assert [(b, why) for _, b, why in signs] == [(4, "a rate limit is announced")]
    assert len(server.refused) <= MAX_IN_FLIGHT - 20 + 3
    assert re.search(r"rate limit: 20 requests per 1\.[0-9]+ s at most, learned from ", err)
    assert "a 429 with budget left" not in err  # the pace was never lowered below the learned rate


def test_a_gateway_that_names_no_limit_gets_one_burst_of_429s_and_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A gateway that refuses past 50 a second and names nothing but Retry-After: the writes already out when
    it starts refusing are refused (at most the 32 in flight), the others wait out the Retry-After, and what is
    sent afterwards, two at a time, is never refused again. The burst halves the writes in flight once, not once
    for each of its 429s (which took them down to one at a time)."""
    server = AppearingLimit(50, 1.0, announced=False)
    directory = files(tmp_path)
    with hostile_api(monkeypatch, server):
        code, out, err = apply(capsys, directory)
    assert code == 0, out + err
    assert f"Apply: {COUNT} applied, 0 failed; read back: 0 not converged." in out
    _, signs = growth_then_signs(err)
    assert [(b, why) for _, b, why in signs] == [(4, "a rate limit is announced"), (2, "a 429")]
    assert 1 <= len(server.refused) <= MAX_IN_FLIGHT
    first, last = server.refused[0], server.refused[-1]
    assert last - first < 0.5  # one burst, from the writes already out; none after the Retry-After of 1 s

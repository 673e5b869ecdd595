"""The pacer: learns the limit from headers, spaces requests evenly, pauses the others after a 429."""

from __future__ import annotations

import threading

import pytest

from reconciler.pacing import MARGIN, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))


def pacer() -> tuple[Pacer, Clock]:
    clock = Clock()
    return Pacer(clock=clock, sleep=clock.sleep), clock


def test_no_spacing_until_a_limit_is_announced() -> None:
    p, clock = pacer()
    for _ in range(3):
        with p.slot():
            p.observe(200, {})
    assert clock.slept == []
    assert p.interval == 0.0


def test_learned_limit_spaces_request_starts_evenly() -> None:
    p, clock = pacer()
    with p.slot():
        p.observe(200, {"x-ratelimit-limit": "600", "x-ratelimit-remaining": "599"})
    assert p.limit == 600
    assert p.interval == pytest.approx(60 / (600 * MARGIN))
    for _ in range(3):
        with p.slot():
            pass
    step = round(60 / (600 * MARGIN), 6)
    # the clock stands still: the first starts at once, the next ones one and two intervals later
    assert clock.slept == [pytest.approx(step), pytest.approx(2 * step)]


def test_a_429_pauses_other_threads_until_retry_after_and_slows_down() -> None:
    p, clock = pacer()
    with p.slot():
        p.observe(200, {"x-ratelimit-limit": "6000"})
    clock.now += 1  # well past the spacing
    with p.slot():
        p.observe(429, {"retry-after": "5", "x-ratelimit-limit": "6000", "x-ratelimit-remaining": "0"})
    assert p.throttled == 1
    assert p.factor == pytest.approx(0.9)
    clock.slept.clear()
    with p.slot():  # the same thread waits in its own retry loop: here only the spacing applies
        pass
    assert clock.slept
    assert max(clock.slept) < 0.1
    other: list[float] = []

    def from_another_thread() -> None:
        with p.slot():
            other.extend(clock.slept)

    thread = threading.Thread(target=from_another_thread)
    thread.start()
    thread.join()
    assert other
    assert other[-1] == pytest.approx(5.0, abs=0.02)


def test_a_429_without_retry_after_pauses_one_interval() -> None:
    p, _ = pacer()
    with p.slot():
        p.observe(429, {"x-ratelimit-limit": "60"})
    assert p.limit == 60
    assert p._paused_until == pytest.approx(100.0 + 60 / (60 * MARGIN * 0.9))


def test_only_one_request_in_flight_before_the_first_answer() -> None:
    p, _ = pacer()
    inside = threading.Event()
    release = threading.Event()
    entered: list[str] = []

    def first() -> None:
        with p.slot():
            entered.append("first")
            inside.set()
            release.wait(5)
            p.observe(200, {})

    def second() -> None:
        with p.slot():
            entered.append("second")

    t1 = threading.Thread(target=first)
    t1.start()
    inside.wait(5)
    t2 = threading.Thread(target=second)
    t2.start()
    t2.join(0.2)
    assert entered == ["first"]  # the second waits for the probe
    release.set()
    t1.join(5)
    t2.join(5)
    assert entered == ["first", "second"]


@pytest.mark.parametrize("retry_after", ["1000000000", "1" * 23, "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_429_pauses_the_others_no_longer_than_max_pause(retry_after: str) -> None:
    p = Pacer(clock=Clock(), sleep=lambda _: None, max_pause=120.0)
    with p.slot():
        p.observe(429, {"retry-after": retry_after})
    assert p._paused_until == pytest.approx(100.0 + 120.0)


@pytest.mark.parametrize("retry_after", ["²", "\u0661"])  # str.isdigit passes both; float() refuses them
def test_a_retry_after_that_is_no_number_pauses_one_interval(retry_after: str) -> None:
    p, _ = pacer()
    with p.slot():
        p.observe(429, {"retry-after": retry_after, "x-ratelimit-limit": "60"})
    assert p._paused_until == pytest.approx(100.0 + 60 / (60 * MARGIN * 0.9))


@pytest.mark.parametrize("limit", ["²", "\u0661\u0662\u0660", "9" * 5000])
def test_a_rate_limit_that_is_no_number_is_ignored(limit: str) -> None:
    p, _ = pacer()
    with p.slot():
        p.observe(200, {"x-ratelimit-limit": limit})
    assert p.limit is None
    assert p.interval == 0.0

"""The pacer, on a fake clock: learns each limit's window (from Remaining going back up, X-RateLimit-Reset,
Retry-After), spaces requests evenly once it knows, pauses the others after a 429, slows down after an unexplained
429 and recovers, and grows the requests in flight while no limit is announced."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.pacing import BACKOFF, MARGIN, RECOVER_AFTER, Pacer, body_retry_after, retry_after


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


def test_a_429_pauses_other_threads_until_retry_after_and_slows_down() -> None:
    p, clock = ticking()
    with p.slot():
        p.observe(200, {"x-ratelimit-limit": "6000"})
    clock.now += 1
    with p.slot():  # the budget was not known to be spent: an unexplained 429
        p.observe(429, {"retry-after": "5"})
    assert p.throttled == 1
    assert p.factor == pytest.approx(BACKOFF)
    other: list[float] = []

    def from_another_thread() -> None:
        with p.slot():
            other.extend(clock.slept)

    thread = threading.Thread(target=from_another_thread)
    thread.start()
    thread.join(5)
    assert other == [pytest.approx(5.0)]
    clock.slept.clear()
    with p.slot():  # the one that got it waited in its own retry loop: the pause is not its own
        pass
    assert clock.slept == []


def test_a_429_without_retry_after_pauses_a_second_while_no_window_is_known() -> None:
    p, _ = pacer()
    with p.slot():
        p.observe(429, {"x-ratelimit-limit": "60"})
    assert p.limit == 60
    assert p._paused_until == pytest.approx(101.0)


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
def test_a_retry_after_that_is_no_number_pauses_a_second(retry_after: str) -> None:
    p, _ = pacer()
    with p.slot():
        p.observe(429, {"retry-after": retry_after, "x-ratelimit-limit": "60"})
    assert p._paused_until == pytest.approx(101.0)


@pytest.mark.parametrize("limit", ["²", "\u0661\u0662\u0660", "9" * 5000])
def test_a_rate_limit_that_is_no_number_is_ignored(limit: str) -> None:
    p, _ = pacer()
    with p.slot():
        p.observe(200, {"x-ratelimit-limit": limit})
    assert p.limit is None
    assert p.interval == 0.0


class Ticking(Clock):
    """A clock that sleeping moves on, as the real one does."""

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.now += seconds


def ticking(**options: Any) -> tuple[Pacer, Ticking]:
    clock = Ticking()
    return Pacer(clock=clock, sleep=clock.sleep, wall=lambda: 1_700_000_000.0 + clock.now, **options), clock


def answer(p: Pacer, clock: Ticking, status: int = 200, after: float = 0.01, **headers: str) -> None:
    """One request through the pacer, answered ``after`` seconds later with these headers."""
    with p.slot():
        clock.now += after
        p.observe(status, {k.replace("_", "-"): v for k, v in headers.items()})


def limited(limit: int, remaining: int) -> dict[str, str]:
    return {"x_ratelimit_limit": str(limit), "x_ratelimit_remaining": str(remaining)}


def test_an_unknown_window_is_spent_at_once_then_one_429_tells_its_end() -> None:
    p, clock = ticking()
    for left in range(4, -1, -1):  # 5 a window: the budget goes as fast as the answers come
        answer(p, clock, **limited(5, left))
    assert clock.slept == []
    assert p.interval == 0.0
    answer(p, clock, 429, retry_after="2", **limited(5, 0))  # the probe: it finds where the window ends
    assert p.windows[5].seconds == pytest.approx(2.06)  # from the first send (100.0) to 100.06 + 2
    assert p.factor == 1.0  # the budget explained it: no slowing down
    answer(p, clock, **limited(5, 4))  # waits out the window, then spaces the requests evenly
    assert clock.slept == [pytest.approx(2.0)]
    answer(p, clock, **limited(5, 3))
    assert clock.slept[-1] == pytest.approx(2.06 / (5 * MARGIN) - 0.01)


def test_the_window_is_learned_from_remaining_going_back_up() -> None:
    p, clock = ticking()
    for left in (9, 8, 7):
        answer(p, clock, after=0.1, **limited(10, left))
    clock.now += 0.8
    answer(p, clock, after=0.1, **limited(10, 9))  # a new window opened: at most 1.2 s after the first send
    assert p.windows[10].seconds == pytest.approx(1.2)
    assert p.interval == pytest.approx(1.2 / (10 * MARGIN))


@pytest.mark.parametrize("reset", ["1700000103", "3"])  # a Unix time (Laravel's) or a number of seconds
def test_the_window_is_learned_from_x_ratelimit_reset(reset: str) -> None:
    p, clock = ticking()
    answer(p, clock, **limited(20, 19), x_ratelimit_reset=reset)
    assert p.windows[20].seconds == pytest.approx(3.0 + (0.01 if reset == "3" else 0.0))


def test_a_burst_limit_that_only_its_429s_name_is_learned_too() -> None:
    p, clock = ticking()
    for left in range(99, 79, -1):  # the successes name the minute's limit only
        answer(p, clock, after=0.005, **limited(100, left))
    answer(p, clock, 429, after=0.005, retry_after="10", **limited(20, 0))  # the burst limit refuses
    assert p.windows[20].seconds == pytest.approx(10.105)  # from the first send to 100.105 + 10
    assert p.learned() == ["20 requests per 10.10 s", "100 requests per a window not known yet"]
    assert p.factor == 1.0
    answer(p, clock, **limited(100, 79))  # after the burst's window
    assert clock.now == pytest.approx(110.105 + 0.01)
    assert p.interval == pytest.approx(10.105 / (20 * MARGIN))


def test_a_429_with_budget_left_slows_down_and_success_recovers() -> None:
    p, clock = ticking()
    answer(p, clock, after=0.0, **limited(10, 9))
    clock.now += 1.0
    answer(p, clock, after=0.0, **limited(10, 9))
    assert p.windows[10].seconds == pytest.approx(1.0)
    answer(p, clock, 429, after=0.0, retry_after="1", **limited(10, 5))  # another client shares the budget
    assert p.factor == pytest.approx(BACKOFF)
    slower = p.interval
    assert slower == pytest.approx(1.0 / (10 * MARGIN * BACKOFF))
    for n in range(RECOVER_AFTER * 11):
        answer(p, clock, after=0.0, **limited(10, 9 - n % 10))
    assert p.factor == 1.0
    assert p.interval < slower


@pytest.mark.parametrize(
    ("body", "wait"),
    [
        ({"error": "Rate limit exceeded", "retry_after": 60}, 60.0),
        ({"error": "Rate limit exceeded", "retry_after": "7"}, 7.0),
        ({"message": "Too Many Attempts."}, None),
        ({"retry_after": True}, None),
        ({"retry_after": "soon"}, None),
        (["retry_after", 5], None),
    ],
)
def test_the_wait_a_429_body_asks_for(body: Any, wait: float | None) -> None:
    assert body_retry_after(body) == wait


def test_a_429_body_retry_after_pauses_the_others_when_no_header_says_it() -> None:
    p, _clock = ticking()
    with p.slot():
        p.observe(429, {}, waited=4.0)
    assert p._paused_until == pytest.approx(104.0)


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    now = datetime(2026, 12, 4, 12, 0, 0, 300000, tzinfo=UTC)
    assert retry_after("Fri, 04 Dec 2026 12:00:03 GMT", now=now) == 3.0  # rounded up: never early
    assert retry_after("Fri, 04 Dec 2026 11:00:00 GMT", now=now) == 0.0


def test_requests_in_flight_grow_while_no_limit_is_announced_and_answers_stay_fast() -> None:
    p, _ = ticking(in_flight=4, max_in_flight=16)
    for _ in range(4):
        with p.slot():
            p.observe(200, {}, elapsed=0.05)
    assert p.in_flight == 8
    for _ in range(8):
        with p.slot():
            p.observe(200, {}, elapsed=0.06)
    assert p.in_flight == 16
    for _ in range(16):
        with p.slot():
            p.observe(200, {}, elapsed=0.05)
    assert p.in_flight == 16  # the cap
    with p.slot():
        p.observe(200, {}, elapsed=0.5)  # one slow answer is noise
    assert p.in_flight == 16


def test_requests_in_flight_halve_once_a_round_when_answers_slow_down() -> None:
    p, _ = ticking(in_flight=4, max_in_flight=16)
    for elapsed in [0.05] * 12:
        with p.slot():
            p.observe(200, {}, elapsed=elapsed)
    assert p.in_flight == 16
    for _ in range(16):  # the server queues: answers six times as slow; a round of them is needed
        with p.slot():
            p.observe(200, {}, elapsed=0.3)
    assert p.in_flight == 8
    for _ in range(8):
        with p.slot():
            p.observe(200, {}, elapsed=0.3)
    assert p.in_flight == 4
    for _ in range(8):
        with p.slot():
            p.observe(200, {}, elapsed=0.3)
    assert p.in_flight == 4  # never below the start


def test_the_first_sign_of_a_limit_ends_the_growth() -> None:
    p, _ = ticking(in_flight=4, max_in_flight=16)
    for _ in range(4):
        with p.slot():
            p.observe(200, {}, elapsed=0.05)
    assert p.in_flight == 8
    with p.slot():
        p.observe(200, {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "90"}, elapsed=0.05)
    assert p.in_flight == 4
    for _ in range(20):
        with p.slot():
            p.observe(200, {}, elapsed=0.05)
    assert p.in_flight == 4
    with p.slot():
        p.observe(429, {"retry-after": "1"}, elapsed=0.05)
    assert p.in_flight == 4  # a limit is known: the pacing slows down, not the requests at once


def test_a_429_that_names_no_limit_halves_the_requests_in_flight() -> None:
    p, _ = ticking(in_flight=4, max_in_flight=16)
    for _ in range(4):
        with p.slot():
            p.observe(200, {}, elapsed=0.05)
    assert p.in_flight == 8
    with p.slot():
        p.observe(429, {"retry-after": "1"}, elapsed=0.05)
    assert p.in_flight == 2  # back to the start, and half of it


def test_with_no_limit_announced_the_requests_in_flight_reach_32_in_three_rounds() -> None:
    """From `apply`'s 4: 28 fast answers (4, then 8, then 16) and 32 fly, where 4 fixed gave 80 writes a second
    against a 50 ms server (issue 19); no further, however many more come."""
    p, _ = ticking(in_flight=4)
    seen = []
    for _ in range(4 + 8 + 16 + 64):
        with p.slot():
            p.observe(200, {}, elapsed=0.05)
        seen.append(p.in_flight)
    assert seen[3] == 8
    assert seen[4 + 8 - 1] == 16
    assert seen[4 + 8 + 16 - 1] == 32
    assert set(seen[4 + 8 + 16 - 1 :]) == {32}


def grown(count: int) -> tuple[Pacer, Clock]:
    """A pacer that started at 4 in flight, has seen one answer and grew to ``count``."""
    clock = Clock()
    p = Pacer(clock=clock, sleep=clock.sleep, in_flight=4, max_in_flight=count)
    with p.slot():
        p.observe(200, {}, elapsed=0.05)
    p.in_flight = count
    clock.now += 0.01
    return p, clock


def out_at_once(p: Pacer, clock: Clock, count: int) -> list[Any]:
    """``count`` requests sent at the same moment (each in a thread of its own, inside its slot); each answers
    when the test calls the function it gets back with a status and headers."""
    inside = threading.Barrier(count + 1)
    answers = [threading.Event() for _ in range(count)]
    replies: list[tuple[int, dict[str, str]]] = [(200, {})] * count
    done = [threading.Event() for _ in range(count)]

    def request(index: int) -> None:
        with p.slot():
            inside.wait(5)
            answers[index].wait(5)
            p.observe(*replies[index], elapsed=0.05)
        done[index].set()

    threads = [threading.Thread(target=request, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    inside.wait(5)
    clock.now += 0.05

    def answer_with(index: int) -> Any:
        def reply(status: int, headers: dict[str, str]) -> None:
            replies[index] = (status, headers)
            answers[index].set()
            done[index].wait(5)

        return reply

    return [answer_with(i) for i in range(count)]


def test_the_429s_of_the_requests_out_when_a_limit_appears_are_one_sign() -> None:
    """A gateway starts refusing while 8 requests are out (grown from 4): the first 429 takes them back to 4 and
    halves that, and lowers the pace; the 7 answered 429 after it were sent before it, and lower nothing more
    (each used to halve and cut 10%: one at a time, at 48%)."""
    p, clock = grown(8)
    replies = out_at_once(p, clock, 8)
    for reply in replies:
        reply(429, {"retry-after": "1"})
    assert p.throttled == 8
    assert (p.in_flight, p.factor) == (2, pytest.approx(BACKOFF))
    clock.now += 1.0
    with p.slot():  # sent after the back-off: a 429 now is a new sign
        p.observe(429, {"retry-after": "1"})
    assert (p.in_flight, p.factor) == (1, pytest.approx(BACKOFF**2))


def test_a_limit_announced_while_requests_are_out_keeps_its_learned_pace_through_their_429s() -> None:
    """10 requests out when the answers start naming a limit of 6: the four over its budget are refused, but
    they left before it was known; the pace stays at the limit's rate."""
    p, clock = grown(10)
    replies = out_at_once(p, clock, 10)
    for index, reply in enumerate(replies):
        if index < 6:
            reply(200, {"x-ratelimit-limit": "6", "x-ratelimit-remaining": str(5 - index)})
        else:
            reply(429, {"x-ratelimit-limit": "6", "x-ratelimit-remaining": "0", "retry-after": "1"})
    assert p.throttled == 4
    assert p.factor == 1.0
    assert p.in_flight == 4  # back to the start at the first header

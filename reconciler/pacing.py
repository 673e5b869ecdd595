"""Client-side pacing that learns the platform's rate limits, so a long apply runs near them without a storm of
429s, and that lets more writes fly when the platform announces no limit at all.

The API's throttle (Laravel's) counts requests per token in fixed windows: a window opens with the first request
after the previous one closed and holds at most ``X-RateLimit-Limit`` requests; every answer says how many are
left (``X-RateLimit-Remaining``); a 429 adds ``Retry-After`` (and may add ``X-RateLimit-Reset``). The window's
length is not announced (a sibling documents 100 a minute *and* 20 per 10 seconds), so it is learned, per
announced limit (``Window``), never assumed:

- until a window's length is known, its budget is spent as it comes, ``LEARNING_IN_FLIGHT`` requests at a time:
  requests go while ``Remaining`` (less the requests in flight) is above 0; when it is spent, one request goes alone, and the 429 it gets says, with
  ``Retry-After`` or ``X-RateLimit-Reset``, when the window ends: the others wait until then;
- the length is bounded from above, never guessed low: by the time from the earliest request that can have
  opened the window to the end a 429 or ``X-RateLimit-Reset`` names, or to the answer that shows ``Remaining``
  back up (a new window); the tightest bound seen is kept;
- once lengths are known, requests are spaced evenly at ``MARGIN`` of the tightest ``limit / length``: any window
  of any of the limits then holds fewer than its limit; a window whose budget is spent all the same is waited
  out until its expected end;
- a 429 whose limit the answer names (``X-RateLimit-Limit``) and that was never seen on a success (a burst limit
  the successes do not announce) becomes a window of its own, learned the same way;
- a 429 that came although the budget was not spent (another client shares it, or a limit no header names)
  lowers the pace by ``BACKOFF``; each ``RECOVER_AFTER`` answers without one give back 1% of it, up to all;
- every 429 pauses the other workers until its ``Retry-After`` (the one that got it waits in its retry loop),
  never for longer than ``max_pause`` (``limits.MAX_RETRY_AFTER``).

With no limit announced at all, the requests in flight (``in_flight``, the ``--parallelism`` to start with) double
each time as many answers came back and they typically took at most twice the fastest, up to ``max_in_flight``;
past four times the fastest they halve (not below the start); the first rate-limit header or 429 brings them back
to the start (a 429 that names no limit halves them). A 429 to a request sent before the last back-off (the
writes out when a limit appears, refused together) is the sign already acted on: it lowers neither the pace nor
the requests in flight again, as TCP halves its window once for the losses of one round trip.

A header that is not a number the API could mean is ignored, never trusted: ``²`` passes ``str.isdigit`` and a
5,000-digit number breaks ``int()``. What is learned is said under ``--debug`` (the ``reconciler.pacing`` logger).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from reconciler.limits import MAX_RETRY_AFTER

log = logging.getLogger("reconciler.pacing")

MARGIN = 0.99  # share of the learned rate to use: the lengths are upper bounds, this absorbs jitter
BACKOFF = 0.9  # pace multiplier after a 429 the budget did not explain
RECOVER_AFTER = 10  # answers without a 429 that give back 1% of the pace
#: requests in flight while a limit's window is not known yet: a limit that the successes do not name (a burst)
#: refuses every request that is out when its budget ends
LEARNING_IN_FLIGHT = 2
MAX_IN_FLIGHT = 32  # how far the requests in flight grow when no limit is announced (issue 19: 16-32)
GROW_BELOW = 2.0  # answers typically within this many times the fastest: more requests in flight
SHRINK_ABOVE = 4.0  # beyond this many times: fewer (the server queues more than it serves)
FAST_SLACK = 0.01  # seconds beyond those multiples that still count: on loopback the fastest is a millisecond
EPOCH = 1_000_000_000.0  # an X-RateLimit-Reset above this is a Unix time, below it a number of seconds

_LIMIT = re.compile(r"[0-9]{1,9}", re.ASCII)  # a billion requests a window is already no limit at all
_DELTA_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)  # RFC 9110's 1*DIGIT, and the decimals some send
_RESET = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?", re.ASCII)


def announced_limit(value: str) -> int | None:
    """``X-RateLimit-Limit``: a positive number of requests a window, or None."""
    return int(value) if _LIMIT.fullmatch(value) and int(value) > 0 else None


def announced_remaining(value: str) -> int | None:
    """``X-RateLimit-Remaining``: a number of requests, or None."""
    return int(value) if _LIMIT.fullmatch(value) else None


def retry_after(value: str, *, now: datetime | None = None) -> float | None:
    """The seconds a ``Retry-After`` asks to wait: delta-seconds or an HTTP-date (RFC 9110 10.2.3), or None.

    Not capped here: the caller caps it, and says by how much."""
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)  # 400 digits or more give inf, which any cap turns into the cap
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, by RFC 5322
        when = when.replace(tzinfo=UTC)
    # an HTTP-date counts whole seconds: round up, so that the wait never ends before the date
    return float(max(0, math.ceil((when - (now or datetime.now(UTC))).total_seconds())))


def body_retry_after(body: Any) -> float | None:
    """The wait a 429's JSON body asks for, in the sibling style ``{"error": "Rate limit exceeded",
    "retry_after": 60}`` (Laravel's own ``{"message": "Too Many Attempts."}`` carries none)."""
    value = body.get("retry_after") if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    return retry_after(str(value))


def reset_in(value: str, wall: float) -> float | None:
    """``X-RateLimit-Reset`` as seconds from now: a Unix time (Laravel's) or a number of seconds."""
    if not _RESET.fullmatch(value.strip()):
        return None
    number = float(value)
    return max(0.0, number - wall) if number >= EPOCH else number


@dataclass
class Window:
    """What is known of one announced limit: ``limit`` requests per ``seconds`` (an upper bound, once learned)."""

    limit: int
    seconds: float | None = None
    left: int | None = None  # requests left in the current window, less those in flight; None: not known
    low: int | None = None  # the fewest remaining any answer showed in the current window
    low_at: float = 0.0  # when that answer came
    opened: float | None = None  # the earliest send of a request counted in the current window
    ends: float | None = None  # when the current window is known to be over
    probing: int | None = None  # the thread whose request went alone to find the end of a spent window

    def learn(self, bound: float, source: str) -> None:
        """Keep the tightest upper bound of the length."""
        if bound <= 0 or (self.seconds is not None and bound >= self.seconds):
            return
        self.seconds = bound
        log.debug(
            "rate limit: %d requests per %s s at most, learned from %s", self.limit, f"{bound:.2f}", source
        )

    def roll(self) -> None:
        """The window is over: a new one opens with the next request."""
        self.left, self.low, self.opened, self.ends, self.probing = None, None, None, None, None


@dataclass
class Pacer:
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], float] = time.time  # for X-RateLimit-Reset as a Unix time
    factor: float = 1.0
    max_pause: float = MAX_RETRY_AFTER  # the longest a 429 pauses the others, whatever Retry-After says
    in_flight: int = 8  # requests at once (grown while no limit is announced)
    max_in_flight: int = MAX_IN_FLIGHT
    windows: dict[int, Window] = field(default_factory=dict)  # by announced limit
    throttled: int = 0  # 429s seen
    seen: bool = False  # any answer yet (until then, one request at a time)
    announced: bool = False  # any rate-limit header or 429 seen: the requests in flight no longer grow
    most_in_flight: int = 0  # the most requests that were in flight at once
    _start_in_flight: int = 0
    _flying: int = 0
    _round: int = 0  # answers since the requests in flight last changed
    _fastest: float = math.inf
    _typical: float | None = None  # a moving average of the answers' time
    _calm: int = 0  # answers since the last 429, towards the next recovery
    _next_start: float = 0.0
    _backed_off_at: float = -math.inf  # when the pace or the requests in flight were last lowered
    _paused_until: float = 0.0
    _paused_by: int | None = None  # the thread that got the 429: it waits in its own retry loop instead
    _first_send: float | None = None
    _admitted: deque[float] = field(default_factory=lambda: deque(maxlen=4096))  # sends of answers not 429
    _sends: dict[int, float] = field(default_factory=dict)  # thread -> when its request in flight was sent
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _probe: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.in_flight = max(1, self.in_flight)
        self.max_in_flight = max(self.in_flight, self.max_in_flight)
        self._start_in_flight = self.in_flight

    @property
    def limit(self) -> int | None:
        """The tightest limit announced (requests a window), if any."""
        return min(self.windows, default=None)

    @property
    def interval(self) -> float:
        """Seconds between request starts: 0 until a window's length is known."""
        rates = [w.limit / w.seconds for w in self.windows.values() if w.seconds]
        if not rates:
            return 0.0
        return 1.0 / (min(rates) * MARGIN * self.factor)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for this request's turn; hold the single probe slot while nothing is known yet."""
        probing = not self.seen
        if probing:
            self._probe.acquire()
        try:
            self._wait_turn()
            try:
                yield
            finally:
                with self._lock:
                    self._flying -= 1
                    self._sends.pop(threading.get_ident(), None)
                    for window in self.windows.values():  # a probe that failed: the next one may go
                        if window.probing == threading.get_ident():
                            window.probing = None
                    self._lock.notify_all()
        finally:
            if probing:
                self._probe.release()

    def _wait_turn(self) -> None:
        while True:
            with self._lock:
                now = self.clock()
                start = self._earliest(now)
                if start is None:  # a probe is out, or every slot is taken: wait for an answer
                    self._lock.wait(0.05)
                    continue
                if start <= now:
                    self._take(now)
                    return
            self.sleep(start - now)

    def _earliest(self, now: float) -> float | None:
        """When this request may start, None to wait for another's answer (under the lock)."""
        learning = any(w.seconds is None for w in self.windows.values())
        if self._flying >= (min(self.in_flight, LEARNING_IN_FLIGHT) if learning else self.in_flight):
            return None
        mine = threading.get_ident() == self._paused_by
        start = max(now, self._next_start, 0.0 if mine else self._paused_until)
        for window in self.windows.values():
            if window.ends is not None and now >= window.ends:
                window.roll()
            if window.left is None or window.left > 0:
                continue
            if window.ends is not None:
                start = max(start, window.ends)
            elif window.seconds is not None and window.opened is not None:
                start = max(start, window.opened + window.seconds)
                if now >= window.opened + window.seconds:
                    window.roll()
            elif window.probing is not None:
                return None
        return start

    def _take(self, now: float) -> None:
        for window in self.windows.values():
            if window.left is not None:
                if window.left <= 0 and window.seconds is None:
                    window.probing = threading.get_ident()
                window.left -= 1
        self._next_start = max(now, self._next_start) + self.interval
        self._flying += 1
        self.most_in_flight = max(self.most_in_flight, self._flying)
        self._sends[threading.get_ident()] = now
        if self._first_send is None:
            self._first_send = now

    def observe(
        self,
        status: int,
        headers: dict[str, str],
        *,
        waited: float | None = None,
        elapsed: float | None = None,
    ) -> None:
        """Learn from one answer: its status, headers (lower-case names) and the wait its body asked for;
        ``elapsed``: how long it took."""
        now = self.clock()
        sent = self._sends.get(threading.get_ident(), now)
        limit = announced_limit(headers.get("x-ratelimit-limit", ""))
        remaining = announced_remaining(headers.get("x-ratelimit-remaining", ""))
        reset = reset_in(headers.get("x-ratelimit-reset", ""), self.wall())
        if status == 429:
            header = retry_after(headers.get("retry-after", ""))
            waited = header if header is not None else waited
        with self._lock:
            self.seen = True
            # sent before the last back-off: its 429 is the sign already acted on, not another one (as TCP
            # halves once for the losses of one window): the requests out when a limit appears are refused
            # together, and lowering the pace for each of them would take it far below the limit
            stale = sent < self._backed_off_at
            others = max(0, self._flying - 1)  # this one still counts as flying until its slot ends
            known = limit in self.windows
            window = self._window(limit)
            probe = window is not None and window.probing == threading.get_ident()
            if window is not None:
                self._track(window, remaining, reset, sent, now, others, status)
            if status == 429:
                # a window found by this 429, or the end a lone probe went to find: the budget explains it
                found = probe or (window is not None and not known)
                self._throttled(window, waited, now, expected=found or stale)
            else:
                self._admitted.append(sent)
                self._recover()
            self._grow(status, limit is not None or status == 429, elapsed, stale=stale)
            self._lock.notify_all()

    def _window(self, limit: int | None) -> Window | None:
        if limit is None:
            return None
        if limit not in self.windows:
            self.windows[limit] = Window(limit)
        return self.windows[limit]

    def _track(
        self,
        window: Window,
        remaining: int | None,
        reset: float | None,
        sent: float,
        now: float,
        others: int,
        status: int,
    ) -> None:
        """Follow one window's budget through an answer that names it; a ``Remaining`` back up is a new one."""
        if window.probing == threading.get_ident():  # the probe's answer: the others may go on
            window.probing = None
        if remaining is not None:
            # A request sent after the answer that showed the fewest left, in the same window, leaves fewer still
            # (every request a window admits leaves a different number): the same or more is a new window. One
            # sent before it may be answered late with more left: old news (answers overtake each other).
            old_news = window.low is not None and sent <= window.low_at and remaining >= window.low
            back_up = window.low is not None and not old_news and remaining >= window.low and status != 429
            if back_up:
                if window.opened is not None:  # the new window opened before this answer
                    window.learn(now - window.opened, "X-RateLimit-Remaining going back up")
                window.roll()
            if window.low is None:  # the first answer of a window: one of the requests out now opened it
                full = remaining >= window.limit - 1 - others
                window.opened = min([sent, *self._sends.values()]) if full or back_up else None
            fewer = window.low is None or remaining < window.low
            if (
                fewer and not old_news and status != 429
            ):  # a refusal counts nothing: it says nothing of the count
                window.low, window.low_at = remaining, now
            if not old_news:
                window.left = remaining - others
        if reset is not None:
            self._ends(window, now + reset, "X-RateLimit-Reset")
        if status == 429:
            window.left = min(window.left or 0, 0)

    def _ends(self, window: Window, end: float, source: str) -> None:
        """The current window is over by ``end``: its length is at most from the earliest request that can have
        opened it (after the one ``limit + 1`` admitted requests ago, or the window's own first) to there."""
        window.ends = end if window.ends is None else min(window.ends, end)
        earliest = (
            self._admitted[-window.limit - 1] if len(self._admitted) > window.limit else self._first_send
        )
        opened = max(x for x in (earliest, window.opened, -math.inf) if x is not None)
        if opened > -math.inf:
            window.learn(end - opened, source)

    def _throttled(self, window: Window | None, waited: float | None, now: float, *, expected: bool) -> None:
        self.throttled += 1
        self._calm = 0
        wait = min(waited, self.max_pause) if waited is not None else self.interval or 1.0
        if window is not None and waited is not None:
            self._ends(window, now + wait, "Retry-After")
        if not expected:  # the budget did not explain it: someone shares it, or a limit no header names
            self.factor *= BACKOFF
            self._backed_off_at = now
            log.debug(
                "rate limit: a 429 with budget left; pacing at %.0f%% of the learned rate", self.factor * 100
            )
        self._paused_until = max(self._paused_until, now + wait)
        self._paused_by = threading.get_ident()

    def _recover(self) -> None:
        self._calm += 1
        if self.factor < 1.0 and self._calm % RECOVER_AFTER == 0:
            self.factor = min(1.0, self.factor * 1.01)

    def _grow(self, status: int, limited: bool, elapsed: float | None, *, stale: bool = False) -> None:
        """More requests in flight while no limit is announced and the answers stay fast; fewer at any sign.

        Fast and slow are the answers' typical time (a moving average: one slow answer is noise) against the
        fastest: within ``GROW_BELOW`` times it, the server is not queueing; past ``SHRINK_ABOVE`` times, it is.
        At most one change a round (as many answers as are in flight), as TCP changes its window once a trip;
        a 429 to a request sent before the last back-off (``stale``) halves nothing: it is the same sign."""
        if limited and not self.announced:
            self.announced = True
            self._set_in_flight(self._start_in_flight, "a rate limit is announced")
            self._backed_off_at = self.clock()
        if status == 429 and not self.windows:  # no limit to pace by: fewer at once is all there is
            if not stale:
                self._set_in_flight(max(1, self.in_flight // 2), "a 429")
                self._backed_off_at = self.clock()
            return
        if self.announced or elapsed is None or status >= 500:
            return
        self._fastest = min(self._fastest, elapsed)
        self._typical = elapsed if self._typical is None else 0.8 * self._typical + 0.2 * elapsed
        self._round += 1
        if self._round < self.in_flight:
            return
        typical, fastest = self._typical * 1e3, self._fastest * 1e3
        if self._typical > SHRINK_ABOVE * self._fastest + FAST_SLACK:
            why = f"answers in {typical:.0f} ms, the fastest in {fastest:.0f} ms"
            self._set_in_flight(max(self._start_in_flight, self.in_flight // 2), why)
        elif self._typical <= GROW_BELOW * self._fastest + FAST_SLACK and self.in_flight < self.max_in_flight:
            why = f"answers in {typical:.0f} ms, the fastest in {fastest:.0f} ms, and no rate limit announced"
            self._set_in_flight(min(self.max_in_flight, 2 * self.in_flight), why)

    def _set_in_flight(self, count: int, why: str) -> None:
        self._round = 0
        if count != self.in_flight:
            log.debug("requests in flight: %d -> %d (%s)", self.in_flight, count, why)
            self.in_flight = count

    def learned(self) -> list[str]:
        """What is known of the limits, one line each: ``100 requests per 60.02 s`` (the length an upper bound)."""
        with self._lock:
            return [
                f"{w.limit} requests per {f'{w.seconds:.2f} s' if w.seconds else 'a window not known yet'}"
                for w in sorted(self.windows.values(), key=lambda w: w.limit)
            ]

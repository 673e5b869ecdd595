"""Client-side pacing that learns the platform's rate limit, so a long apply runs near the limit without a storm
of 429s.

The API's throttle (Laravel's) counts requests in a fixed window per token and says so on every response:
``X-RateLimit-Limit`` (per minute) and ``X-RateLimit-Remaining``; a 429 adds ``Retry-After``. The window's start is
not announced, so the safe steady rate is a little under ``limit / 60`` per second, spaced evenly: any 60 seconds
then hold fewer than ``limit`` requests. Until the first answer tells the limit, one request at a time is sent.
A 429 pauses every other worker until ``Retry-After`` (the one that got it waits in its retry loop), never for
longer than ``max_pause`` (``limits.MAX_RETRY_AFTER``), and lowers the rate by 10%: another client may share the
budget. A header that is not a number the API could mean is ignored, never trusted: ``²`` passes ``str.isdigit``
and a 5,000-digit number breaks ``int()``.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from reconciler.limits import MAX_RETRY_AFTER

MARGIN = 0.97  # share of the announced limit to use
BACKOFF = 0.9  # rate multiplier after a 429

_LIMIT = re.compile(r"[0-9]{1,9}", re.ASCII)  # a billion requests a minute is already no limit at all
_DELTA_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)  # RFC 9110's 1*DIGIT, and the decimals some send


def announced_limit(value: str) -> int | None:
    """``X-RateLimit-Limit``: a positive number of requests a minute, or None."""
    return int(value) if _LIMIT.fullmatch(value) and int(value) > 0 else None


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


@dataclass
class Pacer:
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    limit: int | None = None  # requests a minute, once learned
    factor: float = 1.0
    max_pause: float = MAX_RETRY_AFTER  # the longest a 429 pauses the others, whatever Retry-After says
    _next_start: float = 0.0
    _paused_until: float = 0.0
    _paused_by: int | None = None  # the thread that got the 429: it waits in its own retry loop instead
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _probe: threading.Lock = field(default_factory=threading.Lock)
    throttled: int = 0  # 429s seen
    seen: bool = False  # any answer yet (until then, one request at a time)

    @property
    def interval(self) -> float:
        """Seconds between request starts (0 when no limit is known)."""
        if not self.limit:
            return 0.0
        return 60.0 / (self.limit * MARGIN * self.factor)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for this request's turn; hold the single probe slot while the limit is still unknown."""
        probing = not self.seen
        if probing:
            self._probe.acquire()
        try:
            self._wait_turn()
            yield
        finally:
            if probing:
                self._probe.release()

    def _wait_turn(self) -> None:
        with self._lock:
            now = self.clock()
            paused = self._paused_until if threading.get_ident() != self._paused_by else 0.0
            start = max(now, self._next_start, paused)
            self._next_start = start + self.interval
        if start > now:
            self.sleep(start - now)

    def observe(self, status: int, headers: dict[str, str]) -> None:
        """Learn from one response's headers."""
        limit = announced_limit(headers.get("x-ratelimit-limit", ""))
        asked = retry_after(headers.get("retry-after", "")) if status == 429 else None
        with self._lock:
            self.seen = True
            if limit:
                self.limit = limit
            if status == 429:
                self.throttled += 1
                self.factor *= BACKOFF
                wait = min(asked, self.max_pause) if asked is not None else self.interval or 1.0
                self._paused_until = max(self._paused_until, self.clock() + wait)
                self._paused_by = threading.get_ident()

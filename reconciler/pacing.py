"""Client-side pacing that learns the platform's rate limit, so a long apply runs near the limit without a storm
of 429s.

The API's throttle (Laravel's) counts requests in a fixed window per token and says so on every response:
``X-RateLimit-Limit`` (per minute) and ``X-RateLimit-Remaining``; a 429 adds ``Retry-After``. The window's start is
not announced, so the safe steady rate is a little under ``limit / 60`` per second, spaced evenly: any 60 seconds
then hold fewer than ``limit`` requests. Until the first answer tells the limit, one request at a time is sent.
A 429 pauses every other worker until ``Retry-After`` (the one that got it waits in its retry loop) and lowers
the rate by 10%: another client may share the budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MARGIN = 0.97  # share of the announced limit to use
BACKOFF = 0.9  # rate multiplier after a 429


@dataclass
class Pacer:
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    limit: int | None = None  # requests a minute, once learned
    factor: float = 1.0
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
        limit = headers.get("x-ratelimit-limit", "")
        with self._lock:
            self.seen = True
            if limit.isdigit() and int(limit) > 0:
                self.limit = int(limit)
            if status == 429:
                self.throttled += 1
                self.factor *= BACKOFF
                retry_after = headers.get("retry-after", "")
                wait = (
                    float(retry_after) if retry_after.replace(".", "", 1).isdigit() else self.interval or 1.0
                )
                self._paused_until = max(self._paused_until, self.clock() + wait)
                self._paused_by = threading.get_ident()

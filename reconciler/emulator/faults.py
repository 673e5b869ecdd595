"""Fault injection and rate limiting, each off by default and driven by one seeded random stream.

The rate limit copies Laravel's throttle middleware: a fixed window that opens with the first request of a key
(here: the Authorization header, kept as a digest) and lasts ``window_seconds`` (60 by default); once the window's
budget is spent every request gets a 429 with ``Retry-After`` and ``X-RateLimit-Reset`` until it closes. Every
response carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``; the window's length is never announced. A
second, burst limit may be checked with it (a sibling documents 100 a minute with bursts of 20 per 10 seconds).
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum


class Fault(Enum):
    NONE = "none"
    ERROR = "error"  # answer 500 before doing anything
    RESET_BEFORE = "reset-before"  # drop the connection before doing anything
    RESET_AFTER = "reset-after"  # do the work, then drop the connection: the client cannot know it happened


@dataclass
class Faults:
    error_rate: float = 0.0
    reset_rate: float = 0.0
    seed: int = 0
    _random: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def draw(self) -> Fault:
        """The fault for the next request; the sequence is fixed by the seed."""
        with self._lock:
            roll, when = self._random.random(), self._random.random()
        if roll < self.error_rate:
            return Fault.ERROR
        if roll < self.error_rate + self.reset_rate:
            return Fault.RESET_BEFORE if when < 0.5 else Fault.RESET_AFTER
        return Fault.NONE


@dataclass(frozen=True)
class Verdict:
    """What the throttle says of one request: the headers describe the limit that refused it, else the first."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    reset: int = field(default=0, compare=False)  # Unix time the window closes (on a 429 only, as Laravel)
    style: str = field(default="laravel", compare=False)

    def refusal(self) -> tuple[dict[str, object], dict[str, str]]:
        """The 429's body and headers: Laravel's ``{"message"}`` with ``Retry-After``, or a sibling's
        ``{"error", "retry_after"}`` with the wait in the body only."""
        if self.style == "error":
            body: dict[str, object] = {"error": "Rate limit exceeded", "retry_after": self.retry_after}
            return body, {"X-RateLimit-Reset": str(self.reset)}
        headers = {"Retry-After": str(self.retry_after), "X-RateLimit-Reset": str(self.reset)}
        return {"message": "Too Many Attempts."}, headers


@dataclass
class Throttle:
    """One fixed-window limit: ``limit`` requests per ``seconds``, windows by key."""

    limit: int
    seconds: float
    max_windows: int
    # digest of the key -> (start, count), in the order the windows opened (the clock never goes back)
    windows: dict[bytes, tuple[float, int]] = field(default_factory=dict)

    def count(self, digest: bytes, now: float) -> tuple[float, int]:
        self._forget_closed(now)
        if digest not in self.windows and len(self.windows) >= self.max_windows:
            del self.windows[next(iter(self.windows))]
        return self.windows.get(digest, (now, 0))

    def _forget_closed(self, now: float) -> None:
        """Drop the windows that have closed: the oldest come first."""
        while self.windows:
            oldest = next(iter(self.windows))
            if now - self.windows[oldest][0] < self.seconds:
                return
            del self.windows[oldest]


@dataclass
class RateLimiter:
    """Laravel's throttle: ``per_minute`` requests per ``window_seconds`` (the name is the default window's),
    and optionally a burst limit of ``burst`` per ``burst_seconds`` checked with it, as a named limiter with two
    limits: a request must pass both and counts in both; a success carries the first limit's headers, a 429 the
    headers of the one that refused it. Windows by key, each kept only until it closes and at most
    ``max_windows`` of them: a client that sends a new Authorization header with every request would otherwise
    grow the map forever. A key is kept as a digest, so the server holds no copy of a token it was sent."""

    per_minute: int = 0  # 0: no limit
    window_seconds: float = 60.0
    burst: int = 0  # 0: no burst limit
    burst_seconds: float = 10.0
    style: str = "laravel"  # the 429 body: "laravel" or "error" (see Verdict.refusal)
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    max_windows: int = 10_000  # past it the oldest window is forgotten: its key starts a new one
    _throttles: list[Throttle] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        limits = [(self.per_minute, self.window_seconds), (self.burst, self.burst_seconds)]
        self._throttles = [Throttle(n, s, self.max_windows) for n, s in limits if n > 0]

    def hit(self, key: str) -> Verdict | None:
        if self.per_minute <= 0:
            return None
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            now = self.clock()
            counted = [(throttle, *throttle.count(digest, now)) for throttle in self._throttles]
            refusing = next(((t, s, c) for t, s, c in counted if c >= t.limit), None)
            for throttle, start, count in counted:  # a key already there keeps its place
                throttle.windows[digest] = (start, count + (0 if refusing else 1))
        throttle, start, count = refusing or counted[0]
        count += 0 if refusing else 1
        wait = max(1, math.ceil(start + throttle.seconds - now))
        reset = math.ceil(self.wall() + start + throttle.seconds - now)
        remaining = max(0, throttle.limit - count)
        return Verdict(refusing is None, throttle.limit, remaining, wait, reset, self.style)

    def windows(self) -> int:
        """How many windows are open."""
        with self._lock:
            return len(self._throttles[0].windows) if self._throttles else 0

"""Fault injection and rate limiting, each off by default and driven by one seeded random stream.

The rate limit copies Laravel's throttle middleware: a fixed window that opens with the first request of a key
(here: the Authorization header, kept as a digest) and lasts 60 seconds; once the window's budget is spent every request gets a 429 with
``Retry-After`` until it closes. Every response carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``.
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
    allowed: bool
    limit: int
    remaining: int
    retry_after: int


@dataclass
class RateLimiter:
    """Windows by key, each kept only until it closes and at most ``max_windows`` of them: a client that sends a
    new Authorization header with every request would otherwise grow the map forever. A key is kept as a digest,
    so the server holds no copy of a token it was sent."""

    per_minute: int = 0  # 0: no limit
    window_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    max_windows: int = 10_000  # past it the oldest window is forgotten: its key starts a new one
    # digest of the key -> (start, count), in the order the windows opened (the clock never goes back)
    _windows: dict[bytes, tuple[float, int]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def hit(self, key: str) -> Verdict | None:
        if self.per_minute <= 0:
            return None
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            now = self.clock()
            self._forget_closed(now)
            if digest not in self._windows and len(self._windows) >= self.max_windows:
                del self._windows[next(iter(self._windows))]
            start, count = self._windows.get(digest, (now, 0))
            allowed = count < self.per_minute
            count += 1 if allowed else 0
            self._windows[digest] = (start, count)  # a key already there keeps its place
        retry_after = max(1, math.ceil(start + self.window_seconds - now))
        return Verdict(allowed, self.per_minute, max(0, self.per_minute - count), retry_after)

    def windows(self) -> int:
        """How many windows are open."""
        with self._lock:
            return len(self._windows)

    def _forget_closed(self, now: float) -> None:
        """Drop the windows that have closed: the oldest come first."""
        while self._windows:
            oldest = next(iter(self._windows))
            if now - self._windows[oldest][0] < self.window_seconds:
                return
            del self._windows[oldest]

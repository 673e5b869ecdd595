"""Fault injection and rate limiting, each off by default and driven by one seeded random stream.

The rate limit copies Laravel's throttle middleware: a fixed window that opens with the first request of a key
(here: the bearer token) and lasts 60 seconds; once the window's budget is spent every request gets a 429 with
``Retry-After`` until it closes. Every response carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``.
"""

from __future__ import annotations

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
    per_minute: int = 0  # 0: no limit
    window_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def hit(self, key: str) -> Verdict | None:
        if self.per_minute <= 0:
            return None
        with self._lock:
            now = self.clock()
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self.window_seconds:
                start, count = now, 0
            allowed = count < self.per_minute
            count += 1 if allowed else 0
            self._windows[key] = (start, count)
        retry_after = max(1, math.ceil(start + self.window_seconds - now))
        return Verdict(allowed, self.per_minute, max(0, self.per_minute - count), retry_after)

"""How long a run may spend on the network, and how much a server may make it wait for or hold in memory.

A broken or hostile server must not hold a run (and the CI job's concurrency group with it) for ever, nor exhaust
its memory: every bound below ends such a run with one clear line. Each default is chosen against the honest API
(the comments say why). The environment can change them, for a slow link, and for the tests, which shrink them to
seconds instead of reaching into httpx:

- ``RECONCILER_DEADLINE`` (1800): seconds for the whole run's requests, waits and retries included;
- ``RECONCILER_REQUEST_DEADLINE`` (60): seconds for one request, from its first byte sent to its last received;
- ``RECONCILER_MAX_RETRY_AFTER`` (120): seconds of one wait a server asks for with ``Retry-After``;
- ``RECONCILER_MAX_RESPONSE_BYTES`` (67108864, 64 MiB): bytes of one answer, once decoded.

A value that is not a positive number is a usage error, before any request. A command's ``--timeout SECONDS`` sets
the run's deadline too, and wins over ``RECONCILER_DEADLINE``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields

from reconciler.errors import UsageError

MIB = 1024 * 1024

#: At the documented 100 requests a minute, 30 minutes are 3,000 requests: three times what an apply that
#: rewrites 1,000 assistants needs. A run that takes longer is stuck, or throttled far below the documented rate.
RUN_DEADLINE = 1800.0
#: An honest page of 100 assistants arrives in well under a second; the per-read timeout (20 s) already bounds a
#: silent server. This bounds the one that keeps talking, a byte at a time (each byte resets httpx's read timeout).
#: It is checked between the chunks of the body: the headers, which httpx reads whole before anyone can look at
#: the clock, are bound only by the per-read timeout and h11's 16 KiB limit on them.
REQUEST_DEADLINE = 60.0
#: The API's throttle (Laravel's) counts in windows of one minute, so an honest Retry-After is at most 60 s;
#: twice that leaves room for a second client sharing the budget. Past it the server is broken or hostile: the
#: run waits this long and tries again (within its attempts and its deadline) instead of sleeping for an hour.
MAX_RETRY_AFTER = 120.0
#: A page of 100 demo assistants is 0.2 MiB; with a 64 KiB prompt each about 6.5 MiB; with every text at its limit
#: and every character \u-escaped, as PHP writes non-ASCII text, under 40 MiB
#: (tests/test_hostile_transport.py::test_the_largest_honest_page_is_far_under_the_default_cap).
MAX_RESPONSE_BYTES = 64 * MIB

_NUMBER = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?", re.ASCII)


@dataclass(frozen=True)
class Limits:
    run_deadline: float = field(default=RUN_DEADLINE, metadata={"env": "RECONCILER_DEADLINE"})
    request_deadline: float = field(default=REQUEST_DEADLINE, metadata={"env": "RECONCILER_REQUEST_DEADLINE"})
    max_retry_after: float = field(default=MAX_RETRY_AFTER, metadata={"env": "RECONCILER_MAX_RETRY_AFTER"})
    max_response_bytes: int = field(
        default=MAX_RESPONSE_BYTES, metadata={"env": "RECONCILER_MAX_RESPONSE_BYTES"}
    )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], *, run_deadline: float | None = None) -> Limits:
        """The defaults, with every variable of the table above that is set (a bad value is a usage error), and
        ``run_deadline`` (``--timeout``) over ``RECONCILER_DEADLINE`` when given."""
        values: dict[str, float | int] = {}
        for bound in fields(cls):
            name = bound.metadata["env"]
            if environ.get(name):
                values[bound.name] = _positive(name, environ[name], whole=isinstance(bound.default, int))
        if run_deadline is not None:
            values["run_deadline"] = run_deadline
        return cls(**values)  # type: ignore[arg-type]


def _positive(name: str, text: str, *, whole: bool) -> float | int:
    if not _NUMBER.fullmatch(text) or (whole and "." in text) or float(text) <= 0:
        kind = "a whole number of bytes" if whole else "a number of seconds"
        raise UsageError(f"{name} must be {kind} above 0 (got {text[:40]!a})")
    return int(text) if whole else float(text)


@dataclass
class Deadline:
    """A point in time a run or a request must finish by, on the monotonic clock."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    start: float = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.clock()

    def remaining(self) -> float:
        return self.start + self.seconds - self.clock()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent inside does not count: a person reading the plan at the prompt is not the run being slow."""
        began = self.clock()
        try:
            yield
        finally:
            self.start += self.clock() - began


def seconds(value: float) -> str:
    """``60``, ``0.5``, ``1000000000``, ``1.111111111e+22``: a duration as a message shows it."""
    return f"{value:.10g}"


def size(value: int) -> str:
    return f"{value // MIB} MiB" if value % MIB == 0 else f"{value} bytes"

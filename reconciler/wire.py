"""One request and its answer read whole, within bounds: a deadline by which the answer's last byte must have come,
and a cap on its size once decoded. Whatever goes wrong is a ``Failed`` that says so in a few words, and whether
trying again could help; httpx's exceptions stop here, as its ``__cause__``.

httpx alone bounds neither: its read timeout starts again with every byte, so a body sent at a byte a second never
times out, and it inflates a gzip chunk whole, so 64 KiB of a gzip bomb become 64 MiB at once. Here the raw bytes
are inflated with ``zlib`` a bounded piece at a time, so an answer never costs more memory than the cap (plus one
network chunk), and the clock is read between chunks.

The client asks for ``gzip`` only (``Accept-Encoding``); an answer in any other encoding is refused.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.limits import size

ASK_FOR = "gzip"  # the Accept-Encoding sent: the one encoding read here besides none
_INFLATED = {"gzip", "x-gzip", "deflate"}  # zlib reads the gzip and the zlib wrapping alike


class Failed(Exception):
    """A request that brought no answer to act on; ``str`` is the reason shown after ``METHOD PATH: ``."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.retryable = retryable


class TooSlow(Failed):
    """The answer's last byte had not come by its deadline (the caller says which deadline that was)."""

    def __init__(self) -> None:
        super().__init__("too slow", retryable=True)


@dataclass(frozen=True)
class Bounds:
    read_timeout: float  # seconds of silence on the socket (httpx's read, write and pool timeouts)
    connect_timeout: float
    max_bytes: int  # of the answer, decoded


@dataclass(frozen=True)
class Answer:
    """A response read whole: what ``client._result`` needs of an ``httpx.Response``, and nothing to stream."""

    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return json.loads(self.content)


def exchange(
    http: httpx.Client, method: str, path: str, *, within: float, bounds: Bounds, **kwargs: Any
) -> Answer:
    """One request and its whole answer, within ``within`` seconds from now and ``bounds``; ``Failed`` otherwise."""
    by = time.monotonic() + within
    timeout = httpx.Timeout(min(bounds.read_timeout, within), connect=min(bounds.connect_timeout, within))
    try:
        with http.stream(method, path, timeout=timeout, **kwargs) as response:
            return _receive(response, by=by, limit=bounds.max_bytes)
    except httpx.TimeoutException as exc:
        if time.monotonic() < by:  # a silence of one timeout, well within the deadline
            raise Failed(_describe(exc), retryable=True) from exc
        raise TooSlow() from exc
    except httpx.TransportError as exc:
        raise Failed(_describe(exc), retryable=True) from exc


def _describe(exc: httpx.TransportError) -> str:
    kind = {
        httpx.ConnectError: "cannot connect",
        httpx.TimeoutException: "timed out",
        httpx.RemoteProtocolError: "the connection was dropped",
        httpx.ReadError: "the connection was reset",
    }
    for cls, text in kind.items():
        if isinstance(exc, cls):
            return text
    return type(exc).__name__


def _receive(response: httpx.Response, *, by: float, limit: int) -> Answer:
    """Read ``response``'s body by the monotonic time ``by``, refusing it past ``limit`` decoded bytes."""
    try:
        if response.is_stream_consumed:  # built whole in memory (httpx.MockTransport): decoded, and bounded
            body = _within(response.content, limit)
        else:
            body = _read(response, by=by, limit=limit)
    except _TooLarge:  # not retried: the same server would send the same answer again
        raise Failed(f"the answer is larger than {size(limit)} (decoded): refused") from None
    return Answer(response.status_code, response.reason_phrase, response.headers, body)


def _read(response: httpx.Response, *, by: float, limit: int) -> bytes:
    decode = _decoder(response.headers.get("Content-Encoding", "").strip().lower())
    body = bytearray()
    for chunk in response.iter_raw():
        body += decode(chunk, limit - len(body))
        if time.monotonic() > by:
            raise TooSlow()
    body += decode(None, limit - len(body))
    return bytes(body)


#: (a raw chunk, or None at the end; the room left under the cap) -> the decoded bytes
Decoder = Callable[[bytes | None, int], bytes]


def _decoder(encoding: str) -> Decoder:
    if encoding in ("", "identity"):
        return lambda data, room: _within(data or b"", room)
    if encoding in _INFLATED:
        return _Inflater()
    raise Failed(f"the answer came in an encoding it was not asked for ({encoding[:40]!a})")


class _Inflater:
    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 32)  # | 32: detect the gzip or zlib header

    def __call__(self, data: bytes | None, room: int) -> bytes:
        """Inflate ``data`` into at most ``room`` bytes: asking for one byte more tells the cap is passed
        without inflating the rest."""
        try:
            out = self._zlib.decompress(data, room + 1) if data is not None else self._zlib.flush()
        except zlib.error as exc:
            raise Failed("the answer's gzip encoding is corrupt") from exc
        return _within(out, room)


class _TooLarge(Exception):
    pass


def _within(data: bytes, room: int) -> bytes:
    if len(data) > room:
        raise _TooLarge()
    return data

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
import socket
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.limits import seconds, size

ASK_FOR = "gzip"  # the Accept-Encoding sent: the one encoding read here besides none
_INFLATED = {"gzip", "x-gzip", "deflate"}  # zlib reads the gzip and the zlib wrapping alike


#: What went wrong, as far as the user can act on it (``client.py`` words the line and the fix for each):
REFUSED = "refused"  # nothing listens at the address
UNRESOLVED = "unresolved"  # the host name resolves to nothing
NO_CONNECTION = "no connection"  # the connection was not set up within the connect timeout
SILENT = "silent"  # connected, and no answer (not even its status line) within the timeout
SLOW = "slow"  # an answer began, and did not end in time
NO_TLS = "no tls"  # https to a server that does not speak TLS (a plain-http port)
CERTIFICATE = "certificate"  # TLS, with a certificate that does not verify
OTHER = "other"  # a dropped or reset connection, an answer refused for its size or encoding

#: The failures of a server that did not answer in time, or at all: each can cost a whole timeout, and a server
#: that did not answer a few times in a row will not, so the client tries them fewer times than the others.
UNANSWERED = frozenset({REFUSED, UNRESOLVED, NO_CONNECTION, SILENT, SLOW})


class Failed(Exception):
    """A request that brought no answer to act on; ``str`` is the reason shown after ``METHOD PATH: ``, ``kind``
    one of the constants above."""

    def __init__(self, reason: str, *, retryable: bool = False, kind: str = OTHER) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.kind = kind


class TooSlow(Failed):
    """The answer's last byte had not come by its deadline (the caller says which deadline that was);
    ``answered``: whether its status line had come."""

    def __init__(self, *, answered: bool) -> None:
        super().__init__("too slow", retryable=True, kind=SLOW if answered else SILENT)
        self.answered = answered


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
    http: httpx.Client,
    method: str,
    path: str,
    *,
    within: float,
    bounds: Bounds,
    clock: Callable[[], float] = time.monotonic,
    **kwargs: Any,
) -> Answer:
    """One request and its whole answer, within ``within`` seconds from now and ``bounds``; ``Failed`` otherwise."""
    by = clock() + within
    read, connect = min(bounds.read_timeout, within), min(bounds.connect_timeout, within)
    answered = False
    try:
        with http.stream(method, path, timeout=httpx.Timeout(read, connect=connect), **kwargs) as response:
            answered = True
            return _receive(response, by=by, limit=bounds.max_bytes, clock=clock)
    except httpx.TimeoutException as exc:
        if clock() >= by:  # the deadline, not a silence of one timeout within it
            raise TooSlow(answered=answered) from exc
        if isinstance(exc, httpx.ConnectTimeout):
            raise Failed(
                f"no connection within {seconds(connect)} s", retryable=True, kind=NO_CONNECTION
            ) from exc
        if answered:
            raise Failed(f"the answer stopped for {seconds(read)} s", retryable=True, kind=SLOW) from exc
        raise Failed(f"no answer within {seconds(read)} s", retryable=True, kind=SILENT) from exc
    except httpx.ConnectError as exc:
        raise _unconnected(exc) from exc
    except httpx.TransportError as exc:
        raise Failed(_describe(exc), retryable=True) from exc


def _unconnected(exc: httpx.ConnectError) -> Failed:
    """Why no connection was set up, from the OS or TLS error under httpx's (``__cause__``, as httpx and httpcore
    chain them). TLS failures are not retried: the same server would speak the same way again."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return Failed(
                f"the server's TLS certificate does not verify ({cause.verify_message})", kind=CERTIFICATE
            )
        if isinstance(cause, ssl.SSLError):
            return Failed("the server does not speak TLS", kind=NO_TLS)
        if isinstance(cause, ConnectionRefusedError):
            return Failed("connection refused", retryable=True, kind=REFUSED)
        if isinstance(cause, socket.gaierror):
            return Failed("the host name does not resolve", retryable=True, kind=UNRESOLVED)
    return Failed("cannot connect", retryable=True)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _describe(exc: httpx.TransportError) -> str:
    kind = {
        httpx.RemoteProtocolError: "the connection was dropped",
        httpx.ReadError: "the connection was reset",
    }
    for cls, text in kind.items():
        if isinstance(exc, cls):
            return text
    return type(exc).__name__


def _receive(response: httpx.Response, *, by: float, limit: int, clock: Callable[[], float]) -> Answer:
    """Read ``response``'s body by the time ``by`` on ``clock``, refusing it past ``limit`` decoded bytes."""
    try:
        if response.is_stream_consumed:  # built whole in memory (httpx.MockTransport): decoded, and bounded
            body = _within(response.content, limit)
        else:
            body = _read(response, by=by, limit=limit, clock=clock)
    except _TooLarge:  # not retried: the same server would send the same answer again
        raise Failed(f"the answer is larger than {size(limit)} (decoded): refused") from None
    return Answer(response.status_code, response.reason_phrase, response.headers, body)


def _read(response: httpx.Response, *, by: float, limit: int, clock: Callable[[], float]) -> bytes:
    decode = _decoder(response.headers.get("Content-Encoding", "").strip().lower())
    body = bytearray()
    for chunk in response.iter_raw():
        body += decode(chunk, limit - len(body))
        if clock() > by:
            raise TooSlow(answered=True)
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

"""Where a request body ends: Content-Length or chunked (RFC 9112 §6-7), as nginx in front of Laravel decides it.

A body whose end cannot be trusted is refused before the API sees it, and the connection is closed after the
answer: whatever follows on it can no longer be told apart from the next request. Every read is bounded, in bytes
by ``MAX_BODY_BYTES`` and in time by the socket's timeout (the caller's).
"""

from __future__ import annotations

import re
from email.message import Message
from typing import Protocol

#: PHP's default ``post_max_size`` (8M), which Laravel's ValidatePostSize middleware enforces with a 413.
MAX_BODY_BYTES = 8 * 1024 * 1024
#: The longest chunk-size line (with its extensions) or trailer line read; nginx allows about as much.
MAX_LINE_BYTES = 4096

TOO_LARGE = "The POST data is too large."  # Laravel's PostTooLargeException
MALFORMED_CHUNKS = "The chunked request body is malformed."
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]+")


class Stream(Protocol):
    """What is read from: the connection's buffered reader."""

    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


class BadFraming(Exception):
    """A request body that cannot be read: answered with ``status`` and ``message``, then the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def body_length(headers: Message, version: str) -> int | None:
    """The number of body bytes to read, or None for a chunked body; BadFraming for framing that is not sound."""
    codings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if codings:
        if lengths:  # the classic request-smuggling ambiguity: refuse it, as nginx does
            raise BadFraming(400, "A request may not have both Transfer-Encoding and Content-Length.")
        _check_codings(codings, version)
        return None
    if not lengths:
        return 0  # RFC 9112 §6.3: a request with neither header has no body
    return _content_length(lengths)


def _check_codings(values: list[str], version: str) -> None:
    if version == "HTTP/1.0":  # chunked does not exist in HTTP/1.0; the framing is faulty (RFC 9112 §6.1)
        raise BadFraming(400, "An HTTP/1.0 request may not use Transfer-Encoding.")
    codings = [coding.strip(" \t").lower() for value in values for coding in value.split(",")]
    if codings[-1] != "chunked" or "chunked" in codings[:-1]:
        raise BadFraming(400, "The Transfer-Encoding of a request must end with chunked.")
    others = [coding for coding in codings if coding != "chunked"]
    if others:
        raise BadFraming(
            501,
            f"Transfer-Encoding {', '.join(others)} is not supported: "
            "send the body chunked or with a Content-Length.",
        )


def _content_length(values: list[str]) -> int:
    text = values[0].strip(" \t")
    if len(values) > 1 or not _DIGITS.fullmatch(text):
        raise BadFraming(400, "The Content-Length header must be a single whole number of bytes.")
    if len(text.lstrip("0")) > len(str(MAX_BODY_BYTES)):  # far over the limit, and maybe too long for int()
        raise BadFraming(413, TOO_LARGE)
    length = int(text)
    if length > MAX_BODY_BYTES:
        raise BadFraming(413, TOO_LARGE)
    return length


def read_exactly(stream: Stream, length: int) -> bytes:
    data = stream.read(length) if length else b""
    if len(data) < length:
        raise BadFraming(400, "The request body ended before its Content-Length.")
    return data


def read_chunked(stream: Stream) -> bytes:
    """The decoded body of ``chunk* last-chunk trailer CRLF``; chunk extensions and trailer fields are dropped.

    The limit counts the decoded bytes and the trailer together, and a chunk that would pass it is refused from
    its size line, before any of its data is read.
    """
    body = bytearray()
    while size := _chunk_size(_line(stream)):
        if len(body) + size > MAX_BODY_BYTES:
            raise BadFraming(413, TOO_LARGE)
        data = stream.read(size)
        if len(data) < size or stream.read(2) != b"\r\n":
            raise BadFraming(400, MALFORMED_CHUNKS)
        body += data
    _skip_trailer(stream, MAX_BODY_BYTES - len(body))
    return bytes(body)


def _chunk_size(line: bytes) -> int:
    digits = line.split(b";", 1)[0].rstrip(b" \t")  # RFC 9112 §7.1.1: whitespace may precede an extension
    if not _HEX.fullmatch(digits):
        raise BadFraming(400, MALFORMED_CHUNKS)
    return int(digits, 16)


def _skip_trailer(stream: Stream, budget: int) -> None:
    while line := _line(stream):
        budget -= len(line) + 2
        if budget < 0:
            raise BadFraming(413, TOO_LARGE)


def _line(stream: Stream) -> bytes:
    """One CRLF-terminated line without its CRLF; a line that is too long, unterminated or cut off is malformed."""
    line = stream.readline(MAX_LINE_BYTES + 2)
    if not line.endswith(b"\r\n"):
        raise BadFraming(400, MALFORMED_CHUNKS)
    return line[:-2]

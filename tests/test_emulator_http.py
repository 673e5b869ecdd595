"""The emulator as an HTTP server: how it frames request bodies, over raw sockets on 127.0.0.1.

A real deployment (nginx and php-fpm in front of Laravel) decodes chunked bodies, refuses a body it cannot delimit
with a 400 and closes the connection (what follows can no longer be told from the next request), refuses a body
over PHP's ``post_max_size`` with a 413, and never waits forever for bytes that do not come.
"""

from __future__ import annotations

import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from reconciler.emulator.faults import RateLimiter, Verdict
from reconciler.emulator.server import EmulatorOptions, running_emulator

TOKEN = "t0ken"
#: A bound on every exchange: a server that waits for bytes that never come fails the test instead of hanging it.
PATIENCE = 5.0
MIB = 1024 * 1024
#: PHP's default post_max_size, which Laravel's ValidatePostSize enforces.
LIMIT = 8 * MIB

BAD_LENGTH = {"message": "The Content-Length header must be a single whole number of bytes."}
MALFORMED_CHUNKS = {"message": "The chunked request body is malformed."}
TOO_LARGE = {"message": "The POST data is too large."}
SPEED_422 = {
    "message": "The speech speed must be between 0.7 and 1.2.",
    "errors": {"speech_speed": ["The speech speed must be between 0.7 and 1.2."]},
}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Exchange:
    replies: list[Reply]
    seconds: float  # from the first byte sent to the server closing the connection


@contextmanager
def emulator(**options: Any) -> Iterator[tuple[str, int]]:
    with running_emulator(EmulatorOptions(token=TOKEN, **options)) as url:
        parts = urlsplit(url)
        assert parts.hostname
        assert parts.port
        yield parts.hostname, parts.port


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    """A demo emulator (read shape) shared by the tests whose requests change nothing."""
    with emulator() as address:
        yield address


@pytest.fixture
def own_server() -> Iterator[tuple[str, int]]:
    """A demo emulator of its own, for a test whose requests may write."""
    with emulator() as address:
        yield address


def request(
    method: str,
    path: str,
    headers: list[str],
    body: bytes = b"",
    version: str = "HTTP/1.1",
) -> bytes:
    """Raw request bytes with the token, ``Accept: application/json`` and exactly the given framing headers."""
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1", f"Authorization: Bearer {TOKEN}"]
    lines += ["Accept: application/json", "Content-Type: application/json", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(*pieces: bytes, trailer: bytes = b"") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n" + trailer + b"\r\n"


def exchange(address: tuple[str, int], *sends: bytes, half_close: bool = False) -> Exchange:
    """Send the bytes on one new connection, read until the server closes it, and split what came back."""
    start = time.monotonic()
    with socket.create_connection(address, timeout=PATIENCE) as conn:
        for data in sends:
            conn.sendall(data)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except TimeoutError:
            pytest.fail(f"the connection was still open after {PATIENCE} s; received {received[:300]!r}")
    return Exchange(parse_replies(received), time.monotonic() - start)


def parse_replies(stream: bytes) -> list[Reply]:
    replies = []
    while stream:
        head, separator, rest = stream.partition(b"\r\n\r\n")
        assert separator, f"an incomplete response: {stream[:300]!r}"
        status_line, *fields = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (f.partition(":") for f in fields)}
        length = int(headers.get("content-length", "0"))
        assert len(rest) >= length, f"a body shorter than its Content-Length: {rest[:300]!r}"
        replies.append(Reply(int(status_line.split()[1]), headers, rest[:length]))
        stream = rest[length:]
    return replies


def assert_refused(result: Exchange, status: int, body: dict[str, str]) -> None:
    """One JSON answer that announces the close, and nothing after it (``exchange`` saw the connection close)."""
    assert [(r.status, r.json()) for r in result.replies] == [(status, body)]
    reply = result.replies[0]
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["connection"] == "close"
    assert result.seconds < PATIENCE


LANGUAGES_AND_CLOSE = request("GET", "/api/user/assistants/languages", ["Connection: close"])


# ---- Content-Length ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lengths",
    [
        ["abc"],
        ["-1"],
        ["+2"],
        ["2.0"],
        ["0x2"],
        [""],
        ["2 2"],
        ["2, 2"],
        ["2", "2"],
        ["2", "3"],
    ],
    ids=repr,
)
def test_a_malformed_content_length_is_400_and_closes_the_connection(
    server: tuple[str, int], lengths: list[str]
) -> None:
    headers = [f"Content-Length: {value}" for value in lengths]
    result = exchange(server, request("PUT", "/api/user/assistant/1", headers, b"{}"), LANGUAGES_AND_CLOSE)
    assert_refused(result, 400, BAD_LENGTH)


def test_content_length_minus_one_is_answered_at_once(server: tuple[str, int]) -> None:
    # the body is never sent; the server must not wait for it
    result = exchange(server, request("PUT", "/api/user/assistant/1", ["Content-Length: -1"]))
    assert_refused(result, 400, BAD_LENGTH)
    assert result.seconds < PATIENCE


def test_the_body_limit_is_8_mib(own_server: tuple[str, int]) -> None:
    padded = b"{}" + b" " * (LIMIT - 2)  # valid JSON of exactly the limit: an empty update
    at_limit = exchange(
        own_server,
        request("PUT", "/api/user/assistant/1", [f"Content-Length: {LIMIT}", "Connection: close"], padded),
    )
    assert [r.status for r in at_limit.replies] == [200]
    assert at_limit.replies[0].json()["message"] == "Assistant updated successfully"
    # one byte more is refused from the header alone: the body is never sent, so nothing may wait for it
    over = exchange(own_server, request("PUT", "/api/user/assistant/1", [f"Content-Length: {LIMIT + 1}"]))
    assert_refused(over, 413, TOO_LARGE)


def test_a_huge_content_length_is_413(server: tuple[str, int]) -> None:
    result = exchange(server, request("POST", "/api/user/assistant", ["Content-Length: " + "9" * 5000]))
    assert_refused(result, 413, TOO_LARGE)


def test_expect_100_continue_over_the_limit_gets_413_instead_of_100(server: tuple[str, int]) -> None:
    headers = [f"Content-Length: {LIMIT + 1}", "Expect: 100-continue"]
    result = exchange(server, request("POST", "/api/user/assistant", headers))
    assert_refused(result, 413, TOO_LARGE)


def test_a_body_shorter_than_its_content_length_is_400(server: tuple[str, int]) -> None:
    result = exchange(
        server, request("PUT", "/api/user/assistant/1", ["Content-Length: 20"], b'{"na'), half_close=True
    )
    assert_refused(result, 400, {"message": "The request body ended before its Content-Length."})


# ---- bounded reads ----------------------------------------------------------------------------------------


def test_a_stalled_body_gets_408_within_the_read_timeout() -> None:
    with emulator(read_timeout=0.5) as address:
        result = exchange(address, request("PUT", "/api/user/assistant/1", ["Content-Length: 20"], b'{"na'))
    assert_refused(result, 408, {"message": "The request body did not arrive within 0.5 seconds."})
    assert result.seconds >= 0.5


def test_an_idle_connection_is_closed_after_the_read_timeout() -> None:
    with emulator(read_timeout=0.5) as address:
        result = exchange(address)
    assert result.replies == []
    assert 0.5 <= result.seconds < PATIENCE


# ---- Transfer-Encoding: chunked ---------------------------------------------------------------------------


def test_a_chunked_body_with_an_invalid_value_gets_its_422(own_server: tuple[str, int]) -> None:
    body = chunked(b'{"speech_', b'speed": ', b"1.5}")
    update = request("PUT", "/api/user/assistant/1", ["Transfer-Encoding: chunked"], body)
    result = exchange(own_server, update, LANGUAGES_AND_CLOSE)
    assert [r.status for r in result.replies] == [422, 200]
    assert result.replies[0].json() == SPEED_422


def test_a_chunked_body_is_applied_and_the_connection_stays_usable(own_server: tuple[str, int]) -> None:
    # a chunk extension, upper-case hex and a trailer field: all part of the chunked coding
    body = b'5;note=x\r\n{"nam\r\n0B\r\ne": "Chunky\r\n2\r\n"}\r\n0\r\nX-Checksum: none\r\n\r\n'
    update = request("PATCH", "/api/user/assistant/1", ["Transfer-Encoding: chunked"], body)
    result = exchange(own_server, update, request("GET", "/api/user/assistants/get", ["Connection: close"]))
    assert [r.status for r in result.replies] == [200, 200]
    assert result.replies[0].json() == {
        "message": "Assistant updated successfully",
        "data": {"id": 1, "name": "Chunky", "status": "inactive", "type": "outbound", "mode": "pipeline"},
    }
    assert result.replies[1].json()["data"][0]["name"] == "Chunky"


def test_transfer_encoding_names_are_case_insensitive(own_server: tuple[str, int]) -> None:
    update = request(
        "PUT", "/api/user/assistant/1", ["Transfer-Encoding: Chunked"], chunked(b'{"name": "Case"}')
    )
    result = exchange(own_server, update, LANGUAGES_AND_CLOSE)
    assert [r.status for r in result.replies] == [200, 200]
    assert result.replies[0].json()["data"]["name"] == "Case"


@pytest.mark.parametrize(
    ("body", "half_close"),
    [
        pytest.param(b"zz\r\n{}\r\n0\r\n\r\n", False, id="size-not-hex"),
        pytest.param(b"-2\r\n{}\r\n0\r\n\r\n", False, id="negative-size"),
        pytest.param(b"\r\n{}\r\n0\r\n\r\n", False, id="empty-size"),
        pytest.param(b"2\r\n{}XX0\r\n\r\n", False, id="no-crlf-after-data"),
        pytest.param(b"2;" + b"x" * 5000 + b"\r\n{}\r\n0\r\n\r\n", False, id="size-line-too-long"),
        pytest.param(b"5\r\n{}", True, id="ends-inside-a-chunk"),
        pytest.param(b"2\r\n{}\r\n", True, id="ends-before-the-last-chunk"),
        pytest.param(b"2\r\n{}\r\n0\r\nX-Trailer: 1\r\n", True, id="ends-inside-the-trailer"),
    ],
)
def test_a_malformed_chunked_body_is_400_and_closes_the_connection(
    server: tuple[str, int], body: bytes, half_close: bool
) -> None:
    update = request("PUT", "/api/user/assistant/1", ["Transfer-Encoding: chunked"], body)
    sends = (update,) if half_close else (update, LANGUAGES_AND_CLOSE)
    assert_refused(exchange(server, *sends, half_close=half_close), 400, MALFORMED_CHUNKS)


def test_a_chunk_declared_over_the_limit_is_413_before_its_data(server: tuple[str, int]) -> None:
    body = b"%x\r\n" % (LIMIT + 1)  # the data never comes: nothing may wait for it
    result = exchange(server, request("POST", "/api/user/assistant", ["Transfer-Encoding: chunked"], body))
    assert_refused(result, 413, TOO_LARGE)


def test_chunks_that_add_up_over_the_limit_are_413(server: tuple[str, int]) -> None:
    body = b"%x\r\n%s\r\n2\r\n" % (LIMIT - 1, b" " * (LIMIT - 1))
    result = exchange(server, request("POST", "/api/user/assistant", ["Transfer-Encoding: chunked"], body))
    assert_refused(result, 413, TOO_LARGE)


@pytest.mark.parametrize(
    ("headers", "version", "status", "message"),
    [
        (
            ["Transfer-Encoding: chunked", "Content-Length: 2"],
            "HTTP/1.1",
            400,
            "A request may not have both Transfer-Encoding and Content-Length.",
        ),
        (
            ["Transfer-Encoding: gzip"],
            "HTTP/1.1",
            400,
            "The Transfer-Encoding of a request must end with chunked.",
        ),
        (
            ["Transfer-Encoding: chunked, chunked"],
            "HTTP/1.1",
            400,
            "The Transfer-Encoding of a request must end with chunked.",
        ),
        (
            ["Transfer-Encoding: gzip, chunked"],
            "HTTP/1.1",
            501,
            "Transfer-Encoding gzip is not supported: send the body chunked or with a Content-Length.",
        ),
        (
            ["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"],
            "HTTP/1.1",
            501,
            "Transfer-Encoding gzip is not supported: send the body chunked or with a Content-Length.",
        ),
        (
            ["Transfer-Encoding: chunked"],
            "HTTP/1.0",
            400,
            "An HTTP/1.0 request may not use Transfer-Encoding.",
        ),
    ],
    ids=[
        "with-content-length",
        "not-ending-in-chunked",
        "chunked-twice",
        "gzip-then-chunked",
        "two-headers",
        "http-1.0",
    ],
)
def test_transfer_encodings_that_cannot_be_trusted_are_refused(
    server: tuple[str, int], headers: list[str], version: str, status: int, message: str
) -> None:
    update = request("PUT", "/api/user/assistant/1", headers, chunked(b"{}"), version)
    assert_refused(exchange(server, update, LANGUAGES_AND_CLOSE), status, {"message": message})


# ---- other malformed requests -----------------------------------------------------------------------------


def test_a_malformed_request_line_gets_a_json_400(server: tuple[str, int]) -> None:
    result = exchange(server, b"NONSENSE\r\n\r\n")
    assert_refused(result, 400, {"message": "Bad request syntax ('NONSENSE')"})


def test_the_access_log_survives_malformed_requests(capsys: pytest.CaptureFixture[str]) -> None:
    with emulator(access_log=True) as address:
        exchange(address, b"NONSENSE\r\n\r\n")
        exchange(address, request("PUT", "/api/user/assistant/1", ["Content-Length: abc"], b"{}"))
        exchange(address, LANGUAGES_AND_CLOSE)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines() == [
        "127.0.0.1 'NONSENSE' -> 400",
        "127.0.0.1 PUT /api/user/assistant/1 -> 400",
        "127.0.0.1 GET /api/user/assistants/languages -> 200",
    ]


# ---- as a server others can reach: bounded threads, the token, the rate limit ------------------------------

HEADERS_NEVER_END = b"GET /api/user/assistants/languages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
BUSY = {"message": "The emulator is serving its limit of 2 connections at once; try again shortly."}


def languages_status(address: tuple[str, int], token: str) -> int:
    lines = ["GET /api/user/assistants/languages HTTP/1.1", "Host: 127.0.0.1", f"Authorization: {token}"]
    lines += ["Accept: application/json", "Connection: close"]
    (reply,) = exchange(address, ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")).replies
    return reply.status


def test_a_connection_over_the_cap_gets_503_and_is_closed() -> None:
    with emulator(max_connections=2, read_timeout=PATIENCE) as address:
        stalled = [socket.create_connection(address, timeout=PATIENCE) for _ in range(2)]
        for conn in stalled:
            conn.sendall(HEADERS_NEVER_END)
        result = exchange(address, LANGUAGES_AND_CLOSE)
        assert_refused(result, 503, BUSY)
        assert result.replies[0].headers["retry-after"] == "1"
        stalled.pop().close()  # a slot is free again once its thread has noticed
        deadline = time.monotonic() + PATIENCE
        while exchange(address, LANGUAGES_AND_CLOSE).replies[0].status == 503:
            assert time.monotonic() < deadline, "the slot of a closed connection was never freed"
            time.sleep(0.05)
        stalled.pop().close()


def test_stalled_connections_hold_no_more_threads_than_the_cap() -> None:
    before = threading.active_count()
    with emulator(max_connections=2, read_timeout=PATIENCE) as address:
        stalled = [socket.create_connection(address, timeout=PATIENCE) for _ in range(40)]
        try:
            for conn in stalled:
                conn.sendall(HEADERS_NEVER_END)
            time.sleep(0.3)  # time for the server to take them all in
            # the server's own thread, one per connection served, and those answering 503 a moment
            assert threading.active_count() - before <= 1 + 2 + 8
        finally:
            for conn in stalled:
                conn.close()


def test_the_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def recorded(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return constant_time(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", recorded)
    with emulator() as address:
        statuses = [languages_status(address, f"Bearer {token}") for token in (TOKEN, "t0kem", "t0kén")]
    assert statuses == [200, 401, 401]
    expected = f"Bearer {TOKEN}".encode()
    assert compared[:2] == [(expected, expected), (b"Bearer t0kem", expected)]
    assert [wanted for _, wanted in compared[2:]] == [expected]  # a header of any bytes is compared too


def test_rate_limit_windows_are_kept_by_a_digest_of_the_token() -> None:
    limiter = RateLimiter(per_minute=5)
    limiter.hit(f"Bearer {TOKEN}")
    assert TOKEN not in repr(limiter)


def test_rate_limit_windows_that_have_passed_are_dropped() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=1, clock=lambda: now[0])
    for n in range(1000):  # a new Authorization header on every request
        verdict = limiter.hit(f"Bearer guess-{n}")
        assert verdict is not None
        assert verdict.allowed
    assert limiter.windows() == 1000
    now[0] = 60.0
    assert limiter.hit("Bearer guess-0") == Verdict(True, 1, 0, 60)  # a window of its own again
    assert limiter.windows() == 1


def test_rate_limit_windows_are_bounded() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=1, clock=lambda: now[0], max_windows=100)
    for n in range(1000):
        now[0] = n / 1000
        limiter.hit(f"Bearer guess-{n}")
    assert limiter.windows() == 100
    assert limiter.hit("Bearer guess-999") == Verdict(False, 1, 0, 60)  # still in its window
    assert limiter.hit("Bearer guess-0") == Verdict(True, 1, 0, 60)  # forgotten: the oldest went first

"""What a server that does not answer costs with the default bounds, on a fake clock (a real minute is too long for
a test): one that takes connections and never answers fails in about a minute, 3 tries of 20 s (it was 10 of
30 s, five minutes); the cause of a failed connection picks its line and whether it is tried again; the retry
line counts the tries a request has left. The transport is ``httpx.MockTransport``; every timeout it raises first
moves the fake clock on by as long as the client allowed for it.
"""

from __future__ import annotations

import io
import socket
import ssl
from collections.abc import Callable, Iterator

import httpx
import pytest

from reconciler.client import Client, RetryPolicy
from reconciler.errors import ApiError
from reconciler.limits import Limits
from reconciler.output import RetryLine

TOKEN = "tok-SECRET-123"
BASE = "https://api.test/api"
URL = f"{BASE}/user/assistants/get"
CHECK = "Check GLORIA_API_URL or --api-url"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    @property
    def elapsed(self) -> float:
        return self.now - 1000.0


Handler = Callable[[httpx.Request], httpx.Response]


def client_with_defaults(
    clock: FakeClock, handler: Handler, said: list[str] | None = None
) -> tuple[Client, list[httpx.Request]]:
    """A client with every default bound and retry policy, on ``clock``."""
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = Client(
        BASE,
        TOKEN,
        retry=RetryPolicy(sleep=clock.sleep),
        transport=httpx.MockTransport(recording),
        clock=clock,
        on_retry=said.append if said is not None else None,
    )
    return client, seen


def silent(clock: FakeClock) -> Handler:
    """A server that takes the connection and never answers: each try lasts its whole read timeout."""

    def handler(request: httpx.Request) -> httpx.Response:
        clock.sleep(request.extensions["timeout"]["read"])
        raise httpx.ReadTimeout("timed out", request=request)

    return handler


def test_with_the_defaults_a_server_that_never_answers_fails_in_about_a_minute() -> None:
    clock = FakeClock()
    client, seen = client_with_defaults(clock, silent(clock))
    with pytest.raises(ApiError) as caught:
        client.list_assistants()
    assert str(caught.value) == (
        f"GET {URL}: no answer within 20 s (3 tries): api.test:443 takes connections but does not answer; "
        f"is it the API? {CHECK}"
    )
    assert len(seen) == 3
    assert 60 <= clock.elapsed <= 60.6  # 3 x 20 s, and backoffs of at most 0.2 s and 0.4 s


def test_with_the_defaults_a_connection_that_is_never_set_up_fails_in_about_half_a_minute() -> None:
    clock = FakeClock()

    def black_hole(request: httpx.Request) -> httpx.Response:
        clock.sleep(request.extensions["timeout"]["connect"])
        raise httpx.ConnectTimeout("timed out", request=request)

    client, seen = client_with_defaults(clock, black_hole)
    with pytest.raises(ApiError) as caught:
        client.list_assistants()
    assert str(caught.value) == (
        f"GET {URL}: no connection within 10 s (3 tries): is api.test:443 reachable from here? {CHECK}"
    )
    assert len(seen) == 3
    assert 30 <= clock.elapsed <= 30.6


class Endless(httpx.SyncByteStream):
    """A body that never ends: a byte a second on the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.clock.sleep(1)
            yield b" "


def test_with_the_defaults_an_answer_that_never_ends_is_given_up_after_three_request_deadlines() -> None:
    clock = FakeClock()
    client, seen = client_with_defaults(clock, lambda request: httpx.Response(200, stream=Endless(clock)))
    with pytest.raises(ApiError) as caught:
        client.list_assistants()
    assert str(caught.value) == "GET /user/assistants/get: no complete answer within 60 s"  # the API, slow
    assert len(seen) == 3  # not ten: half an hour
    assert 180 < clock.elapsed <= 184  # 3 x 60 s, each noticed at the first byte past it (a second apart)


def test_the_run_deadline_ends_a_silent_server_sooner() -> None:
    clock = FakeClock()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return silent(clock)(request)

    client = Client(
        BASE,
        TOKEN,
        retry=RetryPolicy(sleep=clock.sleep),
        limits=Limits.from_environment({"RECONCILER_DEADLINE": "600"}, run_deadline=30),  # --timeout 30
        transport=httpx.MockTransport(handler),
        clock=clock,
    )
    with pytest.raises(
        ApiError, match=r"^GET /user/assistants/get: no complete answer before the run's deadline \(30 s\)$"
    ):
        client.list_assistants()
    assert len(seen) == 2  # 20 s, then the 10 s left
    assert 30 <= clock.elapsed <= 30.2


def test_the_timeout_option_wins_over_the_variable() -> None:
    assert Limits.from_environment({"RECONCILER_DEADLINE": "600"}, run_deadline=2.5).run_deadline == 2.5
    assert Limits.from_environment({"RECONCILER_DEADLINE": "600"}).run_deadline == 600
    assert Limits.from_environment({}).run_deadline == 1800


def refused_by(error: OSError) -> Handler:
    """A connection that fails as httpx reports it: an httpx.ConnectError caused by the OS's (or TLS's) error."""

    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise error
        except OSError as cause:
            raise httpx.ConnectError(str(cause), request=request) from cause

    return handler


def untrusted() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    error.verify_message = "self-signed certificate"
    return error


@pytest.mark.parametrize(
    ("error", "tries", "line"),
    [
        (
            ConnectionRefusedError(111, "Connection refused"),
            3,
            f"GET {URL}: connection refused (3 tries): nothing listens at api.test:443; "
            "check GLORIA_API_URL or --api-url",
        ),
        (
            socket.gaierror(-2, "Name or service not known"),
            3,
            f"GET {URL}: the host name does not resolve (3 tries): is the host name api.test right? {CHECK}",
        ),
        (
            ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            1,
            f"GET {URL}: the server does not speak TLS: is the URL http://api.test/api? {CHECK}",
        ),
        (
            untrusted(),
            1,
            f"GET {URL}: the server's TLS certificate does not verify (self-signed certificate): "
            f"is api.test the API's host? {CHECK}",
        ),
    ],
    ids=["refused", "unresolved", "no-tls", "certificate"],
)
def test_the_cause_of_a_failed_connection_picks_the_line_and_the_tries(
    error: OSError, tries: int, line: str
) -> None:
    clock = FakeClock()
    client, seen = client_with_defaults(clock, refused_by(error))
    with pytest.raises(ApiError) as caught:
        client.list_assistants()
    assert str(caught.value) == line
    assert len(seen) == tries
    assert caught.value.__cause__ is not None


def test_the_retry_line_counts_the_tries_a_request_has_left() -> None:
    clock = FakeClock()
    answers = iter([httpx.Response(503, json={"message": "Service Unavailable"})])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers, None)
        return answer if answer is not None else silent(clock)(request)

    said: list[str] = []
    client, seen = client_with_defaults(clock, handler, said)
    with pytest.raises(ApiError, match=r"no answer within 20 s \(4 tries\)"):
        client.list_assistants()
    assert said == [
        f"retrying GET {URL}: 503 (attempt 2 of 10)",
        f"retrying GET {URL}: no answer within 20 s (attempt 3 of 4)",  # one silence: two more at most
        f"retrying GET {URL}: no answer within 20 s (attempt 4 of 4)",
    ]
    assert len(seen) == 4


def test_a_retry_line_is_written_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    pipe, terminal = io.StringIO(), Terminal()
    RetryLine(pipe)("retrying GET https://api.test/api/user/tools: 503 (attempt 2 of 10)")
    RetryLine(terminal)("retrying GET https://api.test/api/user/tools: 503 (attempt 2 of 10)")
    assert pipe.getvalue() == ""
    assert (
        terminal.getvalue() == "\r\x1b[Kretrying GET https://api.test/api/user/tools: 503 (attempt 2 of 10)\n"
    )


def test_no_retry_line_when_the_run_gives_up_instead_of_retrying() -> None:
    clock = FakeClock()
    said: list[str] = []
    client = Client(
        BASE,
        TOKEN,
        retry=RetryPolicy(sleep=clock.sleep),
        limits=Limits(run_deadline=30),
        transport=httpx.MockTransport(
            lambda request: httpx.Response(
                429, json={"message": "Too Many Attempts."}, headers={"Retry-After": "100"}
            )
        ),
        clock=clock,
        on_retry=said.append,
    )
    with pytest.raises(ApiError, match="gave up: the API asked to retry after 100 s"):
        client.list_assistants()
    assert said == []

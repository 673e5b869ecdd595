"""The HTTP client: headers, pagination, retries, the read-only rule, error messages, lookups and the token.

Every test plugs a handler in at the transport (``httpx.MockTransport``) and a recording ``sleep`` into the
retry policy, so nothing leaves the process and nothing really sleeps. The contract is the plan issue plus
``docs/api.md`` (paginator shape, Laravel 401/422/429/500 bodies).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from reconciler import __version__
from reconciler.client import (
    DEFAULT_API_URL,
    PAGE_SIZE,
    Client,
    RetryPolicy,
    check_api_url,
    may_speak_tls,
)
from reconciler.errors import ApiError, ReadOnlyError, ReconcilerError
from reconciler.limits import Limits

TOKEN = "tok-SECRET-123"
BASE = "https://api.test/api"
LIST_PATH = "/api/user/assistants/get"

Handler = Callable[[httpx.Request], httpx.Response]


class Server:
    """A MockTransport handler that records every request it is asked to answer."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.seen.append(request)
        return self.handler(request)

    @property
    def methods(self) -> list[str]:
        return [r.method for r in self.seen]

    def pages(self) -> list[int]:
        return [int(query(r)["page"]) for r in self.seen]


def query(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}


def make(
    handler: Handler,
    *,
    writable: bool = False,
    attempts: int = 5,
    max_delay: float = 8.0,
    token: str = TOKEN,
    concurrency: int = 8,
    limits: Limits | None = None,
) -> tuple[Client, Server, list[float]]:
    server = Server(handler)
    delays: list[float] = []
    client = Client(
        BASE,
        token,
        writable=writable,
        concurrency=concurrency,
        retry=RetryPolicy(attempts=attempts, max_delay=max_delay, sleep=delays.append),
        limits=limits,
        transport=httpx.MockTransport(server),
    )
    return client, server, delays


def sequence(*answers: httpx.Response | Exception) -> Handler:
    """Answer the n-th request with the n-th answer (an exception is raised instead of answering)."""
    remaining = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = remaining.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


def paginator(
    items: list[dict[str, Any]],
    page: int = 1,
    last_page: int = 1,
    *,
    per_page: int = PAGE_SIZE,
    total: int | None = None,
) -> httpx.Response:
    """One page of an honest paginator: the total defaults to a single page's items."""
    body = {
        "current_page": page,
        "data": items,
        "per_page": per_page,
        "total": len(items) if total is None else total,
        "last_page": last_page,
    }
    return httpx.Response(200, json=body)


def pages_of(pages: dict[int, list[int]]) -> Handler:
    """An account whose list endpoint returns the given ids on each page (all but the last one full)."""
    last = max(pages)
    per_page = len(pages[1]) if last > 1 else PAGE_SIZE
    total = sum(len(ids) for ids in pages.values())

    def handler(request: httpx.Request) -> httpx.Response:
        number = int(query(request)["page"])
        items = [{"id": i, "name": f"A{i}"} for i in pages[number]]
        return paginator(items, number, last, per_page=per_page, total=total)

    return handler


def never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request was expected, got {request.method} {request.url}")


OK_LIST = paginator([{"id": 1, "name": "A"}])


# --- headers ------------------------------------------------------------------------------------------------


def test_every_request_carries_auth_accept_and_user_agent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == LIST_PATH:
            page = int(query(request)["page"])
            return paginator([{"id": page}], page, 3, per_page=1, total=3)
        return httpx.Response(200, json={"data": {"id": 9}})

    client, server, _ = make(handler, writable=True)
    client.list_assistants()
    client.lookup("/user/assistants/languages")
    client.update(9, {"name": "B"})
    client.create({"name": "C"})
    client.delete(9)

    assert len(server.seen) == 7
    for request in server.seen:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["User-Agent"].startswith("reconciler/")
        assert request.headers["User-Agent"] == f"reconciler/{__version__}"
        assert request.url.host == "api.test"
        assert request.url.path.startswith("/api/user/")  # the base URL's path is kept


def test_requests_carry_the_timeouts() -> None:
    client, server, _ = make(sequence(OK_LIST))
    client.list_assistants()
    assert server.seen[0].extensions["timeout"] == {
        "connect": 10.0,
        "read": 20.0,
        "write": 20.0,
        "pool": 20.0,
    }


def test_requests_ask_for_gzip_only() -> None:
    # the one encoding the client inflates within its size cap (wire.py); httpx alone would offer deflate too
    client, server, _ = make(sequence(OK_LIST))
    client.list_assistants()
    assert server.seen[0].headers["Accept-Encoding"] == "gzip"


def test_write_bodies_are_json() -> None:
    client, server, _ = make(sequence(httpx.Response(200, json={"data": {}})), writable=True)
    client.update(7, {"name": "B", "speech_speed": 1.1})
    (request,) = server.seen
    assert request.method == "PUT"
    assert request.url.path == "/api/user/assistant/7"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"name": "B", "speech_speed": 1.1}


def test_the_default_api_url_is_https() -> None:
    assert DEFAULT_API_URL == "https://app.gloriagent.ai/api"
    assert check_api_url(DEFAULT_API_URL) == DEFAULT_API_URL


@pytest.mark.parametrize(
    ("url", "proxies", "tls"),
    [
        ("http://127.0.0.1:8080/api", {}, False),
        ("HTTP://localhost/api", {}, False),
        ("https://app.gloriagent.ai/api", {}, True),
        ("http://127.0.0.1:8080/api", {"https": "https://proxy.corp:3128"}, True),
        ("http://127.0.0.1:8080/api", {"http": "http://proxy.corp:3128"}, True),
        ("http://127.0.0.1:8080/api", {"no": "localhost"}, True),
    ],
    ids=["http", "http-upper-case", "https", "https-proxy", "http-proxy", "no-proxy-list"],
)
def test_only_an_http_api_without_proxies_is_reached_without_the_certificate_authorities(
    url: str, proxies: dict[str, str], tls: bool
) -> None:
    # a proxy of any kind keeps them: httpx may reach it over TLS, and no_proxy is its business
    assert may_speak_tls(url, proxies) is tls


# --- pagination ---------------------------------------------------------------------------------------------


def test_list_asks_page_one_then_every_remaining_page_exactly_once() -> None:
    ids = {n: list(range((n - 1) * 100 + 1, n * 100 + 1)) for n in range(1, 5)} | {5: [401, 402, 403]}
    client, server, delays = make(pages_of(ids))
    progress: list[tuple[int, int]] = []

    items = client.list_assistants(lambda done, total: progress.append((done, total)))

    assert server.pages()[0] == 1
    assert sorted(server.pages()) == [1, 2, 3, 4, 5]
    assert all(query(r)["per_page"] == "100" for r in server.seen)
    assert all(r.method == "GET" and r.url.path == LIST_PATH for r in server.seen)
    assert [item["id"] for item in items] == list(range(1, 404))
    assert client.requests == 5
    assert progress == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert delays == []


def test_a_single_page_is_one_request() -> None:
    client, server, _ = make(pages_of({1: [3, 1, 2]}))
    progress: list[tuple[int, int]] = []
    items = client.list_assistants(lambda done, total: progress.append((done, total)))
    assert [item["id"] for item in items] == [3, 1, 2]  # the API's order, untouched
    assert server.pages() == [1]
    assert client.requests == 1
    assert progress == [(1, 1)]


def test_an_empty_account_is_an_empty_list() -> None:
    client, server, _ = make(sequence(paginator([], 1, 1)))
    assert client.list_assistants() == []
    assert len(server.seen) == 1


def test_the_list_works_without_a_progress_callback() -> None:
    client, _, _ = make(pages_of({1: [1], 2: [2]}))
    assert [item["id"] for item in client.list_assistants()] == [1, 2]


def test_pages_that_shifted_during_the_read_are_read_again() -> None:
    # an assistant created between two page reads shifts the pages: the last item of page 1 comes again
    shifted, settled = (
        pages_of({1: [1, 2, 3], 2: [3, 4, 5], 3: [5, 6]}),
        pages_of({1: [1, 2, 3], 2: [4, 5, 6], 3: [7]}),
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return shifted(request) if len(server.seen) <= 3 else settled(request)

    client, server, delays = make(handler)
    assert [item["id"] for item in client.list_assistants()] == [1, 2, 3, 4, 5, 6, 7]
    assert sorted(server.pages()) == [1, 1, 2, 2, 3, 3]
    assert delays == []


def test_pages_that_stay_inconsistent_are_read_three_times_then_refused() -> None:
    client, server, _ = make(pages_of({1: [1, 2, 3], 2: [3, 4, 5], 3: [5, 6]}))
    with pytest.raises(ApiError) as caught:
        client.list_assistants()
    assert str(caught.value) == (
        "the assistant list is inconsistent after 3 reads "
        "(total says 8, 6 seen; page 2 repeats id 3; page 3 repeats id 5)"
    )
    assert sorted(server.pages()) == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_an_id_of_ascii_digits_is_read_as_the_integer() -> None:
    client, _, _ = make(sequence(paginator([{"id": "2", "name": "B"}, {"id": 3}])))
    assert client.list_assistants() == [{"id": 2, "name": "B"}, {"id": 3}]


def test_remaining_pages_are_fetched_concurrently_and_kept_in_page_order() -> None:
    last_requested = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(query(request)["page"])
        if page == 2:
            # page 2 answers only once page 4 has been asked: impossible if the pages went one by one
            assert last_requested.wait(timeout=5), "pages 2..4 were not requested concurrently"
        if page == 4:
            last_requested.set()
        return paginator([{"id": page * 10}], page, 4, per_page=1, total=4)

    client, _, _ = make(handler, concurrency=4)
    assert [item["id"] for item in client.list_assistants()] == [10, 20, 30, 40]


def test_a_list_without_the_paginator_shape_is_an_api_error() -> None:
    client, _, _ = make(sequence(httpx.Response(200, json=[{"id": 1}])))
    with pytest.raises(ApiError, match="paginator shape"):
        client.list_assistants()


def test_a_failing_later_page_fails_the_list() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(query(request)["page"])
        if page == 3:
            return httpx.Response(403, json={"message": "This action is unauthorized."})
        return paginator([{"id": page}], page, 3, per_page=1, total=3)

    client, _, _ = make(handler)
    with pytest.raises(ApiError, match=r"^GET /user/assistants/get: 403 This action is unauthorized\.$"):
        client.list_assistants()


# --- retries of reads ---------------------------------------------------------------------------------------


def test_a_500_then_200_succeeds_after_one_retry() -> None:
    client, server, delays = make(sequence(httpx.Response(500, json={"message": "Server Error"}), OK_LIST))
    assert client.list_assistants() == [{"id": 1, "name": "A"}]
    assert len(server.seen) == 2
    assert client.requests == 2
    assert len(delays) == 1
    assert 0 <= delays[0] <= 0.5  # attempt 0: base_delay * 2**0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_every_5xx_is_retried(status: int) -> None:
    client, server, delays = make(sequence(httpx.Response(status), OK_LIST))
    client.list_assistants()
    assert len(server.seen) == 2
    assert len(delays) == 1


def test_a_429_honours_retry_after() -> None:
    throttled = httpx.Response(429, json={"message": "Too Many Attempts."}, headers={"Retry-After": "7"})
    client, server, delays = make(sequence(throttled, OK_LIST))
    client.list_assistants()
    assert len(server.seen) == 2
    assert len(delays) == 1
    assert delays[0] >= 7
    assert delays[0] == 7.0  # backoff at attempt 0 is at most 0.5 s: Retry-After wins


def test_retry_after_beyond_max_delay_is_still_honoured() -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "30"})
    client, _, delays = make(sequence(throttled, OK_LIST), max_delay=2.0)
    client.list_assistants()
    assert delays == [30.0]


def test_a_retry_after_date_falls_back_to_backoff() -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    client, _, delays = make(sequence(throttled, OK_LIST))
    client.list_assistants()
    assert len(delays) == 1
    assert 0 <= delays[0] <= 0.5


def test_retry_after_is_capped_and_the_wait_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    throttled = httpx.Response(429, json={"message": "Too Many Attempts."}, headers={"Retry-After": "3600"})
    client, server, delays = make(sequence(throttled, httpx.Response(200, json=[])))
    with caplog.at_level(logging.WARNING, logger="reconciler.http"):
        client.get("/user/tools")
    assert delays == [120.0]
    assert len(server.seen) == 2
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "waiting 120 s (the most this tool waits at once): the API asked to retry after 3600 s "
        "(429 on GET /user/tools)"
    ]


def test_a_future_retry_after_date_is_waited_for() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    throttled = httpx.Response(503, json={"message": "Maintenance."}, headers={"Retry-After": when})
    client, _, delays = make(sequence(throttled, httpx.Response(200, json=[])))
    client.get("/user/tools")
    assert len(delays) == 1
    assert 29 <= delays[0] <= 30  # whole seconds: the clock may have ticked since


def test_a_retry_after_past_the_run_deadline_fails_at_once() -> None:
    throttled = httpx.Response(429, json={"message": "Too Many Attempts."}, headers={"Retry-After": "60"})
    client, server, delays = make(lambda r: throttled, limits=Limits(run_deadline=10))
    with pytest.raises(ApiError) as caught:
        client.get("/user/tools")
    assert str(caught.value) == (
        "GET /user/tools: 429 Too Many Attempts.; gave up: the API asked to retry after 60 s, "
        "and the run's deadline (10 s) ends sooner"
    )
    assert caught.value.status == 429
    assert (len(server.seen), delays) == (1, [])


def test_no_request_is_sent_once_the_run_deadline_has_passed() -> None:
    client, server, _ = make(never, limits=Limits(run_deadline=0.01))
    time.sleep(0.02)
    with pytest.raises(
        ApiError, match=r"^GET /user/tools: not sent: the run's deadline \(0.01 s\) has passed$"
    ):
        client.get("/user/tools")
    assert server.seen == []


class Trickle(httpx.SyncByteStream):
    """A body that comes a chunk at a time, ``pause`` seconds apart."""

    def __init__(self, chunks: list[bytes], pause: float) -> None:
        self.chunks = chunks
        self.pause = pause

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            time.sleep(self.pause)
            yield chunk


def test_an_answer_trickled_past_the_request_deadline_fails_every_attempt() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Trickle([b"[", *[b" "] * 20, b"]"], 0.05))

    client, server, delays = make(slow, attempts=2, limits=Limits(request_deadline=0.2))
    start = time.monotonic()
    with pytest.raises(ApiError, match=r"^GET /user/tools: no complete answer within 0.2 s$"):
        client.get("/user/tools")
    assert (len(server.seen), len(delays)) == (2, 1)
    assert time.monotonic() - start < 1  # each try abandoned at 0.2 s, not after the whole second of bytes


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
def test_an_answer_larger_than_the_cap_is_refused_and_not_asked_again(streamed: bool) -> None:
    body = b"[" + b" " * 2000 + b"]"

    def large(request: httpx.Request) -> httpx.Response:
        return (
            httpx.Response(200, stream=Trickle([body], 0)) if streamed else httpx.Response(200, content=body)
        )

    client, server, _ = make(large, limits=Limits(max_response_bytes=1000))
    with pytest.raises(
        ApiError, match=r"^GET /user/tools: the answer is larger than 1000 bytes \(decoded\): refused$"
    ):
        client.get("/user/tools")
    assert len(server.seen) == 1


def test_an_answer_in_an_encoding_not_asked_for_is_refused() -> None:
    def brotli(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Encoding": "br"}, stream=Trickle([b"\x0b\x01\x80[]\x03"], 0)
        )

    client, server, _ = make(brotli)
    with pytest.raises(
        ApiError, match=r"^GET /user/tools: the answer came in an encoding it was not asked for \('br'\)$"
    ):
        client.get("/user/tools")
    assert len(server.seen) == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.ReadError("connection reset"),
    ],
    ids=["connect", "timeout", "dropped", "reset"],
)
def test_transport_errors_are_retried(error: httpx.TransportError) -> None:
    client, server, delays = make(sequence(error, error, OK_LIST))
    assert client.list_assistants() == [{"id": 1, "name": "A"}]
    assert len(server.seen) == 3
    assert client.requests == 3
    assert len(delays) == 2


def test_after_all_attempts_of_5xx_the_error_names_method_path_and_status() -> None:
    client, server, delays = make(lambda r: httpx.Response(500, json={}), attempts=3)
    with pytest.raises(ApiError) as caught:
        client.list_assistants()
    assert str(caught.value) == "GET /user/assistants/get: 500 Internal Server Error"
    assert caught.value.status == 500
    assert caught.value.errors == {}
    assert len(server.seen) == 3
    assert len(delays) == 2  # no sleep after the last attempt


def test_after_all_attempts_the_servers_message_is_shown() -> None:
    client, _, _ = make(lambda r: httpx.Response(503, json={"message": "Down for maintenance"}), attempts=2)
    with pytest.raises(ApiError, match=r"^GET /user/assistants/get: 503 Down for maintenance$"):
        client.list_assistants()


def test_after_all_attempts_of_429_the_error_is_raised() -> None:
    client, server, delays = make(
        lambda r: httpx.Response(429, json={"message": "Too Many Attempts."}, headers={"Retry-After": "1"}),
        attempts=4,
    )
    with pytest.raises(ApiError) as caught:
        client.get("/user/tools")
    assert str(caught.value) == "GET /user/tools: 429 Too Many Attempts."
    assert caught.value.status == 429
    assert len(server.seen) == 4
    assert len(delays) == 3
    assert all(d >= 1 for d in delays)


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (httpx.ConnectError("refused"), "GET /user/assistants/get: cannot connect"),
        (
            httpx.ConnectTimeout("slow"),
            "GET https://api.test/api/user/assistants/get: no connection within 10 s (3 tries): "
            "is api.test:443 reachable from here? Check GLORIA_API_URL or --api-url",
        ),
        (
            httpx.ReadTimeout("slow"),
            "GET https://api.test/api/user/assistants/get: no answer within 20 s (3 tries): "
            "api.test:443 takes connections but does not answer; is it the API? Check GLORIA_API_URL or --api-url",
        ),
        (httpx.RemoteProtocolError("gone"), "GET /user/assistants/get: the connection was dropped"),
        (httpx.ReadError("reset"), "GET /user/assistants/get: the connection was reset"),
        (httpx.WriteError("broken pipe"), "GET /user/assistants/get: WriteError"),
    ],
)
def test_after_all_attempts_of_transport_errors_the_error_is_clear(
    error: httpx.TransportError, text: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    client, server, delays = make(handler, attempts=3)
    with pytest.raises(ApiError) as caught:
        client.list_assistants()
    assert str(caught.value) == text
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert len(server.seen) == 3
    assert len(delays) == 2


@pytest.mark.parametrize("status", [400, 403, 404, 405, 409, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    client, server, delays = make(lambda r: httpx.Response(status, json={"message": "no"}))
    with pytest.raises(ApiError) as caught:
        client.get("/user/tools")
    assert caught.value.status == status
    assert len(server.seen) == 1
    assert delays == []


def test_backoff_delays_grow_and_stay_within_max_delay() -> None:
    client, server, delays = make(lambda r: httpx.Response(500, json={}), attempts=9, max_delay=2.0)
    with pytest.raises(ApiError):
        client.get("/user/tools")
    assert len(server.seen) == 9
    assert len(delays) == 8
    for attempt, delay in enumerate(delays):
        assert 0 <= delay <= min(2.0, 0.5 * 2**attempt)


def test_delays_are_jittered_and_bounded() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0, sleep=lambda _: None)
    for attempt in range(12):
        samples = [policy.delay(attempt, None) for _ in range(200)]
        cap = min(8.0, 0.5 * 2**attempt)
        assert all(0 <= s <= cap for s in samples)
        assert len(set(samples)) > 100  # full jitter: not one fixed value
        assert max(samples) > cap / 2  # and spread over the whole range
    assert policy.delay(10, 20.0) == 20.0  # Retry-After above the cap wins
    assert 0 <= policy.delay(10, 0.001) <= 8.0


def test_the_default_policy_retries_ten_times() -> None:
    # ten attempts: with 35% of requests failing (the fault test's mix), one in 36,000 requests gives up
    policy = RetryPolicy()
    assert (policy.attempts, policy.base_delay, policy.max_delay) == (10, 0.2, 5.0)


# --- writes -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        lambda c: c.update(7, {"name": "B"}),
        lambda c: c.create({"name": "B"}),
        lambda c: c.delete(7),
    ],
    ids=["update", "create", "delete"],
)
def test_a_read_only_client_cannot_write_and_sends_nothing(write: Callable[[Client], Any]) -> None:
    client, server, delays = make(never, writable=False)
    with pytest.raises(ReadOnlyError, match="read-only"):
        write(client)
    assert server.seen == []
    assert client.requests == 0
    assert delays == []


def test_a_client_is_read_only_unless_asked() -> None:
    server = Server(never)
    client = Client(BASE, TOKEN, transport=httpx.MockTransport(server))
    assert client.writable is False
    with pytest.raises(ReadOnlyError):
        client.create({"name": "B"})
    with pytest.raises(ReadOnlyError):
        client.update(1, {})
    with pytest.raises(ReadOnlyError):
        client.delete(1)
    assert server.seen == []


def test_read_only_error_is_a_reconciler_error() -> None:
    assert issubclass(ReadOnlyError, ReconcilerError)
    assert issubclass(ApiError, ReconcilerError)


def test_a_read_only_client_still_reads() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return OK_LIST if request.url.path == LIST_PATH else httpx.Response(200, json=[])

    client, server, _ = make(handler, writable=False)
    client.list_assistants()
    client.lookup("/user/assistants/voices", {"mode": "pipeline"})
    client.get("/user/tools")
    assert server.methods == ["GET", "GET", "GET"]


def test_create_is_not_retried_on_500() -> None:
    client, server, delays = make(
        sequence(httpx.Response(500, json={"message": "Assistant creation failed"}), httpx.Response(201)),
        writable=True,
    )
    with pytest.raises(ApiError) as caught:
        client.create({"name": "B"})
    assert str(caught.value) == "POST /user/assistant: 500 Assistant creation failed"
    assert server.methods == ["POST"]
    assert client.requests == 1
    assert delays == []


def test_create_is_not_retried_on_a_connection_error() -> None:
    client, server, delays = make(
        sequence(httpx.ConnectError("refused"), httpx.Response(201)),
        writable=True,
    )
    with pytest.raises(ApiError, match=r"^POST /user/assistant: cannot connect$"):
        client.create({"name": "B"})
    assert server.methods == ["POST"]
    assert delays == []


def test_create_is_not_retried_on_429() -> None:
    client, server, delays = make(
        sequence(httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(201)), writable=True
    )
    with pytest.raises(ApiError) as caught:
        client.create({"name": "B"})
    assert caught.value.status == 429
    assert server.methods == ["POST"]
    assert delays == []


def test_create_returns_the_answer() -> None:
    answer = {"message": "Assistant created", "data": {"id": 12, "name": "B", "status": "inactive"}}
    client, server, _ = make(sequence(httpx.Response(201, json=answer)), writable=True)
    assert client.create({"name": "B"}) == answer
    (request,) = server.seen
    assert (request.method, request.url.path) == ("POST", "/api/user/assistant")
    assert json.loads(request.content) == {"name": "B"}


def test_update_is_retried_on_500() -> None:
    answer = {"message": "Assistant updated successfully", "data": {"id": 7}}
    client, server, delays = make(
        sequence(
            httpx.Response(500, json={"message": "Assistant update failed"}), httpx.Response(200, json=answer)
        ),
        writable=True,
    )
    assert client.update(7, {"name": "B"}) == answer
    assert server.methods == ["PUT", "PUT"]
    assert [json.loads(r.content) for r in server.seen] == [{"name": "B"}, {"name": "B"}]
    assert len(delays) == 1


def test_update_is_retried_on_a_connection_error() -> None:
    client, server, delays = make(
        sequence(httpx.ConnectError("refused"), httpx.Response(200, json={"data": {"id": 7}})), writable=True
    )
    assert client.update(7, {"name": "B"}) == {"data": {"id": 7}}
    assert server.methods == ["PUT", "PUT"]
    assert len(delays) == 1


def test_delete_sends_delete_to_the_assistant() -> None:
    client, server, _ = make(
        sequence(httpx.Response(200, json={"message": "Assistant deleted"})), writable=True
    )
    assert client.delete(7) == {"message": "Assistant deleted"}
    (request,) = server.seen
    assert (request.method, request.url.path) == ("DELETE", "/api/user/assistant/7")
    assert request.content == b""


# --- error answers ------------------------------------------------------------------------------------------


def test_401_points_at_the_token() -> None:
    client, server, delays = make(lambda r: httpx.Response(401, json={"message": "Unauthenticated."}))
    with pytest.raises(ApiError) as caught:
        client.list_assistants()
    assert str(caught.value).endswith("(check GLORIA_API_TOKEN)")
    assert str(caught.value) == "GET /user/assistants/get: 401 Unauthenticated. (check GLORIA_API_TOKEN)"
    assert caught.value.status == 401
    assert len(server.seen) == 1  # a bad token is not retried
    assert delays == []


def test_401_without_a_body_still_points_at_the_token() -> None:
    client, _, _ = make(lambda r: httpx.Response(401, json={}))
    with pytest.raises(ApiError) as caught:
        client.get("/user/tools")
    assert str(caught.value) == "GET /user/tools: 401 Unauthorized (check GLORIA_API_TOKEN)"


def test_422_carries_the_field_errors() -> None:
    errors = {
        "speech_speed": ["The speech speed must be between 0.7 and 1.2."],
        "voice_id": ["The selected voice is not compatible with the chosen engine type."],
    }
    client, server, delays = make(
        lambda r: httpx.Response(422, json={"message": "Validation failed", "errors": errors}), writable=True
    )
    with pytest.raises(ApiError) as caught:
        client.update(7, {"speech_speed": 2})
    assert caught.value.status == 422
    assert caught.value.errors == errors
    assert str(caught.value) == "PUT /user/assistant/7: 422 Validation failed"
    assert len(server.seen) == 1  # a refused update is not retried
    assert delays == []


def test_404_is_an_api_error_with_the_servers_message() -> None:
    client, _, _ = make(lambda r: httpx.Response(404, json={"message": "Assistant not found"}), writable=True)
    with pytest.raises(ApiError) as caught:
        client.delete(99)
    assert str(caught.value) == "DELETE /user/assistant/99: 404 Assistant not found"
    assert caught.value.status == 404
    assert caught.value.errors == {}


def test_a_redirect_to_html_is_a_non_json_error_and_is_not_followed() -> None:
    redirect = httpx.Response(
        302,
        headers={"Location": "https://api.test/login", "Content-Type": "text/html; charset=UTF-8"},
        text="<html><body>Redirecting to https://api.test/login</body></html>",
    )
    client, server, delays = make(lambda r: redirect)
    with pytest.raises(ApiError) as caught:
        client.list_assistants()
    assert "non-JSON" in str(caught.value)
    assert str(caught.value) == (
        "GET /user/assistants/get: 302 with a non-JSON answer (text/html; charset=UTF-8)"
    )
    assert caught.value.status == 302
    assert len(server.seen) == 1
    assert delays == []


def test_a_200_html_page_is_a_non_json_error() -> None:
    client, _, _ = make(lambda r: httpx.Response(200, html="<html>Login</html>"))
    with pytest.raises(ApiError, match="200 with an HTML page, not the API's JSON") as caught:
        client.get("/user/tools")
    assert caught.value.status == 200


def test_an_empty_success_is_a_non_json_error() -> None:
    client, _, _ = make(lambda r: httpx.Response(204))
    with pytest.raises(ApiError, match=r"^GET /user/tools: 204 with a non-JSON answer \(no content type\)$"):
        client.get("/user/tools")


def test_an_html_error_page_after_all_retries_is_a_non_json_error() -> None:
    client, server, _ = make(lambda r: httpx.Response(502, html="<h1>Bad Gateway</h1>"), attempts=2)
    with pytest.raises(ApiError, match="502 with a non-JSON answer") as caught:
        client.get("/user/tools")
    assert caught.value.status == 502
    assert len(server.seen) == 2


# --- lookups ------------------------------------------------------------------------------------------------


def test_lookup_fetches_each_path_and_params_once() -> None:
    voices = [{"id": 1, "name": "Emma", "language_id": 1, "gender": "female"}]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=voices if "voices" in request.url.path else [{"id": 2}])

    client, server, _ = make(handler)
    first = client.lookup("/user/assistants/voices", {"mode": "pipeline", "language_id": "1"})
    assert len(server.seen) == 1
    second = client.lookup("/user/assistants/voices", {"language_id": "1", "mode": "pipeline"})
    assert len(server.seen) == 1  # same path and params, other order: nothing sent
    assert first == second == voices
    assert query(server.seen[0]) == {"mode": "pipeline", "language_id": "1"}

    client.lookup("/user/assistants/voices", {"mode": "multimodal", "language_id": "1"})
    client.lookup("/user/assistants/languages")
    client.lookup("/user/assistants/languages", None)
    client.lookup("/user/assistants/languages", {})
    assert len(server.seen) == 3
    assert client.requests == 3


def test_lookups_are_per_client() -> None:
    handler: Handler = lambda r: httpx.Response(200, json=[])  # noqa: E731
    one, server_one, _ = make(handler)
    two, server_two, _ = make(handler)
    one.lookup("/user/tools")
    two.lookup("/user/tools")
    one.lookup("/user/tools")
    assert len(server_one.seen) == 1
    assert len(server_two.seen) == 1


# --- the token ----------------------------------------------------------------------------------------------


def _error_of(client_handler: Handler, call: Callable[[Client], Any], writable: bool = False) -> ApiError:
    client, _, _ = make(client_handler, writable=writable, attempts=2)
    with pytest.raises(ReconcilerError) as caught:
        call(client)
    return caught.value  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("handler", "call", "writable"),
    [
        (lambda r: httpx.Response(401, json={"message": "Unauthenticated."}), lambda c: c.get("/x"), False),
        (
            lambda r: httpx.Response(422, json={"message": "Bad", "errors": {"a": ["b"]}}),
            lambda c: c.update(1, {}),
            True,
        ),
        (lambda r: httpx.Response(500, json={}), lambda c: c.list_assistants(), False),
        (lambda r: httpx.Response(302, html="<html/>"), lambda c: c.get("/x"), False),
        (
            sequence(httpx.ConnectError("refused"), httpx.ConnectError("refused")),
            lambda c: c.get("/x"),
            False,
        ),
        (never, lambda c: c.create({"name": "x"}), False),
        (lambda r: httpx.Response(200, json={"nope": 1}), lambda c: c.list_assistants(), False),
    ],
    ids=["401", "422", "500", "non-json", "connect", "read-only", "shape"],
)
def test_the_token_is_in_no_error_message(
    handler: Handler, call: Callable[[Client], Any], writable: bool
) -> None:
    error = _error_of(handler, call, writable)
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    assert TOKEN not in repr(error.args)


def test_the_token_is_not_in_repr_or_str_of_the_client() -> None:
    client, _, _ = make(never, writable=True)
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert repr(client).startswith("Client(https://api.test/api")
    assert "writable=True" in repr(client)


def test_the_token_is_in_no_log_record_at_debug_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == LIST_PATH:
            page = int(query(request)["page"])
            return paginator([{"id": page}], page, 2, per_page=1, total=2)
        if request.method == "POST":
            raise httpx.ConnectError("refused")
        return httpx.Response(401, json={"message": "Unauthenticated."})

    client, _, _ = make(handler, writable=True, attempts=2)
    client.list_assistants()
    with pytest.raises(ApiError):
        client.get("/user/tools")
    with pytest.raises(ApiError):
        client.create({"name": "B"})

    http_records = [r for r in caplog.records if r.name == "reconciler.http"]
    assert len(http_records) >= 3  # the requests were logged ...
    assert any("GET /user/assistants/get -> 200" in r.getMessage() for r in http_records)
    assert all(r.levelno == logging.DEBUG for r in http_records)
    for record in caplog.records:  # ... and no logger, httpx's included, shows the token
        assert TOKEN not in record.getMessage()
        assert TOKEN not in str(record.args)
    assert TOKEN not in caplog.text


def test_a_server_echoing_the_token_does_not_leak_it() -> None:
    client, _, _ = make(lambda r: httpx.Response(401, json={"message": f"Invalid token {TOKEN}"}))
    with pytest.raises(ApiError) as caught:
        client.get("/user/tools")
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("token", ["", None])
def test_an_empty_token_is_refused_before_any_request(token: str | None) -> None:
    server = Server(never)
    with pytest.raises(ReconcilerError, match="GLORIA_API_TOKEN"):
        Client(BASE, token, transport=httpx.MockTransport(server))  # type: ignore[arg-type]
    assert server.seen == []


def test_a_client_for_plain_http_to_another_host_is_refused_before_any_request() -> None:
    server = Server(never)
    with pytest.raises(ReconcilerError, match="plain http"):
        Client("http://example.com/api", TOKEN, transport=httpx.MockTransport(server))
    assert server.seen == []


def test_a_client_for_http_on_loopback_works() -> None:
    server = Server(lambda r: OK_LIST)
    client = Client("http://127.0.0.1:8080/api/", TOKEN, transport=httpx.MockTransport(server))
    client.list_assistants()
    assert str(server.seen[0].url) == "http://127.0.0.1:8080/api/user/assistants/get?per_page=100&page=1"


def test_the_client_is_a_context_manager() -> None:
    with Client(BASE, TOKEN, transport=httpx.MockTransport(lambda r: OK_LIST)) as client:
        assert client.list_assistants() == [{"id": 1, "name": "A"}]
    with pytest.raises(RuntimeError):  # closed: httpx refuses to send
        client.list_assistants()


# --- check_api_url ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x", "https://x"),
        ("https://app.gloriagent.ai/api/", "https://app.gloriagent.ai/api"),
        ("http://127.0.0.1:8080/api", "http://127.0.0.1:8080/api"),
        ("http://127.8.9.10", "http://127.8.9.10"),
        ("http://localhost", "http://localhost"),
        ("http://LOCALHOST:9/", "http://LOCALHOST:9"),
        ("http://[::1]:9", "http://[::1]:9"),
    ],
)
def test_check_api_url_accepts_https_and_loopback_http(url: str, expected: str) -> None:
    assert check_api_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://10.0.0.5",
        "http://192.168.1.1:8080/api",
        "http://0.0.0.0:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "http://[::2]:9",
    ],
)
def test_check_api_url_refuses_plain_http_to_other_hosts(url: str) -> None:
    with pytest.raises(ReconcilerError, match="refusing plain http"):
        check_api_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com",
        "file:///etc/passwd",
        "ws://localhost",
        "",
        "https://",
        "http:///api",
    ],
)
def test_check_api_url_refuses_what_is_not_an_http_url(url: str) -> None:
    with pytest.raises(ReconcilerError, match="is not an http"):
        check_api_url(url)

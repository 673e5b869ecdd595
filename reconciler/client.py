"""The one HTTP choke point: auth, pagination, retries, lookups, and the rule that a plan cannot write.

Every request of the reconciler goes through ``Client``. httpx's exceptions and responses stop here and become
``ApiError`` (a ``ReconcilerError``). The token goes into one header and nowhere else: not into errors, logs or
``repr``; a token no header can carry is refused before the first request. Every request, wait and retry is bounded
(``limits.py``): one request by its own deadline and the answer's decoded size (``wire.py``), a wait a server asks
for by ``MAX_RETRY_AFTER`` (and said on stderr, through the ``reconciler.http`` logger), the run by its deadline.
Tests plug in at the transport (``httpx.MockTransport``) or run the emulator on loopback.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler import __version__, listing
from reconciler.errors import ApiError, ListingError, ReadOnlyError, ReconcilerError
from reconciler.limits import Deadline, Limits, seconds
from reconciler.pacing import Pacer, retry_after
from reconciler.secret import Secret, masked
from reconciler.wire import ASK_FOR, Answer, Bounds, Failed, TooSlow, exchange

log = logging.getLogger("reconciler.http")

DEFAULT_API_URL = "https://app.gloriagent.ai/api"
PAGE_SIZE = 100  # the API's maximum per_page
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 10
    base_delay: float = 0.2
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff; a server's Retry-After wins when it is longer."""
        backoff = random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))
        return max(backoff, retry_after or 0.0)


def check_api_url(url: str) -> str:
    """Refuse plain http except to loopback: the token would cross the network in clear text."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ReconcilerError(f"API URL {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ReconcilerError(
            f"refusing plain http to {parts.hostname}: the token would travel unencrypted; use https"
        )
    return url.rstrip("/")


def check_token(token: Secret) -> None:
    """Refuse a token no HTTP header can carry as it is, naming what is wrong and never the token: h11 would
    refuse it on every attempt of every request, quoting it in its message."""
    value = token.reveal()
    unsendable = [index for index, char in enumerate(value) if not "!" <= char <= "~"]
    if unsendable:  # the end first: a stray newline is the usual case
        index = unsendable[-1] if unsendable[-1] == len(value) - 1 else unsendable[0]
        raise ReconcilerError(f"GLORIA_API_TOKEN {_token_problem(value, index)}")


def _token_problem(value: str, index: int) -> str:
    char = value[index]
    where = "ends with" if index == len(value) - 1 else "starts with" if index == 0 else "contains"
    if where == "ends with" and char == "\n":
        return 'ends with a line break: set it without the newline (GLORIA_API_TOKEN="$(cat FILE)" drops a file\'s last newline)'
    kind = _CHARACTERS.get(char) or (
        f"a {'control' if char.isascii() else 'non-ASCII'} character (U+{ord(char):04X})"
    )
    return f"{where} {kind}, which no API token has: set it again without it"


_CHARACTERS = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", " ": "a space"}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Client:
    """Reads (and, when ``writable``, writes) one account's assistants."""

    def __init__(
        self,
        base_url: str,
        token: Secret | str,  # a str is wrapped at once: the client holds the token only as a Secret
        *,
        writable: bool = False,
        concurrency: int = 8,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        limits: Limits | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise ReconcilerError("GLORIA_API_TOKEN is not set: export the API key of the account first")
        self._token = token if isinstance(token, Secret) else Secret(token)
        check_token(self._token)
        self.writable = writable
        self.concurrency = max(1, concurrency)
        self.retry = retry or RetryPolicy()
        self.limits = limits or Limits()
        self.deadline = Deadline(self.limits.run_deadline)  # the run's: it starts with the client
        self.pacer = pacer or Pacer(sleep=self.retry.sleep, max_pause=self.limits.max_retry_after)
        self._bounds = Bounds(timeout, CONNECT_TIMEOUT, self.limits.max_response_bytes)
        self.requests = 0
        self._lookups: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self._http = _http_client(check_api_url(base_url), self._token, timeout, self.concurrency, transport)

    def __repr__(self) -> str:
        return f"Client({self._http.base_url!s}, writable={self.writable})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- reads ----------------------------------------------------------------------------------------------

    def list_assistants(self, progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
        """Every assistant, from a listing consistent in itself; an ApiError when none could be read."""
        read = self.read_listing(progress)
        if read.inconsistency:
            raise ApiError(read.inconsistency)
        return list(read.items)

    def read_listing(self, progress: Callable[[int, int], None] | None = None) -> listing.Listing:
        """Every assistant the list shows, cross-checked (listing.py); still inconsistent after the re-reads,
        the listing says so and the caller decides what it may be used for."""
        try:
            return listing.read(
                self._page, page_size=PAGE_SIZE, concurrency=self.concurrency, progress=progress
            )
        except ListingError as error:  # it quotes the server, which could echo the credential
            raise ApiError(masked(str(error), [self._token])) from None

    def _page(self, number: int) -> Any:
        return self.get("/user/assistants/get", {"per_page": str(PAGE_SIZE), "page": str(number)})

    def lookup(self, path: str, params: dict[str, str] | None = None) -> Any:
        """A catalog endpoint (voices, models, ...), fetched once per run."""
        key = (path, tuple(sorted((params or {}).items())))
        if key not in self._lookups:
            self._lookups[key] = self.get(path, params)
        return self._lookups[key]

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self._send("GET", path, params=params, retry=True)

    # --- writes ---------------------------------------------------------------------------------------------

    def update(self, assistant_id: int, body: dict[str, Any]) -> Any:
        # An update carries absolute values, so repeating it is safe: it is retried like a read.
        return self._write("PUT", f"/user/assistant/{assistant_id}", body, retry=True)

    def create(self, body: dict[str, Any]) -> Any:
        # Never retried blindly: a create whose answer was lost may have happened (see apply.py).
        return self._write("POST", "/user/assistant", body, retry=False)

    def delete(self, assistant_id: int) -> Any:
        return self._write("DELETE", f"/user/assistant/{assistant_id}", None, retry=True)

    def _write(self, method: str, path: str, body: dict[str, Any] | None, *, retry: bool) -> Any:
        if not self.writable:
            raise ReadOnlyError(f"refusing {method} {path}: this client is read-only (plan mode)")
        return self._send(method, path, json=body, retry=retry)

    # --- transport ------------------------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, retry: bool, **kwargs: Any) -> Any:
        try:
            return self._attempts(method, path, retry=retry, **kwargs)
        except ApiError as error:  # a server could echo the credential back in its message
            text = masked(str(error), [self._token])  # the one secret policy, every form of the token
            if text == str(error):
                raise
            raise ApiError(
                text,
                status=error.status,
                errors=error.errors,
                retry_after=error.retry_after,
                request=error.request,
            ) from error.__cause__

    def _attempts(self, method: str, path: str, *, retry: bool, **kwargs: Any) -> Any:
        attempts = self.retry.attempts if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._request(method, path, **kwargs)
            except Failed as failure:
                if last or not failure.retryable:
                    raise ApiError(f"{method} {path}: {failure}") from failure.__cause__
                self.wait_to_retry(ApiError(f"{method} {path}: {failure}"), attempt)
                continue
            if last or not _retryable(response.status_code):
                return _result(method, path, response)
            self.wait_to_retry(_error(method, path, response), attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def wait_to_retry(self, failing: ApiError, attempt: int) -> None:
        """Sleep before try ``attempt + 1`` after ``failing``: the backoff, or as long as the server asked
        (capped, and said), within the run's deadline. The one retry policy: the client's own loop and the
        applier's create loop (which decides for itself whether a resend is safe) both wait here."""
        asked = failing.retry_after or 0.0
        wait = min(asked, self.limits.max_retry_after)
        delay = self.retry.delay(attempt, wait)
        if not wait or delay > wait:  # no Retry-After, or a shorter one than the backoff
            self._back_off(failing, delay)
            return
        if wait > self.deadline.remaining():
            raise ApiError(
                f"{failing}; gave up: the API asked to retry after {seconds(asked)} s, "
                f"and the run's deadline ({self._run_deadline}) ends sooner",
                status=failing.status,
            )
        capped = " (the most this tool waits at once)" if wait < asked else ""
        log.warning(
            "waiting %s s%s: the API asked to retry after %s s (%s on %s)",
            *(seconds(wait), capped, seconds(asked), failing.status, failing.request),
        )
        self.retry.sleep(wait)

    def _back_off(self, failing: ApiError, delay: float) -> None:
        if delay > self.deadline.remaining():
            raise ApiError(
                f"{failing}; gave up: the run's deadline ({self._run_deadline}) ends before the next try",
                status=failing.status,
                errors=failing.errors,
            )
        self.retry.sleep(delay)

    def _request(self, method: str, path: str, **kwargs: Any) -> Answer:
        with self.pacer.slot():
            budget = min(self.limits.request_deadline, self.deadline.remaining())
            if budget <= 0:
                raise Failed(f"not sent: the run's deadline ({self._run_deadline}) has passed")
            self.requests += 1
            start = time.perf_counter()
            try:
                response = exchange(self._http, method, path, within=budget, bounds=self._bounds, **kwargs)
            except TooSlow as slow:
                raise self._too_slow(budget) from slow.__cause__
            finally:
                self.pacer.seen = True  # an answer or a failure: either way stop probing one at a time
            self.pacer.observe(response.status_code, {k.lower(): v for k, v in response.headers.items()})
        log.debug(
            "%s %s -> %s (%.0f ms)", method, path, response.status_code, (time.perf_counter() - start) * 1e3
        )
        return response

    def _too_slow(self, budget: float) -> Failed:
        if budget < self.limits.request_deadline:  # the run's deadline cut this request short
            return Failed(f"no complete answer before the run's deadline ({self._run_deadline})")
        return Failed(f"no complete answer within {seconds(budget)} s", retryable=True)

    @property
    def _run_deadline(self) -> str:
        return f"{seconds(self.limits.run_deadline)} s"


def _http_client(
    base_url: str, token: Secret, timeout: float, concurrency: int, transport: httpx.BaseTransport | None
) -> httpx.Client:
    """The one httpx client of a run: its headers, timeouts and pool; redirects are never followed (a
    redirect could carry the token to another host)."""
    return httpx.Client(
        base_url=base_url,
        headers={
            "Authorization": f"Bearer {token.reveal()}",  # httpx masks it in its own reprs
            "Accept": "application/json",  # without it the backend answers errors with HTML redirects
            "Accept-Encoding": ASK_FOR,  # what wire.py inflates within its cap
            "User-Agent": f"reconciler/{__version__}",
        },
        timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
        transport=transport,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency),
    )


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _error(method: str, path: str, response: Answer) -> ApiError:
    """The error a failed answer (a 429, a 5xx) stands for: what ``_result`` raises for it."""
    try:
        _result(method, path, response)
    except ApiError as error:
        return error
    raise AssertionError(f"{response.status_code} is not a failure")  # pragma: no cover


def _retry_after(response: Answer) -> float | None:
    return retry_after(response.headers.get("Retry-After", ""))


def _result(method: str, path: str, response: Answer) -> Any:
    try:
        data = response.json()
    except ValueError:
        data = None
    except RecursionError:  # json gives up on deep nesting this way; no API answer is nested that deep
        raise _refusal(method, path, response, "with JSON nested too deeply to read") from None
    if response.is_success and data is not None:
        return data
    if response.is_success or data is None:
        kind = response.headers.get("Content-Type", "no content type")
        raise _refusal(method, path, response, f"with a non-JSON answer ({kind})")
    message = data.get("message") if isinstance(data, dict) else None
    errors = data.get("errors") if isinstance(data, dict) and isinstance(data.get("errors"), dict) else None
    hint = " (check GLORIA_API_TOKEN)" if response.status_code == 401 else ""
    raise _refusal(method, path, response, f"{message or response.reason_phrase}{hint}", errors)


def _refusal(
    method: str, path: str, response: Answer, what: str, errors: dict[str, list[str]] | None = None
) -> ApiError:
    """The ApiError for an answer: its message, and what every retry loop needs (status, Retry-After)."""
    return ApiError(
        f"{method} {path}: {response.status_code} {what}",
        status=response.status_code,
        errors=errors,
        retry_after=_retry_after(response),
        request=f"{method} {path}",
    )

"""The one HTTP choke point: auth, pagination, retries, lookups, and the rule that a plan cannot write.

Every request of the reconciler goes through ``Client``. httpx's exceptions and responses stop here and become
``ApiError`` (a ``ReconcilerError``). The token goes into one header and nowhere else: not into errors, logs or
``repr``; a token no header can carry is refused before the first request. Every request, wait and retry is bounded
(``limits.py``): one request by its own deadline and the answer's decoded size (``wire.py``), a wait a server asks
for by ``MAX_RETRY_AFTER`` (and said on stderr, through the ``reconciler.http`` logger), the run by its deadline.
A server that does not answer in time (or refuses the connection) is tried ``RetryPolicy.unanswered`` times, not
``attempts``: with the defaults, one that takes connections and never answers fails in about a minute (3 x 20 s),
not five. A failure whose likely cause is the address gets a line naming the URL and the fix (``diagnosis.py``).
On a terminal each retry is said on stderr (``on_retry``).
Tests plug in at the transport (``httpx.MockTransport``) or run the emulator on loopback.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies

import httpx

from reconciler import __version__, diagnosis, listing
from reconciler.errors import ApiError, ListingError, ReadOnlyError, ReconcilerError
from reconciler.limits import Deadline, Limits, seconds
from reconciler.pacing import MAX_IN_FLIGHT, Pacer, body_retry_after, retry_after
from reconciler.secret import Secret, masked
from reconciler.wire import ASK_FOR, SILENT, SLOW, UNANSWERED, Answer, Bounds, Failed, TooSlow, exchange

log = logging.getLogger("reconciler.http")

DEFAULT_API_URL = "https://app.gloriagent.ai/api"
PAGE_SIZE = 100  # the API's maximum per_page
CONNECT_TIMEOUT = 10.0
#: Seconds of silence on the socket before a try is given up (httpx's read timeout). An honest page of 100
#: assistants starts arriving in well under a second; 20 s is room for a slow day, and three of them a minute.
READ_TIMEOUT = 20.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 10
    #: the tries a request gets when the server does not answer in time or refuses the connection: each may cost
    #: a whole timeout, and a server that did not answer three times in a row is not going to
    unanswered: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff; a server's Retry-After wins when it is longer."""
        backoff = random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))
        return max(backoff, retry_after or 0.0)


def check_api_url(url: str) -> str:
    """Refuse a URL without a scheme (suggesting one), one that is not http(s), and plain http except to
    loopback: the token would cross the network in clear text."""
    if "://" not in url and url.strip():
        host = urlsplit(f"//{url}").hostname or ""
        scheme = "http" if _is_loopback(host) else "https"
        raise ReconcilerError(
            f"API URL {diagnosis.shown(f'//{url}').removeprefix('//')} has no scheme: is it "
            f"{diagnosis.shown(f'{scheme}://{url}')}? Check {diagnosis.CHECK}"
        )
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError:
        raise ReconcilerError(f"API URL {url!r} has a port that is not a number") from None
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
    if _BEARER.match(value):  # pasted from an Authorization header
        raise ReconcilerError(
            'GLORIA_API_TOKEN starts with "Bearer ": set it to the API key alone (the tool sends "Bearer " itself)'
        )
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
_BEARER = re.compile(r"bearer\s", re.IGNORECASE)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Exchange:
    """One request answered: what ``doctor`` reports of the headers and the latency."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    seconds: float


class Client:
    """Reads (and, when ``writable``, writes) one account's assistants."""

    def __init__(
        self,
        base_url: str,
        token: Secret | str,  # a str is wrapped at once: the client holds the token only as a Secret
        *,
        writable: bool = False,
        concurrency: int = 8,
        max_in_flight: int | None = None,  # how far the pacer may grow the requests in flight
        timeout: float = READ_TIMEOUT,
        retry: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        limits: Limits | None = None,
        transport: httpx.BaseTransport | None = None,
        on_retry: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token:
            raise ReconcilerError("GLORIA_API_TOKEN is not set: export the API key of the account first")
        self._token = token if isinstance(token, Secret) else Secret(token)
        check_token(self._token)
        self.writable = writable
        self.concurrency = max(1, concurrency)
        self.retry = retry or RetryPolicy()
        self.limits = limits or Limits()
        self.clock = clock
        self.on_retry = on_retry  # told "retrying GET https://…/user/assistants/get: 503 (attempt 3 of 10)"
        self.deadline = Deadline(self.limits.run_deadline, clock)  # the run's: it starts with the client
        self.pacer = pacer or Pacer(
            sleep=self.retry.sleep,
            max_pause=self.limits.max_retry_after,
            in_flight=self.concurrency,
            max_in_flight=max(self.concurrency, MAX_IN_FLIGHT if max_in_flight is None else max_in_flight),
        )
        #: the update verb: the API page hides it, siblings document PUT; a 405 naming another in its Allow
        #: header switches to that one for the rest of the run (``update``)
        self.update_method = "PUT"
        self._bounds = Bounds(timeout, CONNECT_TIMEOUT, self.limits.max_response_bytes)
        self.requests = 0
        # when a list: every answer's method, path, status, headers and seconds are added to it (``doctor``)
        self.exchanges: list[Exchange] | None = None
        self._lookups: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self._base = check_api_url(base_url)
        connections = max(self.concurrency, self.pacer.max_in_flight)
        self._http = _http_client(self._base, self._token, timeout, connections, transport)

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

    def read_listing(
        self, progress: Callable[[int, int], None] | None = None
    ) -> listing.Listing[dict[str, Any]]:
        """Every assistant the list shows, as the API returned it (``read_listing_as``)."""
        return self.read_listing_as(listing.raw, progress)

    def read_listing_as(
        self, shape: listing.Shape[listing.Item], progress: Callable[[int, int], None] | None = None
    ) -> listing.Listing[listing.Item]:
        """Every assistant the list shows, cross-checked (listing.py), each made by ``shape`` as its page
        arrives; still inconsistent after the re-reads, the listing says so and the caller decides what it may
        be used for."""
        try:
            return listing.read(
                self._page, page_size=PAGE_SIZE, concurrency=self.concurrency, shape=shape, progress=progress
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
        path = f"/user/assistant/{assistant_id}"
        method = self.update_method
        try:
            return self._write(method, path, body, retry=True)
        except ApiError as error:
            other = _other_update_method(method, error)
            if other is None:
                raise
            allowed = ", ".join(error.allow)
        if self.update_method == method:  # the first worker to learn it says so; the others just follow
            self.update_method = other
            log.debug(
                "%s %s answered 405 (Allow: %s): updates use %s for the rest of the run",
                *(method, path, allowed, other),
            )
        return self._write(self.update_method, path, body, retry=True)

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
                reason=error.reason,
                allow=error.allow,
            ) from error.__cause__

    def _attempts(self, method: str, path: str, *, retry: bool, **kwargs: Any) -> Any:
        """Try up to ``attempts`` times, of which ``unanswered`` may end without an answer in time."""
        attempts = self.retry.attempts if retry else 1
        attempt = unanswered = 0
        while True:
            try:
                response = self._request(method, path, **kwargs)
            except Failed as failure:
                if failure.kind in UNANSWERED:  # fewer tries left: say so in the retry line, and stop there
                    unanswered += 1
                    attempts = min(attempts, attempt + 1 + self.retry.unanswered - unanswered)
                error = self._failed(method, path, failure, attempt + 1)
                if attempt + 1 >= attempts or not failure.retryable:
                    raise error from failure.__cause__
                self.wait_to_retry(error, attempt, of=attempts)
            else:
                if attempt + 1 >= attempts or not _retryable(response.status_code):
                    return self._result(method, path, response)
                self.wait_to_retry(self._error(method, path, response), attempt, of=attempts)
            attempt += 1

    def _failed(self, method: str, path: str, failure: Failed, tries: int) -> ApiError:
        line = diagnosis.unreached(method, self._base, path, failure, tries)
        return ApiError(
            line or f"{method} {path}: {failure}", request=f"{method} {path}", reason=str(failure)
        )

    def _result(self, method: str, path: str, response: Answer) -> Any:
        """The answer's data, or the ApiError it stands for: the diagnosis's line when the answer did not come
        from the API, else the API's own message."""
        kind = response.headers.get("Content-Type", "")
        line = diagnosis.not_the_api(method, self._base, path, response.status_code, kind)
        if line is not None:
            raise ApiError(
                line,
                status=response.status_code,
                request=f"{method} {path}",
                reason=str(response.status_code),
            )
        return _result(method, path, response)

    def _error(self, method: str, path: str, response: Answer) -> ApiError:
        """The error a failed answer (a 429, a 5xx) stands for: what ``_result`` raises for it."""
        try:
            self._result(method, path, response)
        except ApiError as error:
            return error
        raise AssertionError(f"{response.status_code} is not a failure")  # pragma: no cover

    def wait_to_retry(self, failing: ApiError, attempt: int, *, of: int | None = None) -> None:
        """Sleep before try ``attempt + 1`` (of ``of``, the retry policy's attempts unless told) after
        ``failing``: the backoff, or as long as the server asked (capped, and said), within the run's deadline,
        and say the retry on a terminal (``on_retry``). The one retry policy: the client's own loop and the
        applier's create loop (which decides for itself whether a resend is safe) both wait here."""
        retrying = f"(attempt {attempt + 2} of {of or self.retry.attempts})"
        asked = failing.retry_after or 0.0
        wait = min(asked, self.limits.max_retry_after)
        delay = self.retry.delay(attempt, wait)
        if not wait or delay > wait:  # no Retry-After, or a shorter one than the backoff
            self._back_off(failing, delay, retrying)
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
        self._say_retry(failing, retrying)
        self.retry.sleep(wait)

    def _back_off(self, failing: ApiError, delay: float, retrying: str) -> None:
        if delay > self.deadline.remaining():
            raise ApiError(
                f"{failing}; gave up: the run's deadline ({self._run_deadline}) ends before the next try",
                status=failing.status,
                errors=failing.errors,
            )
        self._say_retry(failing, retrying)
        self.retry.sleep(delay)

    def _say_retry(self, failing: ApiError, attempt: str) -> None:
        """``retrying GET https://host/api/user/assistants/get: 503 (attempt 3 of 10)``: the URL without its
        query string (a page's number is not what the reader needs), the status or the failure in a few words."""
        if self.on_retry is None or not failing.request:
            return
        method, _, path = failing.request.partition(" ")
        why = failing.reason or (str(failing.status) if failing.status else "failed")
        self.on_retry(f"retrying {method} {diagnosis.shown(self._base + path)}: {why} {attempt}")

    def _request(self, method: str, path: str, **kwargs: Any) -> Answer:
        with self.pacer.slot():
            budget = min(self.limits.request_deadline, self.deadline.remaining())
            if budget <= 0:
                raise Failed(f"not sent: the run's deadline ({self._run_deadline}) has passed")
            self.requests += 1
            start = time.perf_counter()
            try:
                response = exchange(
                    self._http, method, path, within=budget, bounds=self._bounds, clock=self.clock, **kwargs
                )
            except TooSlow as slow:
                raise self._too_slow(budget, answered=slow.answered) from slow.__cause__
            finally:
                self.pacer.seen = True  # an answer or a failure: either way stop probing one at a time
            waited = _body_retry_after(response) if response.status_code == 429 else None
            took = time.perf_counter() - start
            headers = {k.lower(): v for k, v in response.headers.items()}
            self.pacer.observe(response.status_code, headers, waited=waited, elapsed=took)
        log.debug("%s %s -> %s (%.0f ms)", method, path, response.status_code, took * 1e3)
        if self.exchanges is not None:
            self.exchanges.append(Exchange(method, path, response.status_code, dict(response.headers), took))
        return response

    def _too_slow(self, budget: float, *, answered: bool) -> Failed:
        if budget < self.limits.request_deadline:  # the run's deadline cut this request short
            return Failed(f"no complete answer before the run's deadline ({self._run_deadline})")
        if not answered:  # not even a status line: as silent as a read timeout
            return Failed(f"no answer within {seconds(budget)} s", retryable=True, kind=SILENT)
        return Failed(f"no complete answer within {seconds(budget)} s", retryable=True, kind=SLOW)

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
        verify=may_speak_tls(base_url, getproxies()),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency),
    )


def may_speak_tls(base_url: str, proxies: Mapping[str, str]) -> bool:
    """Whether a run's client may open a TLS connection, and so needs the certificate authorities: 30 ms of CPU
    a run to load them (issue 19), for a connection that an ``http://`` API never opens. Every request is a
    path under the base URL and no redirect is followed, so only an ``https://`` API or a proxy from the
    environment (``proxies``, as ``urllib.request.getproxies`` reads them, and httpx with them) leads to one."""
    return urlsplit(base_url).scheme != "http" or bool(proxies)


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after(response: Answer) -> float | None:
    """The wait an answer asks for: its ``Retry-After``, else (a 429 in the sibling style) its body's
    ``retry_after``."""
    asked = retry_after(response.headers.get("Retry-After", ""))
    return asked if asked is not None or response.status_code != 429 else _body_retry_after(response)


def _body_retry_after(response: Answer) -> float | None:
    try:
        return body_retry_after(response.json())
    except (ValueError, RecursionError):
        return None


def _other_update_method(tried: str, error: ApiError) -> str | None:
    """The update verb a 405 points to: PATCH or PUT, whichever its Allow header names and was not tried."""
    if error.status != 405:
        return None
    return next((m for m in ("PATCH", "PUT") if m != tried and m in error.allow), None)


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
    # Laravel's {"message": ...}; a sibling's 429 says {"error": "Rate limit exceeded", "retry_after": 60}
    fields = data if isinstance(data, dict) else {}
    message = next((fields[k] for k in ("message", "error") if isinstance(fields.get(k), str)), None)
    errors = fields["errors"] if isinstance(fields.get("errors"), dict) else None
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
        reason=str(response.status_code),
        allow=_allowed(response),
    )


def _allowed(response: Answer) -> tuple[str, ...]:
    """The methods a 405's ``Allow`` header names, upper-case."""
    if response.status_code != 405:
        return ()
    return tuple(m.strip().upper() for m in response.headers.get("Allow", "").split(",") if m.strip())

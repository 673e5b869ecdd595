"""The one HTTP choke point: auth, pagination, retries, lookups, and the rule that a plan cannot write.

Every request of the reconciler goes through ``Client``. httpx's exceptions and responses stop here and become
``ApiError`` (a ``ReconcilerError``). The token goes into one header and nowhere else: not into errors, logs or
``repr``. Tests plug in at the transport (``httpx.MockTransport``) or run the emulator on loopback.
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
from reconciler.errors import ReconcilerError
from reconciler.pacing import Pacer
from reconciler.secret import SENSITIVE, Secret

log = logging.getLogger("reconciler.http")

DEFAULT_API_URL = "https://app.gloriagent.ai/api"
PAGE_SIZE = 100  # the API's maximum per_page


class ApiError(ReconcilerError):
    """The API refused or failed a request, or could not be reached."""

    def __init__(
        self, message: str, *, status: int | None = None, errors: dict[str, list[str]] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.errors = errors or {}


class ReadOnlyError(ReconcilerError):
    """A write was attempted through a read-only client (plan mode)."""


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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise ReconcilerError("GLORIA_API_TOKEN is not set: export the API key of the account first")
        self._token = token if isinstance(token, Secret) else Secret(token)
        self.writable = writable
        self.concurrency = max(1, concurrency)
        self.retry = retry or RetryPolicy()
        self.pacer = pacer or Pacer(sleep=self.retry.sleep)
        self.requests = 0
        self._lookups: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self._http = httpx.Client(
            base_url=check_api_url(base_url),
            headers={
                "Authorization": f"Bearer {self._token.reveal()}",  # httpx masks it in its own reprs
                "Accept": "application/json",  # without it the backend answers errors with HTML redirects
                "User-Agent": f"reconciler/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=self.concurrency + 2, max_keepalive_connections=self.concurrency
            ),
        )

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
        except listing.ListingError as error:  # it quotes the server, which could echo the credential
            raise ApiError(str(error).replace(self._token.reveal(), SENSITIVE)) from None

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
        attempts = self.retry.attempts if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if last:
                    raise ApiError(f"{method} {path}: {_describe(exc)}") from exc
                self.retry.sleep(self.retry.delay(attempt, None))
                continue
            if _retryable(response.status_code) and not last:
                self.retry.sleep(self.retry.delay(attempt, _retry_after(response)))
                continue
            try:
                return _result(method, path, response)
            except ApiError as error:  # a server could echo the credential back in its message
                raise ApiError(
                    str(error).replace(self._token.reveal(), SENSITIVE),
                    status=error.status,
                    errors=error.errors,
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self.pacer.slot():
            self.requests += 1
            start = time.perf_counter()
            try:
                response = self._http.request(method, path, **kwargs)
            finally:
                self.pacer.seen = True  # an answer or a failure: either way stop probing one at a time
            self.pacer.observe(response.status_code, {k.lower(): v for k, v in response.headers.items()})
        log.debug(
            "%s %s -> %s (%.0f ms)", method, path, response.status_code, (time.perf_counter() - start) * 1e3
        )
        return response


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.replace(".", "", 1).isdigit() else None


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


def _result(method: str, path: str, response: httpx.Response) -> Any:
    try:
        data = response.json()
    except ValueError:
        data = None
    except RecursionError:  # json gives up on deep nesting this way; no API answer is nested that deep
        raise ApiError(
            f"{method} {path}: {response.status_code} with JSON nested too deeply to read",
            status=response.status_code,
        ) from None
    if response.is_success and data is not None:
        return data
    if response.is_success or data is None:
        kind = response.headers.get("Content-Type", "no content type")
        raise ApiError(
            f"{method} {path}: {response.status_code} with a non-JSON answer ({kind})",
            status=response.status_code,
        )
    message = data.get("message") if isinstance(data, dict) else None
    errors = data.get("errors") if isinstance(data, dict) and isinstance(data.get("errors"), dict) else None
    hint = " (check GLORIA_API_TOKEN)" if response.status_code == 401 else ""
    raise ApiError(
        f"{method} {path}: {response.status_code} {message or response.reason_phrase}{hint}",
        status=response.status_code,
        errors=errors,
    )

"""The emulator's HTTP surface: routes under ``/api``, auth, Laravel-shaped errors, faults and rate limits.

Requests whose framing is unsound (see ``framing``) are refused before any of that, as the web server in front of
Laravel would refuse them, but with the same JSON ``{"message": ...}`` bodies.
"""

from __future__ import annotations

import hmac
import json
import re
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reconciler.emulator.assistants import Assistants
from reconciler.emulator.faults import Fault, Faults, RateLimiter, Verdict
from reconciler.emulator.framing import BadFraming, body_length, read_chunked, read_exactly
from reconciler.emulator.growth import DOCUMENTED, Growth
from reconciler.emulator.shape import ReadShape
from reconciler.emulator.store import Store
from reconciler.emulator.validation import Invalid


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    wants_json: bool


Handler = Callable[["Api", Request, str], Response]


def _not_found() -> Response:
    return Response(404, {"message": "Assistant not found"})


class Api:
    """Request → Response for one account; knows nothing about sockets."""

    def __init__(
        self,
        store: Store,
        token: str,
        read_shape: ReadShape | None,
        ignored: frozenset[str] = frozenset(),
        growth: Growth = DOCUMENTED,
        update_methods: tuple[str, ...] = ("PUT", "PATCH"),
    ) -> None:
        self.growth = growth  # --api-version: what the API knows beyond its documented page (growth.py)
        self.store = store
        self.update_methods = update_methods  # the verbs an update takes (Laravel answers another with 405)
        self._expected = _octets(f"Bearer {token}")
        self.read_shape = read_shape  # None: symmetric reads (exactly what is stored)
        self.ignored = ignored  # a fault: fields whose writes are accepted with 200 and silently dropped

    def authorised(self, header: str | None) -> bool:
        # in constant time: how long a refusal takes says nothing about how much of a guess was right
        return header is not None and hmac.compare_digest(_octets(header), self._expected)

    def route(self, request: Request) -> Response:
        for methods, pattern, handler in ROUTES:
            match = re.fullmatch(pattern, request.path)
            if match:
                if "PUT" in methods:  # the update route: only the verbs this platform takes
                    methods = (*self.update_methods, "DELETE")
                if request.method not in methods:
                    return Response(
                        405,
                        {"message": f"The {request.method} method is not supported for this route."},
                        {"Allow": ", ".join(methods)},
                    )
                return handler(self, request, match.group(1) if match.groups() else "")
        return Response(404, {"message": f"The route {request.path.lstrip('/')} could not be found."})

    # --- assistants -----------------------------------------------------------------------------------------

    def list_assistants(self, request: Request, _: str) -> Response:
        per_page = min(100, max(1, _int(request.query.get("per_page"), 10)))
        page = max(1, _int(request.query.get("page"), 1))
        with self.store.transaction() as store:
            total = store.count()
            rows = store.page((page - 1) * per_page, per_page)
        data = [self._render(row) for row in rows]
        last_page = max(1, -(-total // per_page))
        first = (page - 1) * per_page + 1
        return Response(
            200,
            {
                "current_page": page,
                "data": data,
                "first_page_url": "/api/user/assistants/get?page=1",
                "from": first if data else None,
                "last_page": last_page,
                "next_page_url": f"/api/user/assistants/get?page={page + 1}" if page < last_page else None,
                "path": "/api/user/assistants/get",
                "per_page": per_page,
                "prev_page_url": f"/api/user/assistants/get?page={page - 1}" if page > 1 else None,
                "to": first + len(data) - 1 if data else None,
                "total": total,
            },
        )

    def create(self, request: Request, _: str) -> Response:
        with self.store.transaction() as store:
            rules = Assistants(store.catalog(), store, self.growth)
            created = rules.create(request.body, store.now())
            created["id"] = store.insert(created)
        return Response(201, {"message": "Assistant created successfully", "data": _summary(created)})

    def update(self, request: Request, raw_id: str) -> Response:
        with self.store.transaction() as store:
            current = store.get(int(raw_id)) if raw_id.isdigit() else None
            if current is None:
                return _not_found()
            rules = Assistants(store.catalog(), store, self.growth)
            updated = rules.update(current, self._without_ignored(request.body), store.now())
            store.put(current["id"], updated)
        return Response(200, {"message": "Assistant updated successfully", "data": _summary(updated)})

    def _without_ignored(self, body: Any) -> Any:
        if not self.ignored or not isinstance(body, dict):
            return body
        return {k: v for k, v in body.items() if k not in self.ignored}

    def delete(self, _: Request, raw_id: str) -> Response:
        with self.store.transaction() as store:
            if not (raw_id.isdigit() and store.delete(int(raw_id))):
                return _not_found()
        return Response(200, {"message": "Assistant deleted successfully"})

    def _render(self, stored: dict[str, Any]) -> dict[str, Any]:
        rendered = stored if self.read_shape is None else self.read_shape.render(stored)
        return self.growth.on_read(stored, rendered, read_shape=self.read_shape is not None)

    # --- the account ----------------------------------------------------------------------------------------

    def me(self, _: Request) -> Response:
        """``GET /user/me``: the account the token belongs to (docs/api.md#account-and-growth)."""
        return Response(200, ACCOUNT)

    # --- lookups --------------------------------------------------------------------------------------------

    def voices(self, request: Request, _: str) -> Response:
        mode, language = request.query.get("mode"), _int(request.query.get("language_id"), None)
        rows = [
            {k: v[k] for k in ("id", "name", "language_id", "gender")}
            for v in self.store.catalog()["voices"]
            if (not mode or mode in v["modes"]) and (language is None or v["language_id"] in (None, language))
        ]
        return Response(200, rows)

    def languages(self, _: Request, __: str) -> Response:
        return Response(200, self.store.catalog()["languages"])

    def models(self, request: Request, _: str) -> Response:
        kind = request.query.get("type")
        models = self.store.catalog()["models"]
        if not kind:
            raise Invalid({"type": ["The type field is required."]})
        if kind not in models:
            raise Invalid({"type": ["The selected type is invalid."]})
        return Response(200, models[kind])

    def phone_numbers(self, request: Request, _: str) -> Response:
        kind = request.query.get("type")
        with self.store.transaction() as store:
            used = store.inbound_numbers()
            numbers = store.catalog()["phone_numbers"]
        rows = [
            {
                **{k: n[k] for k in ("id", "phone_number", "country_code", "type_label")},
                "is_available": not ("inbound" in n["directions"] and n["id"] in used),
            }
            for n in numbers
            if not kind or kind in n["directions"]
        ]
        return Response(200, rows)

    def providers(self, request: Request, kind: str) -> Response:
        language = _int(request.query.get("language_id"), None)
        rows = [
            {k: p[k] for k in ("id", "name", "code")}
            for p in self.store.catalog()[f"{kind}_providers"]
            if language is None or p["language_ids"] is None or language in p["language_ids"]
        ]
        return Response(200, rows)

    def tools(self, _: Request, __: str) -> Response:
        return Response(200, self.store.catalog()["tools"])

    def knowledgebases(self, _: Request, __: str) -> Response:
        return Response(200, {"data": self.store.catalog()["knowledgebases"]})


def _octets(text: str) -> bytes:
    """Text as bytes for a comparison: two texts are equal exactly when these are (any text, even a lone
    surrogate from an undecodable command line, has them)."""
    return text.encode("utf-8", "surrogatepass")


def _int(text: str | None, default: int | None) -> Any:
    return int(text) if text is not None and re.fullmatch(r"-?\d+", text) else default


def _summary(assistant: dict[str, Any]) -> dict[str, Any]:
    return {k: assistant.get(k) for k in ("id", "name", "status", "type", "mode")}


#: Who the emulator's token belongs to, as ``GET /user/me`` answers (it never returns the token).
ACCOUNT = {"name": "Demo Account", "email": "demo@example.com", "total_balance": 125.5}

ROUTES: list[tuple[tuple[str, ...], str, Handler]] = [
    (("GET", "HEAD"), r"/api/user/assistants/get", Api.list_assistants),
    (("POST",), r"/api/user/assistant", Api.create),
    (
        ("PUT", "PATCH", "DELETE"),
        r"/api/user/assistant/([^/]+)",
        lambda api, r, i: api.delete(r, i) if r.method == "DELETE" else api.update(r, i),
    ),
    (("GET",), r"/api/user/assistants/voices", Api.voices),
    (("GET",), r"/api/user/assistants/languages", Api.languages),
    (("GET",), r"/api/user/assistants/models", Api.models),
    (("GET",), r"/api/user/assistants/phone-numbers", Api.phone_numbers),
    (("GET",), r"/api/user/assistants/(synthesizer|transcriber)-providers", Api.providers),
    (("GET",), r"/api/user/tools", Api.tools),
    (("GET",), r"/api/user/knowledgebases", Api.knowledgebases),
    (("GET",), r"/api/user/me", lambda api, r, _: api.me(r)),
]


@dataclass
class Behaviour:
    """Everything about the server that is not the API itself."""

    latency_ms: int = 0
    faults: Faults = field(default_factory=Faults)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    access_log: bool = False


#: After refusing a request, how long to keep reading (and dropping) what its client still sends.
LINGER_SECONDS = 1.0


def linger(connection: socket.socket) -> None:
    """End the answer, then drop what the client still sends for a moment: closing a socket with unread bytes
    resets the connection, and a reset can destroy the answer before the client has read it."""
    connection.shutdown(socket.SHUT_WR)
    connection.settimeout(LINGER_SECONDS)
    deadline = time.monotonic() + LINGER_SECONDS
    while time.monotonic() < deadline and connection.recv(65536):
        pass


def busy_response(limit: int) -> bytes:
    """The whole answer to a connection over the server's cap, as nginx's limit_conn answers: 503, then close."""
    payload = json.dumps(
        {"message": f"The emulator is serving its limit of {limit} connections at once; try again shortly."}
    ).encode()
    head = [
        "HTTP/1.1 503 Service Unavailable",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Retry-After: 1",
        "Connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gloriagent-emulator"
    sys_version = ""
    api: Api
    behaviour: Behaviour
    # ``timeout`` (StreamRequestHandler's; set per server): seconds a connection may stay silent, idle or half-way
    # through a request, before it is closed.

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle's algorithm and the client's
        # delayed ACK add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def handle_expect_100(self) -> bool:
        """Refuse a body that would be refused anyway before inviting the client to send it, as nginx does."""
        try:
            body_length(self.headers, self.request_version)
        except BadFraming as refused:
            self._refuse(refused)
            return False
        return super().handle_expect_100()

    def _handle(self) -> None:
        try:
            request = self._read_request()
        except BadFraming as refused:
            self._refuse(refused)
            return
        if self.behaviour.latency_ms:
            time.sleep(self.behaviour.latency_ms / 1000)
        verdict = self.behaviour.limiter.hit(self.headers.get("Authorization") or self.client_address[0])
        if verdict is not None and not verdict.allowed:
            self._send(Response(429, *verdict.refusal()), verdict)
            return
        if not self.api.authorised(self.headers.get("Authorization")):
            self._send(self._unauthenticated(request), verdict)
            return
        fault = self.behaviour.faults.draw()
        if fault is Fault.RESET_BEFORE:
            self._reset()
            return
        if fault is Fault.ERROR:
            message = "Assistant update failed" if request.method in ("PUT", "PATCH") else "Server Error"
            self._send(Response(500, {"message": message}), verdict)
            return
        response = self._dispatch(request)
        if fault is Fault.RESET_AFTER:
            self._reset()
            return
        self._send(response, verdict)

    def _dispatch(self, request: Request) -> Response:
        try:
            response = self.api.route(request)
        except Invalid as invalid:
            if not request.wants_json:  # Laravel redirects back with the errors in the session
                return Response(302, "<html><body>Redirecting...</body></html>", {"Location": "/"})
            response = Response(422, invalid.body())
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            self.api.store.record(request.method, request.path, request.body, response.status)
        return response

    def _unauthenticated(self, request: Request) -> Response:
        if request.wants_json:
            return Response(401, {"message": "Unauthenticated."})
        return Response(302, "<html><body>Redirecting to /login</body></html>", {"Location": "/login"})

    def _read_request(self) -> Request:
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            body = {}  # Laravel reads an unparsable JSON body as no input at all
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        wants_json = "json" in (self.headers.get("Accept") or "")
        return Request(self.command, parts.path.rstrip("/") or "/", query, body, wants_json)

    def _read_body(self) -> bytes:
        length = body_length(self.headers, self.request_version)
        try:
            return read_chunked(self.rfile) if length is None else read_exactly(self.rfile, length)
        except TimeoutError:
            raise BadFraming(
                408, f"The request body did not arrive within {self.timeout:g} seconds."
            ) from None

    def _refuse(self, refused: BadFraming) -> None:
        """Answer a request whose body cannot be read, then close: what follows it is no longer a request."""
        self.close_connection = True
        try:
            self._send(Response(refused.status, {"message": refused.message}, {"Connection": "close"}), None)
            linger(self.connection)
        except OSError:
            pass  # the client has gone: there is no one left to tell

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line or header) in the JSON the others use."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # no version could be read: still answer with a status line
            self.request_version = "HTTP/1.0"
        text = message or self.responses.get(code, ("Error",))[0]
        self._send(Response(code, {"message": text}, {"Connection": "close"}), None)

    def _send(self, response: Response, verdict: Verdict | None) -> None:
        is_json = not isinstance(response.body, str)
        payload = (json.dumps(response.body) if is_json else response.body).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json" if is_json else "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        if verdict is not None:
            self.send_header("X-RateLimit-Limit", str(verdict.limit))
            self.send_header("X-RateLimit-Remaining", str(verdict.remaining))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no response."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.behaviour.access_log:
            status = code.value if isinstance(code, HTTPStatus) else code
            sys.stderr.write(f"{self.address_string()} {self._requested()} -> {status}\n")

    def _requested(self) -> str:
        """Method and path; the raw request line when it could not be parsed into them."""
        if self.command:
            return f"{self.command} {self.path}"
        return repr(getattr(self, "requestline", ""))

    def log_message(self, format: str, *args: Any) -> None:
        """Everything but the access lines (such as a timed-out connection), under the access log too."""
        if self.behaviour.access_log:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

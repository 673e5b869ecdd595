"""A small scripted HTTP server on 127.0.0.1 that misbehaves on purpose, for the hostile-API tests.

A test gives it a ``Handler``: a function from the ``Request`` it received to the ``Reply`` to send. The reply may
be honest JSON, or a misbehaviour a real server (or a proxy, or an attacker) could produce: raw bytes, an answer that
never comes, a body trickled a byte at a time. Every request is recorded, so a test can assert exactly what the tool
sent (no duplicate create, no write outside the plan), and every connection counted (``connections``: a TLS
handshake spoken to it is a connection and no request). Traffic never leaves the loopback address, and every stall
ends when the server closes, so no test can hang past its own bound.

``honest_account`` builds the handler of a well-behaved account (paginated list, create, update, delete, and the
emulator's seed catalog, so that a plan's references check out) that a test then wraps to change one behaviour.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from support import PIPELINE

from reconciler.emulator.catalog import catalog as seed_catalog

TOKEN = "hostile-token-never-print-4c1e"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the /api prefix, e.g. /user/assistants/get
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    target: str = ""  # the path as it came, /api included (or not), without the query

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # bytes as they are; anything else is sent as JSON
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the answer starts
    stall: bool = False  # never answer (until the server closes)
    trickle: float | None = None  # send the body one byte every `trickle` seconds
    raw: bytes | None = None  # send these bytes instead of an HTTP answer, then close

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Reply]


class HostileServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.connections = 0
        self._http = _CountingServer(("127.0.0.1", 0), _make_handler_class(self))
        self._http.counted = self.count_connection
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/api"

    def count_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in {"POST", "PUT", "PATCH", "DELETE"}]

    def creates(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"]

    def close(self) -> None:
        self.stopping.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)


class _CountingServer(ThreadingHTTPServer):
    counted: Callable[[], None] = staticmethod(lambda: None)
    # a listen backlog for the 32 connections the pacer may open at once, as the emulator's (and any real
    # server's): with socketserver's 5, connects past it wait a second for their SYN to be sent again, which
    # no real platform does and which reorders what the tests send
    request_queue_size = 128

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.counted()
        return True


def _make_handler_class(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up on the answer: what a bounded client does

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            url = urlsplit(self.path)
            path = url.path.removeprefix("/api")
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Request(self.command, path, dict(parse_qsl(url.query)), headers, body, url.path)
            server.record(request)
            self._send(server.handler(request))

        def _send(self, reply: Reply) -> None:
            if reply.delay:
                server.stopping.wait(reply.delay)
            if reply.stall:
                server.stopping.wait()
                return
            if reply.raw is not None:
                self.wfile.write(reply.raw)
                self.close_connection = True
                return
            payload = reply.payload()
            self.send_response(reply.status)
            headers = {
                "Content-Type": "application/json",
                "Content-Length": str(len(payload)),
            } | reply.headers
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            if reply.trickle is None:
                self.wfile.write(payload)
                return
            for byte in payload:
                if server.stopping.wait(reply.trickle):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return _Handler


@contextmanager
def hostile_api(
    monkeypatch: pytest.MonkeyPatch, handler: Handler, *, token: str = TOKEN
) -> Iterator[HostileServer]:
    """Run ``handler`` on loopback and point the CLI at it for the duration of the block."""
    server = HostileServer(handler)
    monkeypatch.setenv("GLORIA_API_URL", server.url)
    monkeypatch.setenv("GLORIA_API_TOKEN", token)
    try:
        yield server
    finally:
        server.close()


# ---- an honest account, to be bent one behaviour at a time --------------------------------------------------


def assistant(assistant_id: int, name: str, **fields: Any) -> dict[str, Any]:
    """A list item in the API's read shape (pipeline, outbound), with ``fields`` overriding."""
    item: dict[str, Any] = {
        "id": assistant_id,
        "uuid": f"00000000-0000-0000-0000-{assistant_id:012d}",
        **PIPELINE,
        "name": name,
        "status": "inactive",
    }
    return item | fields


#: An assistant file that binds ``assistant(7, "Seven")`` by id and matches it: its plan is empty.
SEVEN_FILE = """\
id: 7
name: Seven
type: outbound
mode: pipeline
language_id: 1
voice_id: 101
llm_model_id: 2
timezone: Europe/Berlin
initial_message: Hello there.
system_prompt: You are helpful.
"""


def page(
    items: list[dict[str, Any]], *, number: int, per_page: int, total: int | None = None
) -> dict[str, Any]:
    """One page of Laravel's paginator over ``items``."""
    total = len(items) if total is None else total
    last = max(1, -(-total // per_page))
    chunk = items[(number - 1) * per_page : number * per_page]
    return {"current_page": number, "data": chunk, "per_page": per_page, "total": total, "last_page": last}


@dataclass
class Account:
    """The state of an honest account: what the list returns and what writes do to it."""

    items: list[dict[str, Any]]
    next_id: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request) -> Reply:
        with self.lock:
            return self._route(request)

    def _route(self, request: Request) -> Reply:
        method, path = request.method, request.path
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"message": "Unauthenticated."})
        if method == "GET" and path == "/user/assistants/get":
            per_page = int(request.query.get("per_page", "10"))
            number = int(request.query.get("page", "1"))
            return Reply(200, page(self.items, number=number, per_page=per_page))
        if method == "GET" and path.startswith("/user/"):
            return Reply(200, seed_lookup(path, request.query))
        if method == "POST" and path == "/user/assistant":
            return self._create(request.json() or {})
        if method in {"PUT", "DELETE"} and path.startswith("/user/assistant/"):
            return self._change(method, int(path.rsplit("/", 1)[1]), request.json() or {})
        return Reply(404, {"message": "Not found."})

    def _create(self, body: dict[str, Any]) -> Reply:
        self.next_id += 1
        self.items.append(assistant(self.next_id, str(body.get("name"))) | body)
        summary = {
            "id": self.next_id,
            "name": body.get("name"),
            "status": "inactive",
            "type": body.get("type"),
        }
        return Reply(
            201, {"message": "Assistant created successfully", "data": summary | {"mode": body.get("mode")}}
        )

    def _change(self, method: str, assistant_id: int, body: dict[str, Any]) -> Reply:
        found = [i for i in self.items if i["id"] == assistant_id]
        if not found:
            return Reply(404, {"message": "Assistant not found"})
        if method == "DELETE":
            self.items.remove(found[0])
            return Reply(200, {"message": "Assistant deleted successfully"})
        found[0].update(body)
        item = found[0]
        data = {k: item.get(k) for k in ("id", "name", "status", "type", "mode")}
        return Reply(200, {"message": "Assistant updated successfully", "data": data})


def seed_lookup(path: str, query: dict[str, str]) -> Any:
    """What the emulator's seed account answers a catalog lookup (filtered by the query as the API does)."""
    seed = seed_catalog()
    mode = query.get("mode")
    tables: dict[str, Any] = {
        "/user/assistants/voices": [
            {k: v[k] for k in ("id", "name", "language_id", "gender")}
            for v in seed["voices"]
            if not mode or mode in v["modes"]
        ],
        "/user/assistants/languages": seed["languages"],
        "/user/assistants/models": seed["models"].get(query.get("type", ""), []),
        "/user/assistants/phone-numbers": [
            {k: n[k] for k in ("id", "phone_number", "country_code", "type_label")}
            for n in seed["phone_numbers"]
        ],
        "/user/assistants/synthesizer-providers": seed["synthesizer_providers"],
        "/user/assistants/transcriber-providers": seed["transcriber_providers"],
        "/user/tools": seed["tools"],
        "/user/knowledgebases": {"data": seed["knowledgebases"]},
    }
    return tables.get(path, [])


def honest_account(*items: dict[str, Any]) -> Account:
    return Account(list(items))


def elapsed(since: float) -> float:
    return time.monotonic() - since

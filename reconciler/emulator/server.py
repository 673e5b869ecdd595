"""Running the emulator: as a foreground server (``reconciler emulator serve``), or on a free loopback port in a
background thread (``running_emulator``, used by ``--emulator`` and the tests).
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from reconciler.emulator.app import LINGER_SECONDS, Api, Behaviour, RequestHandler, busy_response, linger
from reconciler.emulator.assistants import Assistants
from reconciler.emulator.catalog import catalog, demo_assistants
from reconciler.emulator.faults import Faults, RateLimiter
from reconciler.emulator.growth import VERSIONS, Version
from reconciler.emulator.shape import ReadShape
from reconciler.emulator.store import Store

#: Where ``--emulator`` keeps its state, relative to the working directory (git-ignored).
EMBEDDED_STATE = Path(".reconciler") / "emulator.sqlite"
DEFAULT_TOKEN = "emulator-token"


@dataclass(frozen=True)
class EmulatorOptions:
    seed: Literal["demo", "empty"] = "demo"  # for a new state file only (or with reset)
    state: Path | None = None  # None: a temporary file, gone when the emulator stops
    reset: bool = False  # start the state file again from the seed even if it exists
    token: str = DEFAULT_TOKEN
    read_mode: Literal["read", "symmetric"] = "read"
    # documented: the API page as written; newer: as siblings show the API growing (growth.py)
    api_version: Version = "documented"
    latency_ms: int = 0
    error_rate: float = 0.0
    reset_rate: float = 0.0
    rate_limit: int = 0  # requests a window per token; 0: unlimited
    rate_window: float = 60.0  # seconds of the rate limit's window
    rate_burst: int = 0  # a second limit checked with it (requests per rate_burst_window); 0: none
    rate_burst_window: float = 10.0
    rate_body: Literal["laravel", "error"] = "laravel"  # the 429 body (faults.Verdict.refusal)
    update_methods: tuple[str, ...] = ("PUT", "PATCH")  # ("PATCH",): a platform whose update verb is PATCH
    fault_seed: int = 0
    ignored_fields: tuple[str, ...] = ()  # updates to these fields answer 200 but change nothing
    catalog_offset: int = 0  # shifts every catalog id: the same names under other ids, like another account
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    access_log: bool = False
    # Seconds a connection may stay silent (idle between requests, or half-way through one) before it is closed;
    # a body cut short answers 408. Longer than httpx's 5 s keep-alive, so no client reuses a closing connection.
    read_timeout: float = 30.0
    # Connections served at once, one thread each; past it a connection is answered 503 and closed.
    max_connections: int = 64


@dataclass(frozen=True)
class OpenedState:
    store: Store
    origin: Literal["new", "kept", "reset"]  # kept: the file already held state, and the seed was not used
    assistants: int  # how many it serves from the start


def open_state(
    path: Path, seed: Literal["demo", "empty"], catalog_offset: int = 0, *, reset: bool = False
) -> OpenedState:
    """Open the state file; a new (or reset) one gets the catalog and, for ``demo``, the demo assistants."""
    store = Store(path)
    with store.transaction():
        existed = not store.is_new()
        if reset:
            store.clear()
        if store.is_new():
            _seed(store, seed, catalog_offset)
        origin: Literal["new", "kept", "reset"] = (
            "reset" if reset and existed else "kept" if existed else "new"
        )
        return OpenedState(store, origin, store.count())


def open_store(path: Path, seed: Literal["demo", "empty"], catalog_offset: int = 0) -> Store:
    """Open the state file, seeding it if it is new."""
    return open_state(path, seed, catalog_offset).store


def _seed(store: Store, seed: Literal["demo", "empty"], catalog_offset: int) -> None:
    store.set_catalog(catalog(catalog_offset))
    for body in demo_assistants(catalog_offset) if seed == "demo" else []:
        rules = Assistants(store.catalog(), store)
        store.insert(rules.create(body, store.now()))


#: Connections over the cap answered 503 at once (a thread each, for at most ``LINGER_SECONDS``); past these
#: too, a connection is closed without an answer.
TURNED_AWAY_AT_ONCE = 8


class EmulatorServer(ThreadingHTTPServer):
    """A thread per connection, up to ``max_connections`` of them: a client that opens connections and sends
    nothing (or a byte now and then) can hold that many threads, never more."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of connects waits for accept(), not for a SYN resent a second later

    def __init__(self, options: EmulatorOptions, store: Store) -> None:
        self.max_connections = options.max_connections
        self._access_log = options.access_log
        self._serving = threading.BoundedSemaphore(options.max_connections)
        self._turning_away = threading.BoundedSemaphore(TURNED_AWAY_AT_ONCE)
        shape = ReadShape() if options.read_mode == "read" else None
        api = Api(
            store,
            options.token,
            shape,
            frozenset(options.ignored_fields),
            VERSIONS[options.api_version],
            options.update_methods,
        )
        behaviour = Behaviour(
            latency_ms=options.latency_ms,
            faults=Faults(options.error_rate, options.reset_rate, options.fault_seed),
            limiter=RateLimiter(
                options.rate_limit,
                options.rate_window,
                options.rate_burst,
                options.rate_burst_window,
                options.rate_body,
            ),
            access_log=options.access_log,
        )
        bound = {"api": api, "behaviour": behaviour, "timeout": options.read_timeout}
        handler = type("BoundHandler", (RequestHandler,), bound)
        super().__init__((options.host, options.port), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up before its answer is written (a reconciler stopped by Ctrl-C, a test's rude
        client) is no fault of the server's: one line in the access log, not socketserver's traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            if self._access_log:
                sys.stderr.write(f"{client_address[0]} hung up before its answer was written\n")
            return
        super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a thread of its own if a slot is free; else turn it away."""
        if self._serving.acquire(blocking=False):
            self._start(self.process_request_thread, request, client_address, self._serving)
        elif self._turning_away.acquire(blocking=False):
            self._start(self._turn_away, request, client_address, self._turning_away)
        else:
            self.shutdown_request(request)

    def _start(
        self, work: Callable[[Any, Any], None], request: Any, client_address: Any, slot: threading.Semaphore
    ) -> None:
        def run() -> None:
            try:
                work(request, client_address)
            finally:
                slot.release()

        try:
            threading.Thread(target=run, daemon=True).start()
        except BaseException:  # no thread to release the slot (nor to close the connection)
            slot.release()
            raise

    def _turn_away(self, connection: socket.socket, _: Any) -> None:
        """503 and close, whatever the connection sent: it is never read as a request."""
        try:
            connection.settimeout(LINGER_SECONDS)
            connection.sendall(busy_response(self.max_connections))
            linger(connection)
        except OSError:
            pass  # the client has gone
        finally:
            self.shutdown_request(connection)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/api"


@contextmanager
def running_emulator(options: EmulatorOptions | None = None) -> Iterator[str]:
    """Serve in a background thread; yields the base URL (``http://127.0.0.1:PORT/api``)."""
    options = options or EmulatorOptions()
    with tempfile.TemporaryDirectory(prefix="gloriagent-emulator-") as scratch:
        path = options.state or Path(scratch) / "state.sqlite"
        store = open_state(path, options.seed, options.catalog_offset, reset=options.reset).store
        server = EmulatorServer(options, store)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="emulator", daemon=True)
        thread.start()
        try:
            yield server.url
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
            store.close()


@contextmanager
def embedded() -> Iterator[tuple[str, str]]:
    """The ``--emulator`` backend: demo data kept in ``.reconciler/`` so that state moves between commands.

    Yields the base URL and the token to use.
    """
    _ignore_folder(EMBEDDED_STATE.parent)
    with running_emulator(EmulatorOptions(state=EMBEDDED_STATE)) as url:
        yield url, DEFAULT_TOKEN


def _ignore_folder(folder: Path) -> None:
    """Keep the local state out of git in any repository, not only this one."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / ".gitignore"
    if not marker.exists():
        marker.write_text("# local state of reconciler --emulator\n*\n")


def serve(options: EmulatorOptions) -> tuple[EmulatorServer, OpenedState]:
    """A server bound and ready, and what became of its state file; the caller runs ``serve_forever`` (the CLI,
    until Ctrl-C)."""
    state = options.state or EMBEDDED_STATE
    if state == EMBEDDED_STATE:
        _ignore_folder(state.parent)
    opened = open_state(state, options.seed, options.catalog_offset, reset=options.reset)
    try:
        return EmulatorServer(options, opened.store), opened
    except BaseException:  # the address cannot be listened on: the caller gets no store to close
        opened.store.close()
        raise

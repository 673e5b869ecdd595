"""The network going wrong at the user's end, through the CLI: a server that takes connections and never answers,
nothing listening, TLS spoken to a plain-http port, an https server whose certificate no authority signed, a URL without ``/api``, an HTML page instead of the API, a token
pasted with its ``Bearer `` prefix, a URL without a scheme, and an emulator port already taken. Each probe runs
against a loopback server (``tests/hostile_server.py``; 127.0.0.1 only) and asserts the one line on stderr, exit 1,
the requests and connections the server saw, that the token is nowhere in the output, and a bound on the elapsed
time. On a terminal every retry is said on stderr, and a run's ``--timeout`` is its deadline.

The bounds are shrunk through ``RECONCILER_REQUEST_DEADLINE`` and ``--timeout`` (``reconciler/limits.py``); that the
defaults fail a silent server in about a minute is shown with a fake clock (``tests/test_client_timeouts.py``).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from hostile_server import SEVEN_FILE, TOKEN, Reply, Request, assistant, honest_account, hostile_api
from support import Terminal, emulator, run, screen_rows, write_files

from reconciler.cli import main

LIST = ("GET", "/user/assistants/get", {"per_page": "100", "page": "1"})
CHECK = "Check GLORIA_API_URL or --api-url"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return write_files(tmp_path / "assistants.d", {"seven": SEVEN_FILE})


def honest() -> Callable[[Request], Reply]:
    return honest_account(assistant(7, "Seven")).handle


def always(reply: Reply) -> Callable[[Request], Reply]:
    return lambda request: reply


def plan(
    capsys: pytest.CaptureFixture[str], files: Path, *flags: str, debug: bool = False
) -> tuple[int, str, str, float]:
    start = time.monotonic()
    code, out, err = run(capsys, *(["--debug"] if debug else []), "plan", "--dir", str(files), *flags)
    return code, out, err, time.monotonic() - start


def requests(server: object) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.method, r.path, r.query) for r in server.requests]  # type: ignore[attr-defined]


def no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert TOKEN[:12] not in text


def port(url: str) -> int:
    found = re.search(r":(\d+)/", url)
    assert found
    return int(found.group(1))


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on: bound (so no one else takes it) and never listened on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


# ---- a server that takes connections and never answers -----------------------------------------------------


def test_a_server_that_never_answers_is_tried_three_times_and_named(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECONCILER_REQUEST_DEADLINE", "1")  # the default: 20 s of silence a try
    with hostile_api(monkeypatch, always(Reply(stall=True))) as server:
        code, out, err, seconds = plan(capsys, files)
    url = server.url
    assert (code, out) == (1, "")
    assert err == (
        f"error: GET {url}/user/assistants/get: no answer within 1 s (3 tries): "
        f"127.0.0.1:{port(url)} takes connections but does not answer; is it the API? {CHECK}\n"
    )
    assert requests(server) == [LIST, LIST, LIST]  # not ten
    no_token(out, err)
    assert 3 <= seconds < 5


def test_timeout_is_the_runs_deadline_and_wins_over_the_variable(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECONCILER_DEADLINE", "600")
    with hostile_api(monkeypatch, always(Reply(stall=True))) as server:
        code, out, err, seconds = plan(capsys, files, "--timeout", "1.5")
    assert (code, out) == (1, "")
    assert err == "error: GET /user/assistants/get: no complete answer before the run's deadline (1.5 s)\n"
    assert requests(server) == [LIST]
    assert 1.5 <= seconds < 3


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_timeout_that_is_not_a_positive_number_is_refused_before_any_request(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    with hostile_api(monkeypatch, honest()) as server:
        code, out, err, _ = plan(capsys, files, "--timeout", value)
    assert (code, out) == (1, "")
    assert "Invalid value for '--timeout'" in err
    assert server.connections == 0


def test_timeout_is_in_the_help_of_every_command_that_talks_to_the_api(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in ("plan", "apply", "export"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0
        assert "--timeout SECONDS" in out
        assert "[default: $RECONCILER_DEADLINE or 1800]" in " ".join(out.split())


# ---- nothing listens ---------------------------------------------------------------------------------------


def test_connection_refused_names_the_address_to_check(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
    with closed_port() as number:
        url = f"http://127.0.0.1:{number}/api"
        code, out, err, seconds = plan(capsys, files, "--api-url", url)
    assert (code, out) == (1, "")
    assert err == (
        f"error: GET {url}/user/assistants/get: connection refused (3 tries): "
        f"nothing listens at 127.0.0.1:{number}; check GLORIA_API_URL or --api-url\n"
    )
    no_token(out, err)
    assert seconds < 2


# ---- TLS spoken to a plain-http server ---------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_https_to_a_plain_http_server_suggests_http_and_is_not_retried(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], debug: bool
) -> None:
    with hostile_api(monkeypatch, honest()) as server:
        https = server.url.replace("http://", "https://")
        code, out, err, seconds = plan(capsys, files, "--api-url", https, debug=debug)
    expected = (
        f"error: GET {https}/user/assistants/get: the server does not speak TLS: is the URL {server.url}? "
        f"{CHECK}\n"
    )
    assert (code, out) == (1, "")
    if debug:
        assert err.startswith("Traceback (most recent call last):")
    assert err.endswith(expected) if debug else err == expected
    assert server.connections == 1  # the same server would speak the same way again
    assert requests(server) == []  # a ClientHello is no request
    no_token(out, err)
    assert seconds < 2


@contextmanager
def self_signed_tls_server(tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """An https URL on loopback whose server presents a certificate it signed itself (made by ``openssl``), and
    the list its accepted connections are counted in. It never gets as far as a request."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the server's certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
    ]
    made = subprocess.run(
        [*request, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:  # -addext needs OpenSSL 1.1.1
        pytest.skip(f"openssl could not make the certificate: {made.stderr.strip()[-200:]}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    accepted: list[int] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                accepted.append(1)
                # the client refuses the certificate: the handshake fails on this side too
                with connection, suppress(ssl.SSLError, OSError):
                    context.wrap_socket(connection, server_side=True).close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield f"https://127.0.0.1:{listener.getsockname()[1]}/api", accepted
        finally:
            stop.set()
            thread.join(timeout=5)


def test_an_https_server_whose_certificate_no_authority_signed_is_refused_once(
    files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the certificate authorities are loaded only when TLS may be spoken (client.may_speak_tls): an https API
    # must still be verified
    monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)  # the connection goes to the server itself
    with self_signed_tls_server(tmp_path) as (url, accepted):
        code, out, err, seconds = plan(capsys, files, "--api-url", url)
    # OpenSSL's own words for the failure, which changed in 3.0
    said = "self-signed certificate" if ssl.OPENSSL_VERSION_INFO >= (3,) else "self signed certificate"
    assert (code, out) == (1, "")
    assert err == (
        f"error: GET {url}/user/assistants/get: the server's TLS certificate does not verify ({said}): "
        f"is 127.0.0.1 the API's host? {CHECK}\n"
    )
    assert len(accepted) == 1  # not retried: the same server would present the same certificate
    no_token(out, err)
    assert seconds < 5


# ---- not the API -------------------------------------------------------------------------------------------


def without_api(request: Request) -> Reply:
    """A server whose API is under /api, answering Laravel's 404 for every other route."""
    if not request.target.startswith("/api/"):
        return Reply(404, {"message": f"The route {request.target.lstrip('/')} could not be found."})
    return honest()(request)


def test_a_404_on_a_read_asks_whether_api_is_missing_from_the_url(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile_api(monkeypatch, without_api) as server:
        root = server.url.removesuffix("/api")
        code, out, err, seconds = plan(capsys, files, "--api-url", root)
    assert (code, out) == (1, "")
    assert err == (
        f"error: GET {root}/user/assistants/get: 404, no such API route: is /api missing from the URL "
        f"({root}/api)? {CHECK}\n"
    )
    assert [r.target for r in server.requests] == ["/user/assistants/get"]  # a 404 is not retried
    no_token(out, err)
    assert seconds < 2


def test_the_emulator_without_api_in_its_url_gets_the_same_line(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        root = api.url.removesuffix("/api")
        monkeypatch.setenv("GLORIA_API_URL", root)
        code, out, err, seconds = plan(capsys, files)
    assert (code, out) == (1, "")
    assert err == (
        f"error: GET {root}/user/assistants/get: 404, no such API route: is /api missing from the URL "
        f"({root}/api)? {CHECK}\n"
    )
    assert seconds < 3


def test_a_404_when_the_url_ends_in_api_asks_whether_it_is_the_apis_url(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile_api(monkeypatch, always(Reply(404, {"message": "Not Found"}))) as server:
        code, out, err, _ = plan(capsys, files)
    assert (code, out) == (1, "")
    assert err == (
        f"error: GET {server.url}/user/assistants/get: 404, no such API route: is {server.url} the API's URL? "
        f"{CHECK}\n"
    )


LOGIN_PAGE = Reply(
    200,
    b"<!doctype html><title>Sign in</title><form action=/login>",
    {"Content-Type": "text/html; charset=UTF-8"},
)


def test_an_html_page_instead_of_json_says_login_page_or_wrong_url(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile_api(monkeypatch, always(LOGIN_PAGE)) as server:
        code, out, err, seconds = plan(capsys, files)
    assert (code, out) == (1, "")
    assert err == (
        f"error: GET {server.url}/user/assistants/get: 200 with an HTML page, not the API's JSON: "
        f"a login page or a wrong URL? {CHECK}\n"
    )
    assert requests(server) == [LIST]
    no_token(out, err)
    assert seconds < 2


def test_the_url_shown_never_carries_a_password_or_the_query(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile_api(monkeypatch, always(LOGIN_PAGE)) as server:
        with_password = server.url.replace("http://", "http://admin:hunter2-secret@")
        code, _, err, _ = plan(capsys, files, "--api-url", with_password)
    assert code == 1
    assert err.startswith(f"error: GET {server.url}/user/assistants/get: 200 with an HTML page")
    for hidden in ("hunter2", "admin", "per_page"):
        assert hidden not in err


# ---- what is refused before any request --------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", "BEARER\t"])
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_token_pasted_with_its_bearer_prefix_is_refused_without_showing_it(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], prefix: str, debug: bool
) -> None:
    with hostile_api(monkeypatch, honest(), token=prefix + TOKEN) as server:
        code, out, err, seconds = plan(capsys, files, debug=debug)
    expected = 'error: GLORIA_API_TOKEN starts with "Bearer ": set it to the API key alone (the tool sends "Bearer " itself)\n'
    assert (code, out) == (1, "")
    if debug:
        assert err.startswith("Traceback (most recent call last):")
    assert err.endswith(expected) if debug else err == expected
    assert server.connections == 0
    no_token(out, err)
    assert seconds < 2


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("app.gloriagent.ai/api", "https://app.gloriagent.ai/api"),
        ("127.0.0.1:{port}/api", "http://127.0.0.1:{port}/api"),
        ("localhost:{port}/api", "http://localhost:{port}/api"),
    ],
    ids=["host", "loopback", "localhost"],
)
def test_a_url_without_a_scheme_is_refused_with_the_one_to_use(
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    given: str,
    suggested: str,
) -> None:
    with hostile_api(monkeypatch, honest()) as server:
        number = port(server.url)
        url = given.format(port=number)
        monkeypatch.setenv("GLORIA_API_URL", url)
        code, out, err, seconds = plan(capsys, files)
    assert (code, out) == (1, "")
    assert err == f"error: API URL {url} has no scheme: is it {suggested.format(port=number)}? {CHECK}\n"
    assert server.connections == 0
    assert seconds < 2


# ---- retries, said on a terminal ---------------------------------------------------------------------------


def failing_first(
    times: int, reply: Reply, handler: Callable[[Request], Reply]
) -> Callable[[Request], Reply]:
    count = itertools.count()
    return lambda request: reply if next(count) < times else handler(request)


UNAVAILABLE = Reply(503, {"message": "Service Unavailable"})


def test_on_a_terminal_each_retry_is_a_line_on_stderr(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with hostile_api(monkeypatch, failing_first(2, UNAVAILABLE, honest())) as server:
        start = time.monotonic()
        code = main(["plan", "--dir", str(files)])
        seconds = time.monotonic() - start
    out, _ = capsys.readouterr()
    assert code == 0
    assert "No changes" in out
    assert "retrying" not in out  # stdout is the plan
    # on a loaded machine the run may last past the progress line's half second: that line comes and goes
    # around the retries, and is no part of what this test pins
    shown = [
        row for row in screen_rows(terminal.getvalue()) if row and not row.startswith("reading the platform")
    ]
    assert shown == [
        f"retrying GET {server.url}/user/assistants/get: 503 (attempt 2 of 10)",
        f"retrying GET {server.url}/user/assistants/get: 503 (attempt 3 of 10)",
    ]
    assert terminal.getvalue().count("\r\x1b[Kretrying GET ") == 2  # each erases the line first
    no_token(out, terminal.getvalue())
    assert seconds < 10  # two short backoffs, not a retry policy's long waits


def test_without_a_terminal_retries_are_silent(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile_api(monkeypatch, failing_first(2, UNAVAILABLE, honest())) as server:
        code, out, err, _ = plan(capsys, files)
    assert (code, err) == (0, "")
    assert "No changes" in out
    assert len(server.requests) == 3


def test_retry_lines_of_a_refused_connection_count_its_three_tries(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
    with closed_port() as number:
        url = f"http://127.0.0.1:{number}/api"
        assert main(["plan", "--dir", str(files), "--api-url", url]) == 1
    assert screen_rows(terminal.getvalue()) == [
        f"retrying GET {url}/user/assistants/get: connection refused (attempt 2 of 3)",
        f"retrying GET {url}/user/assistants/get: connection refused (attempt 3 of 3)",
        f"error: GET {url}/user/assistants/get: connection refused (3 tries): "
        f"nothing listens at 127.0.0.1:{number}; check GLORIA_API_URL or --api-url",
        "",
    ]


def test_a_retry_line_takes_the_place_of_the_progress_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Page 1 comes slowly, so the progress line shows; page 2 then fails once: the retry line must not be
    glued to ``reading the platform: page 1/2``, and no progress text is left behind."""
    account = honest_account(*(assistant(i, f"A{i}") for i in range(1, 151)))
    failed: list[int] = []

    def handler(request: Request) -> Reply:
        if request.query.get("page") == "1":
            return dataclasses.replace(account.handle(request), delay=0.7)
        if not failed:
            failed.append(1)
            return UNAVAILABLE
        return account.handle(request)

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    directory = write_files(tmp_path / "assistants.d", {"seven": SEVEN_FILE})
    with hostile_api(monkeypatch, handler) as server:
        assert main(["plan", "--dir", str(directory)]) == 0
    written = terminal.getvalue()
    assert "reading the platform: page 1/2" in written  # the progress line did show
    assert screen_rows(written) == [
        f"retrying GET {server.url}/user/assistants/get: 503 (attempt 2 of 10)",
        "",
    ]


# ---- the emulator's port -----------------------------------------------------------------------------------


def test_emulator_serve_on_a_port_in_use_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        number = taken.getsockname()[1]
        start = time.monotonic()
        code, out, err = run(
            capsys, "emulator", "serve", "--port", str(number), "--state", str(tmp_path / "s.db")
        )
        seconds = time.monotonic() - start
    assert (code, out) == (1, "")
    assert (
        err
        == f"error: port {number} on 127.0.0.1 is already in use: choose another with --port (0 picks a free one)\n"
    )
    assert seconds < 3


def test_emulator_serve_on_an_address_not_of_this_machine_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine; binding it sends nothing anywhere
    code, out, err = run(
        capsys,
        "emulator",
        "serve",
        "--host",
        "192.0.2.1",
        "--token",
        "own-token",
        "--state",
        str(tmp_path / "s.db"),
    )
    assert (code, out) == (1, "")
    assert (
        err
        == "error: cannot listen on 192.0.2.1: it is not an address of this machine; choose another with --host\n"
    )

"""``reconciler emulator serve`` as a user runs it: a real process on a free port, its first lines, Ctrl-C.

What it says about the state file must be what it serves: a seed only fills a new file, and ``--reset`` starts an
existing one again from the seed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click
import httpx
import pytest
from support import PIPELINE

DEMO = [(1, "Sales Assistant"), (2, "Support Line"), (3, "Legacy Survey")]
#: A bound on one run: the server is up well within a second when it works.
PATIENCE = 30.0


@dataclass
class Served:
    lines: list[str]  # what it printed before serving, up to its "try: curl" line
    assistants: list[tuple[int, str]]  # what it served: (id, name)
    code: int  # after Ctrl-C
    err: str


def serve(
    state: Path, *args: str, create: str | None = None, visit: Callable[[str], None] | None = None
) -> Served:
    """Run the command until it has printed its banner, list (and maybe create) assistants, then press Ctrl-C.
    ``visit``: called with the server's address first."""
    command = [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0", "--state", str(state)]
    child = subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    watchdog = threading.Timer(PATIENCE, child.kill)  # a hung server fails the test instead of hanging it
    watchdog.start()
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline().rstrip("\n")]
        while lines[-1] and not lines[-1].startswith("  try: ") and len(lines) < 5:
            lines.append(child.stdout.readline().rstrip("\n"))
        found = re.search(r"listening on (http://\S+/api)", lines[0])
        assert found, lines
        if visit is not None:
            visit(found.group(1))
        headers = {"Authorization": "Bearer emulator-token", "Accept": "application/json"}
        with httpx.Client(base_url=found.group(1), headers=headers, timeout=10) as http:
            if create:
                body = {**PIPELINE, "name": create}
                assert http.post("/user/assistant", json=body).status_code == 201
            listed = http.get("/user/assistants/get", params={"per_page": 100}).json()["data"]
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=PATIENCE)
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.wait()
    return Served(lines, [(a["id"], a["name"]) for a in listed], child.returncode, err)


def banner(served: Served) -> list[str]:
    """The first two lines, with the free port replaced by PORT."""
    return [re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line) for line in served.lines[:2]]


def test_a_new_state_file_is_seeded_and_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    served = serve(state, "--seed", "empty")
    assert banner(served) == [
        "gloriagent emulator listening on http://127.0.0.1:PORT/api (read mode)",
        f"  state {state}: a new file, seeded with --seed empty (0 assistants)",
    ]
    assert len(served.lines) == 3
    assert served.lines[2].startswith("  try: curl ")
    assert served.assistants == []
    # seen once under heavy load: killed by the watchdog (-9) after a request's error report on stderr;
    # the whole stderr in the message says what the server was doing when it next happens
    assert (served.code, served.err.splitlines()[-1]) == (130, "interrupted"), served.err


def test_seed_on_an_existing_state_file_is_ignored_and_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    first = serve(state)
    assert banner(first)[1] == f"  state {state}: a new file, seeded with --seed demo (3 assistants)"
    served = serve(state, "--seed", "empty")
    assert banner(served)[1] == (
        f"  state {state}: the existing file is kept (3 assistants); --seed empty is ignored, "
        "a seed only fills a new file (--reset starts again from the seed)"
    )
    assert served.assistants == DEMO


def test_an_existing_state_file_without_seed_says_it_is_kept(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    serve(state, "--seed", "empty", create="Mine")
    served = serve(state)
    assert banner(served)[1] == (
        f"  state {state}: the existing file is kept (1 assistant); --reset starts again from the demo seed"
    )
    assert served.assistants == [(1, "Mine")]


def test_reset_starts_again_from_the_seed(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    serve(state, create="Extra")  # the demo assistants and a fourth
    emptied = serve(state, "--reset", "--seed", "empty")
    assert banner(emptied)[1] == f"  state {state}: reset, seeded with --seed empty (0 assistants)"
    assert emptied.assistants == []
    again = serve(state, "--reset")
    assert banner(again)[1] == f"  state {state}: reset, seeded with --seed demo (3 assistants)"
    assert again.assistants == DEMO  # ids start again at 1


# ---- serving other machines -------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.0.2.7", "[2001:db8::1]", "emulator.example"])
def test_a_host_other_machines_reach_is_refused_with_the_default_token(host: str) -> None:
    from reconciler.emulator.command import check_exposure
    from reconciler.emulator.server import DEFAULT_TOKEN

    with pytest.raises(click.UsageError) as refused:
        check_exposure(host, DEFAULT_TOKEN, DEFAULT_TOKEN)
    assert refused.value.message == (
        f"--host {host or repr(host)} can be reached from other machines, and the default token "
        "'emulator-token' is public: give a --token of your own to serve there"
    )
    check_exposure(host, "a-token-of-my-own", DEFAULT_TOKEN)  # what the message asks for is enough


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST."])
def test_a_loopback_host_is_served_with_the_default_token(host: str) -> None:
    from reconciler.emulator.command import check_exposure
    from reconciler.emulator.server import DEFAULT_TOKEN

    check_exposure(host, DEFAULT_TOKEN, DEFAULT_TOKEN)


def test_serve_refuses_every_interface_with_the_default_token_before_opening_anything(tmp_path: Path) -> None:
    # The state file's folder is a file: a command that went past the check would fail on it before binding (so
    # this test never binds a non-loopback address, even against a command without the check).
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    state = blocker / "state.sqlite"
    command = [sys.executable, "-m", "reconciler", "emulator", "serve", "--host", "0.0.0.0", "--port", "0"]
    done = subprocess.run(
        [*command, "--state", str(state)], capture_output=True, text=True, timeout=PATIENCE, check=False
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        "Usage: reconciler emulator serve [OPTIONS]",
        "Try 'reconciler emulator serve --help' for help.",
        "",
        "Error: --host 0.0.0.0 can be reached from other machines, and the default token 'emulator-token' "
        "is public: give a --token of your own to serve there",
    ]


def _hang_up_before_the_answer(url: str) -> None:
    """Send a request, then reset the connection while the server still sleeps its --latency-ms."""
    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=5) as rude:
        rude.sendall(
            b"GET /api/user/tools HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer emulator-token\r\n\r\n"
        )
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    time.sleep(0.6)  # the server wakes after 0.3 s and writes its answer to a closed connection


def test_a_client_that_hangs_up_before_its_answer_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    served = serve(tmp_path / "state.sqlite", "--latency-ms", "300", visit=_hang_up_before_the_answer)
    assert "Traceback" not in served.err, served.err
    assert "Exception occurred" not in served.err, served.err
    assert "127.0.0.1 hung up before its answer was written" in served.err.splitlines(), served.err
    assert (served.code, served.err.splitlines()[-1]) == (130, "interrupted"), served.err

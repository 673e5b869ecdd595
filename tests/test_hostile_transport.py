"""A hostile or broken server at the transport: a token no header can carry, Retry-After of an hour, of 31 years or
of garbage, rate-limit headers that are not numbers, answers trickled a byte at a time or never finished, and a gzip
bomb. Each probe drives the CLI (``plan``) against a small loopback server (``tests/hostile_server.py``) and asserts
the exit code, the exact line on stderr, the requests the server saw, that the token is nowhere in the output (the
``--debug`` traceback included) and a bound on the elapsed time.

The bounds are shrunk to seconds through the environment variables that ``reconciler/limits.py`` documents
(``RECONCILER_DEADLINE``, ``RECONCILER_REQUEST_DEADLINE``, ``RECONCILER_MAX_RETRY_AFTER``,
``RECONCILER_MAX_RESPONSE_BYTES``): the tool's own mechanism, so that nothing here reaches into httpx.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from hostile_server import SEVEN_FILE, TOKEN, Reply, Request, assistant, honest_account, hostile_api, page
from support import run, write_files

MIB = 1024 * 1024
LIST = ("GET", "/user/assistants/get", {"per_page": "100", "page": "1"})
THROTTLED = Reply(429, {"message": "Too Many Attempts."})


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return write_files(tmp_path / "assistants.d", {"seven": SEVEN_FILE})


def bent(change: Callable[[Reply], Reply], *, times: int | None = None) -> Callable[[Request], Reply]:
    """The honest account holding Seven, with its first ``times`` answers (every answer: None) bent by ``change``."""
    account = honest_account(assistant(7, "Seven"))
    count = itertools.count()

    def handler(request: Request) -> Reply:
        honest = account.handle(request)
        return change(honest) if times is None or next(count) < times else honest

    return handler


def instead(reply: Reply) -> Callable[[Reply], Reply]:
    return lambda honest: reply


def plan(capsys: pytest.CaptureFixture[str], files: Path, *flags: str) -> tuple[int, str, str, float]:
    start = time.monotonic()
    code, out, err = run(capsys, *flags, "plan", "--dir", str(files))
    return code, out, err, time.monotonic() - start


def requests(server: object) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.method, r.path, r.query) for r in server.requests]  # type: ignore[attr-defined]


def no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert TOKEN[:12] not in text  # not even the start of it, as a repr cut short would show


# ---- a token no header can carry ------------------------------------------------------------------------------

LINE_BREAK = (
    "ends with a line break: set it without the newline "
    '(GLORIA_API_TOKEN="$(cat FILE)" drops a file\'s last newline)'
)


def unusable(where: str) -> str:
    return f"{where}, which no API token has: set it again without it"


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (TOKEN + "\n", LINE_BREAK),
        (TOKEN + "\r\n", LINE_BREAK),
        (" " + TOKEN, unusable("starts with a space")),
        (TOKEN + " ", unusable("ends with a space")),
        (TOKEN[:8] + "\t" + TOKEN[8:], unusable("contains a tab")),
        (TOKEN[:8] + "\r" + TOKEN[8:], unusable("contains a carriage return")),
        (TOKEN + "\x07", unusable("ends with a control character (U+0007)")),
        (TOKEN[:8] + "\x7f" + TOKEN[8:], unusable("contains a control character (U+007F)")),
        (TOKEN[:8] + "é" + TOKEN[8:], unusable("contains a non-ASCII character (U+00E9)")),
        ("\ufeff" + TOKEN, unusable("starts with a non-ASCII character (U+FEFF)")),
        (TOKEN + "\u200b", unusable("ends with a non-ASCII character (U+200B)")),
    ],
    ids=["lf", "crlf", "lead-space", "trail-space", "tab", "cr", "bel", "del", "e-acute", "bom", "zwsp"],
)
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_token_no_header_can_carry_is_refused_before_any_request_without_showing_it(
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token: str,
    problem: str,
    debug: bool,
) -> None:
    with hostile_api(monkeypatch, bent(lambda honest: honest), token=token) as server:
        code, out, err, seconds = plan(capsys, files, *(["--debug"] if debug else []))
    assert code == 1
    assert out == ""
    expected = f"error: GLORIA_API_TOKEN {problem}\n"
    if debug:
        assert err.startswith("Traceback (most recent call last):")
        assert err.endswith(expected)
    else:
        assert err == expected
    assert requests(server) == []
    no_token(out, err)
    assert seconds < 2


# ---- Retry-After ----------------------------------------------------------------------------------------------


def test_retry_after_is_waited_for_and_said_on_stderr(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    throttled = dataclasses.replace(THROTTLED, headers={"Retry-After": "1"})
    with hostile_api(monkeypatch, bent(instead(throttled), times=1)) as server:
        code, out, err, seconds = plan(capsys, files)
    assert code == 0
    assert "No changes" in out
    assert "waiting" not in out  # stdout is the plan: a PR comment or a pipe, never the wait notice
    assert err == "waiting 1 s: the API asked to retry after 1 s (429 on GET /user/assistants/get)\n"
    assert requests(server) == [LIST, LIST]
    assert 1 <= seconds < 4


def in_an_hour() -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=3600), usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "asked"),
    [
        ("3600", {"3600"}),
        ("1000000000", {"1000000000"}),
        ("1" * 23, {"1.111111111e+22"}),
        (in_an_hour, {"3599", "3600"}),  # a date has whole seconds: the clock may have ticked since
    ],
    ids=["an-hour", "31-years", "23-digits", "http-date"],
)
def test_a_long_retry_after_is_capped_and_the_wait_said(
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    retry_after: str | Callable[[], str],
    asked: set[str],
) -> None:
    monkeypatch.setenv("RECONCILER_MAX_RETRY_AFTER", "1")
    value = retry_after if isinstance(retry_after, str) else retry_after()
    throttled = dataclasses.replace(THROTTLED, headers={"Retry-After": value})
    with hostile_api(monkeypatch, bent(instead(throttled), times=1)) as server:
        code, out, err, seconds = plan(capsys, files)
    assert code == 0
    assert "No changes" in out
    assert err in {
        f"waiting 1 s (the most this tool waits at once): the API asked to retry after {seconds} s "
        "(429 on GET /user/assistants/get)\n"
        for seconds in asked
    }
    assert requests(server) == [LIST, LIST]
    assert 1 <= seconds < 4


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_retry_after_beyond_the_run_deadline_fails_at_once(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], debug: bool
) -> None:
    monkeypatch.setenv("RECONCILER_DEADLINE", "3")
    throttled = dataclasses.replace(THROTTLED, headers={"Retry-After": "1000000000"})
    with hostile_api(monkeypatch, bent(instead(throttled))) as server:
        code, out, err, seconds = plan(capsys, files, *(["--debug"] if debug else []))
    assert code == 1
    assert out == ""
    assert err.endswith(
        "error: GET /user/assistants/get: 429 Too Many Attempts.; gave up: the API asked to retry after "
        "1000000000 s, and the run's deadline (3 s) ends sooner\n"
    )
    assert "waiting" not in err
    assert requests(server) == [LIST]
    no_token(out, err)
    assert seconds < 2


@pytest.mark.parametrize("retry_after", ["²"])  # passes str.isdigit, and float() refuses it
def test_a_retry_after_that_is_not_a_number_or_a_date_is_ignored(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], retry_after: str
) -> None:
    throttled = dataclasses.replace(THROTTLED, headers={"Retry-After": retry_after})
    with hostile_api(monkeypatch, bent(instead(throttled), times=1)) as server:
        code, out, err, seconds = plan(capsys, files)
    assert (code, err) == (0, "")  # the ordinary short backoff, said nowhere
    assert "No changes" in out
    assert requests(server) == [LIST, LIST]
    assert seconds < 2


# ² passes str.isdigit and int() refuses it; 5,000 digits pass it too, and int() refuses more than 4,300
@pytest.mark.parametrize("limit", ["²", "9" * 5000], ids=["superscript", "5000-digits"])
def test_a_rate_limit_header_that_is_not_a_number_is_ignored(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    odd = bent(lambda honest: dataclasses.replace(honest, headers={"X-RateLimit-Limit": limit}))
    with hostile_api(monkeypatch, odd) as server:
        code, out, err, seconds = plan(capsys, files)
    assert (code, err) == (0, "")
    assert "No changes" in out
    assert requests(server) == [LIST]
    assert seconds < 2


# ---- answers that never end -----------------------------------------------------------------------------------


def trickled(honest: Reply) -> Reply:
    return dataclasses.replace(honest, trickle=0.05)  # the ~450-byte page would take over 20 s


def test_an_answer_trickled_past_the_request_deadline_is_abandoned_and_retried(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECONCILER_REQUEST_DEADLINE", "1")
    with hostile_api(monkeypatch, bent(trickled, times=1)) as server:
        code, out, err, seconds = plan(capsys, files)
    assert (code, err) == (0, "")
    assert "No changes" in out
    assert requests(server) == [LIST, LIST]
    assert 1 <= seconds < 4


@pytest.mark.parametrize("change", [trickled, instead(Reply(stall=True))], ids=["trickled", "no-answer"])
def test_an_answer_that_never_completes_fails_at_the_run_deadline(
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[Reply], Reply],
) -> None:
    monkeypatch.setenv("RECONCILER_REQUEST_DEADLINE", "1")
    monkeypatch.setenv("RECONCILER_DEADLINE", "2")
    with hostile_api(monkeypatch, bent(change)) as server:
        code, out, err, seconds = plan(capsys, files, "--debug")
    assert code == 1
    assert out == ""
    assert err.endswith(
        "error: GET /user/assistants/get: no complete answer before the run's deadline (2 s)\n"
    )
    assert requests(server) == [LIST, LIST]  # the first try is abandoned after 1 s; the second is cut at 2 s
    no_token(out, err)
    assert 2 <= seconds < 3.5


# ---- answers too large ----------------------------------------------------------------------------------------


def gzip_bomb(decoded: int) -> bytes:
    """``decoded`` bytes of spaces, gzip-compressed (about a thousand to one), built without holding them."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * MIB
    body = b"".join(squeeze.compress(block) for _ in range(decoded // MIB))
    return body + squeeze.flush()


def test_a_gzip_bomb_is_refused_at_the_cap_without_inflating_it(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECONCILER_MAX_RESPONSE_BYTES", str(MIB))
    bomb = Reply(200, gzip_bomb(200 * MIB), headers={"Content-Encoding": "gzip"})
    assert len(bomb.payload()) < MIB // 4
    with hostile_api(monkeypatch, bent(instead(bomb))) as server:
        tracemalloc.start()
        try:
            code, out, err, seconds = plan(capsys, files)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert code == 1
    assert out == ""
    assert err == "error: GET /user/assistants/get: the answer is larger than 1 MiB (decoded): refused\n"
    assert requests(server) == [LIST]  # a bomb is not asked for twice
    assert peak < 16 * MIB  # 200 MiB, were it inflated
    assert seconds < 3


def test_an_answer_longer_than_the_cap_is_refused(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECONCILER_MAX_RESPONSE_BYTES", str(MIB))
    huge = Reply(200, b'{"data": [], "pad": "' + b"x" * (2 * MIB) + b'"}')
    with hostile_api(monkeypatch, bent(instead(huge))) as server:
        code, out, err, seconds = plan(capsys, files)
    assert code == 1
    assert out == ""
    assert err == "error: GET /user/assistants/get: the answer is larger than 1 MiB (decoded): refused\n"
    assert requests(server) == [LIST]
    assert seconds < 3


def test_the_largest_honest_page_is_far_under_the_default_cap() -> None:
    """The default cap's reason: 100 assistants with every text at its limit, a 64 KiB prompt each (the size of a
    MySQL TEXT column) and every character \\u-escaped, as PHP's json_encode writes non-ASCII text."""
    from reconciler.limits import MAX_RESPONSE_BYTES

    def full(assistant_id: int) -> dict[str, object]:
        return assistant(
            assistant_id,
            "é" * 255,
            initial_message="é" * 200,
            reengagement_prompt="é" * 1000,
            voice_mail_message="é" * 1000,
            system_prompt="€" * (65535 // 3),
            variables={f"var_{i:02d}": "é" * 255 for i in range(50)},
            post_call_schema=[
                {"name": f"f{i}", "type": "string", "description": "é" * 255} for i in range(20)
            ],
        )

    honest = json.dumps(page([full(i) for i in range(1, 101)], number=1, per_page=100)).encode()
    assert len(honest) < MAX_RESPONSE_BYTES / 2


# ---- the bounds themselves ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "kind"),
    [
        ("RECONCILER_DEADLINE", "soon", "a number of seconds"),
        ("RECONCILER_REQUEST_DEADLINE", "0", "a number of seconds"),
        ("RECONCILER_MAX_RETRY_AFTER", "²", "a number of seconds"),
        ("RECONCILER_MAX_RESPONSE_BYTES", "1.5", "a whole number of bytes"),
    ],
)
def test_a_bound_that_is_not_a_positive_number_is_refused_before_any_request(
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    kind: str,
) -> None:
    monkeypatch.setenv(variable, value)
    with hostile_api(monkeypatch, bent(lambda honest: honest)) as server:
        code, out, err, _ = plan(capsys, files)
    assert (code, out) == (1, "")
    assert err == f"error: {variable} must be {kind} above 0 (got {value!a})\n"
    assert requests(server) == []

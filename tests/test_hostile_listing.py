"""A lying or racing assistant list: the paginator is cross-checked, never trusted (issue 12, items 4, 10, 11).

Every probe runs the CLI against a small loopback server (``tests/hostile_server.py``): an honest account
whose handler is wrapped to bend one behaviour. A listing that misses an assistant makes a plan create a
duplicate of it, so each probe asserts the exit code, the exact one-line message, the requests made (only list
reads; never a POST) and a bound on the time taken. An honest account is read once; one that changed during the
read is read again; one that stays inconsistent is read three times and then no create is planned from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_server import (
    Account,
    HostileServer,
    Reply,
    Request,
    assistant,
    elapsed,
    honest_account,
    hostile_api,
)
from support import run, write_files

LIST = "/user/assistants/get"
#: A guard against hangs and request storms, not a benchmark: every probe takes well under a second.
TIME_LIMIT = 10.0


def spec(name: str, *, prompt: str = "You are helpful.") -> str:
    """A file that matches ``assistant(n, name)`` by name exactly (a noop), unless ``prompt`` changes."""
    return (
        f"name: {name}\n"
        "type: outbound\n"
        "mode: pipeline\n"
        "language_id: 1\n"
        "voice_id: 101\n"
        "llm_model_id: 2\n"
        "timezone: Europe/Berlin\n"
        "initial_message: Hello there.\n"
        f"system_prompt: {prompt}\n"
    )


def big_account(count: int = 250) -> Account:
    """Three pages of 100 (the last one short): A1 ... A250 with ids 1 ... 250."""
    return honest_account(*(assistant(n, f"A{n}") for n in range(1, count + 1)))


Bend = Callable[[Request, dict[str, Any]], None]


def bent(account: Account, bend: Bend) -> Callable[[Request], Reply]:
    """The account's handler, with ``bend`` editing every list page's body before it is sent."""

    def handler(request: Request) -> Reply:
        reply = account.handle(request)
        if request.method == "GET" and request.path == LIST and isinstance(reply.body, dict):
            bend(request, reply.body)
        return reply

    return handler


def pages_read(server: HostileServer) -> list[int]:
    """The list pages asked for, sorted; and a check that every request was a read (catalogs may be looked up)."""
    assert {r.method for r in server.requests} == {"GET"}
    return sorted(int(r.query["page"]) for r in server.requests if r.path == LIST)


def cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    handler: Callable[[Request], Reply],
    directory: Path,
    command: str,
) -> tuple[int, str, str, HostileServer]:
    argv = ["plan", "--dir", str(directory)]
    if command == "apply":
        argv = ["apply", "--dir", str(directory), "--auto-approve"]
    start = time.monotonic()
    with hostile_api(monkeypatch, handler) as server:
        code, out, err = run(capsys, *argv)
    assert elapsed(start) < TIME_LIMIT
    return code, out, err, server


# --- a listing that misses an assistant must not plan a create: it would be a duplicate ----------------------


def ten_a_page(request: Request, body: dict[str, Any]) -> None:
    body["data"] = body["data"][:10]  # while still claiming per_page 100, total 250, last_page 3


def repeat_across_pages(request: Request, body: dict[str, Any]) -> None:
    if body["current_page"] == 2:
        body["data"][0] = assistant(100, "A100")  # page 1's last item again: A101 is never seen


def short_last_page(request: Request, body: dict[str, Any]) -> None:
    if body["current_page"] == 3:
        body["data"] = body["data"][:40]  # total still says 250: A241 ... A250 are never seen


def ignore_page_number(request: Request, body: dict[str, Any]) -> None:
    if body["current_page"] != 1:
        body["data"] = [assistant(n, f"A{n}") for n in range(1, 101)]  # page 1 served for every page
        body["current_page"] = 1


REFUSAL = "error: the assistant list is inconsistent after 3 reads ({}): refusing to plan creates from it\n"
LYING_LISTS = [
    pytest.param(
        ten_a_page,
        "A150",
        "total says 250, 30 seen; page 1 has 10 items, 100 expected; page 2 has 10 items, 100 expected; "
        "and 1 more",
        id="ten-items-a-page-claiming-250",
    ),
    pytest.param(
        repeat_across_pages,
        "A101",
        "total says 250, 249 seen; page 2 repeats id 100",
        id="an-id-repeated-on-two-pages",
    ),
    pytest.param(
        short_last_page,
        "A245",
        "total says 250, 240 seen; page 3 has 40 items, 50 expected",
        id="a-last-page-shorter-than-the-total",
    ),
    pytest.param(
        ignore_page_number,
        "A150",
        "total says 250, 100 seen; page 2 says it is page 1; page 2 repeats id 1 and 99 more; and 3 more",
        id="every-page-is-page-one",
    ),
]


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize(("bend", "unseen", "reasons"), LYING_LISTS)
def test_a_listing_that_misses_an_assistant_plans_no_duplicate_of_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    bend: Bend,
    unseen: str,
    reasons: str,
    command: str,
) -> None:
    directory = write_files(tmp_path / "assistants.d", {unseen.lower(): spec(unseen)})
    code, out, err, server = cli(monkeypatch, capsys, bent(big_account(), bend), directory, command)
    assert (code, err) == (1, REFUSAL.format(reasons))
    assert "create" not in out
    assert pages_read(server) == [1, 1, 1, 2, 2, 2, 3, 3, 3]  # three whole reads, then the refusal
    assert server.creates() == []
    assert server.writes() == []


def test_an_honest_account_is_read_once_and_one_that_changed_during_the_read_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_files(tmp_path / "assistants.d", {"a101": spec("A101")})
    code, _, err, server = cli(monkeypatch, capsys, big_account().handle, directory, "apply")
    assert (code, err) == (0, "")
    assert pages_read(server) == [1, 2, 3]  # a stable account needs no second read

    account = big_account()
    served: list[int] = []

    def delete_while_page_one_is_served(request: Request) -> Reply:
        reply = account.handle(request)
        served.append(int(request.query.get("page", "0")))
        if served == [1]:
            account.items.pop(4)  # A5 goes: A101 slides onto page 1 after it was read
        return reply

    code, out, err, server = cli(monkeypatch, capsys, delete_while_page_one_is_served, directory, "apply")
    assert (code, err) == (0, "")
    assert "No changes" in out
    assert pages_read(server) == [1, 1, 2, 2, 3, 3]  # the second read was consistent: no third
    assert server.writes() == []


def test_an_account_that_keeps_changing_still_plans_its_updates_after_three_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    account = big_account()

    def a_new_assistant_after_every_first_page(request: Request) -> Reply:
        reply = account.handle(request)
        if request.query.get("page") == "1":
            account.next_id += 1
            account.items.append(assistant(account.next_id, f"New {account.next_id}"))
        return reply

    directory = write_files(tmp_path / "assistants.d", {"a7": spec("A7", prompt="Be brief.")})
    code, out, err, server = cli(
        monkeypatch, capsys, a_new_assistant_after_every_first_page, directory, "plan"
    )
    assert (code, err) == (0, "")
    assert '~ update a7 "A7" (id 7)' in out
    assert "Plan: 0 to create, 1 to update, 0 to delete" in out
    assert pages_read(server) == [1, 1, 1, 2, 2, 2, 3, 3, 3]


# --- page counts the listing cannot back up: a bounded number of requests ------------------------------------


def test_a_last_page_that_does_not_fit_the_total_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def claim_a_billion_pages(request: Request, body: dict[str, Any]) -> None:
        body["last_page"] = 1_000_000_000

    directory = write_files(tmp_path / "assistants.d", {"a150": spec("A150")})
    handler = bent(big_account(), claim_a_billion_pages)
    code, _, err, server = cli(monkeypatch, capsys, handler, directory, "apply")
    assert (code, err) == (
        1,
        REFUSAL.format("last_page 1000000000 does not fit total 250 at 100 a page (so only page 1 was read)"),
    )
    assert pages_read(server) == [1, 1, 1]
    assert server.writes() == []


def test_a_listing_that_claims_too_many_pages_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def claim_a_hundred_billion(request: Request, body: dict[str, Any]) -> None:
        body["total"], body["last_page"] = 100_000_000_000, 1_000_000_000

    directory = write_files(tmp_path / "assistants.d", {"a7": spec("A7", prompt="Be brief.")})
    code, _, err, server = cli(
        monkeypatch, capsys, bent(big_account(), claim_a_hundred_billion), directory, "plan"
    )
    assert (code, err) == (
        1,
        "error: the assistant list claims 100000000000 assistants in 1000000000 pages; "
        "refusing to read more than 1000 pages\n",
    )
    assert pages_read(server) == [1]


# --- values the API cannot mean: one line naming the item or the field, exit 1, no write --------------------

BAD_IDS = [
    pytest.param(b"1.5", "has id 1.5", id="a-fraction"),
    pytest.param(b"true", "has id true", id="a-boolean"),
    pytest.param('"\u0661"'.encode(), 'has id "\u0661"', id="an-arabic-indic-digit"),
    pytest.param(b"-3", "has id -3", id="a-negative-number"),
    pytest.param(b"0", "has id 0", id="zero"),
    pytest.param(b'"abc"', 'has id "abc"', id="letters"),
    pytest.param(b"null", "has id null", id="null"),
    pytest.param(b"1e400", "has id Infinity", id="a-number-past-the-float-range"),
    pytest.param(None, "has no id", id="no-id-at-all"),
]


@pytest.mark.parametrize(("raw_id", "problem"), BAD_IDS)
def test_an_id_the_api_cannot_mean_is_an_error_naming_the_item(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    raw_id: bytes | None,
    problem: str,
) -> None:
    id_field = b"" if raw_id is None else b'"id": ' + raw_id + b", "
    listing = (
        b'{"current_page": 1, "per_page": 100, "total": 2, "last_page": 1, "data": ['
        b'{"id": 1, "name": "One", "mode": "pipeline"}, '
        b"{" + id_field + b'"name": "Two", "mode": "pipeline", "system_prompt": "Old."}]}'
    )
    account = honest_account()

    def handler(request: Request) -> Reply:
        return Reply(200, listing) if request.path == LIST else account.handle(request)

    directory = write_files(tmp_path / "assistants.d", {"two": spec("Two")})
    code, _, err, server = cli(monkeypatch, capsys, handler, directory, "apply")
    assert (code, err) == (
        1,
        f'error: the assistant list is malformed: item 2 of page 1 ("Two") {problem}; '
        "an assistant id is a whole number from 1\n",
    )
    assert pages_read(server) == [1]  # a malformed list is not a race: no second read
    assert server.writes() == []


def test_the_item_named_by_a_bad_id_error_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def hostile_name(request: Request, body: dict[str, Any]) -> None:
        body["data"][0] = {"id": 1.5, "name": "Two\x1b]0;owned\x07\u202e\r\nPlan: 0 to create"}

    directory = write_files(tmp_path / "assistants.d", {"two": spec("Two")})
    handler = bent(honest_account(assistant(1, "One")), hostile_name)
    code, _, err, server = cli(monkeypatch, capsys, handler, directory, "plan")
    assert (code, err) == (
        1,
        'error: the assistant list is malformed: item 1 of page 1 ("Two\\u001b]0;owned\\u0007\\u202e\\r\\n'
        'Plan: 0 to create") has id 1.5; an assistant id is a whole number from 1\n',
    )
    assert pages_read(server) == [1]


PAGINATOR_FIELDS = [
    pytest.param(
        "last_page", "abc", 'page 1 has last_page "abc", not a whole number from 1', id="last-page-abc"
    ),
    pytest.param("total", None, "page 1 has total null, not a whole number from 0", id="total-null"),
    pytest.param("per_page", 0, "page 1 has per_page 0, not a whole number from 1", id="per-page-zero"),
    pytest.param(
        "current_page", 1.0, "page 1 has current_page 1.0, not a whole number from 1", id="float-page"
    ),
    pytest.param("total", ..., "page 1 has no total", id="no-total"),
]


@pytest.mark.parametrize(("key", "value", "problem"), PAGINATOR_FIELDS)
def test_a_paginator_field_the_api_cannot_mean_is_one_clear_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key: str,
    value: Any,
    problem: str,
) -> None:
    def bend(request: Request, body: dict[str, Any]) -> None:
        if value is ...:
            del body[key]
        else:
            body[key] = value

    directory = write_files(tmp_path / "assistants.d", {"one": spec("One")})
    handler = bent(honest_account(assistant(1, "One")), bend)
    code, _, err, server = cli(monkeypatch, capsys, handler, directory, "plan")
    assert (code, err) == (1, f"error: the assistant list is malformed: {problem}\n")
    assert pages_read(server) == [1]


def test_json_nested_too_deep_to_parse_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = b'{"current_page": 1, "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    directory = write_files(tmp_path / "assistants.d", {"one": spec("One")})
    code, _, err, server = cli(monkeypatch, capsys, lambda request: Reply(200, deep), directory, "plan")
    assert (code, err) == (1, f"error: GET {LIST}: 200 with JSON nested too deeply to read\n")
    assert pages_read(server) == [1]


@pytest.mark.parametrize(("mode", "shown"), [([1], "[1]"), ({"a": 1}, '{"a": 1}')])
def test_a_mode_that_is_not_text_is_set_again_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    mode: Any,
    shown: str,
) -> None:
    """A list or an object as an item's mode used to end the run with ``unexpected error: TypeError:
    unhashable type``: it is no engine mode, so the plan sets the file's mode again."""

    def bend(request: Request, body: dict[str, Any]) -> None:
        body["data"][0]["mode"] = mode

    write_files(tmp_path, {"a1": spec("A1")})
    code, out, err, server = cli(
        monkeypatch, capsys, bent(honest_account(assistant(1, "A1")), bend), tmp_path, "plan"
    )

    assert (code, err) == (0, "")
    assert f'      ~ mode: {shown} → "pipeline"' in out.splitlines()
    assert "Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged." in out.splitlines()
    assert pages_read(server) == [1]

"""The emulator costs what one request's rows cost, however many assistants it stores (issue 19), and answers
exactly as before: a page and its count from an in-memory id list, the inbound-number rule from a partial index
(docs/api.md for the paginator and the rule)."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import PIPELINE, TOKEN

from reconciler.emulator.app import Api, Request
from reconciler.emulator.assistants import Listed
from reconciler.emulator.server import open_store
from reconciler.emulator.store import Store


@contextmanager
def store_file() -> Iterator[tuple[Store, Path]]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "state.sqlite"
        store = Store(path)
        try:
            yield store, path
        finally:
            store.close()


class Undone(Exception):
    """Raised inside a transaction so that it rolls back."""


def stored(type_: str, number: Any) -> dict[str, Any]:
    return {"name": "A", "type": type_, "phone_number_id": number}


def write_then_fail(store: Store, kind: str, existing: int | None) -> None:
    """An insert (or a delete of an assistant that exists) in a transaction that then fails."""
    with store.transaction():
        if kind == "undone insert":
            store.insert(stored("inbound", 2))
        elif existing is not None:
            store.delete(existing)
        raise Undone


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("insert"), st.sampled_from(["inbound", "outbound"]), st.sampled_from([None, 1, 2, 3])
        ),
        st.tuples(st.just("delete"), st.integers(0, 40), st.booleans()),
        st.tuples(st.just("undone insert"), st.integers(0, 40), st.none()),
        st.tuples(st.just("undone delete"), st.integers(0, 40), st.none()),
        st.tuples(st.just("elsewhere"), st.sampled_from(["insert", "delete"]), st.integers(0, 40)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(operations=OPERATIONS, limit=st.integers(1, 7))
def test_every_page_and_the_count_equal_a_reference_computed_from_all_rows(
    operations: list[tuple[str, Any, Any]], limit: int
) -> None:
    """After creates, deletes (of ids that exist or not), rolled-back ones and writes by another connection."""
    with store_file() as (store, path):
        other = Store(path)  # a second writer: its commits must not leave the first one's pages stale
        try:
            for kind, first, second in operations:
                ids = [row["id"] for row in store.all()]
                if kind == "insert":
                    with store.transaction():
                        store.insert(stored(first, second))
                elif kind == "delete":
                    with store.transaction():
                        store.delete(ids[first % len(ids)] if ids and second else first)
                elif kind == "elsewhere":
                    with other.transaction():
                        if first == "insert":
                            other.insert(stored("inbound", 1))
                        elif ids:
                            other.delete(ids[second % len(ids)])
                else:
                    with pytest.raises(Undone):
                        write_then_fail(store, kind, ids[first % len(ids)] if ids else None)
                reference = store.all()
                with store.transaction():
                    assert store.count() == len(reference)
                    for offset in range(0, len(reference) + limit, limit):
                        assert store.page(offset, limit) == reference[offset : offset + limit]
                    for number in (1, 2, 3):
                        assert store.inbound_users(number) == Listed(reference).inbound_users(number)
                    assert store.inbound_numbers() == {
                        row["phone_number_id"] for row in reference if row["type"] == "inbound"
                    }
        finally:
            other.close()


@settings(max_examples=15, deadline=None)
@given(
    keep=st.lists(st.booleans(), min_size=0, max_size=35),
    per_page=st.integers(1, 12),
)
def test_the_list_endpoint_pages_and_its_meta_equal_a_reference_after_deletions(
    keep: list[bool], per_page: int
) -> None:
    """Through the API's list handler: ids made sparse by deletions change nothing a client sees."""
    with tempfile.TemporaryDirectory() as scratch:
        store = open_store(Path(scratch) / "state.sqlite", "empty")
        api = Api(store, TOKEN, None)
        created = [call(api, "POST", "/api/user/assistant", PIPELINE)["data"]["id"] for _ in keep]
        for assistant_id, kept in zip(created, keep, strict=True):
            if not kept:
                assert call(api, "DELETE", f"/api/user/assistant/{assistant_id}")["message"]
        remaining = store.all()
        total = len(remaining)
        last_page = max(1, -(-total // per_page))
        for page in range(1, last_page + 2):
            answer = call(
                api, "GET", "/api/user/assistants/get", query={"per_page": str(per_page), "page": str(page)}
            )
            rows = remaining[(page - 1) * per_page : page * per_page]
            first = (page - 1) * per_page + 1
            assert answer["data"] == rows
            assert (answer["total"], answer["last_page"], answer["current_page"]) == (total, last_page, page)
            assert (answer["from"], answer["to"]) == (
                (first, first + len(rows) - 1) if rows else (None, None)
            )
            assert answer["next_page_url"] == (
                f"/api/user/assistants/get?page={page + 1}" if page < last_page else None
            )
        store.close()


def call(api: Api, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
    response = api.route(Request(method, path, query or {}, body if body is not None else {}, True))
    assert response.status < 300, response.body
    return response.body


def full_scans(store: Store, requests: list[tuple[str, str, Any]], api: Api) -> list[str]:
    """The statements the requests ran that read the whole assistants table (SQLite's plan says SCAN)."""
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    try:
        for method, path, body in requests:
            call(api, method, path, body)
    finally:
        store._db.set_trace_callback(None)
    scans = []
    for statement in statements:
        if "assistants" not in statement or not statement.lstrip().upper().startswith("SELECT"):
            continue
        plan = store._db.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
        scans += [
            f"{statement} -> {detail}"
            for *_, detail in plan
            if detail.startswith("SCAN assistants") and "assistants_inbound_by_number" not in detail
        ]
    return scans


def test_creates_updates_deletes_and_pages_read_no_other_assistant(tmp_path: Path) -> None:
    """Only the rows a request touches, plus the partial index of inbound assistants (the number rule)."""
    store = open_store(tmp_path / "state.sqlite", "empty")
    api = Api(store, TOKEN, None)
    ids = [call(api, "POST", "/api/user/assistant", PIPELINE)["data"]["id"] for _ in range(5)]
    call(api, "GET", "/api/user/assistants/get", {})  # the id list is read once, when first needed
    inbound = {"type": "inbound", "phone_number_id": 501}
    requests = [
        ("POST", "/api/user/assistant", {**PIPELINE, **inbound}),
        ("PUT", f"/api/user/assistant/{ids[0]}", {"speech_speed": 0.9}),
        ("PUT", f"/api/user/assistant/{ids[1]}", {"type": "inbound", "phone_number_id": 502}),
        ("DELETE", f"/api/user/assistant/{ids[2]}", None),
        ("GET", "/api/user/assistants/get", None),
        ("GET", "/api/user/assistants/phone-numbers", None),
    ]
    try:
        assert full_scans(store, requests, api) == []
    finally:
        store.close()


def test_a_state_file_from_before_the_index_gets_it_and_keeps_its_rule(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE assistants (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
        INSERT INTO assistants (data) VALUES ('{"id": 1, "type": "inbound", "phone_number_id": 501}');
        """
    )
    old.commit()
    old.close()
    store = Store(path)
    try:
        indexes = store._db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
        assert ("assistants_inbound_by_number",) in indexes
        assert (store.inbound_users(501), store.count(), store.page(0, 10)[0]["id"]) == ([1], 1, 1)
    finally:
        store.close()

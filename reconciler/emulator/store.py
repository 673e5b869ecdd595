"""The emulator's state in one SQLite file: the catalog and the assistants (stored in write shape).

One connection guarded by one lock: every request's read-modify-write runs as a single transaction, so
concurrent updates are serialised and none is lost. WAL mode lets a second process read the same file.

Every request costs what its own rows cost, however many assistants are stored (issue 19): a page is found by
its first id (``WHERE id >= ? ... LIMIT``; SQLite's ``OFFSET`` walks every row it skips), from an in-memory list
of all ids in order that also gives the count; the one rule that looks at other assistants (an inbound number
used once, docs/api.md) asks a partial index instead of reading them all.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS assistants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    data TEXT NOT NULL
);
-- every write the API processed, in order: what tests compare with the plan's bodies
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    status INTEGER NOT NULL
);
-- the inbound assistants by phone number: the "already used by another inbound assistant" rule
CREATE INDEX IF NOT EXISTS assistants_inbound_by_number ON assistants (json_extract(data, '$.phone_number_id'))
    WHERE json_extract(data, '$.type') = 'inbound';
"""
# the same expressions as the index's, so that SQLite uses it
_INBOUND = "json_extract(data, '$.type') = 'inbound'"
_NUMBER = "json_extract(data, '$.phone_number_id')"

# sqlite_sequence holds the AUTOINCREMENT counters
_CLEAR = tuple(f"DELETE FROM {table}" for table in ("assistants", "journal", "meta", "sqlite_sequence"))


class Store:
    """Assistants by id, each a dict of write-shape fields plus the read-only ones the API adds."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._open(sqlite3.connect(path, check_same_thread=False, isolation_level=None))
        self._db.execute("PRAGMA journal_mode=WAL")
        # No fsync per commit (WAL stays consistent; only a power cut can lose the last writes): with it, two
        # fsyncs per request capped updates at ~300/s whatever the emulator's own cost.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)  # on a file from before the index, this builds it, once

    def _open(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._last_time = datetime.min.replace(tzinfo=UTC)
        # Every assistant's id in ascending order: the count, and the first id of any page, at no cost. Read
        # again when another connection has committed (data_version moved) or a transaction was rolled back.
        self._ids: list[int] | None = None
        self._ids_version = -1
        self._ids_moved = False  # by an insert or a delete of the transaction under way

    @classmethod
    @contextmanager
    def reading(cls, path: Path) -> Iterator[Store]:
        """The state file opened read-only, beside a server that may be writing it (tests, inspection).

        A connection of its own, never the server's lock: in WAL mode a reader sees the last committed state
        and never blocks a writer. It works as well after the server has closed the file. Writes through it
        fail ("attempt to write a readonly database").
        """
        store = cls.__new__(cls)
        store._open(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None))
        try:
            yield store
        finally:
            store._db.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Exclusive access for one request's read-modify-write."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._ids_moved = False
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                if self._ids_moved:  # they hold an insert or a delete that has just been undone
                    self._ids = None
                raise
            self._db.execute("COMMIT")

    # --- meta -----------------------------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget everything, catalog included, so that the file is new again; ids start again at 1."""
        for statement in _CLEAR:
            self._db.execute(statement)
        self._ids = None

    def is_new(self) -> bool:
        return self._db.execute("SELECT 1 FROM meta WHERE key = 'catalog'").fetchone() is None

    def catalog(self) -> dict[str, Any]:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'catalog'").fetchone()
        return dict(json.loads(row[0])) if row else {}

    def set_catalog(self, catalog: dict[str, Any]) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('catalog', ?)", (json.dumps(catalog),))

    # --- assistants -----------------------------------------------------------------------------------------

    def count(self) -> int:
        return len(self._order())

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` assistants from the ``offset``-th on, in id order: a range of the primary key."""
        ids = self._order()
        if offset >= len(ids) or limit <= 0:
            return []
        rows = self._db.execute(
            "SELECT data FROM assistants WHERE id >= ? ORDER BY id LIMIT ?", (ids[offset], limit)
        )
        return [json.loads(data) for (data,) in rows]

    def _order(self) -> list[int]:
        version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
        if self._ids is None or version != self._ids_version:
            self._ids = [int(i) for (i,) in self._db.execute("SELECT id FROM assistants ORDER BY id")]
            self._ids_version = version
        return self._ids

    def inbound_users(self, number_id: int) -> list[int]:
        """The ids of the inbound assistants that use phone number ``number_id`` (by the index)."""
        rows = self._db.execute(f"SELECT id FROM assistants WHERE {_INBOUND} AND {_NUMBER} = ?", (number_id,))
        return [int(i) for (i,) in rows]

    def inbound_numbers(self) -> set[Any]:
        """Every phone number id some inbound assistant uses (by the index)."""
        return {n for (n,) in self._db.execute(f"SELECT DISTINCT {_NUMBER} FROM assistants WHERE {_INBOUND}")}

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(data) for (data,) in self._db.execute("SELECT data FROM assistants ORDER BY id")]

    def get(self, assistant_id: int) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data FROM assistants WHERE id = ?", (assistant_id,)).fetchone()
        return dict(json.loads(row[0])) if row else None

    def insert(self, data: dict[str, Any]) -> int:
        ids = self._order()
        self._ids_moved = True
        cursor = self._db.execute("INSERT INTO assistants (data) VALUES ('{}')")
        assistant_id = int(cursor.lastrowid or 0)
        self.put(assistant_id, {**data, "id": assistant_id})
        bisect.insort(ids, assistant_id)  # AUTOINCREMENT: always at the end, in practice
        return assistant_id

    def put(self, assistant_id: int, data: dict[str, Any]) -> None:
        self._db.execute("UPDATE assistants SET data = ? WHERE id = ?", (json.dumps(data), assistant_id))

    def delete(self, assistant_id: int) -> bool:
        ids = self._order()
        self._ids_moved = True
        if self._db.execute("DELETE FROM assistants WHERE id = ?", (assistant_id,)).rowcount == 0:
            return False
        del ids[bisect.bisect_left(ids, assistant_id)]
        return True

    def record(self, method: str, path: str, body: Any, status: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO journal (method, path, body, status) VALUES (?, ?, ?, ?)",
                (method, path, json.dumps(body), status),
            )

    def journal(self) -> list[tuple[str, str, Any, int]]:
        """Every write the API processed, in order: (method, path, body as sent, status)."""
        rows = self._db.execute("SELECT method, path, body, status FROM journal ORDER BY seq")
        return [(method, path, json.loads(body), int(status)) for method, path, body, status in rows]

    def now(self) -> str:
        """An ISO-8601 timestamp with microseconds that never repeats, so updated_at moves on every write."""
        current = datetime.now(UTC)
        if current <= self._last_time:
            current = self._last_time + timedelta(microseconds=1)
        self._last_time = current
        return current.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

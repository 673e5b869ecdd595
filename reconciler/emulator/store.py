"""The emulator's state in one SQLite file: the catalog and the assistants (stored in write shape).

One connection guarded by one lock: every request's read-modify-write runs as a single transaction, so
concurrent updates are serialised and none is lost. WAL mode lets a second process read the same file.
"""

from __future__ import annotations

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
"""

# sqlite_sequence holds the AUTOINCREMENT counters
_CLEAR = tuple(f"DELETE FROM {table}" for table in ("assistants", "journal", "meta", "sqlite_sequence"))


class Store:
    """Assistants by id, each a dict of write-shape fields plus the read-only ones the API adds."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._last_time = datetime.min.replace(tzinfo=UTC)

    @classmethod
    @contextmanager
    def reading(cls, path: Path) -> Iterator[Store]:
        """The state file opened read-only, beside a server that may be writing it (tests, inspection).

        A connection of its own, never the server's lock: in WAL mode a reader sees the last committed state
        and never blocks a writer. It works as well after the server has closed the file. Writes through it
        fail ("attempt to write a readonly database").
        """
        store = cls.__new__(cls)
        store._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        store._lock = threading.Lock()
        store._last_time = datetime.min.replace(tzinfo=UTC)
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
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- meta -----------------------------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget everything, catalog included, so that the file is new again; ids start again at 1."""
        for statement in _CLEAR:
            self._db.execute(statement)

    def is_new(self) -> bool:
        return self._db.execute("SELECT 1 FROM meta WHERE key = 'catalog'").fetchone() is None

    def catalog(self) -> dict[str, Any]:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'catalog'").fetchone()
        return dict(json.loads(row[0])) if row else {}

    def set_catalog(self, catalog: dict[str, Any]) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('catalog', ?)", (json.dumps(catalog),))

    # --- assistants -----------------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM assistants").fetchone()[0])

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT data FROM assistants ORDER BY id LIMIT ? OFFSET ?", (limit, offset))
        return [json.loads(data) for (data,) in rows]

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(data) for (data,) in self._db.execute("SELECT data FROM assistants ORDER BY id")]

    def get(self, assistant_id: int) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data FROM assistants WHERE id = ?", (assistant_id,)).fetchone()
        return dict(json.loads(row[0])) if row else None

    def insert(self, data: dict[str, Any]) -> int:
        cursor = self._db.execute("INSERT INTO assistants (data) VALUES ('{}')")
        assistant_id = int(cursor.lastrowid or 0)
        self.put(assistant_id, {**data, "id": assistant_id})
        return assistant_id

    def put(self, assistant_id: int, data: dict[str, Any]) -> None:
        self._db.execute("UPDATE assistants SET data = ? WHERE id = ?", (json.dumps(data), assistant_id))

    def delete(self, assistant_id: int) -> bool:
        return self._db.execute("DELETE FROM assistants WHERE id = ?", (assistant_id,)).rowcount > 0

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

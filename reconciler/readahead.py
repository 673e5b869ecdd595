"""Reading the assistant files of a large ``validate`` in a second process while this one checks them (issue 19).

Reading and parsing a file (``files.read_file``) is about half of what checking it costs, and depends on the file
alone. A forked helper reads and parses most of the files, in the order this process checks them, and sends each
batch back as builtin values (``yamlfile.plain``), while this process does everything else as it would alone:
the SourceFiles, validation, layers, the rules across files. So every problem and message is the one a run
without the helper gives, in the same order. One batch in ``SHARE`` this process reads itself, so that neither
process waits long for the other.

Only where it is safe and worth it: ``os.fork`` exists; no other thread runs (a fork copies the calling thread
alone, and a lock another thread held would stay held in the copy); at least ``MIN_FILES`` files. If anything
goes wrong with the helper (it died, or sent what cannot be read), this process reads the files it did not get.
Values from the environment cross the pipe between the two processes of one run, and go nowhere else.
"""

from __future__ import annotations

import os
import pickle
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from reconciler.errors import Problem
from reconciler.files import FileRead
from reconciler.yamlfile import from_plain, plain

Read = FileRead | list[Problem]
Reader = Callable[[Path], Read]

MIN_FILES = 256  # below it, starting the helper costs more than it saves (a fork is a few milliseconds)
BATCH = 64  # files a message: one pickle shares the keys and paths its files repeat
SHARE = 6  # of each SHARE batches the helper reads all but the last, which this process reads itself
_LENGTH = struct.Struct("!Q")


class ReadAhead:
    """What ``reading_ahead`` yields: the read of each path, asked in the order the paths were given."""

    def __init__(self, paths: Sequence[Path], read: Reader, source: BinaryIO | None) -> None:
        self._paths = paths
        self._read = read
        self._source = source  # the helper's end of the pipe; None: no helper, everything is read here
        self._next = 0  # the position of the path expected next
        self._batch: list[Any] = []  # the helper's latest batch
        self._batch_start = -1  # the position of its first path
        self.from_helper = 0  # files the helper read (for tests and benchmarks)

    def __call__(self, path: Path) -> Read:
        position, self._next = self._next, self._next + 1
        if position >= len(self._paths) or self._paths[position] != path:  # asked out of order
            self._next = len(self._paths)
            return self._read(path)
        if not _helpers(position // BATCH) or not self._has(position):
            return self._read(path)
        kind, value = self._batch[position - self._batch_start]
        self.from_helper += 1
        if kind == "read":
            file, digest, parsed = value
            return FileRead(file, digest, from_plain(parsed))
        return list(value)

    def _has(self, position: int) -> bool:
        """Whether the helper's batch holding ``position`` is here (receiving batches until it is)."""
        while self._source is not None and position >= self._batch_start + len(self._batch):
            try:
                self._batch_start, self._batch = self._received(self._source)
            except Exception:  # whatever it is, the files are read here instead
                self._source = None
        return self._source is not None and position >= self._batch_start

    @staticmethod
    def _received(source: BinaryIO) -> tuple[int, list[Any]]:
        header = source.read(_LENGTH.size)
        if len(header) < _LENGTH.size:
            raise EOFError("the helper ended early")
        (length,) = _LENGTH.unpack(header)
        start, batch = pickle.loads(source.read(length))
        return start, batch


def _helpers(batch: int) -> bool:
    return batch % SHARE != SHARE - 1


@contextmanager
def reading_ahead(paths: Sequence[Path], read: Reader) -> Iterator[ReadAhead]:
    """The read of each of ``paths`` (``read(path)``), most of them made by a helper process while this one
    works on the others; without a helper where one is not safe or not worth it."""
    if len(paths) < MIN_FILES or not hasattr(os, "fork") or threading.active_count() != 1:
        yield ReadAhead(paths, read, None)
        return
    receiving, sending = os.pipe()
    pid = os.fork()
    if pid == 0:  # the helper: it never returns into the caller's code, whatever happens
        code = 1
        try:
            os.close(receiving)
            _serve(paths, read, sending)
            code = 0
        finally:
            os._exit(code)
    os.close(sending)
    source = os.fdopen(receiving, "rb")
    try:
        yield ReadAhead(paths, read, source)
    finally:
        source.close()  # a helper still sending gets a broken pipe and ends
        os.waitpid(pid, 0)


def _serve(paths: Sequence[Path], read: Reader, sending: int) -> None:
    with os.fdopen(sending, "wb") as sink:
        for start in range(0, len(paths), BATCH):
            if not _helpers(start // BATCH):
                continue
            batch = [_plain(read(path)) for path in paths[start : start + BATCH]]
            message = pickle.dumps((start, batch), protocol=pickle.HIGHEST_PROTOCOL)
            sink.write(_LENGTH.pack(len(message)) + message)


def _plain(read: Read) -> tuple[str, Any]:
    if isinstance(read, FileRead):
        return "read", (read.file, read.digest, plain(read.parsed))
    return "problems", read

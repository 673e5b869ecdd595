"""One apply at a time per account from this machine.

Two applies that plan the same account at once both see the same assistants missing and both create them: the API
has no compare-and-set and no idempotency key to stop the second. Between processes on one machine the kernel can:
an exclusive ``flock`` on a file named after the account (the digest of API URL and token, never the token). The
kernel drops the lock when its process ends however it ends (SIGKILL included), so there is no stale lock to clean.

A second apply refuses at once rather than waiting: the first may hold the lock for as long as its reader takes to
type ``yes``, so any wait short enough not to hold a CI job would end in the same refusal, and the second apply's
plan must be made after the first one's writes anyway — running it again does exactly that.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.errors import LockHeld, ReconcilerError


def lock_directory() -> Path:
    """``$XDG_CACHE_HOME/reconciler/locks`` (``~/.cache`` when unset): per user, outside any repository."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "reconciler" / "locks"


@contextmanager
def apply_lock(account_id: str) -> Iterator[Path]:
    """Hold the account's apply lock for the block, or refuse naming the process that holds it."""
    directory = lock_directory()
    path = directory / f"apply-{account_id}.lock"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_NOFOLLOW: a link planted at the lock's name cannot make the tool write elsewhere
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ReconcilerError(
            f"cannot take the apply lock in {directory}: {exc.strerror}; "
            "set XDG_CACHE_HOME to a writable directory; nothing was changed"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(
                f"another apply on this account is running ({_holder(fd)}); nothing was changed. "
                f"Run apply again once it has finished (lock file: {path})"
            ) from None
        _record_holder(fd)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _record_holder(fd: int) -> None:
    """Who holds the lock, for the message of the apply it turns away (the lock is the flock, not this text)."""
    text = f"pid {os.getpid()} on {socket.gethostname()}".encode()
    os.pwrite(fd, text, 0)
    os.ftruncate(fd, len(text))


def _holder(fd: int) -> str:
    text = os.pread(fd, 200, 0).decode("utf-8", "replace")
    return text if text.isprintable() and text.startswith("pid ") else "another process"

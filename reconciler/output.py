"""Output plumbing decided once per run: colour, a progress line on terminals, and the last line of defence for
secrets — every stream the CLI writes to, and every file it writes (``write_text``), replaces the run's secret
values (the token's included) with ``(sensitive)``.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

from reconciler.errors import UsageError
from reconciler.secret import Secret, known_secrets, masked


class Redactor(io.TextIOBase):
    """A text stream wrapper that masks, in everything written through it, every secret the run knows by the
    time of the write (a stream opened before the files were read masks theirs). A text stream itself, so that
    it can stand in for ``sys.stdout`` and ``sys.stderr`` for a whole run."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream = stream

    def redact(self, text: str) -> str:
        return redacted(text)

    def write(self, text: str) -> int:
        self.stream.write(self.redact(text))
        return len(text)  # what the caller wrote: the marker may be longer or shorter than the secret

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def writable(self) -> bool:
        return True


def redacted(text: str, secrets: Iterable[Secret] = ()) -> str:
    """The secret policy of everything the tool writes, streams and files (a saved plan, a summary, an exported
    assistant): ``text`` with ``secrets`` and every secret the run knows masked. Whatever writes, writes this."""
    return masked(text, frozenset(secrets) | known_secrets())


def write_text(path: Path, text: str, *, append: bool = False) -> None:
    """Write (or append to) a file of the run under the secret policy."""
    with path.open("a" if append else "w") as stream:
        stream.write(redacted(text))


#: The values of ``--color``: ``auto`` asks the environment and the stream, the others decide alone.
COLOUR_CHOICES = ("auto", "always", "never")


def wants_colour(stream: IO[str], choice: str = "auto", environ: Mapping[str, str] | None = None) -> bool:
    """Whether to colour what goes to ``stream``: the one place that decides it.

    ``--color always`` and ``never`` win over the environment (both conventions put a command-line flag above
    their variable). Under ``auto``: ``NO_COLOR`` set and not empty turns colour off (no-color.org, "when present
    and not an empty string"); else ``FORCE_COLOR`` set and not empty turns it on even into a pipe or a file
    (force-color.org, likewise "when present and not an empty string", whatever its value, ``0`` included);
    else colour only on a terminal whose ``TERM`` is not ``dumb``. Both variables set: ``NO_COLOR`` wins, since
    a person who asked for no colour must never get escape codes.
    """
    if choice != "auto":
        return choice == "always"
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return stream.isatty() and env.get("TERM") != "dumb"


class ProgressLine:
    """``reading the platform: page 3/20`` on a terminal's stderr, after the first half second; nothing otherwise.

    Used as a context manager, so that the line is erased on every way out of the block, an error's included:
    whatever is written next (the plan, ``error: ...``) starts on a clean line.
    """

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream = stream
        self.label = label
        self.enabled = stream.isatty()
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self.started < 0.5:
            return
        self.stream.write(f"\r{self.label}: page {done}/{total}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class RetryLine:
    """``retrying GET https://app.gloriagent.ai/api/user/assistants/get: 503 (attempt 3 of 10)`` on a terminal's
    stderr, one line a retry; nothing otherwise (a CI log gets the run's last line, which says what failed).

    Each line first erases a progress line the terminal may show (``ProgressLine`` writes no newline), so that
    the two never run into each other: the retry line takes its place, and the next progress draws it again.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.enabled = stream.isatty()

    def __call__(self, text: str) -> None:
        if self.enabled:
            self.stream.write(f"\r\033[K{text}\n")  # one write: a line of its own, whichever thread says it
            self.stream.flush()


def check_writable(option: str, path: Path | None, *, directory: bool = False) -> None:
    """Refuse an output that cannot be written before the first request: a run that reads the whole platform
    only to fail at the end wastes the API's quota and hides the one-line reason behind a late crash.

    An output file needs its directory to exist; an output directory (export) is created with its parents.
    """
    reason = _unwritable(path, creates_parents=directory) if path is not None else None
    if reason:
        raise UsageError(f"cannot write {option} {path}: {reason}")


def _unwritable(path: Path, *, creates_parents: bool) -> str | None:
    if path.exists():  # an existing directory in place of a file is click's to refuse (dir_okay=False)
        return None if os.access(path, os.W_OK) else f"no permission to write {path}"
    parent = path.parent
    while creates_parents and not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.exists():
        return f"{parent} does not exist"
    if not parent.is_dir():
        return f"{parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"no permission to write in {parent}"
    return None

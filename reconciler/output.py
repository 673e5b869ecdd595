"""Output plumbing decided once per run: colour, a progress line on terminals, and the last line of defence for
secrets — every stream the CLI writes to replaces known secret values (and the token) with ``(sensitive)``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import IO

from reconciler.secret import SENSITIVE, Secret

MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary text ("1", "en") all over the output


class Redactor:
    """A text stream wrapper that masks secret values in everything written through it."""

    def __init__(self, stream: IO[str], secrets: Iterable[Secret]) -> None:
        self.stream = stream
        kept = {s for s in secrets if len(s.reveal()) >= MIN_SECRET_LENGTH}
        # longest first: a secret that contains a shorter one is masked whole, not around the shorter one
        self.secrets = sorted(kept, key=lambda s: len(s.reveal()), reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret.reveal(), SENSITIVE)
        return text

    def write(self, text: str) -> int:
        return self.stream.write(self.redact(text))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


def wants_colour(stream: IO[str]) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class ProgressLine:
    """``reading the platform: page 3/20`` on a terminal's stderr, after the first half second; nothing otherwise."""

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

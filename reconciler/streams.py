"""PURE: where text goes. The one protocol the renderers, the export report and the CLI's redacting streams share,
in a module of its own so that none of them imports another for it."""

from __future__ import annotations

from typing import Protocol


class Writer(Protocol):
    """Where a renderer writes: any text stream (a file, stdout, the CLI's redacting wrapper)."""

    def write(self, text: str, /) -> int: ...

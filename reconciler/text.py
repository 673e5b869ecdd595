"""Text from users' files and from the platform, made safe and precise to print: field paths, escapes, line
numbers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sized
from difflib import get_close_matches
from typing import Any, TypeVar

Path_ = tuple[str | int, ...]
_T = TypeVar("_T")
_K = TypeVar("_K", bound=Sized)
_NONE: frozenset[Any] = frozenset()


def frozen(items: Iterable[_T]) -> frozenset[_T]:
    """``frozenset(items)``, with one shared set for all the empty ones: most files have no secret path, no
    placeholder and no secret, and each empty frozenset is 216 bytes (issue 19: 0.6 KB an assistant)."""
    result = frozenset(items)
    return result or _NONE


class Interner(dict[_K, _K]):
    """One object for equal values that thousands of files and list items repeat (the keys, ``outbound``,
    ``Europe/Berlin``, the same paths): each copy is 50-100 bytes, and a fleet holds one per assistant
    (issue 19). ``interner[value]`` is the kept object equal to ``value``, or ``value`` itself, kept if there is
    room: a dict lookup, for it runs about 80 times an assistant. Bounded, so that a directory or an account
    whose values all differ keeps only the first ``limit``; longer than ``longest``, a value is not kept (a
    prompt is rarely repeated whole)."""

    __slots__ = ("_limit", "_longest")

    def __init__(self, limit: int, *, longest: int | None = None) -> None:
        super().__init__()
        self._limit = limit
        self._longest = longest

    def __missing__(self, value: _K) -> _K:
        if len(self) < self._limit and (self._longest is None or len(value) <= self._longest):
            self[value] = value
        return value


def printable(text: str, *, lookalikes: bool = False) -> str:
    """``text`` safe to print on one line: control, format (bidi, zero-width) and line-separator characters
    escaped as ``\\u`` and four hex digits; with ``lookalikes``, combining marks and Cyrillic, Greek and
    full-width letters too.

    A key or file name comes from the user's files, a name, a prompt or an error message from the platform:
    none may clear a terminal, reorder a line or forge a second line (a problem, ``Plan: 0 to create``).
    A key must also not hide a Cyrillic letter inside an English word (``lookalikes``); prose keeps its accents.
    """
    if text.isascii() and text.isprintable():
        return text
    return "".join(ch if _plain(ch, lookalikes) else f"\\u{ord(ch):04x}" for ch in text)


def _plain(ch: str, lookalikes: bool) -> bool:
    if ch.isascii():
        return ch.isprintable()
    category = unicodedata.category(ch)
    if lookalikes:
        return category[0] in "LNPSZ" and category not in ("Zl", "Zp") and not _ascii_lookalike(ch)
    return category[0] in "LMNPSZ" and category not in ("Zl", "Zp")


def _ascii_lookalike(ch: str) -> bool:
    """A Cyrillic, Greek or full-width letter, which may pass for a Latin one in a key that must be ASCII."""
    return unicodedata.category(ch).startswith("L") and unicodedata.name(ch, "").split(" ")[0] in (
        "CYRILLIC",
        "GREEK",
        "FULLWIDTH",
    )


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files``: a count and its noun, agreeing (``plural`` when not just + s)."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def display_path(path: Path_) -> str:
    """``("tools", 1, "phone_number")`` → ``tools[1].phone_number``."""
    text = ""
    for part in path:
        key = printable(part, lookalikes=True) if isinstance(part, str) else part
        text += f"[{key}]" if isinstance(part, int) else (f".{key}" if text else str(key))
    return text


def did_you_mean(word: str, choices: Iterable[str], *, ignore_case: bool = False) -> str:
    """``; did you mean 'speech_speed'?`` for the one choice closest to a misspelt ``word``, or ''.

    With ``ignore_case`` the spelling is compared in lower case (``'VAD'`` finds ``'vad'``), and the choice is
    suggested as it is spelt among the choices.
    """
    spelt = {choice.lower() if ignore_case else choice: choice for choice in choices}
    close = get_close_matches(word.lower() if ignore_case else word, list(spelt), n=1)
    return f"; did you mean {spelt[close[0]]!r}?" if close else ""


def line_at(text: str, position: int) -> int:
    return len(re.split(r"\r\n|\r|\n", text[:position]))


def invisible(line: str) -> str:
    """The first invisible character of a line (a BOM, a zero-width space...), named, or ''."""
    for ch in line:
        if unicodedata.category(ch) in ("Cf", "Cc") and ch not in "\t":
            return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"
    return ""

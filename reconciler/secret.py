"""``Secret``: the API token, or a value that came from the environment, held so that it cannot be printed.

Its ``repr``, ``str`` and every format show the marker ``(sensitive)``; the raw text comes out only through
``reveal()``, called where the value must leave the process (the Authorization header, a keyed digest, the
redactor that masks output). Every object that holds such a value holds it as a ``Secret``, so that no repr, log
line, traceback or f-string can show it by accident. It is never equal to a ``str`` (a comparison with raw text
would be a leak waiting to happen) and refuses to be pickled.

The secret policy lives here too, so that no message or file has to remember it: ``masked(text, secrets)`` is
the one function that takes secret values out of a text, and every ``Secret`` made while a run is in progress
(``run_secrets()``, opened by the CLI) joins that run's registry, ``known_secrets()``: the CLI's streams and its
file writer mask every one of them, whatever code wrote the text.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import NoReturn, final

from reconciler.text import printable

SENSITIVE = "(sensitive)"
#: What a plan shows for the new value of a secret that differs from the one on the platform.
SENSITIVE_CHANGED = "(sensitive value changed)"
#: Shorter values are masked only where quoted: bare, they would mask "1" or "en" all over the output.
MIN_SECRET_LENGTH = 4


@final
class Secret:
    __slots__ = ("_value", "origin")

    def __init__(self, value: str, origin: str | None = None) -> None:
        self._value = value
        self.origin = origin  # the environment variable it came from, which a message may name
        if _runs:
            _runs[-1].add(self)

    @property
    def described(self) -> str:
        """What a message shows in place of the value: where it came from, never what it is."""
        return f"(sensitive value from ${{{self.origin}}})" if self.origin else SENSITIVE

    def reveal(self) -> str:
        """The raw value, for the few places that must send, digest or mask it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({SENSITIVE})"

    def __str__(self) -> str:
        return SENSITIVE

    def __format__(self, spec: str) -> str:
        return SENSITIVE  # f"{secret:>20}" too: a format spec must not be a way around the mask

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret is never pickled: it would be saved in the clear")

    def __copy__(self) -> Secret:
        return self  # immutable; dataclasses.asdict and copy.deepcopy keep it as it is

    def __deepcopy__(self, memo: object) -> Secret:
        return self


_runs: list[set[Secret]] = []  # the secrets of the runs in progress, innermost last


@contextmanager
def run_secrets() -> Iterator[None]:
    """The scope of one run: every ``Secret`` made inside it is known to ``known_secrets()`` until it ends."""
    _runs.append(set())
    try:
        yield
    finally:
        _runs.pop()


def known_secrets() -> frozenset[Secret]:
    """Every secret of the run in progress (none outside a run)."""
    return frozenset(_runs[-1]) if _runs else frozenset()


def masked(
    text: str, secrets: Iterable[Secret], marker: Callable[[Secret], str] = lambda _: SENSITIVE
) -> str:
    """``text`` with every secret value in it replaced by ``marker(secret)``.

    A value is found as a message quotes it (``'value'``), as JSON writes it, and bare; bare (and JSON-escaped
    inside a string) only when it is long enough not to match ordinary words. Where two forms start at the
    same place the longest goes: a quoted value loses its quotes too, a secret that holds another goes whole.
    """
    pattern, owners = _pattern(frozenset((secret, secret.origin) for secret in secrets))
    if pattern is None:
        return text
    return pattern.sub(lambda match: marker(owners[match.group(0)]), text)


@lru_cache(maxsize=32)
def _pattern(
    secrets: frozenset[tuple[Secret, str | None]],
) -> tuple[re.Pattern[str] | None, dict[str, Secret]]:
    """The forms of every secret as one pattern. Keyed with the origins: equal values from two variables must
    not share a cached answer that names the other one."""
    owners: dict[str, Secret] = {}
    for secret, _ in secrets:
        for form in _forms(secret.reveal()):
            owners.setdefault(form, secret)
    if not owners:
        return None, owners
    alternatives = sorted(owners, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, alternatives))), owners


def _forms(value: str) -> list[str]:
    if not value:
        return []
    forms = [repr(value), json.dumps(value), json.dumps(value, ensure_ascii=False)]
    if len(value) >= MIN_SECRET_LENGTH:
        escaped = [json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]]
        # as the terminal escaping shows it: error lines are escaped before they reach the output filter
        forms += [*escaped, printable(value), value]
    return forms


def masked_text(value: str, mask: str, before: str | None = None) -> str:
    """``value`` of a field whose file text mixes words with ``${NAME}``s, shown as ``mask`` (that text with each
    secret as ``SENSITIVE``): only the secret parts are hidden, and one that differs from the same part of
    ``before`` (the platform's value) shows as ``SENSITIVE_CHANGED``. A value the mask does not fit (the
    platform's, with other text around) is hidden whole: nothing says where its secret parts are.
    """
    parts = _mask_pattern(mask).fullmatch(value)
    if parts is None:
        return SENSITIVE
    old = _mask_pattern(mask).fullmatch(before) if before is not None else None
    literals = mask.split(SENSITIVE)
    shown = [literals[0]]
    for index, literal in enumerate(literals[1:], start=1):
        changed = old is not None and old.group(index) != parts.group(index)
        shown += [SENSITIVE_CHANGED if changed else SENSITIVE, literal]
    return "".join(shown)


@lru_cache(maxsize=64)
def _mask_pattern(mask: str) -> re.Pattern[str]:
    return re.compile("(.*?)".join(map(re.escape, mask.split(SENSITIVE))), re.DOTALL)

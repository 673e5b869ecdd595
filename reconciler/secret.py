"""``Secret``: the API token, or a value that came from the environment, held so that it cannot be printed.

Its ``repr``, ``str`` and every format show the marker ``(sensitive)``; the raw text comes out only through
``reveal()``, called where the value must leave the process (the Authorization header, a keyed digest, the
redactor that masks output). Every object that holds such a value holds it as a ``Secret``, so that no repr, log
line, traceback or f-string can show it by accident. It is never equal to a ``str`` (a comparison with raw text
would be a leak waiting to happen) and refuses to be pickled.
"""

from __future__ import annotations

import hmac
from typing import NoReturn, final

SENSITIVE = "(sensitive)"


@final
class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

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

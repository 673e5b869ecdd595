"""PURE: what an apply did, as values — one Outcome per change sent, what the read-back still finds different
or twice, the Report of it all that the renderers print, and the ids ``--pin-ids`` wrote into files. Beside
``plan`` in the core: a renderer of a report needs neither the client nor the applier.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.errors import Problem
from reconciler.plan import Action


class Status(StrEnum):
    """How one change of an apply ended. A ``str``, like ``Action``."""

    APPLIED = "applied"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    key: str
    action: Action
    status: Status
    id: int | None = None
    message: str = ""
    problems: tuple[Problem, ...] = ()
    uncertain: bool = False  # a create that may have happened, with no id to show: the read-back looks it up


@dataclass(frozen=True)
class Unconverged:
    key: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Duplicate:
    """A name this apply created that the read-back finds on more than one assistant: a create raced it."""

    key: str
    file: str | None
    name: str
    ids: tuple[int, ...]
    ours: int

    def __str__(self) -> str:
        return (
            f"{len(self.ids)} assistants are now named {self.name!r} (ids {', '.join(map(str, self.ids))}; "
            f"this apply created {self.ours}): another apply or someone else created one at the same time. "
            f"Delete the one you do not want, or add id: to {self.file or self.key} to say which one the file manages"
        )


@dataclass(frozen=True)
class Report:
    outcomes: tuple[Outcome, ...]
    unconverged: tuple[Unconverged, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()
    read_back_failed: str | None = None  # why the read-back could not say whether the apply converged
    interrupted: bool = False  # Ctrl-C: ``outcomes`` are the writes that completed, and nothing was read back

    @property
    def ok(self) -> bool:
        return (
            all(o.status == Status.APPLIED for o in self.outcomes)
            and not self.unconverged
            and not self.duplicates
            and self.read_back_failed is None
            and not self.interrupted
        )


@dataclass(frozen=True)
class Pin:
    """One file to pin: its key and path, the id to write, and the id it replaces (None: the file has none)."""

    key: str
    file: str
    id: int
    replaces: int | None = None


@dataclass(frozen=True)
class Pinned:
    """What ``--pin-ids`` did: the pins written, and a sentence for each file it left alone."""

    written: tuple[Pin, ...] = ()
    refused: tuple[str, ...] = ()

"""PURE: which assistant on the platform a file manages: by ``id``, by its record, by name — never by accident.

The order, and why (docs/contract.md#identity):
1. ``id: N`` binds the file to assistant N. When N is gone (deleted by hand), the assistant this file re-created
   is found through its record; failing that, the plan re-creates it: drift, not an error.
2. Without ``id``, the record (record.py) that every create writes, ``(owner, key)``, finds the assistant even
   after its name changed: a rename is an update of ``name``, never a create and a delete.
3. Failing that, the name. An assistant whose record names another owner, or another file of this owner that
   still exists, is never taken over; one without a record is adopted, and the plan says so in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from reconciler.constraints import api_trim
from reconciler.record import Ownership, ownership_of
from reconciler.remote import Account, RemoteAssistant


@dataclass(frozen=True)
class Match:
    """The assistant a file manages (None: none yet, so the plan creates it) and what the plan says about it."""

    target: RemoteAssistant | None
    note: str = ""
    move_record: bool = False  # the record names an older key of this file (a renamed file): rewrite it
    stale_id: int | None = None  # the file's id, gone from the platform


@dataclass(frozen=True)
class Refusal:
    field: str  # the file's key the problem is reported at
    message: str


@dataclass(frozen=True)
class Identity:
    """What matching needs beyond one file: the account, the ids other files bind, this run's owner and the keys
    of every file in the directory (a record whose key still has a file is that file's, not a stray)."""

    account: Account
    bound: Mapping[int, str]  # assistant id → the file that binds it by ``id``
    owner: str
    keys: frozenset[str]

    def match(self, key: str, assistant_id: int | None, name: str | None) -> Match | Refusal:
        if assistant_id is not None:
            return self._by_id(key, assistant_id)
        recorded = self._by_record(key)
        if recorded is not None:
            return recorded
        return self._by_name(key, api_trim(name or ""))

    def recorded(self, key: str) -> list[RemoteAssistant]:
        """The assistants whose record says this owner manages them as ``key``."""
        return self._by_ownership.get(Ownership(self.owner, key), [])

    @cached_property
    def _by_ownership(self) -> dict[Ownership, list[RemoteAssistant]]:
        # one pass over the account, not one per file: a plan matches thousands of files against it
        index: dict[Ownership, list[RemoteAssistant]] = {}
        for assistant in self.account.assistants:
            own = ownership_of(assistant.record)
            if own is not None:
                index.setdefault(own, []).append(assistant)
        return index

    def _by_id(self, key: str, assistant_id: int) -> Match | Refusal:
        found = self.account.by_id(assistant_id)
        if found is not None:
            return Match(found)
        again = [a for a in self.recorded(key) if a.id not in self.bound]
        if len(again) == 1:
            return Match(
                again[0],
                f"the file's id {assistant_id} is out of date: the assistant is now id {again[0].id} "
                "(apply --pin-ids writes it)",
                stale_id=assistant_id,
            )
        return Match(
            None,
            f"assistant {assistant_id} was deleted outside the repository: apply creates it again",
            stale_id=assistant_id,
        )

    def _by_record(self, key: str) -> Match | Refusal | None:
        found = self.recorded(key)
        if len(found) > 1:
            return _several(found, "record this file as theirs")
        if not found:
            return None
        if found[0].id in self.bound:
            return Refusal(
                "name",
                f"its record names assistant {found[0].id}, which {self.bound[found[0].id]} binds by id",
            )
        return Match(found[0])

    def _by_name(self, key: str, name: str) -> Match | Refusal:
        candidates = self.account.named(name)
        if len(candidates) > 1:
            return _several(candidates, f"are named {name!r}")
        if not candidates:
            return Match(None)
        candidate = candidates[0]
        if candidate.id in self.bound:
            return Refusal(
                "name", f"matches assistant {candidate.id}, which {self.bound[candidate.id]} binds by id"
            )
        return self._adopt(key, candidate)

    def _adopt(self, key: str, candidate: RemoteAssistant) -> Match | Refusal:
        own = ownership_of(candidate.record)
        if own is None:
            return Match(
                candidate, f"adopts assistant {candidate.id} by name: no record says which file manages it"
            )
        if own.key == key and not self.owner:
            return Match(candidate)  # this run cannot say who it is; the name and the key both agree
        if own.owner != self.owner:
            return Refusal(
                "name",
                f"matches assistant {candidate.id} by name, but its record says {_owner(own.owner)} manages it "
                f"as {own.key!r}; add id: {candidate.id} to take it over on purpose",
            )
        if own.key in self.keys:
            return Refusal(
                "name",
                f"matches assistant {candidate.id} by name, but its record says the file {own.key!r} manages it, "
                f"and that file is still here; give this assistant another name, or add id: {candidate.id} to "
                "move it to this file",
            )
        return Match(
            candidate,
            f"adopts assistant {candidate.id}: its record names the file {own.key!r}, which is gone (a renamed "
            f"file); the record moves to {key!r}",
            move_record=True,
        )


def _several(found: list[RemoteAssistant], which: str) -> Refusal:
    ids = ", ".join(str(a.id) for a in found)
    return Refusal(
        "name", f"{len(found)} assistants on the platform {which} (ids {ids}); add id: to say which"
    )


def _owner(owner: str) -> str:
    return repr(owner) if owner else "a run outside any git repository (no owner)"

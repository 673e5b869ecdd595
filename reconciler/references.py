"""Plan-time checks of the account's catalog: every id a file references must be one the API would accept.

The API answers 422 for an id the account does not have, a voice that does not suit the mode, and an inbound
assistant's number that is a Caller ID number or another inbound assistant's (``docs/api.md#update-fields``).
A plan that said "green" and then met one of these at apply would have lied, so they are plan-time problems.

Which fields are references, and through which lookup, is ``fields.REFERENCE_FIELDS``; the lookups go through
``names.Catalog``, so each distinct one is one request for the whole run. Everything here is pure over the
catalog's answers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import fields
from reconciler.desired import DesiredAssistant
from reconciler.errors import Problem
from reconciler.names import Catalog, Context, Entry, describe_id
from reconciler.plan import Action, Change
from reconciler.remote import Account

Path = tuple[str | int, ...]
CALLER_ID = "Caller ID"  # the phone numbers' type_label that only presents an outbound caller id
MAX_CANDIDATES = 10  # a catalog may hold hundreds of voices: name a few, and say how many more


def problems(
    assistants: Iterable[DesiredAssistant], changes: Iterable[Change], account: Account, catalog: Catalog
) -> list[Problem]:
    """Every reference the planned writes would send that the API would refuse, named in its file.

    Checked on what the plan sends (the API validates the keys of a body, over the state they merge into), so
    a plan with no change asks no lookup, and a value the platform already holds is not judged again.
    """
    files = {a.key: a for a in assistants}
    planned = [c for c in changes if c.key in files and c.action in (Action.CREATE, Action.UPDATE)]
    found: list[Problem] = []
    for change in planned:
        assistant = files[change.key]
        current = _current(change, account)
        after = {**current, **change.body}
        language = after.get("language_id")
        context = Context(
            after.get("mode"), language if isinstance(language, int) else None, after.get("type")
        )
        written = assistant.declared()
        for path, message in check(change.body, context, catalog, written=written, current=current):
            found.append(assistant.source.problem(path, message))
    return found + number_clashes(files.values(), planned, account, catalog)


def _current(change: Change, account: Account) -> dict[str, Any]:
    remote = account.by_id(change.id) if change.id is not None else None
    return dict(remote.fields) if remote else {}


def check(
    values: Mapping[str, Any],
    context: Context,
    catalog: Catalog,
    *,
    written: Collection[str] = (),
    current: Mapping[str, Any] | None = None,
) -> list[tuple[Path, str]]:
    """Failures of one assistant's references: ``values`` are the file's resolved API fields, ``context`` the
    mode, language and type it will have after the update, ``written`` the keys the file wrote (to name
    ``voice`` rather than ``voice_id`` when the file used the name), ``current`` the platform's fields."""
    current = current or {}
    failures: list[tuple[Path, str]] = []
    for id_field, reference in fields.REFERENCE_FIELDS.items():
        if id_field in values and _applies(id_field, context):
            key = _written_key(id_field, written) or id_field
            failures += _unknown_ids(key, reference.lookup, values[id_field], context, catalog)
    failures += _kept_unsuited(values, context, catalog, written, current)
    failures += _caller_ids(values, context, catalog, written, current)
    return failures


def _applies(id_field: str, context: Context) -> bool:
    """Whether the API checks the field in this mode: a field of the other mode is reported as such elsewhere,
    and a lookup per mode cannot be made before the mode is known (a create without one is refused anyway)."""
    field = fields.BY_NAME[id_field]
    if context.mode is None:
        return (
            not field.suits_mode and field.reference is not None and field.reference.lookup != "mode_models"
        )
    return context.mode in field.modes


def _unknown_ids(
    key: str, lookup: str, value: Any, context: Context, catalog: Catalog
) -> list[tuple[Path, str]]:
    items = value if isinstance(value, list) else [value]
    failures: list[tuple[Path, str]] = []
    for index, item in enumerate(items):
        if not isinstance(item, int) or isinstance(item, bool):
            continue  # null detaches; a value of the wrong type is the file check's to report
        message = _unknown(lookup, item, context, catalog)
        if message:
            failures.append(((key, index) if isinstance(value, list) else (key,), message))
    return failures


def _unknown(lookup: str, value: int, context: Context, catalog: Catalog) -> str | None:
    """Why the API would refuse ``value`` in ``lookup``, or None. Only the mode narrows (voices, and models
    per type): the API documents no language rule for voices or providers, so none is invented here."""
    narrowed = Context(mode=context.mode)
    entries = catalog.entries(lookup, narrowed)
    if any(entry.id == value for entry in entries):
        return None
    if lookup == "voices" and context.mode:
        elsewhere = next((e for e in catalog.entries(lookup, Context()) if e.id == value), None)
        if elsewhere is not None:
            return (
                f"voice {value} ({elsewhere.label}) does not suit {context.mode} mode; {_candidates(entries)}"
            )
    return f"no {describe_id(lookup, value, narrowed)}; {_candidates(entries)}"


def _kept_unsuited(
    values: Mapping[str, Any],
    context: Context,
    catalog: Catalog,
    written: Collection[str],
    current: Mapping[str, Any],
) -> list[tuple[Path, str]]:
    """A body that changes the mode and not the voice keeps the platform's voice; the API checks it against the
    new mode all the same, so a mode switch that keeps a voice the new mode cannot use fails here."""
    if "mode" not in values or values["mode"] == current.get("mode") or context.mode is None:
        return []
    failures: list[tuple[Path, str]] = []
    for id_field in sorted(fields.SUITS_MODE - set(values)):
        kept = current.get(id_field)
        reference = fields.REFERENCE_FIELDS[id_field]
        if not isinstance(kept, int) or isinstance(kept, bool):
            continue
        message = _unknown(reference.lookup, kept, context, catalog)
        if message is None:
            continue
        key = _written_key(id_field, written)
        if key is None:  # the file leaves the voice to the platform: say where it comes from
            entries = catalog.entries(reference.lookup, Context(mode=context.mode))
            key, message = (
                "mode",
                (
                    f"the platform's {id_field} {kept} does not suit {context.mode} mode, and this file keeps it; "
                    f"set {reference.key} or {id_field}; {_candidates(entries)}"
                ),
            )
        failures.append(((key,), message))
    return failures


def _written_key(id_field: str, written: Collection[str]) -> str | None:
    """The key the file wrote the field under: its name key, the id field, or neither (None)."""
    reference = fields.REFERENCE_FIELDS[id_field]
    return next((k for k in (reference.key, id_field) if k in written), None)


def _caller_ids(
    values: Mapping[str, Any],
    context: Context,
    catalog: Catalog,
    written: Collection[str],
    current: Mapping[str, Any],
) -> list[tuple[Path, str]]:
    """An inbound assistant's number cannot be a Caller ID number: checked when the file sets the number, or
    turns the assistant inbound with the number the platform keeps."""
    if context.type != "inbound":
        return []
    turns_inbound = "type" in values and values["type"] != current.get("type")
    failures: list[tuple[Path, str]] = []
    for id_field in sorted(fields.INBOUND_EXCLUSIVE):
        if id_field not in values and not turns_inbound:
            continue
        number = values.get(id_field, current.get(id_field))
        rows = catalog.rows(fields.REFERENCE_FIELDS[id_field].lookup, Context())
        row = next((r for r in rows if r.get("id") == number), None)
        if row is None or row.get("type_label") != CALLER_ID:
            continue  # an unknown number is reported as unknown
        key = _written_key(id_field, written) or "type"
        usable = [_number_entry(r) for r in rows if r.get("type_label") != CALLER_ID and _has_id(r)]
        whose = "the platform's " if key == "type" else ""
        failures.append(
            (
                (key,),
                f"{whose}phone number {number} ({row.get('phone_number')}) is a Caller ID number, which an "
                f"inbound assistant cannot use; {_candidates(usable)}",
            )
        )
    return failures


# --- numbers held by two inbound assistants ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Holder:
    number: int
    who: str  # "inbound assistant 12 (Support Line)" or "the inbound assistant of b.yaml"
    key: str | None  # the file that manages it, if any
    file: str | None  # and that file's path
    id: int | None  # the platform id, if any
    releasing: bool = False  # its file gives the number up in this same plan


def number_clashes(
    assistants: Iterable[DesiredAssistant], changes: Iterable[Change], account: Account, catalog: Catalog
) -> list[Problem]:
    """Inbound assistants the plan gives a number another inbound assistant holds: on the platform, or by
    another file of this plan. A number its holder's file releases in the same plan still clashes: the writes
    may run in any order, and the API refuses the claim until the release is applied."""
    files = {a.key: a for a in assistants}
    planned = [
        c for c in changes if c.key in files and c.action in (Action.CREATE, Action.UPDATE, Action.NOOP)
    ]
    after = {c.key: _after(c, account) for c in planned}
    holders = _holders(planned, after, account)
    problems: list[Problem] = []
    for change in planned:
        for id_field in sorted(fields.INBOUND_EXCLUSIVE):
            state = after[change.key]
            number = state.get(id_field)
            claims = (
                state.get("type") == "inbound"
                and isinstance(number, int)
                and bool({id_field, "type"} & set(change.body))
            )
            if not claims or not isinstance(number, int):
                continue
            other = next((h for h in holders if h.number == number and not _same(h, change)), None)
            if other is None:
                continue
            assistant = files[change.key]
            key = _written_key(id_field, assistant.declared()) or "type"
            message = _clash_message(number, other, holders, catalog)
            problems.append(assistant.source.problem((key,), message))
    return problems


def _after(change: Change, account: Account) -> dict[str, Any]:
    return {**_current(change, account), **change.body}


def _holders(planned: list[Change], after: dict[str, dict[str, Any]], account: Account) -> list[_Holder]:
    """Who holds which inbound number: the platform as it is (first), then each planned assistant after it."""
    manager = {c.id: c.key for c in planned if c.id is not None}
    holders = []
    for id_field in sorted(fields.INBOUND_EXCLUSIVE):
        for remote in account.assistants:
            number = remote.fields.get(id_field)
            if remote.fields.get("type") != "inbound" or not isinstance(number, int):
                continue
            key = manager.get(remote.id)
            kept = key is None or (after[key].get("type") == "inbound" and after[key].get(id_field) == number)
            who = f"inbound assistant {remote.id} ({remote.name})"
            file = next((c.file for c in planned if c.key == key), None)
            holders.append(_Holder(number, who, key, file, remote.id, releasing=not kept))
        for change in planned:
            state = after[change.key]
            number = state.get(id_field)
            if state.get("type") == "inbound" and isinstance(number, int):
                who = f"the inbound assistant of {change.file}"
                holders.append(_Holder(number, who, change.key, change.file, change.id))
    return holders


def _same(holder: _Holder, change: Change) -> bool:
    return holder.key == change.key or (holder.id is not None and holder.id == change.id)


def _clash_message(number: int, other: _Holder, holders: list[_Holder], catalog: Catalog) -> str:
    rows = catalog.rows(fields.REFERENCE_FIELDS["phone_number_id"].lookup, Context())
    row = next((r for r in rows if r.get("id") == number), {})
    held = {h.number for h in holders}
    free = [
        _number_entry(r)
        for r in rows
        if r.get("type_label") != CALLER_ID
        and _has_id(r)
        and r.get("id") not in held
        and r.get("is_available") is not False
    ]
    text = f"phone number {number} ({row.get('phone_number', 'unknown')}) is already used by {other.who}"
    if other.releasing:
        text += (
            f", which {other.file} gives up in this plan; the writes may run in any order and the API refuses the "
            f"number until that one is applied: apply --target {other.key} first"
        )
    return f"{text}; an inbound number serves one assistant; {_candidates(free)}"


def _has_id(row: dict[str, Any]) -> bool:
    return isinstance(row.get("id"), int) and not isinstance(row.get("id"), bool)


def _number_entry(row: dict[str, Any]) -> Entry:
    return Entry(int(row["id"]), (str(row.get("phone_number")),))


def _candidates(entries: list[Entry]) -> str:
    shown = ", ".join(f"{e.id} ({e.label})" for e in entries[:MAX_CANDIDATES]) or "none"
    more = len(entries) - MAX_CANDIDATES
    return f"candidates: {shown}" + (f" and {more} more" if more > 0 else "")

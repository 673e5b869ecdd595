"""PURE: planning, the desired state x the account as read → a Plan.

No I/O here: the session reads the account (and hands in the catalog's lookups), so the same functions serve
``plan``, the stale check of a saved plan and the verification after ``apply``, and are tested without a server.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from reconciler import names, references
from reconciler.desired import BATCH, DesiredAssistant, DesiredState
from reconciler.diff import Diff, diff_create, diff_update
from reconciler.errors import FilesInvalid, Problem, ReconcilerError, UsageError
from reconciler.fields import required_on_create
from reconciler.identity import Identity, Match, Refusal
from reconciler.layers import NAME_KEY_OF
from reconciler.plan import Action, Change, FieldChange, Plan, Safety, Unmanaged, unsafe_reasons
from reconciler.record import Digest, Ownership, ownership_of
from reconciler.remote import Account, RemoteAssistant, canonical_values
from reconciler.secret import Secret
from reconciler.spec import API_FIELDS, NAME_KEYS
from reconciler.text import display_path, frozen
from reconciler.tolerance import api_path, extra_values


def check_creates_trusted(plan: Plan, account: Account) -> None:
    """Refuse a plan that creates from a listing that may have missed the assistant: it would be a duplicate.

    Updates and deletes name assistants the listing did show, so a plan without creates stays possible.
    """
    if account.inconsistency and any(change.action == Action.CREATE for change in plan.changes):
        raise ReconcilerError(f"{account.inconsistency}: refusing to plan creates from it")


def select(state: DesiredState, targets: Sequence[str]) -> list[DesiredAssistant]:
    """The assistants named by ``--target`` (globs allowed); all of them without it."""
    if not targets:
        return list(state.assistants)
    for pattern in targets:
        if not any(fnmatch.fnmatchcase(a.key, pattern) for a in state.assistants):
            raise UsageError(f"--target {pattern!r} matches no file in {state.directory}")
    return [a for a in state.assistants if any(fnmatch.fnmatchcase(a.key, p) for p in targets)]


def desired_values(assistant: DesiredAssistant) -> dict[str, Any]:
    """The file's declared API fields, as the API would store them."""
    declared = assistant.declared()
    values = canonical_values(_api_fields_among(frozenset(declared)), declared)
    return values | extra_values(declared)  # sent flat, by their API names


@lru_cache(maxsize=256)
def _api_fields_among(keys: frozenset[str]) -> tuple[str, ...]:
    """The API fields among a file's keys, in the API's order: the files of a fleet share a few sets of keys."""
    return tuple(name for name in API_FIELDS if name in keys)


@dataclass(frozen=True)
class Options:
    targets: Sequence[str] = ()
    owner: str = (
        ""  # who manages what this run creates: every create records it with the file's key (record.py)
    )
    prune: bool = False  # record ownership on every assistant, delete what this owner recorded and lost
    safety: Safety = field(default_factory=Safety)


def build_plan(
    state: DesiredState,
    account: Account,
    *,
    digest: Digest,
    catalog: names.Catalog | None = None,
    account_id: str = "",
    options: Options = Options(),
) -> Plan:
    selected = select(state, options.targets)
    if options.prune and account.assistants and "variables" not in account.observed:
        raise ReconcilerError("--prune needs the API to return variables, where ownership is recorded")
    identity = identity_of(state, account, options.owner)
    planner = _Planner(account, identity, digest, catalog or names.Catalog(_no_lookups), options.prune)
    changes = _changes_or_raise(state, selected, planner)
    if options.prune:
        changes += _deletions(state, identity, options.targets)
    unsafe = unsafe_reasons(
        changes, files=len(state.assistants), account_size=len(account.assistants), safety=options.safety
    )
    # a --target plan is partial: the rest of the account is outside what it was asked about
    unmanaged = None if options.targets else _unmanaged(account, changes)
    return Plan.of(
        changes,
        account=account_id,
        files=files_digest(state),
        unsafe=unsafe,
        owner=options.owner,
        prune=options.prune,
        unmanaged=unmanaged,
        file_digests=file_digests(state),
    )


def _changes_or_raise(
    state: DesiredState, selected: list[DesiredAssistant], planner: _Planner
) -> list[Change]:
    """One change per selected file; every problem of every file at once (FilesInvalid), or none.

    In batches, stage by stage as ``desired.check_files`` checks files: the values of every file of a batch,
    the assistant each one matches, then each file's plan (build_plan of 10,000 assistants, in one process:
    53.2-53.6 -> 45.5-46.3 us each with the values first, 45.8-49.5 -> 42.6-43.6 with the matches too,
    issue 19). Matching is pure: each file is matched against the account and the directory, not the others'
    matches."""
    problems: list[Problem] = []
    changes: list[Change] = []
    for start in range(0, len(selected), BATCH):
        batch = selected[start : start + BATCH]
        values = [desired_values(a) for a in batch]
        matches = [matched(a, planner.identity) for a in batch]
        for assistant, wanted, match in zip(batch, values, matches, strict=True):
            result = planner.plan(assistant, wanted, match)
            if isinstance(result, Change):
                changes.append(result)
            else:
                problems += result
    problems += references.problems(selected, changes, planner.account, planner.catalog)
    if problems:
        raise FilesInvalid(problems, len(state.assistants))
    return changes


def managing_files(state: DesiredState, account: Account, owner: str) -> dict[int, DesiredAssistant]:
    """Remote id → the file that manages it, matched as the plan matches (id, record, name)."""
    identity = identity_of(state, account, owner)
    matches = ((a, matched(a, identity)) for a in state.assistants)
    return {m.target.id: a for a, m in matches if isinstance(m, Match) and m.target is not None}


def _unmanaged(account: Account, changes: list[Change]) -> list[Unmanaged]:
    """What no file manages and the plan does not delete (--prune lists those as deletes instead): a plan of
    every file holds one change per file, with the id of the assistant it matched, so the ids are all known."""
    known = {c.id for c in changes if c.id is not None}
    return [Unmanaged(r.id, r.name) for r in account.assistants if r.id not in known]


def identity_of(state: DesiredState, account: Account, owner: str) -> Identity:
    bound = {a.id: a.source.file for a in state.assistants if a.id is not None}
    return Identity(account, bound, owner, frozenset(a.key for a in state.assistants))


def matched(assistant: DesiredAssistant, identity: Identity) -> Match | Refusal:
    return identity.match(assistant.key, assistant.id, assistant.name)


def _no_lookups(path: str, params: dict[str, str] | None) -> Any:
    raise ReconcilerError(f"name references need the API's lookups ({path}), and this plan has no client")


def _deletions(state: DesiredState, identity: Identity, targets: Sequence[str]) -> list[Change]:
    """Assistants this owner recorded as its own whose file is gone: never any other assistant."""
    managed = {
        m.target.id
        for a in state.assistants
        if isinstance(m := matched(a, identity), Match) and m.target is not None
    }
    deletions = []
    for remote in identity.account.assistants:
        own = ownership_of(remote.record)
        if own is None or own.owner != identity.owner or remote.id in managed:
            continue
        if targets and not any(fnmatch.fnmatchcase(own.key, t) for t in targets):
            continue
        deletions.append(
            Change(own.key, None, Action.DELETE, remote.id, remote.name, fingerprint=remote.fingerprint)
        )
    return deletions


@dataclass(frozen=True)
class _Planner:
    account: Account
    identity: Identity
    digest: Digest
    catalog: names.Catalog
    prune: bool

    def plan(
        self, assistant: DesiredAssistant, values: dict[str, Any], match: Match | Refusal
    ) -> Change | list[Problem]:
        """The change for ``assistant``, whose ``desired_values`` are ``values`` and which ``matched`` ``match``,
        or its problems."""
        if isinstance(match, Refusal):
            return [_problem(assistant, match.field, match.message)]
        target = match.target
        context = _context(target)
        declared = assistant.declared()
        if not NAME_KEYS.keys().isdisjoint(declared):
            values, failures = names.resolve(declared, values, context, self.catalog)
            if failures:
                return [_problem_at(assistant, path, message) for path, message in failures]
        label = _labels(values, context, self.catalog)
        ownership = Ownership(self.identity.owner, assistant.key)
        if target is None:
            missing = _missing_for_create(values)
            if missing:
                return [_problem(assistant, "", _cannot_create(assistant, match, missing))]
            result = diff_create(values, self.account.observed, self.digest, ownership)
            return _change(assistant, Action.CREATE, None, result, label, match)
        # an update records ownership only where it is asked for (--prune) or moves (a renamed file): bodies
        # stay minimal, and an assistant adopted by name keeps no record until one is needed
        claim = ownership if self.prune or match.move_record else None
        result = diff_update(values, assistant.ignore_changes, target, self.digest, claim)
        conflict = _conflict_after_update(target, result.body)
        if conflict:
            return [_problem(assistant, *conflict)]
        action = Action.NOOP if result.empty else Action.UPDATE
        return _change(assistant, action, target, result, label, match)


def _context(target: RemoteAssistant | None) -> names.Context:
    if target is None:
        return names.Context()
    language = target.fields.get("language_id")
    return names.Context(
        target.mode, language if isinstance(language, int) else None, target.fields.get("type")
    )


def _labels(
    values: dict[str, Any], base: names.Context, catalog: names.Catalog
) -> Callable[[FieldChange], FieldChange]:
    context = names.Context(
        values.get("mode", base.mode),
        values.get("language_id", base.language_id),
        values.get("type", base.type),
    )

    def label(change: FieldChange) -> FieldChange:
        try:
            return names.labelled(change, context, catalog)  # type: ignore[no-any-return]
        except (ReconcilerError, ValueError, TypeError, AttributeError):
            return change  # a label is a courtesy: a lookup that fails must not fail the plan

    return label


def _conflict_after_update(current: RemoteAssistant, body: dict[str, Any]) -> tuple[str, str] | None:
    """Rules the API checks on the merged state, where the file's half of the pair is left as it is.

    The file alone looked valid, but the platform keeps a value the update would contradict, so the API would
    answer 422; saying so at plan time names the file and the way out.
    """
    if "webhook_url" not in body and "mode" not in body:
        return None  # nine updates in ten: neither half of a pair is written
    merged = {**current.fields, **body}
    if "webhook_url" in body and merged.get("is_webhook_active") is True and not merged.get("webhook_url"):
        return "webhook_url", (
            "this plan clears webhook_url, but is_webhook_active is true on the platform and the file leaves it "
            "as it is; set is_webhook_active: false, or set webhook_url"
        )
    if "mode" in body and merged.get("mode") != "pipeline" and merged.get("allow_interruptions") is False:
        return "mode", (
            f"allow_interruptions is false on the platform, which {merged.get('mode')} mode refuses; "
            "set allow_interruptions: true in the file"
        )
    if "mode" in body and merged.get("mode") != "pipeline" and merged.get("knowledgebase_mode") == "prompt":
        return "mode", (
            f"knowledgebase_mode is prompt on the platform, which {merged.get('mode')} mode refuses; "
            "set knowledgebase_mode: function_call in the file"
        )
    return None


def _cannot_create(assistant: DesiredAssistant, match: Match, missing: list[str]) -> str:
    needs = ", ".join(missing)
    if match.stale_id is not None:
        return (
            f"assistant {match.stale_id} is not on the platform any more, so creating it again needs: {needs}"
        )
    return f"{assistant.name!r} is not on the platform, so creating it needs: {needs}"


def _missing_for_create(values: dict[str, Any]) -> list[str]:
    return [name for name in required_on_create(values.get("mode")) if values.get(name) is None]


def _problem_at(assistant: DesiredAssistant, path: tuple[str | int, ...], message: str) -> Problem:
    return assistant.source.problem(path, message)


def _problem(assistant: DesiredAssistant, field: str, message: str) -> Problem:
    return assistant.source.problem((field,) if field else (), message)


def _change(
    assistant: DesiredAssistant,
    action: Action,
    target: RemoteAssistant | None,
    result: Diff,
    label: Callable[[FieldChange], FieldChange] = lambda change: change,
    match: Match | None = None,
) -> Change:
    notes: tuple[str, ...] = ((match.note,) if match and match.note else ()) + result.notes
    if result.unobservable:
        fields = ", ".join(result.unobservable)
        notes += (
            f"{fields}: not returned by the API and no variables to keep a record in; sent on every apply",
        )
    return Change(
        key=assistant.key,
        file=assistant.source.file,
        action=action,
        id=target.id if target else None,
        name=(assistant.name or (target.name if target else None)),
        body=result.body,
        fields=tuple(_sourced(assistant, label(change)) for change in result.changes),
        fingerprint=target.fingerprint if target else None,
        secret_paths=frozen(display_path(api_path(p)) for p in assistant.source.secret_paths),
        secret_masks={display_path(api_path(p)): mask for p, mask in assistant.source.masks.items()},
        notes=notes,
        pin=target.id if target and match and match.stale_id is not None else None,
    )


def _sourced(assistant: DesiredAssistant, change: FieldChange) -> FieldChange:
    """The change with the origin of its value (docs/contract.md#layers), for a file with layers: ``FILE:LINE``
    relative to the current directory, or None for a field cleared because no layer sets it."""
    source = assistant.source
    if not source.layers:
        return change  # a file without layers is the origin of all it declares: its plan stays as it was
    key = change.path if change.path in source.data else NAME_KEY_OF.get(change.path)
    if key is None or key not in source.data:
        return replace(change, traced=True)
    file, line = source.origin_of((key,))
    shown = f"{os.path.relpath(file)}:{line}"
    return replace(change, source=shown, traced=True, from_layer=file != source.file)


def files_digest(state: DesiredState) -> str:
    """A digest of the files as written (``${NAME}``, not secret values), to tie a saved plan to its files."""
    parts: list[Any] = sorted((a.key, a.source.digest) for a in state.assistants)
    layers = sorted({layer for a in state.assistants for layer in a.source.layers})
    if layers:  # a directory without layers keeps the digest it had: its saved plans stay valid
        parts.append(["layers", layers])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def file_digests(state: DesiredState) -> dict[str, str]:
    """Each file's digest, by its path relative to the directory (a plan saved in one working directory is
    applied from another): what a saved plan's refusal compares to name the files that changed."""
    digests = {_relative(a.source.file, state.directory): a.source.digest[:16] for a in state.assistants}
    for file, digest in {layer for a in state.assistants for layer in a.source.layers}:
        digests[os.path.relpath(file, state.directory)] = digest[:16]  # an edited layer is named as a file
    return digests


def _relative(file: str, directory: Path) -> str:
    """``os.path.relpath(file, directory)``, without its two ``abspath`` calls for the usual file, which is
    ``directory/NAME`` as discovery made it (7 us a file, 10,000 files: issue 19)."""
    prefix = "" if str(directory) == "." else os.path.join(directory, "")
    name = file[len(prefix) :]
    if file.startswith(prefix) and name and os.sep not in name and name not in (".", ".."):
        return name
    return os.path.relpath(file, directory)


def account_digest(api_url: str, token: Secret) -> str:
    return hashlib.sha256(f"{api_url.rstrip('/')}\n{token.reveal()}".encode()).hexdigest()[:16]

"""Executing a Plan through the client: bounded concurrency, duplicate-free creates, per-assistant results with
422s mapped back to file and line, and a read-back that proves every applied assistant now matches its file.

Why creates are special: a create whose answer was lost (a reset, a timeout, a 5xx) may or may not have
happened, and the API has no idempotency key. Retrying blindly can make a duplicate. So after an uncertain
create the account is listed again and the name looked for; only when it is absent is the create sent again.
Updates carry absolute values, so repeating one is harmless and the client retries them itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from reconciler.client import ApiError, Client
from reconciler.constraints import api_trim
from reconciler.desired import DesiredAssistant, DesiredState
from reconciler.errors import Problem, ReconcilerError
from reconciler.plan import Change, Plan
from reconciler.reconcile import desired_values, stale_changes
from reconciler.remote import Account
from reconciler.secret import SENSITIVE
from reconciler.text import Path_, display_path

CREATE_ATTEMPTS = 6


@dataclass(frozen=True)
class Outcome:
    key: str
    action: str
    status: str  # applied | failed
    id: int | None = None
    message: str = ""
    problems: tuple[Problem, ...] = ()


class UnmaskError(ReconcilerError):
    """A saved plan holds a secret marker the files cannot fill in."""


def fill_secrets(change: Change, assistant: DesiredAssistant | None) -> dict[str, Any]:
    """The change's body with every ``(sensitive)`` marker replaced by the value the files give today."""
    values = desired_values(assistant) if assistant else {}

    def fill(value: Any, path: Path_) -> Any:
        if value == SENSITIVE:
            found = _lookup(values, path)
            if found is _MISSING:
                raise UnmaskError(
                    f"{change.key}: the saved plan hides {display_path(path)}, and the files do not set it"
                )
            return found
        if isinstance(value, dict):
            return {k: fill(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, (*path, i)) for i, v in enumerate(value)]
        return value

    return {k: fill(v, (k,)) for k, v in change.body.items()}


_MISSING = object()


def _lookup(data: Any, path: Path_) -> Any:
    for part in path:
        if not isinstance(data, dict | list):
            return _MISSING
        try:
            data = data[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return data


class Applier:
    def __init__(self, client: Client, state: DesiredState, *, concurrency: int = 4) -> None:
        self.client = client
        self.by_key = {a.key: a for a in state.assistants}
        self.concurrency = max(1, concurrency)

    def run(self, plan: Plan, on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        work = [c for c in plan.changes if c.action != "noop"]
        bodies = {c.key + c.action: fill_secrets(c, self.by_key.get(c.key)) for c in work}  # all or nothing
        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for outcome in pool.map(lambda c: self._one(c, bodies[c.key + c.action]), work):
                outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)
        return outcomes

    def _one(self, change: Change, body: dict[str, Any]) -> Outcome:
        try:
            if change.action == "create":
                return self._create(change, body)
            if change.action == "delete":
                return self._delete(change)
            self.client.update(_id(change), body)
            return Outcome(change.key, change.action, "applied", change.id)
        except ApiError as error:
            return self._failed(change, error)

    def _create(self, change: Change, body: dict[str, Any]) -> Outcome:
        name = api_trim(str(body.get("name", "")))
        for attempt in range(CREATE_ATTEMPTS):
            try:
                data = self.client.create(body)
                return Outcome(change.key, "create", "applied", int(data["data"]["id"]))
            except ApiError as error:
                if error.status == 429:  # throttled before anything happened: safe to send again
                    self.client.retry.sleep(self.client.retry.delay(attempt, None))
                    continue
                if error.status is not None and error.status < 500:
                    raise
                found = self._created_meanwhile(name)  # uncertain: did it happen?
                if found is not None:
                    return Outcome(
                        change.key,
                        "create",
                        "applied",
                        found,
                        "created (confirmed by listing after a lost answer)",
                    )
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                self.client.retry.sleep(self.client.retry.delay(attempt, None))
        raise AssertionError("unreachable")  # pragma: no cover

    def _created_meanwhile(self, name: str) -> int | None:
        matches = [
            int(item["id"])
            for item in self.client.list_assistants()
            if api_trim(str(item.get("name", ""))) == name
        ]
        return matches[0] if len(matches) == 1 else None

    def _delete(self, change: Change) -> Outcome:
        try:
            self.client.delete(_id(change))
        except ApiError as error:
            if error.status != 404:  # 404: a retry after a lost answer finds it already gone
                raise
        return Outcome(change.key, "delete", "applied", change.id)

    def _failed(self, change: Change, error: ApiError) -> Outcome:
        assistant = self.by_key.get(change.key)
        problems = tuple(_problems(assistant, error.errors)) if assistant and error.errors else ()
        return Outcome(change.key, change.action, "failed", change.id, str(error), problems)


def _id(change: Change) -> int:
    if change.id is None:
        raise ReconcilerError(f"{change.key}: a {change.action} without an assistant id")
    return change.id


def _problems(assistant: DesiredAssistant, errors: dict[str, list[str]]) -> Iterable[Problem]:
    """A 422's ``errors`` ({"tools.0.phone_number": [...]}) as problems located in the assistant's file."""
    source = assistant.source
    for key, messages in errors.items():
        path: Path_ = tuple(int(p) if re.fullmatch(r"\d+", p) else p for p in key.split("."))
        for message in messages:
            yield source.problem(path, message)


@dataclass(frozen=True)
class Unconverged:
    key: str
    fields: tuple[str, ...]


def verify(applied: Iterable[Outcome], plan_after: Plan, account: Account) -> list[Unconverged]:
    """What still differs after the apply: a field the platform silently ignored shows up here."""
    done = {o.key for o in applied if o.status == "applied" and o.action != "delete"}
    gone = {o.id for o in applied if o.status == "applied" and o.action == "delete"}
    result = [
        Unconverged(c.key, tuple(f.path for f in c.fields))
        for c in plan_after.changes
        if c.key in done and c.action != "noop"
    ]
    result += [
        Unconverged(f"id {i}", ("still exists",)) for i in sorted(i for i in gone if i and account.by_id(i))
    ]
    return result


class StalePlan(ReconcilerError):
    """The platform changed since a saved plan was made; nothing was written."""


class UnsafePlan(ReconcilerError):
    """A plan past the safety thresholds, without --force; nothing was written."""


@dataclass(frozen=True)
class Report:
    outcomes: tuple[Outcome, ...]
    unconverged: tuple[Unconverged, ...]

    @property
    def ok(self) -> bool:
        return all(o.status == "applied" for o in self.outcomes) and not self.unconverged


def check_saved(plan: Plan, *, account_id: str, files: str, account: Account) -> None:
    """Refuse a saved plan made for another account or other files, or whose assistants changed since."""
    if plan.account != account_id:
        raise StalePlan(
            "this plan was made for another account (the API URL or token differ); nothing was changed"
        )
    if plan.files != files:
        raise StalePlan("the assistant files changed since this plan was made; run reconciler plan again")
    stale = list(stale_changes(plan, account))
    if stale:
        names = ", ".join(f"{c.key} (id {c.id})" if c.id else c.key for c in stale)
        raise StalePlan(
            f"the platform changed since this plan was made: {names}; nothing was changed. "
            "Run reconciler plan --out FILE again and review it"
        )


def check_matches_files(saved: Plan, fresh: Plan) -> None:
    """Refuse a saved plan whose changes are not what the files ask for today (an edited or forged plan file).

    A plan file is data anyone with the artifact could edit: it must not be able to write to an assistant
    the files do not manage, or send a body the files did not produce.
    """
    expected = {(c.key, c.action): c for c in fresh.changes}
    forged = []
    for change in saved.changes:
        if change.action == "noop":
            continue
        twin = expected.get((change.key, change.action))
        if twin is None or twin.id != change.id or twin.data()["body"] != change.data()["body"]:
            forged.append(change.key)
    if forged:
        raise StalePlan(
            f"the saved plan asks for changes the files do not: {', '.join(forged)}; nothing was changed. "
            "Make a new plan from the files"
        )


def check_safe(plan: Plan, *, force: bool) -> None:
    if plan.unsafe and not force:
        raise UnsafePlan(f"refusing without --force: {'; '.join(plan.unsafe)}; nothing was changed")

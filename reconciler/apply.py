"""Executing a Plan through the client: bounded concurrency, duplicate-free creates, per-assistant results with
422s mapped back to file and line, and a read-back that proves every applied assistant now matches its file.

Why creates are special: a create whose answer was lost (a reset, a timeout, a 5xx) may or may not have
happened, and the API has no idempotency key. Retrying blindly can make a duplicate. So after an uncertain
create the account is listed again and the name looked for; only when it is absent is the create sent again.
Updates carry absolute values, so repeating one is harmless and the client retries them itself.

Against a neighbour creating the same name (the dashboard, another machine's apply) the API offers no
compare-and-set either: so the account is listed once more right before the creates, a create whose name
appeared since the plan is not sent, and the read-back reports any name this apply created that now exists twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from reconciler.client import Client
from reconciler.constraints import api_trim
from reconciler.desired import DesiredAssistant, DesiredState
from reconciler.errors import ApiError, Problem, ReconcilerError, UnmaskError
from reconciler.plan import Action, Change, Plan
from reconciler.reconcile import desired_values
from reconciler.remote import Account, normalise
from reconciler.results import Duplicate, Outcome, Status, Unconverged
from reconciler.secret import SENSITIVE
from reconciler.text import Path_, display_path

log = logging.getLogger("reconciler.apply")


def fill_secrets(change: Change, assistant: DesiredAssistant | None) -> dict[str, Any]:
    """The change's body with every ``(sensitive)`` marker replaced by the value the files give today."""
    values = desired_values(assistant) if assistant else {}

    def fill(value: Any, path: Path_) -> Any:
        if value == SENSITIVE or _partly_hidden(change, value, path):
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


def _partly_hidden(change: Change, value: Any, path: Path_) -> bool:
    """A saved value with a secret inside file text (``token=(sensitive)``): the files give it whole."""
    return isinstance(value, str) and SENSITIVE in value and display_path(path) in change.secret_masks


def _lookup(data: Any, path: Path_) -> Any:
    for part in path:
        if not isinstance(data, dict | list):
            return _MISSING
        try:
            data = data[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return data


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C during an apply: nothing more is sent; ``outcomes`` are the writes that completed, to be reported."""

    def __init__(self, outcomes: Iterable[Outcome]) -> None:
        super().__init__()
        self.outcomes = tuple(outcomes)


class Applier:
    def __init__(self, client: Client, state: DesiredState, *, concurrency: int = 4) -> None:
        self.client = client
        self.by_key = {a.key: a for a in state.assistants}
        # workers for as many writes as the pacer may let fly (it grows them while no limit is announced), unless
        # the caller asks for fewer than the client's own
        grown = client.pacer.max_in_flight if concurrency >= client.concurrency else concurrency
        self.concurrency = max(1, concurrency, grown)

    def run(self, plan: Plan, on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        """Every change of the plan, reported in the plan's order; Ctrl-C raises ``ApplyInterrupted``."""
        work = [c for c in plan.changes if c.action != Action.NOOP]
        bodies = {c.key + c.action: fill_secrets(c, self.by_key.get(c.key)) for c in work}  # all or nothing
        creates = [c for c in work if c.action == Action.CREATE]
        appeared = self._appeared_since_plan(creates, bodies) if creates else {}
        results: dict[int, Future[Outcome] | Outcome] = {}
        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            # creates first: the listing just read is the freshest it will be
            for index in sorted(range(len(work)), key=lambda i: work[i].action != Action.CREATE):
                change = work[index]
                found = appeared.get(change.key)
                results[index] = (
                    _appeared(change, found)
                    if found
                    else pool.submit(self._one, change, bodies[change.key + change.action])
                )
            outcomes = []
            for index in range(len(work)):
                outcome = _result(results[index])
                outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)
            return outcomes
        except KeyboardInterrupt:
            # writes in flight still finish (their answers are on the way); the queued ones are never sent
            pool.shutdown(wait=True, cancel_futures=True)
            done = (r for r in map(results.get, range(len(work))) if r is not None)
            raise ApplyInterrupted(
                _result(r) for r in done if not isinstance(r, Future) or (r.done() and not r.cancelled())
            ) from None
        finally:
            pool.shutdown(wait=True)

    def _appeared_since_plan(
        self, creates: list[Change], bodies: dict[str, dict[str, Any]]
    ) -> dict[str, list[int]]:
        """The planned creates whose name is on the platform now: one listing right before the creates.

        The plan may be minutes old (its reader took that long to type yes): someone may have made the assistant
        in the dashboard, or another machine's apply may have created it, since.
        """
        try:
            read = self.client.read_listing_as(normalise)
            account = Account(read.items, read.inconsistency)
        except ReconcilerError as error:
            raise ReconcilerError(
                f"could not list the assistants to check the creates before sending them ({error}); "
                "nothing was changed"
            ) from None
        names = {c.key: _create_name(bodies[c.key + c.action]) for c in creates}
        return {
            key: [a.id for a in account.named(name)] for key, name in names.items() if account.named(name)
        }

    def _one(self, change: Change, body: dict[str, Any]) -> Outcome:
        try:
            if change.action == Action.CREATE:
                return self._create(change, body)
            if change.action == Action.DELETE:
                return self._delete(change)
            self.client.update(_id(change), body)
            return Outcome(change.key, change.action, Status.APPLIED, change.id)
        except ApiError as error:
            return self._failed(change, error)
        except ReconcilerError as error:
            return Outcome(change.key, change.action, Status.FAILED, change.id, str(error))
        except Exception as error:  # a bug must not hide what the other workers wrote: report it with them
            log.debug("%s: %s failed", change.key, change.action, exc_info=True)
            return Outcome(
                change.key,
                change.action,
                Status.FAILED,
                change.id,
                f"unexpected error: {type(error).__name__}: {error}",
            )

    def _create(self, change: Change, body: dict[str, Any]) -> Outcome:
        name = _create_name(body)
        # as many tries as any other write (one retry policy): a resend happens only after a consistent
        # listing showed the name absent, so it cannot duplicate
        attempts = self.client.retry.attempts
        for attempt in range(attempts):
            try:
                data = self.client.create(body)
            except ApiError as error:
                if error.status == 429 and attempt < attempts - 1:  # throttled, nothing happened: resend
                    self.client.wait_to_retry(error, attempt)  # as long as its Retry-After asks
                    continue
                if error.status == 429:
                    raise
                if error.status is not None and error.status < 300:  # it happened; its answer is unreadable
                    return _unconfirmed(change, f"{error}: the create may have happened")
                if error.status is not None and error.status < 500:
                    raise
                found = self._created_meanwhile(name)  # uncertain: did it happen?
                if found is not None:
                    return Outcome(
                        change.key,
                        Action.CREATE,
                        Status.APPLIED,
                        found,
                        "created (confirmed by listing after a lost answer)",
                    )
                if attempt == attempts - 1:
                    raise
                self.client.wait_to_retry(error, attempt)
                continue
            created = _created_id(data)
            if created is None:
                return _unconfirmed(
                    change, "POST /user/assistant answered 201 without the new assistant's id"
                )
            return Outcome(change.key, Action.CREATE, Status.APPLIED, created)
        raise AssertionError("unreachable")  # pragma: no cover

    def _created_meanwhile(self, name: str) -> int | None:
        """The id the platform holds under ``name``, or None when a consistent listing shows it absent (so the
        create is safe to send again). A listing that other workers' creates keep shifting proves nothing
        absent: it is read again after a pause, and only then is the check given up (an ApiError)."""
        attempts = self.client.retry.attempts
        for attempt in range(attempts):
            read = self.client.read_listing()
            matches = [int(item["id"]) for item in read.items if api_trim(str(item.get("name", ""))) == name]
            if len(matches) == 1 or not read.inconsistency:
                return matches[0] if len(matches) == 1 else None
            if attempt < attempts - 1:
                self.client.wait_to_retry(ApiError(read.inconsistency), attempt)
        raise ApiError(read.inconsistency)

    def _delete(self, change: Change) -> Outcome:
        try:
            self.client.delete(_id(change))
        except ApiError as error:
            if error.status != 404:  # 404: a retry after a lost answer finds it already gone
                raise
        return Outcome(change.key, Action.DELETE, Status.APPLIED, change.id)

    def _failed(self, change: Change, error: ApiError) -> Outcome:
        assistant = self.by_key.get(change.key)
        problems = tuple(_problems(assistant, error.errors)) if assistant and error.errors else ()
        return Outcome(change.key, change.action, Status.FAILED, change.id, str(error), problems)


def _result(item: Future[Outcome] | Outcome) -> Outcome:
    return item.result() if isinstance(item, Future) else item


def _create_name(body: dict[str, Any]) -> str:
    return api_trim(str(body.get("name", "")))


def _appeared(change: Change, ids: list[int]) -> Outcome:
    which = f"id {ids[0]}" if len(ids) == 1 else f"ids {', '.join(map(str, ids))}"
    return Outcome(
        change.key,
        Action.CREATE,
        Status.FAILED,
        message=(
            f"not sent: {change.name!r} appeared on the platform after the plan was made ({which}); "
            "run reconciler plan again: the file now matches that assistant"
        ),
    )


def _unconfirmed(change: Change, message: str) -> Outcome:
    """A create that may have happened, with no id to show for it: the read-back looks it up by name."""
    return Outcome(change.key, Action.CREATE, Status.FAILED, message=message, uncertain=True)


def _created_id(answer: Any) -> int | None:
    """The new assistant's id from a create's answer (``{"data": {"id": 7, ...}}``), if it is one the API can mean."""
    data = answer.get("data") if isinstance(answer, dict) else None
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


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


def verify(applied: Iterable[Outcome], plan_after: Plan, account: Account) -> list[Unconverged]:
    """What still differs after the apply: a field the platform silently ignored shows up here."""
    done = {o.key for o in applied if o.status == Status.APPLIED and o.action != Action.DELETE}
    gone = {o.id for o in applied if o.status == Status.APPLIED and o.action == Action.DELETE}
    result = [
        Unconverged(c.key, tuple(f.path for f in c.fields))
        for c in plan_after.changes
        if c.key in done and c.action != Action.NOOP
    ]
    result += [
        Unconverged(f"id {i}", ("still exists",)) for i in sorted(i for i in gone if i and account.by_id(i))
    ]
    return result


def find_duplicates(applied: Iterable[Outcome], plan: Plan, account: Account) -> list[Duplicate]:
    """Every assistant this apply created whose name the platform now holds more than once.

    Neither the lock (one machine) nor the listing before the creates (a window of one round trip) can stop
    another machine's create of the same name sent in the same instant; the read-back is where it shows.
    """
    changes = {c.key: c for c in plan.changes if c.action == Action.CREATE}
    result = []
    for outcome in applied:
        change = changes.get(outcome.key)
        if outcome.action != Action.CREATE or outcome.id is None or change is None:
            continue
        name = api_trim(change.name or "")
        same = sorted(a.id for a in account.named(name))
        if len(same) > 1:
            result.append(Duplicate(outcome.key, change.file, name, tuple(same), outcome.id))
    return result


def settle_uncertain(outcomes: Iterable[Outcome], plan: Plan, account: Account) -> list[Outcome]:
    """Creates answered without an id stay failures, now with what the read-back finds under their name."""
    names = {c.key: api_trim(c.name or "") for c in plan.changes if c.action == Action.CREATE}
    return [_settled(o, names.get(o.key, ""), account) if o.uncertain else o for o in outcomes]


def _settled(outcome: Outcome, name: str, account: Account) -> Outcome:
    found = account.named(name)
    if len(found) == 1:  # the name was absent right before the creates: this is the one it made
        finding = f"the read-back finds {name!r} as id {found[0].id}, so the next plan manages it"
        return replace(outcome, id=found[0].id, message=f"{outcome.message}; {finding}", uncertain=False)
    if found:
        ids = ", ".join(str(a.id) for a in found)
        finding = f"the read-back finds {len(found)} assistants named {name!r} (ids {ids}): delete the one you do not want"
    else:
        finding = f"the read-back finds no assistant named {name!r}: run apply again to create it"
    return replace(outcome, message=f"{outcome.message}; {finding}", uncertain=False)

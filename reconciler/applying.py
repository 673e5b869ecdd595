"""The apply use case, in the order that keeps it safe: one function the ``apply`` command calls.

1. bind to the account: its apply lock, taken before the plan (a second apply's plan must be made after the first
   one's writes);
2. the plan: made from the files now, or a saved one read back and checked (``saved.py``): made for this account
   and these files, its assistants unchanged since (staleness), its changes what the files ask for today (an
   edited or forged plan file); one whose every change is in place already ends here, with nothing to do;
3. shown; nothing to do ends here;
4. the safety thresholds (``Plan.raise_if_unsafe``), before anyone is asked;
5. the confirmation, for a plan made now (a saved plan was reviewed when it was made), with the run's deadline
   paused while a person reads and types;
6. the writes, the secrets unmasked from the files, then the read-back (``Session.apply``);
7. with ``--pin-ids``, the ids written into the files (``pinning.py``), once the platform holds them.

What is shown and asked is passed in (``ApplyView``), so the flow runs the same under a terminal and a test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.apply import ApplyInterrupted
from reconciler.desired import DesiredState
from reconciler.errors import PlanFileError, ReconcilerError
from reconciler.lock import apply_lock
from reconciler.pinning import pin_files, pins_of
from reconciler.plan import Plan, plan_from_data
from reconciler.reconcile import Options, file_digests, files_digest
from reconciler.results import Outcome, Pinned, Report
from reconciler.saved import check_bound, check_current
from reconciler.session import Progress, Session


@dataclass(frozen=True)
class ApplyRequest:
    """What the user asked for: the files, the run's options, and a saved plan to apply instead of a new one."""

    state: DesiredState
    options: Options = field(default_factory=Options)
    saved_plan: Path | None = None
    force: bool = False  # past the safety thresholds
    pin_ids: bool = False  # afterwards, write each created assistant's id into its file (pinning.py)


def _silent() -> AbstractContextManager[Progress | None]:
    return nullcontext()


def _shown_nowhere(_plan: Plan) -> None:
    pass


def _nothing() -> None:
    pass


@dataclass(frozen=True)
class ApplyView:
    """What the flow shows and asks as it goes; the command line's are the terminal, a test's are lists."""

    confirm: Callable[
        [], bool
    ]  # True: go ahead. It may raise a ReconcilerError to refuse with its own words.
    show: Callable[[Plan], None] = _shown_nowhere  # the plan, before any check that may refuse it
    writing: Callable[[], None] = _nothing  # confirmed: the writes begin
    reading: Callable[[], AbstractContextManager[Progress | None]] = _silent  # around reading the platform


@dataclass(frozen=True)
class Applied:
    """The end of an apply: the plan, the report of its writes (None: there was nothing to write), and what
    ``--pin-ids`` wrote into the files (None: not asked for, or the apply was interrupted)."""

    plan: Plan
    report: Report | None
    pinned: Pinned | None = None
    already_applied: bool = False  # a saved plan whose every change the platform holds already


def run_apply(session: Session, request: ApplyRequest, view: ApplyView) -> Applied:
    """Apply the files (or the saved plan) to the session's account; every refusal comes before the first write.

    Ctrl-C during the writes or the read-back ends the flow with a report whose ``interrupted`` is set: what was
    written is reported, and the caller ends as any Ctrl-C does.
    """
    with apply_lock(session.account_id):
        if request.saved_plan is not None:
            plan, done = checked_saved_plan(session, request.saved_plan, request.state)
            if done:
                return Applied(plan, None, _pinned(request, plan, ()), already_applied=True)
        else:
            with view.reading() as progress:
                plan = session.plan(request.state, request.options, progress)
        view.show(plan)
        if not plan.has_changes:
            return Applied(plan, None, _pinned(request, plan, ()))
        plan.raise_if_unsafe(force=request.force)
        if request.saved_plan is None:
            _confirmed(session, view.confirm)
        view.writing()
        try:
            report = session.apply(request.state, plan, request.options)
        except ApplyInterrupted as interrupt:
            # Ctrl-C asked to stop: the files are not touched either (the next plan finds the creates by record)
            return Applied(plan, Report(interrupt.outcomes, interrupted=True))
    return Applied(plan, report, _pinned(request, plan, report.outcomes))


def _pinned(request: ApplyRequest, plan: Plan, outcomes: tuple[Outcome, ...]) -> Pinned | None:
    """``--pin-ids``: the created ids and the out-of-date ones written into their files, after the writes."""
    if not request.pin_ids:
        return None
    return pin_files(pins_of(plan, outcomes, request.state), request.state)


def checked_saved_plan(session: Session, path: Path, state: DesiredState) -> tuple[Plan, bool]:
    """The plan saved at ``path``, refused unless it is for this account and these files, and still current;
    and whether it is applied already (the platform holds every change it makes)."""
    saved = read_plan_file(path)
    check_bound(
        saved,
        account_id=session.account_id,
        files=files_digest(state),
        file_digests=file_digests(state),
        directory=state.directory,
    )
    account = session.read()
    fresh = session.plan_against(state, account, Options(owner=saved.owner, prune=saved.prune))
    return saved, check_current(saved, fresh, account)


def read_plan_file(path: Path) -> Plan:
    """The plan saved at ``path`` (by ``plan --out``), or a one-line refusal that names the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise PlanFileError(f"{path} is not a saved plan: not JSON ({exc})") from exc
    except OSError as exc:
        raise PlanFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return plan_from_data(data)
    except PlanFileError as exc:  # "not a reconciler plan ...", "the plan's changes are damaged ..."
        raise PlanFileError(f"{path}: {exc}") from exc


def _confirmed(session: Session, confirm: Callable[[], bool]) -> None:
    # a person reading the plan is no request in flight: the run's deadline must not run out while they read
    with session.client.deadline.paused():
        approved = confirm()
    if not approved:
        raise ReconcilerError("apply cancelled; nothing was changed")

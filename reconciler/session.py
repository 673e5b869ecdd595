"""One run's connection to an account: the API URL and token (or the embedded emulator), the client, and the
keys derived from them. Commands open a Session and call one method.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.apply import Applier, ApplyInterrupted, find_duplicates, settle_uncertain, verify
from reconciler.client import DEFAULT_API_URL, Client
from reconciler.desired import DesiredState
from reconciler.errorhandling import run_flags
from reconciler.errors import FilesInvalid, ReconcilerError, UsageError
from reconciler.export import ExportedFile, ExportRequest, Layout, check_no_second_file, export
from reconciler.limits import Limits
from reconciler.names import Catalog
from reconciler.output import RetryLine
from reconciler.pacing import MAX_IN_FLIGHT
from reconciler.plan import Action, Plan
from reconciler.reconcile import (
    Options,
    account_digest,
    build_plan,
    check_creates_trusted,
    managing_files,
)
from reconciler.record import keyed_digest
from reconciler.remote import Account, RemoteAssistant, normalise
from reconciler.results import Outcome, Report, Status
from reconciler.secret import Secret

Progress = Callable[[int, int], None]


@dataclass
class Session:
    client: Client
    token: Secret
    identity: str  # the API URL, or the embedded emulator's state file

    @property
    def account_id(self) -> str:
        return account_digest(self.identity, self.token)

    def read(self, progress: Progress | None = None, *, fingerprinted: bool = True) -> Account:
        """The account, each page normalised as it arrives. ``fingerprinted=False`` for a plan that is only
        shown: text and markdown never show the fingerprints, and they are a tenth of a plan's CPU."""
        shape = normalise if fingerprinted else _without_fingerprint
        read = self.client.read_listing_as(shape, progress)
        return Account(read.items, read.inconsistency)

    def plan(
        self,
        state: DesiredState,
        options: Options | None = None,
        progress: Progress | None = None,
        *,
        fingerprinted: bool = True,
    ) -> Plan:
        """A plan; ``fingerprinted=False``: its changes carry no fingerprint, so it must not be saved or sent
        as JSON (stale-plan checks compare them)."""
        return self.plan_against(state, self.read(progress, fingerprinted=fingerprinted), options)

    def plan_against(self, state: DesiredState, account: Account, options: Options | None = None) -> Plan:
        """A plan to act on (or to save): refused when it would create from an inconsistent listing."""
        plan = self._plan(state, account, options)
        check_creates_trusted(plan, account)
        return plan

    def catalog(self) -> Catalog:
        """The account's lookups (names ↔ ids), fetched as they are needed."""
        return Catalog(self.client.lookup)

    def _plan(self, state: DesiredState, account: Account, options: Options | None = None) -> Plan:
        return build_plan(
            state,
            account,
            digest=keyed_digest(self.token),
            catalog=Catalog(self.client.lookup),
            account_id=self.account_id,
            options=options or Options(),
        )

    def export(
        self,
        ids: list[int] | None,
        *,
        names: bool,
        progress: Progress | None = None,
        request: ExportRequest | None = None,
    ) -> list[ExportedFile]:
        """Files for the assistants with ``ids`` (None: all of them, or with ``request.unmanaged`` all that no
        file of ``request.state`` manages); never a second file for an assistant a file manages."""
        request = request or ExportRequest()
        account = self.read(progress)
        known = {a.id for a in account.assistants}
        missing = sorted(set(ids or ()) - known)
        if missing:
            raise ReconcilerError(f"no assistant with id {', '.join(map(str, missing))} on the platform")
        managing = (
            managing_files(request.state, account, owner_of(request.state.directory, required=False))
            if request.state
            else {}
        )
        if request.unmanaged:
            chosen = sorted(known - managing.keys())
        else:
            chosen = sorted(known) if ids is None else ids
            check_no_second_file(chosen, managing, force=request.force)
        layout = Layout(
            schema=request.schema,
            fixed={i: managing[i].key for i in chosen if i in managing},
            taken=frozenset(a.key for a in request.state.assistants)
            if request.state and request.unmanaged
            else frozenset(),
            secret_names=request.secret_names,
            factor=request.factor,
        )
        return export(account, chosen, Catalog(self.client.lookup) if names else None, self.token, layout)

    def apply(
        self,
        state: DesiredState,
        plan: Plan,
        options: Options,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> Report:
        """Execute the plan, then read the platform back once: settle the creates answered without an id, find
        the duplicates a racing create made, and check that every other applied assistant converged.

        Whatever happens after the first write, the writes are reported: a read-back that fails becomes a line
        of the report, and Ctrl-C during it raises ``ApplyInterrupted`` with the outcomes.
        """
        outcomes = Applier(self.client, state, concurrency=self.client.concurrency).run(plan, on_outcome)
        try:
            after = self.read()
        except KeyboardInterrupt:
            raise ApplyInterrupted(outcomes) from None
        except ReconcilerError as error:
            return Report(tuple(outcomes), read_back_failed=str(error))
        outcomes = settle_uncertain(outcomes, plan, after)
        duplicates = find_duplicates(outcomes, plan, after)
        raced = {d.key for d in duplicates}  # their name matches two assistants: there is no one to compare
        keys = [
            o.key
            for o in outcomes
            if o.status == Status.APPLIED and o.action != Action.DELETE and o.key not in raced
        ]
        check = Options(targets=keys, owner=options.owner, prune=options.prune)
        try:
            # The read-back only compares: a create it plans is an assistant not seen again, reported unconverged.
            plan_after = self._plan(state, after, check) if keys else Plan.of([])
        except KeyboardInterrupt:
            raise ApplyInterrupted(outcomes) from None
        except ReconcilerError as error:
            return Report(tuple(outcomes), (), tuple(duplicates), read_back_failed=_one_line(error))
        return Report(tuple(outcomes), tuple(verify(outcomes, plan_after, after)), tuple(duplicates))


def _without_fingerprint(item: dict[str, Any]) -> RemoteAssistant:
    return normalise(item, fingerprinted=False)


def _one_line(error: ReconcilerError) -> str:
    if isinstance(error, FilesInvalid):
        return "; ".join(str(p) for p in error.problems)
    return str(error)


def owner_of(directory: Path, *, required: bool) -> str:
    """This run's owner (``default_owner``); without --prune a directory outside git is owned by no one ("")."""
    try:
        return default_owner(directory)
    except UsageError:
        if required:
            raise
        return ""


def default_owner(directory: Path) -> str:
    """Who owns assistants for --prune: $RECONCILER_OWNER, else the git origin plus the directory in the repo."""
    if os.environ.get("RECONCILER_OWNER"):
        return os.environ["RECONCILER_OWNER"]
    try:
        top = _git(directory, "rev-parse", "--show-toplevel")
        origin = _git(directory, "remote", "get-url", "origin")
    except (OSError, subprocess.CalledProcessError) as exc:
        raise UsageError(
            "--prune needs to know which repository owns the assistants: pass --owner NAME or set "
            "RECONCILER_OWNER (no git origin found)"
        ) from exc
    # https://user:token@github.com/org/repo.git and git@github.com:org/repo.git both become github.com/org/repo
    where = re.sub(r"^[a-z+]+://", "", origin)
    where = re.sub(r"^[^@/]*@", "", where).replace(":", "/", 1).removesuffix(".git")
    return f"{where}/{directory.resolve().relative_to(Path(top).resolve()).as_posix()}"


def _git(directory: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@contextmanager
def connect(
    *, emulator: bool, api_url: str | None, writable: bool = False, concurrency: int = 8, fixed: bool = False
) -> Iterator[Session]:
    """A session against the embedded emulator (``--emulator``) or the API named by the URL and environment,
    within the limits the environment and ``--timeout`` set (``limits.py``); on a terminal, each retry is said
    on stderr. ``concurrency``: requests in flight, grown by the pacer while no limit is announced unless
    ``fixed``."""
    limits = Limits.from_environment(os.environ, run_deadline=run_flags().timeout)
    grown = concurrency if fixed else max(concurrency, MAX_IN_FLIGHT)
    retrying = RetryLine(sys.stderr)
    if emulator:
        from reconciler.emulator.server import EMBEDDED_STATE, embedded

        with (
            embedded() as (url, emulator_token),
            Client(
                url,
                Secret(emulator_token),
                writable=writable,
                concurrency=concurrency,
                max_in_flight=grown,
                limits=limits,
                on_retry=retrying,
            ) as client,
        ):
            yield Session(client, Secret(emulator_token), f"emulator:{EMBEDDED_STATE.resolve()}")
        return
    url = api_url or os.environ.get("GLORIA_API_URL") or DEFAULT_API_URL
    token = Secret(os.environ.get("GLORIA_API_TOKEN", ""), origin="GLORIA_API_TOKEN")
    if not token:
        raise ReconcilerError("GLORIA_API_TOKEN is not set: export the account's API key (or use --emulator)")
    with Client(
        url,
        token,
        writable=writable,
        concurrency=concurrency,
        max_in_flight=grown,
        limits=limits,
        on_retry=retrying,
    ) as client:
        yield Session(client, token, url.rstrip("/"))

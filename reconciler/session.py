"""One run's connection to an account: the API URL and token (or the embedded emulator), the client, and the
keys derived from them. Commands open a Session and call one method.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from reconciler.client import DEFAULT_API_URL, Client
from reconciler.desired import DesiredState
from reconciler.errors import ReconcilerError
from reconciler.plan import Plan
from reconciler.reconcile import Account, account_digest, build_plan, keyed_digest, read_account

Progress = Callable[[int, int], None]


@dataclass
class Session:
    client: Client
    token: str
    identity: str  # the API URL, or the embedded emulator's state file

    @property
    def account_id(self) -> str:
        return account_digest(self.identity, self.token)

    def read(self, progress: Progress | None = None) -> Account:
        return read_account(self.client, progress)

    def plan(
        self, state: DesiredState, targets: Sequence[str] = (), progress: Progress | None = None
    ) -> Plan:
        account = self.read(progress)
        return build_plan(
            state, account, digest=keyed_digest(self.token), targets=targets, account_id=self.account_id
        )


@contextmanager
def connect(
    *, emulator: bool, api_url: str | None, writable: bool = False, concurrency: int = 8
) -> Iterator[Session]:
    """A session against the embedded emulator (``--emulator``) or the API named by the URL and environment."""
    if emulator:
        from reconciler.emulator.server import EMBEDDED_STATE, embedded

        with (
            embedded() as (url, token),
            Client(url, token, writable=writable, concurrency=concurrency) as client,
        ):
            yield Session(client, token, f"emulator:{EMBEDDED_STATE.resolve()}")
        return
    url = api_url or os.environ.get("GLORIA_API_URL") or DEFAULT_API_URL
    token = os.environ.get("GLORIA_API_TOKEN", "")
    if not token:
        raise ReconcilerError("GLORIA_API_TOKEN is not set: export the account's API key (or use --emulator)")
    with Client(url, token, writable=writable, concurrency=concurrency) as client:
        yield Session(client, token, url.rstrip("/"))

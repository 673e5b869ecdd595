"""Every error the reconciler raises on purpose.

The tree::

    ReconcilerError         a known failure: one line for the user, exit code 1; raised itself for one-off
    │                       ones (no token, an unusable API URL, apply cancelled, an export target in the way)
    ├── UsageError          the command line asks for something impossible
    ├── DirectoryError      the assistants directory is missing or unreadable
    ├── FilesInvalid        one or more assistant files break a rule; carries every Problem
    ├── PlanFileError       a saved plan (``apply --plan``) cannot be read or is not a plan
    ├── StalePlan           the platform or the files changed since a saved plan was made; nothing was written
    ├── UnsafePlan          a plan past the safety thresholds, without ``--force``; nothing was written
    ├── UnmaskError         a saved plan holds a secret marker the files can no longer fill in
    ├── LockHeld            another apply on the same account holds the apply lock; nothing was written
    ├── ApiError            the API refused or failed a request, or could not be reached (status, 422 errors)
    ├── ListingError        the assistant list holds what the API cannot mean (the client re-raises it as
    │                       an ApiError, masked)
    └── ReadOnlyError       a write was attempted through a read-only client (plan mode): a bug, never the user's

Private exceptions that never reach the user as such: ``yamlfile._Fatal`` and ``yamlfile._BadScalar`` (one
file's problem, returned as a Problem) and ``names.Unresolved`` (a name no lookup resolves, returned as a
Problem) never leave their module; ``wire.Failed`` and its ``TooSlow`` (a request that brought no answer) never
leave the client, which turns them into an ApiError.

Anything else that escapes is a bug: the CLI's handler reports it as an unexpected error and shows the
traceback only under ``--debug``.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.text import counted


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one assistant file, located well enough to fix it. ``line`` 0: the value came from
    a layer, and ``field`` says where (``speech_speed (from _defaults.yaml:3)``), so the file has no line of it."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ReconcilerError(Exception):
    """Base of every expected failure; ``str(error)`` is the one line shown to the user."""


class UsageError(ReconcilerError):
    """The command line is inconsistent (exit 1, never 2: 2 means drift)."""


class DirectoryError(ReconcilerError):
    """The assistants directory cannot be used."""


class FilesInvalid(ReconcilerError):
    """At least one file is invalid; ``problems`` lists all of them, sorted by file and line."""

    def __init__(self, problems: list[Problem], files_checked: int) -> None:
        self.problems = sorted(problems)
        self.files_checked = files_checked
        files = len({p.file for p in self.problems})
        # "in 1 file" rather than "in 1 of 1 files": the share says something only when there are several
        where = (
            counted(files, "file") if files_checked <= 1 else f"{files} of {counted(files_checked, 'file')}"
        )
        super().__init__(f"{counted(len(self.problems), 'problem')} in {where}")


class PlanFileError(ReconcilerError):
    """A saved plan that cannot be read or is not a plan."""


class StalePlan(ReconcilerError):
    """The platform changed since a saved plan was made; nothing was written."""


class UnsafePlan(ReconcilerError):
    """A plan past the safety thresholds, without --force; nothing was written."""


class UnmaskError(ReconcilerError):
    """A saved plan holds a secret marker the files cannot fill in."""


class LockHeld(ReconcilerError):
    """Another apply on the same account holds the lock; nothing was written."""


class ApiError(ReconcilerError):
    """The API refused or failed a request, or could not be reached. ``request`` is the request it answered
    (``"GET /user/assistants/get"``), ``retry_after`` the wait in seconds the answer asked for (its
    ``Retry-After``, uncapped): every retry loop honours it through ``Client.wait_to_retry``; ``reason`` the
    failure in a few words (``503``, ``connection refused``), as the retry line on a terminal shows it; ``allow``
    the methods a 405's ``Allow`` header names."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: dict[str, list[str]] | None = None,
        retry_after: float | None = None,
        request: str = "",
        reason: str = "",
        allow: tuple[str, ...] = (),
    ):
        super().__init__(message)
        self.allow = allow  # a 405's Allow header: the methods the path takes
        self.request = request
        self.reason = reason
        self.status = status
        self.errors = errors or {}
        self.retry_after = retry_after


class ListingError(ReconcilerError):
    """The list holds what the API cannot mean, or claims more than is ever read: reading again cannot help."""


class ReadOnlyError(ReconcilerError):
    """A write was attempted through a read-only client (plan mode)."""

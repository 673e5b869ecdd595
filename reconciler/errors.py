"""Every error the reconciler raises on purpose.

The tree::

    ReconcilerError                 a known failure: one line for the user, exit code 1
    ├── UsageError                  the command line asks for something impossible
    ├── FilesInvalid                one or more assistant files break a rule; carries every Problem
    └── DirectoryError              the assistants directory is missing or unreadable

Anything else that escapes is a bug: the CLI's handler reports it as an unexpected error and shows the
traceback only under ``--debug``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one assistant file, located well enough to fix it."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
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
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{len(self.problems)} {noun} in {files} of {files_checked} files")

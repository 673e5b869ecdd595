"""The file side of ``reconciler adopt``: read the files to edit (each must still be the file the run loaded),
show the edits as a unified diff, and write them — all of them or none.

A file that changed on disk since the run read it (an editor saved it while the platform was read) is refused
before anything is written: the edits were computed from the old text and would undo the person's change. The
check is made twice, when the texts are read for the edits and again just before the first write, by the
digest of the file's bytes. A file that is a symbolic link is never written through (``pinning``'s rule).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from reconciler.adopt import Adoption
from reconciler.desired import DesiredAssistant
from reconciler.errors import ReconcilerError
from reconciler.output import redacted
from reconciler.pinning import replace_file
from reconciler.text import printable


def read_texts(assistants: Iterable[DesiredAssistant]) -> dict[str, bytes]:
    """The bytes of every assistant file and layer the assistants were merged from, each checked against the
    digest it had when the run loaded it."""
    expected: dict[str, str] = {}
    for assistant in assistants:
        expected[assistant.source.file] = assistant.source.digest
        expected.update(dict(assistant.source.layers))
    return {file: _unchanged(file, digest) for file, digest in sorted(expected.items())}


def _unchanged(file: str, digest: str) -> bytes:
    try:
        raw = Path(file).read_bytes()
    except OSError as exc:
        raise ReconcilerError(
            f"cannot read {printable(file)}: {exc.strerror or exc}; nothing was written"
        ) from exc
    if hashlib.sha256(raw).hexdigest() != digest:
        raise ReconcilerError(
            f"{printable(file)} changed on disk since it was read; nothing was written. Run adopt again"
        )
    return raw


def check_no_secret(adoption: Adoption) -> None:
    """Refuse edits that would put a secret the run knows (the token, a value from ``${NAME}``) into a file that
    held none: the secret policy of every file the tool writes (``output.redacted``)."""
    for file, (before, after) in sorted(adoption.files.items()):
        old, new = before.decode("utf-8"), after.decode("utf-8")
        if redacted(new) != new and redacted(old) == old:
            raise ReconcilerError(
                f"{printable(file)}: the platform's value holds a secret this run knows; nothing was written"
            )


def unified_diff(adoption: Adoption) -> str:
    """Every edit as ``git diff`` shows it (``a/FILE``, ``b/FILE``), file by file in name order."""
    parts = []
    for file, (before, after) in sorted(adoption.files.items()):
        lines = difflib.unified_diff(
            _lines(before), _lines(after), fromfile=f"a/{file}", tofile=f"b/{file}", lineterm="\n"
        )
        parts += [_terminated(line) for line in lines]
    return "".join(parts)


def _lines(raw: bytes) -> list[str]:
    return raw.decode("utf-8").splitlines(keepends=True)


def _terminated(line: str) -> str:
    """A diff line; the last line of a file without a final line break says so, as ``git diff`` does."""
    if line.endswith(("\n", "\r")):
        return line
    return line + "\n\\ No newline at end of file\n"


def write_adoption(adoption: Adoption) -> list[str]:
    """Write every edited file, or none: each is first checked to be as it was read (and not a link)."""
    for file, (before, _) in sorted(adoption.files.items()):
        path = Path(file)
        try:
            status = path.lstat()
            raw = path.read_bytes()
        except OSError as exc:
            raise ReconcilerError(
                f"cannot read {printable(file)}: {exc.strerror or exc}; nothing was written"
            ) from exc
        if stat.S_ISLNK(status.st_mode):
            raise ReconcilerError(
                f"{printable(file)} is a symbolic link: never written through; nothing was written"
            )
        if raw != before:
            raise ReconcilerError(
                f"{printable(file)} changed on disk since it was read; nothing was written. Run adopt again"
            )
    written = []
    for file, (_, after) in sorted(adoption.files.items()):
        path = Path(file)
        try:
            replace_file(path, after, stat.S_IMODE(os.stat(path).st_mode))
        except OSError as exc:
            raise ReconcilerError(f"cannot write {printable(file)}: {exc.strerror or exc}") from exc
        written.append(file)
    return written

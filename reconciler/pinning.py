"""``apply --pin-ids``: write ``id: N`` into the files of the assistants the apply created, and correct an ``id``
that is out of date (docs/contract.md#identity), so that the next plan matches every such file by id.

A file is edited as text, one line, never re-serialised: its comments, its quoting, its ``${NAME}`` placeholders,
its line endings and every other byte stay as they are. The edit is checked before it is written: the file read
again must be the one the apply read, and the edited text must parse to the same data with only ``id`` changed;
otherwise the file is left alone and the report says what to write by hand. The file is replaced atomically
(a temporary file in its directory, then a rename), keeps its mode, and a symbolic link is refused, never
followed: the link's target may be any file of the repository.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from reconciler.desired import DesiredState
from reconciler.errors import Problem
from reconciler.plan import Action, Plan
from reconciler.results import Outcome, Pin, Pinned, Status
from reconciler.text import printable
from reconciler.yamlfile import parse

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows, where O_EXCL alone refuses an existing link
#: Line breaks as YAML (and so the parser's line numbers) count them.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
#: ``id: 7``, with any spacing and a trailing comment: the only form of the line whose value is rewritten.
_ID_LINE = re.compile(r"^(id[ \t]*:[ \t]*)([^\s#]+)([ \t]*(?:#.*)?)$")
#: Lines that stay above an inserted ``id``: comments (the ``yaml-language-server`` line), blank lines,
#: directives and the document start.
_PREAMBLE = re.compile(r"^(?:[ \t]*(?:#.*)?|%.*|---[ \t]*(?:#.*)?)$")


def pins_of(plan: Plan, outcomes: Iterable[Outcome], state: DesiredState) -> list[Pin]:
    """The files to pin after an apply: each applied create's, and each whose ``id`` the plan found out of date
    (``Change.pin``: the id names an assistant that is gone, and the file's record found the one it manages).

    Only an outcome that was applied and has an id counts (a create answered without one has nothing to write);
    an unchanged assistant has no outcome, and its id is the one the plan read from the platform.
    """
    files = {a.key: a for a in state.assistants}
    done = {o.key: o for o in outcomes if o.status == Status.APPLIED and o.id is not None}
    pins = []
    for change in plan.changes:
        outcome = done.get(change.key)
        assistant = files.get(change.key)
        if assistant is None or change.action == Action.DELETE:
            continue
        if change.action == Action.CREATE:
            new = outcome.id if outcome is not None else None
        else:
            new = change.pin if change.action == Action.NOOP or outcome is not None else None
        if new is not None and new != assistant.id:
            pins.append(Pin(change.key, assistant.source.file, new, assistant.id))
    return pins


def pin_files(pins: Iterable[Pin], state: DesiredState) -> Pinned:
    """Write every pin that can be written; each file on its own (one refused leaves the others pinned)."""
    digests = {a.key: a.source.digest for a in state.assistants}
    written: list[Pin] = []
    refused: list[str] = []
    for pin in pins:
        problem = _pin_one(pin, digests.get(pin.key, ""))
        if problem is None:
            written.append(pin)
        else:
            refused.append(f"{problem}; write id: {pin.id} in it by hand")
    return Pinned(tuple(written), tuple(refused))


def _pin_one(pin: Pin, digest: str) -> str | None:
    """Pin one file; None when written, else why not (the file is then untouched)."""
    path = Path(pin.file)
    shown = printable(pin.file)
    try:
        status = path.lstat()
        if stat.S_ISLNK(status.st_mode):
            return f"{shown} is a symbolic link to {printable(os.readlink(path))}: not pinned (a link is never written through)"
        if not stat.S_ISREG(status.st_mode):
            return f"{shown} is not a regular file: not pinned"
        raw = path.read_bytes()
    except OSError as exc:
        return f"cannot read {shown}: {exc.strerror or exc}; not pinned"
    if hashlib.sha256(raw).hexdigest() != digest:
        return f"{shown} changed while apply ran: not pinned"
    edited = pinned_text(raw, pin.file, pin.id)
    if isinstance(edited, str):
        return f"{shown}: {edited}: not pinned"
    try:
        replace_file(path, edited, stat.S_IMODE(status.st_mode))
    except OSError as exc:
        return f"cannot write {shown}: {exc.strerror or exc}; not pinned"
    return None


def pinned_text(raw: bytes, file: str, assistant_id: int) -> bytes | str:
    """``raw`` with ``id: assistant_id`` in it, or why that cannot be done safely.

    An existing ``id`` line has its value replaced; otherwise a line is inserted after the leading comments.
    Either way the result must parse to the file's own data (placeholders left as written) with only ``id``
    changed, or it is refused: a flow mapping, an ``id`` spread over lines, anything unusual stays the person's.
    """
    before = parse(raw, file, None)
    if isinstance(before, Problem) or before.problems:
        return "the file no longer parses"
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    text = raw[len(bom) :].decode("utf-8")
    lines = [line for line in _LINE.findall(text) if line]
    if "id" in before.data:
        edited = _replaced(lines, before.lines[("id",)], assistant_id)
        if edited is None:
            return "its id line is not of the form id: N"
    else:
        edited = _inserted(lines, assistant_id)
    result = bom + edited.encode("utf-8")
    after = parse(result, file, None)
    if isinstance(after, Problem) or after.problems or after.data != {**before.data, "id": assistant_id}:
        return "an id line cannot be added without changing the rest of it"
    return result


def _replaced(lines: list[str], number: int, assistant_id: int) -> str | None:
    """The text with the value on line ``number`` (1-based) set to the id, or None if that line is not ``id: N``."""
    if not 1 <= number <= len(lines):
        return None
    body = lines[number - 1].rstrip("\r\n")
    ending = lines[number - 1][len(body) :]
    match = _ID_LINE.match(body)
    if match is None:
        return None
    lines[number - 1] = f"{match.group(1)}{assistant_id}{match.group(3)}{ending}"
    return "".join(lines)


def _inserted(lines: list[str], assistant_id: int) -> str:
    """The text with ``id: N`` as the first line after the leading comments, in the file's own line ending."""
    ending = next((line[len(line.rstrip("\r\n")) :] for line in lines if line.endswith(("\n", "\r"))), "\n")
    at = next((i for i, line in enumerate(lines) if not _PREAMBLE.match(line.rstrip("\r\n"))), len(lines))
    above = lines[:at]
    if above and not above[-1].endswith(("\n", "\r")):
        above[-1] += (
            ending  # the file ends in a comment without a line break: the id goes on a line of its own
        )
    return "".join([*above, f"id: {assistant_id}{ending}", *lines[at:]])


def replace_file(path: Path, content: bytes, mode: int) -> None:
    """``content`` in place of ``path`` in one rename: a new temporary file beside it (``O_EXCL``, never a link),
    with the file's mode, then ``os.replace``, which replaces a link itself should one appear meanwhile."""
    temporary = path.parent / f".{path.name}.{os.urandom(8).hex()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
            os.fchmod(stream.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

"""``plan --baseline REF``: which field changes of a plan the files made, and which someone made on the platform
while the files stayed as they were at REF ("changed outside the repository", Terraform's "Objects have changed
outside of Terraform"). See docs/contract.md#json-plan (``origin``).

There is no state server: the files at REF (the pull request's base branch) are the record of what was meant
before the pull request. A field whose file value is the same at REF as now, yet differs on the platform, was
changed outside the repository (``origin: "platform"``); every other field change is the files' own
(``"files"``). Apply restores the files' values either way: the files are the truth.

``read_baseline`` is the edge (git, the environment); ``with_origins`` is pure, a pass over a finished plan, so
the planner does not know baselines exist.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.desired import DesiredAssistant, check_file, layer_loader
from reconciler.errors import UsageError
from reconciler.files import MAX_FILE_BYTES, SUFFIXES, discover
from reconciler.plan import (
    ORIGIN_FILES,
    ORIGIN_PLATFORM,
    REASON_MODE,
    REASON_OWNER,
    Change,
    FieldChange,
    Plan,
)
from reconciler.reconcile import desired_values
from reconciler.text import printable

#: What a file says about one field: its canonical value, or that it ignores the field (``ignore_changes``),
#: so that a pull request that starts or stops ignoring a field is the files' change.
Snapshot = Mapping[str, Any]
_IGNORED = object()
_ABSENT = object()
_REGULAR = ("100644", "100755")  # git's modes of plain files; a link (120000) is not read through


def snapshots(assistants: Iterable[DesiredAssistant]) -> dict[str, Snapshot]:
    """Each file's key → what it declares, as the plan compares it (``reconcile.desired_values``)."""
    return {a.key: _snapshot(a) for a in assistants}


def _snapshot(assistant: DesiredAssistant) -> Snapshot:
    ignored = dict.fromkeys(assistant.ignore_changes, _IGNORED)
    return {**desired_values(assistant), **ignored}


# ---- the pure pass ------------------------------------------------------------------------------------------


def with_origins(plan: Plan, now: Mapping[str, Snapshot], then: Mapping[str, Snapshot]) -> Plan:
    """``plan`` with every field change of a file marked ``files`` or ``platform`` (a file new since the
    baseline: all ``files``). Deletes have no file, and no fields, to mark."""
    return replace(plan, changes=tuple(_marked(c, now.get(c.key, {}), then.get(c.key)) for c in plan.changes))


def _marked(change: Change, now: Snapshot, then: Snapshot | None) -> Change:
    if change.file is None or not change.fields:
        return change
    fields = tuple(replace(f, origin=_origin(f, now, then)) for f in change.fields)
    return replace(change, fields=fields)


def _origin(change: FieldChange, now: Snapshot, then: Snapshot | None) -> str:
    if change.reason == REASON_OWNER:
        return ORIGIN_FILES  # this run's bookkeeping (a renamed file, --prune), nothing the platform did
    # a field re-sent because the mode changes is there for the mode's sake
    name = "mode" if change.reason == REASON_MODE else top_level(change.path)
    if then is None or now.get(name, _ABSENT) != then.get(name, _ABSENT):
        return ORIGIN_FILES
    return ORIGIN_PLATFORM


def top_level(path: str) -> str:
    """``tools[0].calcom_api_key`` → ``tools``: lists and objects are compared, and replaced, whole."""
    return path.split(".", 1)[0].split("[", 1)[0]


# ---- the files at the baseline, from git --------------------------------------------------------------------


def read_baseline(directory: Path, ref: str, *, environ: Mapping[str, str]) -> dict[str, Snapshot]:
    """What each file of ``directory`` declared at the commit ``ref``, by key, with ``${NAME}`` taken from the
    same environment. A file absent at ``ref`` (or the directory), or one that does not load now (invalid then,
    a ``${NAME}`` the environment lacks), is left out: all its field changes count as the files' own."""
    commit = _commit(directory, ref)
    prefix = _git(directory, "rev-parse", "--show-prefix").decode().strip()
    blobs = _blobs(directory, commit, prefix)
    with tempfile.TemporaryDirectory(prefix="reconciler-baseline-") as scratch:
        for name, content in _contents(directory, blobs).items():
            (Path(scratch) / name).write_bytes(content)
        paths, _ = discover(Path(scratch))
        layers = layer_loader(Path(scratch), environ=environ)
        loaded = (check_file(path, environ=environ, layers=layers)[0] for path in paths)
        return snapshots(a for a in loaded if a is not None)


def _commit(directory: Path, ref: str) -> str:
    try:
        _git(directory, "rev-parse", "--show-toplevel")
    except (OSError, subprocess.CalledProcessError) as exc:
        raise UsageError(
            f"--baseline needs a git repository: {printable(str(directory))} is not in one"
        ) from exc
    try:
        found = _git(directory, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except subprocess.CalledProcessError as exc:
        raise UsageError(f"--baseline {printable(ref)!r}: no such commit in the repository") from exc
    return found.decode().strip()


def _blobs(directory: Path, commit: str, prefix: str) -> dict[str, str]:
    """File name → blob id of the assistant files directly in the directory at ``commit`` (none: it was not
    there), skipping links, subdirectories and files over the size limit (the loader would refuse them)."""
    listing = _git(directory, "ls-tree", "-z", "-l", "--full-tree", commit, "--", prefix or ".")
    blobs = {}
    for entry in filter(None, listing.decode("utf-8", "surrogateescape").split("\0")):
        info, path = entry.split("\t", 1)
        mode, kind, blob, size = info.split()
        name = path[len(prefix) :]
        if kind != "blob" or mode not in _REGULAR or "/" in name or int(size) > MAX_FILE_BYTES:
            continue
        if name.endswith(SUFFIXES) and not name.startswith("."):
            blobs[name] = blob
    return blobs


def _contents(directory: Path, blobs: Mapping[str, str]) -> dict[str, bytes]:
    """The blobs' bytes, read by one ``git cat-file --batch`` (one process, however many files)."""
    if not blobs:
        return {}
    out = _git(directory, "cat-file", "--batch", stdin="".join(f"{b}\n" for b in blobs.values()).encode())
    contents = {}
    for name in blobs:
        header, _, out = out.partition(b"\n")
        size = int(header.split()[2])
        contents[name], out = out[:size], out[size + 1 :]
    return contents


def _git(directory: Path, *args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(["git", "-C", str(directory), *args], input=stdin, capture_output=True, check=True)
    return done.stdout

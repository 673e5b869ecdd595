"""Reading ``assistants.d/``: discovery, file limits, and each file parsed into a SourceFile (see yamlfile.py).

Every file the tool reads or writes stays inside the repository that holds the directory (``repository_of``,
``inside_repository``): a symbolic link committed in a pull request must not make a CI run read, echo or
overwrite a file elsewhere on the machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import DirectoryError, Problem
from reconciler.secret import Secret, masked
from reconciler.text import Path_, display_path, frozen, printable
from reconciler.yamlfile import Parsed, parse

MAX_FILE_BYTES = 1024 * 1024
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SUFFIXES = (".yaml", ".yml")


Origin = tuple[str, int]
"""Where a value was written: the file (as printed) and the line."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One parsed assistant file (or layer): plain data plus where every value came from. ``data`` holds the
    values from the environment in the clear (they are sent to the API), so the repr leaves it out.

    A file that uses layers (docs/contract.md#layers) holds the merged data: ``origins`` then gives the file and
    line of every path's value, ``layers`` the digest of every layer it uses. A file without layers leaves both
    empty, and its own ``lines`` say where each value is."""

    file: str
    key: str
    data: dict[str, Any] = field(repr=False)
    lines: Mapping[Path_, int]
    secret_paths: frozenset[Path_] = frozenset()
    masks: Mapping[Path_, str] = field(default_factory=dict)  # partly secret values as shown (yamlfile)
    secrets: frozenset[Secret] = frozenset()
    placeholders: frozenset[Path_] = frozenset()
    digest: str = ""  # of the file's bytes (placeholders, not secret values): ties a saved plan to its files
    origins: Mapping[Path_, Origin] = field(default_factory=dict)  # merged path → (file, line), layered only
    layers: tuple[tuple[str, str], ...] = ()  # (file, digest) of each layer used, lowest first, each once

    def line_of(self, path: Path_) -> int:
        """Line of the value at ``path`` in this file, or of its nearest ancestor that has one."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1

    def origin_of(self, path: Path_) -> Origin:
        """The file and line the value at ``path`` comes from (its nearest ancestor's, for a path with none)."""
        for end in range(len(path), 0, -1):
            origin = self.origins.get(path[:end])
            if origin is not None:
                return origin
        return self.file, self.line_of(path)

    def where(self, path: Path_) -> str:
        """``FILE:LINE`` of the value at ``path``."""
        file, line = self.origin_of(path)
        return f"{file}:{line}"

    def is_secret(self, path: Path_) -> bool:
        return any(path[: len(s)] == s for s in self.secret_paths)

    def problem(self, path: Path_, message: str) -> Problem:
        """A problem at ``path`` of this file. Every problem about a file is made here, so that none can quote a
        value the file took from the environment: the message names the variable instead. A value that came
        from a layer is named with its origin, relative to this file: ``fillers (from _defaults.yaml:3)``."""
        shown = masked(message, self.secrets, _named)
        file, line = self.origin_of(path)
        if file == self.file:
            return Problem(self.file, line, display_path(path), shown)
        layer = os.path.relpath(file, os.path.dirname(self.file) or ".")
        return Problem(self.file, 0, f"{display_path(path)} (from {layer}:{line})", shown)


def _named(secret: Secret) -> str:
    return secret.described


def repository_of(directory: Path) -> Path:
    """The boundary of what may be read or written for ``directory``: the git work tree that holds it, or the
    current directory when it is not in git; a directory outside both is its own boundary.

    The search walks up from where the directory *is*, not from where it resolves (a directory that is a link
    to elsewhere must not take that place's repository along), and only through real directories: a ``.git``
    found beyond a link could belong to any tree the link points into.
    """
    start = Path(os.path.abspath(directory))
    real = next(p for p in (start, *start.parents) if os.path.realpath(p) == str(p))
    for candidate in (real, *real.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    cwd = Path(os.path.realpath(os.getcwd()))
    return cwd if real.is_relative_to(cwd) else real


def resolved(path: Path) -> Path:
    """Where ``path`` leads, every link followed (as far as they go: a dangling link leads to its target)."""
    return Path(os.path.realpath(path))


def inside_repository(path: Path, root: Path) -> bool:
    """The one rule for every file the tool reads or writes: it resolves, links included, inside ``root``."""
    return resolved(path).is_relative_to(resolved(root))


def leads_outside(path: Path, root: Path) -> str | None:
    """``resolves to TARGET, outside the repository ROOT`` when ``path`` breaks the rule, else None."""
    if inside_repository(path, root):
        return None
    return _outside(resolved(path), root)


def _outside(real: Path, root: Path) -> str:
    return f"resolves to {printable(str(real))}, outside the repository {printable(str(root))}"


class Boundary:
    """The rule of ``inside_repository`` for the many files of one run, each directory resolved once.

    ``os.path.realpath`` of a file walks every component of its path, a system call each, and the rule takes it
    of the file and of the repository: 11 calls a file, 10,000 files in a directory. Here the repository is
    resolved once, each directory once, and a file that is not a link resolves to its resolved directory and
    its name, which one ``lstat`` tells: it is inside when its directory is (issue 19). A link is followed all
    the way, as ``resolved`` does."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = resolved(root)
        self._real_directories: dict[str, tuple[Path, bool]] = {}  # directory → (where it leads, inside)

    def resolve(self, path: Path) -> tuple[Path, os.stat_result | None]:
        """Where ``path`` leads, with its status when that is known already (it is not a link)."""
        directory, name, _, status = self._resolve(path)
        return directory / name, status

    def check(self, path: Path) -> tuple[Problem | None, os.stat_result | None]:
        """The problem of a ``path`` that resolves outside the repository (line 1, the file as a whole), or None with
        the path's status when it is known already."""
        directory, name, inside, status = self._resolve(path)
        if inside:
            return None, status
        where = _outside(directory / name, self.root)
        return Problem(printable(str(path)), 1, "", f"{where}; refusing to read it"), None

    def _resolve(self, path: Path) -> tuple[Path, str, bool, os.stat_result | None]:
        """Where ``path`` leads, as a resolved directory and a name in it (joined only when asked: a path
        object a file costs more than the rest), whether that is inside the repository, and the path's status
        when it is not a link. A link, or a path that cannot be read, is resolved whole (its name is "")."""
        try:
            status = os.lstat(path)
        except OSError:
            status = None
        directory, name = os.path.split(os.fspath(path))
        if status is None or stat.S_ISLNK(status.st_mode) or name in ("", ".", ".."):
            real = resolved(path)
            return real, "", real.is_relative_to(self._real_root), None
        known = self._real_directories.get(directory)
        if known is None:
            real_directory = resolved(Path(directory))
            known = (real_directory, real_directory.is_relative_to(self._real_root))
            self._real_directories[directory] = known
        real_directory, directory_inside = known
        # a directory outside may still hold the repository itself: only then is the file's own path needed
        inside = directory_inside or (real_directory / name).is_relative_to(self._real_root)
        return real_directory, name, inside, status


@dataclass(frozen=True, slots=True)
class FileRead:
    """A file read and parsed, before it becomes a SourceFile: the first half of ``load_file``, which depends on
    the file alone (``readahead`` does it in another process)."""

    file: str  # as problems name it
    digest: str
    parsed: Parsed


def load_file(
    path: Path,
    *,
    environ: Mapping[str, str] | None,
    boundary: Boundary | None = None,
    shown: str | None = None,
    read: FileRead | list[Problem] | None = None,
) -> tuple[SourceFile | None, list[Problem]]:
    """Parse one file. ``environ=None`` leaves ``${NAME}`` placeholders unresolved (``--no-env``). A file that
    resolves outside the repository (``boundary``; by default that of the file's directory) is refused before
    it is opened. ``shown``: the name problems give the file (by default ``path``). ``read``: what
    ``read_file`` gave for it already."""
    if read is None:
        read = read_file(path, environ=environ, boundary=boundary, shown=shown)
    if isinstance(read, list):
        return None, read
    parsed = read.parsed
    source = SourceFile(
        file=read.file,
        key=key_of(read.file),
        data=parsed.data,
        lines=parsed.lines,
        secret_paths=parsed.secret_paths,
        masks=parsed.masks,
        secrets=frozen(Secret(value, origin=name) for name, value in parsed.secrets.items()),
        placeholders=parsed.placeholders,
        digest=read.digest,
    )
    return source, parsed.problems


def key_of(file: str) -> str:
    """The key of the file ``file`` names: its name without its suffix, as ``Path(file).stem`` says, without
    making a path object for it (2.5 us a file, issue 19)."""
    name = os.path.basename(file)
    stem, _, suffix = name.rpartition(".")
    return stem if stem and suffix else name


def read_file(
    path: Path,
    *,
    environ: Mapping[str, str] | None,
    boundary: Boundary | None = None,
    shown: str | None = None,
) -> FileRead | list[Problem]:
    """The file at ``path`` read and parsed (``load_file``), or the problems that stop it."""
    return _parsed(_bytes_of(path, boundary or Boundary(repository_of(path.parent)), shown), environ)


def read_files(
    paths: Sequence[Path], *, environ: Mapping[str, str] | None, boundary: Boundary
) -> list[FileRead | list[Problem]]:
    """``read_file`` of each of ``paths``, in two stages: every file's bytes, then every file parsed. One file
    at a time, the system calls and the parser evict each other's code from the processor's caches: 10,000
    files, 85 -> 78 us a file (issue 19)."""
    contents = [_bytes_of(path, boundary, None) for path in paths]
    return [_parsed(content, environ) for content in contents]


def _bytes_of(path: Path, boundary: Boundary, shown: str | None) -> tuple[str, bytes] | list[Problem]:
    """The file's name as problems give it and its bytes, or the problems that stop it being read."""
    escaped, status = boundary.check(path)
    if escaped is not None:
        return [escaped]
    file = printable(str(path)) if shown is None else shown
    try:
        status = status or path.stat()
        if stat.S_ISDIR(status.st_mode):
            return [Problem(file, 1, "", "is a directory, not an assistant file")]
        if not stat.S_ISREG(status.st_mode):  # a pipe would block, /dev/zero would never end
            return [
                Problem(file, 1, "", "not a regular file (a device, pipe or socket); refusing to read it")
            ]
        size = status.st_size
        if size > MAX_FILE_BYTES:
            return [Problem(file, 1, "", f"file is {size} bytes; the limit is {MAX_FILE_BYTES} (1 MiB)")]
        return file, _contents(path, size)
    except OSError as exc:
        return [Problem(file, 1, "", f"cannot read the file: {exc.strerror or exc}")]


def _parsed(
    content: tuple[str, bytes] | list[Problem], environ: Mapping[str, str] | None
) -> FileRead | list[Problem]:
    if isinstance(content, list):
        return content
    file, raw = content
    parsed = parse(raw, file, environ)
    if isinstance(parsed, Problem):
        return [parsed]
    return FileRead(file, hashlib.sha256(raw).hexdigest(), parsed)


def _contents(path: Path, size: int) -> bytes:
    """The bytes of the file at ``path`` (``size`` when it was looked at), to its end as ``Path.read_bytes``
    reads them, without its file object and its second look at the size (6-9 us a file -> 3, issue 19)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(descriptor, size + 1):
            chunks.append(chunk)
    finally:
        os.close(descriptor)
    return b"".join(chunks)


def discover(directory: Path) -> tuple[list[Path], list[Problem]]:
    """The assistant files of ``directory`` in key order, plus problems with their names. A file whose name
    starts with ``_`` is a layer, never an assistant (``layer_files``)."""
    if not directory.is_dir():
        what = "does not exist" if not directory.exists() else "is not a directory"
        raise DirectoryError(f"assistants directory {directory} {what}")
    check_directory_inside(directory)
    # by name, which within one directory is the order of paths; names are cheaper to sort than paths
    paths = sorted(
        (p for p in directory.iterdir() if p.suffix in SUFFIXES and not p.name.startswith((".", "_"))),
        key=_name,
    )
    return paths, list(_name_problems(paths))


def _name(path: Path) -> str:
    return path.name


def layer_files(directory: Path) -> list[Path]:
    """The layers in ``directory`` (``_*.yaml``, ``_*.yml``), by name: each is checked, used or not."""
    return sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.name.startswith("_"))


def check_directory_inside(directory: Path) -> None:
    """Refuse a directory that is (or sits below) a link to outside its repository: nothing in it may be used."""
    where = leads_outside(directory, repository_of(directory))
    if where is not None:
        raise DirectoryError(f"assistants directory {printable(str(directory))} {where}; refusing to use it")


def _name_problems(paths: list[Path]) -> Iterator[Problem]:
    seen: dict[str, Path] = {}
    for path in paths:
        if not KEY_PATTERN.match(path.stem):
            yield Problem(
                printable(str(path)),
                1,
                "",
                "file name must start with a letter or digit and use only letters, digits, . _ -",
            )
        if path.stem in seen:
            yield Problem(
                printable(str(path)),
                1,
                "",
                f"key {path.stem!r} is also used by {printable(str(seen[path.stem]))}",
            )
        seen.setdefault(path.stem, path)


def environment() -> Mapping[str, str]:
    return os.environ

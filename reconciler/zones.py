"""Whether a name is one of the time zones ``zoneinfo.available_timezones()`` lists, asked of that one name.

The list opens every file under each directory of ``zoneinfo.TZPATH`` to read its first four bytes: about 600 files,
20 ms of CPU, paid by every run that checks a file with a ``timezone`` (``validate`` of three files in a pre-commit
hook spends a tenth of its time there; issue 19). The answer for one name needs only the directories on its own
path and its own file. It is the list's answer exactly, which ``tests/test_zones.py`` holds it to against the list
itself, for every zone and for the names the list leaves out: as ``os.walk`` finds files, each directory on the way
is looked up by the name its parent lists (case matters, even where the file system ignores it) and must be a
directory that is not a link, ``right/`` and ``posix/`` at the top are skipped, the file (a link to one counts) must
open and start with ``TZif``, and ``posixrules`` is never a zone. The ``tzdata`` package's own list, when it is
installed, comes first, as in the list.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Iterable
from functools import lru_cache

#: The leap-second and POSIX copies of the zones, which the list leaves out.
_SKIPPED_AT_THE_TOP = ("right", "posix")


def is_available_zone(name: str) -> bool:
    """``name in zoneinfo.available_timezones()``, for the ``TZPATH`` of this moment. What was found stays for the
    life of the process, as the list made once did before (``constraints.timezones``): a zone file written
    meanwhile is not seen."""
    return _is_available(name, tuple(zoneinfo.TZPATH))


@lru_cache(maxsize=1024)
def _is_available(name: str, roots: tuple[str, ...]) -> bool:
    if name == "posixrules":
        return False
    if name in _tzdata_zones():
        return True
    # each part is looked up among the names a directory lists, so "", "." and ".." are never found
    return any(_found_under(root, name.split("/")) for root in roots)


def _found_under(root: str, parts: list[str]) -> bool:
    path = root
    for depth, part in enumerate(parts):
        entry = _entries(path).get(part)
        if entry is None:
            return False
        on_the_way = depth < len(parts) - 1
        if on_the_way and (os.path.islink(entry.path) or (depth == 0 and part in _SKIPPED_AT_THE_TOP)):
            return False  # the walk does not enter a linked directory, nor right/ or posix/ at the top
        path = entry.path
    # a file on the way cannot be listed, and a directory at the end cannot be opened: neither is a zone
    return _starts_as_a_zone(path)


@lru_cache(maxsize=64)
def _entries(directory: str) -> dict[str, os.DirEntry[str]]:
    """A directory's entries by name, as ``os.walk`` lists them; none when it cannot be listed."""
    try:
        with os.scandir(directory) as listing:
            return {entry.name: entry for entry in listing}
    except (OSError, ValueError):  # ValueError: a root with a NUL or a lone surrogate, which the list skips
        return {}


def _starts_as_a_zone(path: str) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(4) == b"TZif"
    except OSError:
        return False


@lru_cache(maxsize=1)
def _tzdata_zones() -> frozenset[str]:
    """The zones the ``tzdata`` package lists in its file ``zones``, as the list reads them. The file is read
    where the package lies, without ``importlib.resources`` (10 ms to import) unless it lies in an archive."""
    try:
        import tzdata  # type: ignore[import-untyped]  # a data package: no types to check
    except ImportError:
        return frozenset()
    if tzdata.__file__:  # None for a namespace package: only importlib.resources knows where it lies
        try:
            with open(os.path.join(os.path.dirname(tzdata.__file__), "zones")) as listed:
                return _listed(listed)
        except OSError:
            pass
    from importlib import resources

    try:
        with resources.files("tzdata").joinpath("zones").open("r") as listed:
            return _listed(listed)
    except FileNotFoundError:
        return frozenset()


def _listed(lines: Iterable[str]) -> frozenset[str]:
    return frozenset(zone.strip() for zone in lines if zone.strip())

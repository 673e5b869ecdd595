"""Reading the layers of one directory's assistant files (docs/contract.md#layers): every path followed from the
file that names it, refused outside the repository (the rule of ``files.inside_repository``), each file parsed
and checked once per run, a cycle refused with its chain. Merging them is ``layers.merge``'s.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from reconciler.errors import Problem
from reconciler.files import (
    Boundary,
    SourceFile,
    layer_files,
    leads_outside,
    load_file,
    repository_of,
    resolved,
)
from reconciler.layers import Entry, extends_of
from reconciler.text import Path_, printable

LayerCheck = Callable[[SourceFile, list[Problem]], list[Problem]]
"""A layer's own checks (``desired.check_layer``): given its source and the loader's problems, the others."""

#: The names of the directory's defaults layer, the lowest layer of every assistant file in it.
DEFAULTS = ("_defaults.yaml", "_defaults.yml")


class LayerLoader:
    """Reads the layers of one directory's assistant files (docs/contract.md#layers): each path followed from
    the file that names it, inside the repository, each file parsed and checked once (by resolved path, so 2,000
    assistants extending one layer read it once), a cycle refused with its chain.

    A layer's own problems are reported once, in ``problems``; an assistant that uses a broken layer is left
    out without a problem of its own. ``stack_of`` gives an assistant file its layers, lowest first."""

    def __init__(self, directory: Path, environ: Mapping[str, str] | None, check: LayerCheck) -> None:
        self.directory = directory
        self.environ = environ
        self.check = check
        self.root = repository_of(directory)
        self.boundary = Boundary(
            self.root
        )  # every file of the run checked against it, each directory resolved once
        self.problems: list[Problem] = []
        self._stacks: dict[Path, tuple[SourceFile, ...] | None] = {}  # a layer and what it extends
        self._used: set[Path] = set()
        self._targets: dict[
            tuple[Path, str], tuple[Path, Path]
        ] = {}  # (directory, extends text) → file, resolved
        self._own = layer_files(directory) if directory.is_dir() else []
        present = [directory / name for name in DEFAULTS if (directory / name) in self._own]
        self.defaults = present[0] if present else None
        self._defaults_real = resolved(self.defaults) if self.defaults is not None else Path()
        for extra in present[1:]:
            self.problems.append(
                Problem(
                    printable(str(extra)), 1, "", f"{present[0].name} is the defaults layer already; keep one"
                )
            )

    @property
    def files_read(self) -> int:
        """How many layer files were read: they count among the files a run checked."""
        return len(self._stacks)

    def stack_of(
        self, path: Path, source: SourceFile, problems: list[Problem]
    ) -> tuple[SourceFile, ...] | None:
        """The layers under the assistant file ``source`` (read from ``path``), lowest first: the defaults,
        then each of its ``extends`` with their own layers. None when one is broken; the problems of its own
        ``extends`` go to ``problems``."""
        entries, found = extends_of(source)
        if self.defaults is None and not entries and not found:
            return ()  # most files have no layers: nothing to resolve (issue 19)
        active = ((self.boundary.resolve(path)[0], source.file),)
        stack: list[SourceFile] = []
        broken = False
        if self.defaults is not None:
            shown = printable(str(self.defaults))
            lower = self._layer(self.defaults, self._defaults_real, shown, active)
            broken = lower is None
            stack += lower or ()
        problems += found
        lower = self._extends(path, source, entries, active, problems)
        if found or broken or lower is None:
            return None
        return (*stack, *lower)

    def unused(self) -> list[tuple[str, str]]:
        """Every layer of the directory no assistant uses, checked now (its problems reported as any layer's):
        each as ``(file, warning)``, for those that are valid."""
        warnings = []
        for path in self._own:
            real = resolved(path)
            if real in self._used:
                continue
            shown = printable(str(path))
            if self._layer(path, real, shown, ()) is not None:
                warnings.append((shown, "no assistant file uses this layer"))
        return warnings

    def _extends(
        self,
        path: Path,
        source: SourceFile,
        entries: list[Entry],
        active: tuple[tuple[Path, str], ...],
        problems: list[Problem],
    ) -> tuple[SourceFile, ...] | None:
        stack: list[SourceFile] = []
        broken = False
        for entry in entries:
            found = self._target(path, source, entry.text, entry.at)
            if isinstance(found, Problem):
                problems.append(found)
                broken = True
                continue
            target, real = found
            seen = [p for p, _ in active]
            if real in seen:
                chain = [shown for _, shown in active[seen.index(real) :]]
                problems.append(source.problem(entry.at, f"a cycle: {' → '.join([*chain, chain[0]])}"))
                broken = True
                continue
            lower = self._layer(target, real, _shown(target), active)
            if lower is None:
                broken = True
                continue
            stack += lower
        return None if broken else tuple(stack)

    def _target(self, path: Path, source: SourceFile, text: str, at: Path_) -> tuple[Path, Path] | Problem:
        """The file an ``extends`` entry names and where it resolves, or why it cannot be read. Found once per
        directory and text: 2,000 files extending ``_base.yaml`` resolve it once."""
        known = self._targets.get((path.parent, text))
        if known is not None:
            return known
        if os.path.isabs(text):
            return source.problem(
                at, f"{printable(text)} is an absolute path; write it relative to this file"
            )
        target = path.parent / text
        where = leads_outside(target, self.root)
        if where is not None:
            return source.problem(at, f"{printable(text)} {where}; refusing to read it")
        if not target.exists():
            return source.problem(at, f"no such file: {_shown(target)}")
        self._targets[(path.parent, text)] = target, resolved(target)
        return self._targets[(path.parent, text)]

    def _layer(
        self, path: Path, real: Path, shown: str, active: tuple[tuple[Path, str], ...]
    ) -> tuple[SourceFile, ...] | None:
        """The layer at ``path`` (resolving to ``real``) and the layers it extends, lowest first (read once:
        cached by resolved path)."""
        self._used.add(real)
        if real in self._stacks:
            return self._stacks[real]
        self._stacks[real] = None  # while it is read: a cycle back to it is found by ``active`` first
        source, problems = load_file(path, environ=self.environ, boundary=self.boundary, shown=shown)
        if source is not None:
            problems += self.check(source, problems)
        result: tuple[SourceFile, ...] | None = None
        if source is not None:
            entries, found = extends_of(source)
            problems += found
            lower = self._extends(path, source, entries, (*active, (real, source.file)), self.problems)
            if not problems and not found and lower is not None:
                result = (*lower, source)
        self.problems += problems
        self._stacks[real] = result
        return result


def _shown(path: Path) -> str:
    """A layer's path as problems and plans show it: without ``dir/../`` detours (``base/_pipeline.yaml``)."""
    return printable(os.path.normpath(str(path)))

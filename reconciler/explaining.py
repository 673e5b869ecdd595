"""``reconciler explain KEY``'s edge: find the key's file in the directory, load and check it on its layers as
every command does (``desired.check_file``), and hand the merged assistant and its layers to ``explain``.

Only the one file and the layers it uses are read and checked: another file's problem does not stop the
explanation of this one (``validate`` reports the directory's).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from reconciler.desired import check_file, layer_loader
from reconciler.errors import FilesInvalid, ReconcilerError
from reconciler.explain import Explanation, explain
from reconciler.files import discover, load_file
from reconciler.text import did_you_mean, printable


def explanation_of(directory: Path, key: str, *, environ: Mapping[str, str] | None) -> Explanation:
    """The explanation of the assistant file ``key`` of ``directory``; ``FilesInvalid`` if it (or one of its
    layers) breaks a rule, a one-line error for a key no file has."""
    paths, problems = discover(directory)
    found = [path for path in paths if path.stem == key]
    if not found:
        raise ReconcilerError(unknown_key(directory, key, [path.stem for path in paths]))
    path = found[0]
    problems = [p for p in problems if p.file == printable(str(path))]
    loader = layer_loader(directory, environ=environ)
    assistant, found_problems = check_file(path, environ=environ, layers=loader)
    problems += found_problems + loader.problems
    if problems or assistant is None:
        raise FilesInvalid(problems, 1 + loader.files_read)
    own, _ = load_file(path, environ=environ)
    stack = loader.stack_of(path, own, []) if own is not None else ()
    return explain(assistant.source, stack or (), own)


def unknown_key(directory: Path, key: str, keys: list[str]) -> str:
    """``no assistant file has the key KEY in DIR/``, with the closest key, or why a layer's name is none."""
    shown = printable(key, lookalikes=True)
    if key.startswith("_"):
        return (
            f"no assistant file has the key {shown!r} in {printable(str(directory))}/: a file whose name "
            "starts with _ is a layer, never an assistant"
        )
    hint = did_you_mean(key, keys)
    return f"no assistant file has the key {shown!r} in {printable(str(directory))}/{hint}"

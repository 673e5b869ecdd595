"""The error tree lives in one module and is drawn whole in its docstring: a new error class defined anywhere
else, or missing from the drawing, fails here."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import reconciler
from reconciler import errors
from reconciler.errors import ReconcilerError


def _defined_errors() -> dict[str, type[ReconcilerError]]:
    """Every ReconcilerError subclass defined in a module of the package (the emulator apart: it is
    independent on purpose), keyed by ``module.Class``."""
    found: dict[str, type[ReconcilerError]] = {}
    for module_info in pkgutil.walk_packages(reconciler.__path__, prefix="reconciler."):
        if module_info.name == "reconciler.emulator" or module_info.name.startswith("reconciler.emulator."):
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, ReconcilerError) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def _drawn_tree() -> set[str]:
    """The class names drawn in the docstring's tree: the root, and each name after a branch (``├──``, ``└──``);
    a line that goes on from the one above (``│``) names nothing."""
    doc = errors.__doc__ or ""
    block = doc.split("The tree::", 1)[1].split("\n\n")[1]
    return {match.group(1) for match in re.finditer(r"^ *(?:[├└]── )?([A-Z]\w+) ", block, re.MULTILINE)}


def test_every_reconciler_error_is_defined_in_the_errors_module() -> None:
    elsewhere = sorted(name for name in _defined_errors() if not name.startswith("reconciler.errors."))
    assert elsewhere == []


def test_every_reconciler_error_is_drawn_in_the_errors_docstring() -> None:
    defined = {cls.__name__ for cls in _defined_errors().values()} | {"ReconcilerError"}
    assert defined - _drawn_tree() == set()


def test_the_drawn_tree_names_only_classes_that_exist() -> None:
    drawn = _drawn_tree()
    assert drawn, "the docstring draws no tree"
    assert all(issubclass(getattr(errors, name), ReconcilerError) for name in drawn)

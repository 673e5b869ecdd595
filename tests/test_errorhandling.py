"""How a run ends (``errorhandling``): the exit code and the one line for each kind of ending, and ``--debug``
read once, by click, as the group's own option."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import desired
from reconciler.cli import main
from reconciler.errorhandling import RunFlags, handle_errors
from reconciler.errors import FilesInvalid, Problem, ReconcilerError


def raising(error: BaseException) -> object:
    raise error


def test_a_known_error_is_its_problems_and_one_error_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    invalid = FilesInvalid([Problem("a.yaml", 3, "name", "missing")], 1)
    assert handle_errors(lambda: raising(invalid), RunFlags(debug=False)) == 1
    assert capsys.readouterr().err == f"{invalid.problems[0]}\nerror: {invalid}\n"


def test_a_known_error_gets_its_traceback_only_under_debug(capsys: pytest.CaptureFixture[str]) -> None:
    assert handle_errors(lambda: raising(ReconcilerError("no")), RunFlags(debug=True)) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("\nerror: no\n")


def test_ctrl_c_is_interrupted_exit_130(capsys: pytest.CaptureFixture[str]) -> None:
    assert handle_errors(lambda: raising(KeyboardInterrupt()), RunFlags()) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_an_unexpected_error_is_one_escaped_line_with_the_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert handle_errors(lambda: raising(RuntimeError("boom\x1b[2J")), RunFlags()) == 1
    assert capsys.readouterr().err == (
        "unexpected error: RuntimeError: boom\\u001b[2J (run again with --debug for the traceback)\n"
    )


def test_an_option_value_spelled_debug_does_not_turn_debug_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--dir --debug`` names a directory: only the group's own ``--debug`` shows tracebacks."""

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(desired, "load_directory", boom)
    assert main(["validate", "--dir", "--debug"]) == 1
    assert capsys.readouterr().err == (
        "unexpected error: RuntimeError: boom (run again with --debug for the traceback)\n"
    )

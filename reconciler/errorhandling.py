"""How a run ends, and what it logs: the one place that turns an exception into a line and an exit code.

A known error (``ReconcilerError``) is one line per problem plus ``error: ...``, exit 1; a usage error is click's
own message, exit 1 (click's 2 would look like drift to ``plan --detailed-exitcode``); Ctrl-C is ``interrupted``,
exit 130; anything else is one ``unexpected error`` line, with the traceback only under ``--debug``.

``--debug`` is parsed once, by click, as the group's option: its callback records it in the run's ``RunFlags``
(which the handler reads when the run ends) and opens the log (``debug_log``) for the rest of the run. A command's
``--timeout`` is recorded there too (``options.api_options``), for ``session.connect`` to find (``run_flags``).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import click

from reconciler.errors import FilesInvalid, ReconcilerError
from reconciler.text import printable


@dataclass
class RunFlags:
    """What the command line said about the run itself, as opposed to its command (click's ``ctx.obj``)."""

    debug: bool = False
    colour: str = "auto"  # --color: auto, always or never (output.wants_colour decides with it)
    timeout: float | None = None  # --timeout: the run's deadline in seconds, over RECONCILER_DEADLINE


def run_flags() -> RunFlags:
    """The flags of the command line being run; the defaults outside one (a test or a script calling in)."""
    context = click.get_current_context(silent=True)
    found = context.find_object(RunFlags) if context else None
    return found or RunFlags()


def handle_errors(invoke: Callable[[], object], flags: RunFlags) -> int:
    """Run the command line and return its exit code, whatever it raises."""
    try:
        result = invoke()
    except (KeyboardInterrupt, click.exceptions.Abort):
        sys.stderr.write("interrupted\n")
        return 130
    except click.ClickException as exc:
        exc.show(sys.stderr)
        return 1
    except ReconcilerError as exc:
        if flags.debug:
            traceback.print_exc(file=sys.stderr)
        report(exc, sys.stderr)
        return 1
    except Exception as exc:
        if flags.debug:
            traceback.print_exc(file=sys.stderr)
        hint = "" if flags.debug else " (run again with --debug for the traceback)"
        sys.stderr.write(f"{printable(f'unexpected error: {type(exc).__name__}: {exc}')}{hint}\n")
        return 1
    return result if isinstance(result, int) else 0


def report(error: ReconcilerError, stream: IO[str]) -> None:
    """A known error: every problem on its own line, then one summary line.

    Each line is escaped whole: a message can quote a server's answer, a catalog's names or a file's text (a
    malformed placeholder), and none of them may forge a line or reach the terminal as a control sequence.
    """
    if isinstance(error, FilesInvalid):
        for problem in error.problems:
            stream.write(f"{printable(str(problem))}\n")
    stream.write(f"{printable(f'error: {error}')}\n")


@contextmanager
def debug_log(enabled: bool) -> Iterator[None]:
    """The reconciler's log on stderr: its warnings always, as they are (a wait the API asked for: stdout is the
    plan, and stays clean of it); under --debug also every request: method, path, status, time (never headers:
    never the token)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StderrFormat())
    logger = logging.getLogger("reconciler")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if enabled else logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


class _StderrFormat(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno >= logging.WARNING else f"debug: {record.name}: {text}"

"""``python -m reconciler`` and the ``reconciler`` console script: the CLI, and Ctrl-C handled from the start.

Importing the CLI takes most of a second (pydantic, httpx, click...). A Ctrl-C in that time must end like any other
Ctrl-C (``interrupted``, exit 130), not in Python's traceback. Catching KeyboardInterrupt around the imports is not
enough: raised inside an extension module's initialisation it can abort the interpreter ("Fatal Python error"). So
during the imports a Ctrl-C is only noted, and acted on as soon as they are done.
"""

import gc
import signal
import sys
from typing import NoReturn

#: The collector's thresholds for a run (generation 0, 1, 2). Python's (700, 10, 10) suit a long-lived program
#: that makes garbage as it goes; a run builds tens of thousands of small objects that live until it ends (the
#: files' values, the platform's assistants, the plan), and at 700 the collector walked them again and again:
#: 18% of a plan's CPU (issue 19). Measured at 10,000 assistants: 1.19 s of collection -> 0.24 s, peak RSS the same.
THRESHOLDS = (50_000, 50, 100)


def tune_collector() -> None:
    """Collect as a short run needs: what is loaded by now (the modules) lives until the end, so the collector
    need not walk it again (``gc.freeze``), and it waits for more new objects before it looks at all.
    Only the console script does this: a program that calls ``cli.main`` keeps its own collector."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def run() -> NoReturn:
    noted: list[int] = []
    default = signal.getsignal(signal.SIGINT) is signal.default_int_handler  # an ignored SIGINT stays ignored
    if default:
        signal.signal(signal.SIGINT, lambda number, _frame: noted.append(number))
    try:
        from reconciler.cli import main
    finally:
        if default:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    if noted:
        _interrupted()
    tune_collector()
    try:
        code = main()
    except KeyboardInterrupt:  # outside the commands, which report it themselves
        _interrupted()
    if code == 130:
        _forget_the_interrupt()
    freeze_what_is_left()
    sys.exit(code)


def freeze_what_is_left() -> None:
    """Before the interpreter shuts down: what the run still holds (its caches, the HTTP pool) lives until the
    process ends, and the shutdown's collections would walk all of it again (plan of 10,000 assistants: 44-46
    ms of the exit -> 25-27, issue 19). Garbage is collected first, so each finalizer that is due runs as it
    would have; the rest is frozen, as Python does not promise finalizers for what exists at exit anyway."""
    gc.collect()
    gc.freeze()


def _interrupted() -> NoReturn:
    sys.stderr.write("\ninterrupted\n")  # as the CLI says it: on a line of its own after the terminal's ^C
    _forget_the_interrupt()
    sys.exit(130)


def _forget_the_interrupt() -> None:
    """Let an interrupted run exit 130 as the contract says, and not by a SIGINT to itself (-2 to its parent).

    CPython remembers a KeyboardInterrupt that escaped any ``exec`` of a string (dataclasses and namedtuple build
    their methods that way, at import time or later) and kills the process with SIGINT at exit, although the
    interrupt was handled. Each ``exec`` of a string starts by clearing that memory.
    """
    exec("pass")


if __name__ == "__main__":
    run()

"""The console script collects as a short run needs (issue 19); a program that calls ``cli.main`` keeps its own
collector. Checked in a fresh interpreter: this test process's collector is pytest's."""

from __future__ import annotations

import json
import subprocess
import sys

from reconciler.__main__ import THRESHOLDS

RUN = """
import contextlib, gc, io, json, sys
sys.argv = ["reconciler", "--help"]
before = gc.get_threshold()
with contextlib.redirect_stdout(io.StringIO()):
    try:
        {call}
    except SystemExit as exit:
        code = exit.code
    else:
        code = None
print(json.dumps([code, before, gc.get_threshold(), gc.get_freeze_count() > 0]))
"""


def run(call: str) -> list[object]:
    code = RUN.format(call=call)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


def test_the_console_script_freezes_what_it_imported_and_collects_less_often() -> None:
    code, before, after, frozen = run("from reconciler.__main__ import run; run()")
    assert code == 0
    assert before == [700, 10, 10]
    assert after == list(THRESHOLDS)
    assert frozen


def test_main_called_from_a_program_leaves_its_collector_alone() -> None:
    code, before, after, frozen = run("from reconciler.cli import main; sys.exit(main(['--help']))")
    assert code == 0
    assert after == before == [700, 10, 10]
    assert not frozen


FINALIZED = """
import gc, json, sys
import reconciler.cli
from reconciler.__main__ import run

class Cycle:
    def __init__(self):
        self.me = self
    def __del__(self):
        finalized.append(True)

def command():  # a run that leaves garbage in a cycle, too little for the collector to start on its own
    Cycle()
    return 0

finalized = []
reconciler.cli.main = command
try:
    run()
except SystemExit:
    pass
print(json.dumps([finalized, gc.get_count()[0]]))
"""


def test_before_exit_the_garbage_is_finalized_and_what_is_left_frozen() -> None:
    """The shutdown does not walk what the run still holds (``freeze_what_is_left``); garbage made before it is
    collected first, so its finalizers run as they would have."""
    done = subprocess.run([sys.executable, "-c", FINALIZED], capture_output=True, text=True, check=True)
    finalized, young = json.loads(done.stdout)
    assert finalized == [True]
    assert young < 10  # every object alive went to the permanent generation; none is left to walk

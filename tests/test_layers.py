"""The import layers: the renderers and the plan's value objects are a core that loads no I/O or diff library.

Checked in a fresh interpreter, because this test process has long since imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: The client's, the files' and the diff's libraries: a renderer that needs one of them sits on the wrong floor.
HEAVY = ("httpx", "yaml", "deepdiff")
CORE = (
    "reconciler.render",
    "reconciler.plan",
    "reconciler.results",
    "reconciler.streams",
    "reconciler.machine",
)


@pytest.mark.parametrize("module", CORE)
def test_core_module_loads_neither_httpx_yaml_nor_deepdiff(module: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_renderers_render_a_plan_and_a_report_without_the_heavy_libraries() -> None:
    # loading is not enough: a renderer that imports a library lazily, while rendering, sits just as wrongly
    code = f"""
import io, json, sys
from reconciler.plan import Action, Change, FieldChange, Plan
from reconciler.render import render_json, render_markdown, render_report, render_report_markdown, render_text
from reconciler.results import Outcome, Report, Status
plan = Plan.of([Change("a", "a.yaml", Action.UPDATE, 1, "A", {{"record": True}}, (FieldChange("record", False, True),))])
report = Report((Outcome("a", Action.UPDATE, Status.APPLIED, 1),))
out = io.StringIO()
for render in (render_text, render_json, render_markdown):
    render(plan, out)
render_report(report, out)
render_report_markdown(plan, report, out)
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize(
    "module", ["reconciler.reconcile", "reconciler.record", "reconciler.diff", "reconciler.saved"]
)
def test_the_planner_loads_no_http_client(module: str) -> None:
    # planning is pure: the session reads the account and hands it in, so the planner never needs httpx
    code = f"import json, sys, {module}; print(json.dumps('httpx' in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) is False


#: The commands that never reach the platform, and never diff: a pre-commit hook runs ``validate`` on every commit.
OFFLINE = {"--help": ["--help"], "validate": ["validate", "--dir", "{files}"], "schema": ["schema"]}


@pytest.mark.parametrize("command", OFFLINE)
def test_offline_commands_load_neither_the_http_client_nor_the_diff(command: str) -> None:
    # start-up (issue 19): the HTTP stack and DeepDiff cost a third of a second that these commands never use
    files = Path(__file__).resolve().parent.parent / "assistants.d"
    args = [arg.format(files=files) for arg in OFFLINE[command]]
    code = f"""
import contextlib, io, json, os, sys
os.environ["CALCOM_API_KEY"] = "a-key-for-the-example"
from reconciler.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main({args!r})
print(json.dumps([code, sorted(m for m in ("httpx", "deepdiff") if m in sys.modules)]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [0, []]

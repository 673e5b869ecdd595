"""The import layers: the renderers and the plan's value objects are a core that loads no I/O or diff library.

Checked in a fresh interpreter, because this test process has long since imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

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

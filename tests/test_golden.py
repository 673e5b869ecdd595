"""Golden files: every rendering people read (text without and with colour, markdown, JSON) of the fixed plans
in golden_plans.py, compared byte for byte with tests/golden/. Each file was read once by a person, as a reviewer
would, before it was committed.

After an intended change of a renderer: ``UPDATE_GOLDEN=1 pytest tests/test_golden.py``, then read the diff of
tests/golden/ as carefully as the code's.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import cmarkgfm  # type: ignore[import-untyped]
import pytest
from cmarkgfm.cmark import Options
from golden_plans import PLANS

from reconciler.plan import Plan
from reconciler.render import Style, render_json, render_markdown, render_text

GOLDEN = Path(__file__).parent / "golden"

RENDERINGS: dict[str, Callable[[Plan, io.StringIO], None]] = {
    "txt": lambda plan, out: render_text(plan, out),
    "colour.txt": lambda plan, out: render_text(plan, out, Style(colour=True)),
    "md": lambda plan, out: render_markdown(plan, out),
    "json": lambda plan, out: render_json(plan, out),
}


def rendering(name: str, kind: str) -> str:
    out = io.StringIO()
    RENDERINGS[kind](PLANS[name](), out)
    return out.getvalue()


@pytest.mark.parametrize("kind", list(RENDERINGS))
@pytest.mark.parametrize("name", list(PLANS))
def test_rendering_matches_its_golden_file(name: str, kind: str) -> None:
    path = GOLDEN / f"{name}.{kind}"
    text = rendering(name, kind)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{path.name} differs: UPDATE_GOLDEN=1 rewrites it, then review the diff"


def test_every_golden_file_belongs_to_a_rendering() -> None:
    expected = {f"{name}.{kind}" for name in PLANS for kind in RENDERINGS}
    expected.add("adopt.diff")  # adopt --dry-run's diff, checked by test_adopt_golden.py
    assert {p.name for p in GOLDEN.iterdir()} == expected


@pytest.mark.parametrize("name", list(PLANS))
def test_plain_text_is_the_coloured_text_without_its_colours(name: str) -> None:
    coloured = rendering(name, "colour.txt")
    assert re.sub("\033\\[[0-9;]*m", "", coloured) == rendering(name, "txt")


@pytest.mark.parametrize("name", list(PLANS))
def test_the_markdown_renders_on_github_as_sections_of_diff_blocks(name: str) -> None:
    markdown = rendering(name, "md")
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    changed = [c for c in PLANS[name]().changes if c.action != "noop"]
    outside = sum(1 for c in changed if any(f.origin == "platform" for f in c.fields))
    sections = len(changed) + outside
    unmanaged = 1 if PLANS[name]().unmanaged else 0  # its own collapsed list
    assert html.count("<details>") == sections + unmanaged
    groups = 1 if PLANS[name]().groups else 0  # the changes shared by several assistants: one block
    assert html.count('<pre lang="diff"><code>') == sections + groups
    if changed:
        assert html.index("<table>") < html.index("<details>")  # the summary table first


@pytest.mark.parametrize("name", list(PLANS))
def test_the_json_plan_is_the_data_view(name: str) -> None:
    assert json.loads(rendering(name, "json")) == PLANS[name]().data()

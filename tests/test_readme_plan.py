"""The plan shown in the README ("Reading a plan") is a real one: this test makes it, through the CLI against the
emulator, and compares it with the README's text and markdown blocks, so the page never shows what the tool
no longer prints. After an intended change of a renderer: ``UPDATE_README=1`` rewrites the blocks."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from support import PIPELINE, emulator, run

README = Path(__file__).resolve().parent.parent / "README.md"

PROMPT = (
    "You are the front desk of Acme Dental in Berlin.\n"
    "Greet the caller, ask how you can help, and keep every answer short.\n"
    "When the caller wants an appointment, offer the next three free slots and confirm the one they choose "
    "politely before you end the call.\n"
    "Never give medical advice."
)

FILE = """\
name: Front Desk
type: outbound
mode: pipeline
language_id: 1
voice_id: 101
llm_model_id: 2
timezone: Europe/Berlin
initial_message: Hello, Acme Dental, how can I help?
system_prompt: |
  You are the front desk of Acme Dental in Berlin.
  Greet the caller, ask how you can help, and keep every answer short.
  When the caller wants an appointment, offer the next three free slots and confirm the one they choose warmly before you end the call.
  Never give medical advice.
variables:
  clinic: Acme Dental
  city: Berlin
  opening_hours: 8-18
tools:
  - type: call_transfer
    phone_number: "+493055501"
    description: To the practice manager
  - type: end_call
    description: End the call politely.
"""


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- readme-plan-{name} -->\n)(.*?)(<!-- /readme-plan-{name} -->)", re.DOTALL)


def _blocks(text: str, markdown: str) -> dict[str, str]:
    quoted = "".join(f"> {line}".rstrip() + "\n" for line in markdown.splitlines())
    return {"text": f"```text\n$ reconciler plan\n{text}```\n", "markdown": quoted}


def test_the_readme_shows_the_plan_the_tool_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "assistants.d").mkdir()
    (tmp_path / "assistants.d" / "front-desk.yaml").write_text(FILE)
    live = {
        **PIPELINE,
        "name": "Front Desk",
        "initial_message": "Hello, Acme Dental, how can I help?",
        "system_prompt": PROMPT,
        "variables": {"clinic": "Acme Dental", "city": "Berlin"},
        "tools": [
            {"type": "call_transfer", "phone_number": "+493055500", "description": "To the practice manager"},
            {"type": "end_call", "description": "End the call politely."},
            {"type": "dtmf_input", "description": "Read the caller's key presses."},
        ],
    }
    with emulator(monkeypatch) as api:
        api.create(live)
        code, text, err = run(capsys, "plan", "--owner", "github.com/acme/assistants/assistants.d")
        assert (code, err) == (0, "")
        code, markdown, err = run(
            capsys, "plan", "--format", "markdown", "--owner", "github.com/acme/assistants/assistants.d"
        )
        assert (code, err) == (0, "")
    readme = README.read_text()
    for name, expected in _blocks(text, markdown).items():
        if os.environ.get("UPDATE_README"):
            readme = _block(name).sub(lambda m, e=expected: m.group(1) + e + m.group(3), readme)
            README.write_text(readme)
        found = _block(name).search(readme)
        assert found is not None, f"README.md has no readme-plan-{name} block"
        assert found.group(2) == expected, f"README's {name} plan differs: UPDATE_README=1 rewrites it"

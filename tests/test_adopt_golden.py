"""The unified diff ``adopt --dry-run`` prints for one dashboard session, compared byte for byte with
tests/golden/adopt.diff (what the drift pull request contains): a prompt in a block scalar, a voice by name, a
default every assistant changed (into the layer), one only some changed (overrides), variables key by key.

After an intended change: ``UPDATE_GOLDEN=1 pytest tests/test_adopt_golden.py``, then read the diff of the golden
file as carefully as the code's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import emulator, run

GOLDEN = Path(__file__).parent / "golden" / "adopt.diff"
HEAD = "type: outbound\nmode: pipeline\nlanguage_id: 1\nllm_model_id: 2\ntimezone: Europe/Berlin\n"
FILES = {
    "d/_defaults.yaml": (
        "# Every assistant in d/ starts from these.\n"
        "speech_speed: 1.0   # the house pace\n"
        "record: true\n"
        "variables:\n"
        "  company: Acme\n"
        '  region: "EU"\n'
    ),
    "d/sales.yaml": (
        "name: Sales\n"
        f"{HEAD}"
        "voice: Maya\n"
        "initial_message: 'Hello, this is Acme sales.'\n"
        "system_prompt: >-\n"
        "  You sell the Acme plan.\n"
        "variables:\n"
        "  offer: spring   # until May\n"
    ),
    "d/support.yaml": (
        "# yaml-language-server: $schema=../schema/assistant.schema.json\n"
        "name: Support\n"
        f"{HEAD}"
        "voice: Maya  # warm, for support\n"
        "initial_message: Hello there.\n"
        "\n"
        "# The prompt is reviewed by the support leads.\n"
        "system_prompt: |\n"
        "  You are the support line of Acme.\n"
        "  Be brief.\n"
        "\n"
        "# Webhooks come later.\n"
    ),
}


pytestmark = pytest.mark.usefixtures("in_tmp")  # conftest: the test's directory is the working one


def test_the_dry_run_diff_matches_its_golden_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in FILES.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(text)
    with emulator(monkeypatch) as api:
        code, _, err = run(capsys, "apply", "--dir", "d", "--auto-approve")
        assert (code, err) == (0, ""), err
        ids = {item["name"]: int(item["id"]) for item in api.items()}
        api.update(
            ids["Support"],
            {
                "system_prompt": "You are the support line of Acme.\nBe brief, and kind.\n",
                "voice_id": 105,
                "speech_speed": 1.1,
                "record": False,
                "variables": {"company": "Acme", "region": "EU", "queue": "tier-1"},
            },
        )
        api.update(
            ids["Sales"],
            {
                "speech_speed": 1.1,
                "initial_message": "Hi, it's Acme sales.",
                "system_prompt": "You sell the Acme plan. Ask for the budget.",
                "variables": {"company": "Acme Inc.", "region": "EU", "offer": "summer"},
            },
        )
        code, out, err = run(capsys, "adopt", "--dir", "d", "--dry-run")
        assert code == 0, err
        code, written, err = run(capsys, "adopt", "--dir", "d")
        assert (code, err) == (0, "")
        code, plan, err = run(capsys, "plan", "--dir", "d", "--detailed-exitcode")
        assert (code, err) == (0, ""), plan
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(out)
    assert out == GOLDEN.read_text(), (
        f"{GOLDEN.name} differs: UPDATE_GOLDEN=1 rewrites it, then review the diff"
    )
    assert written.splitlines()[-1] == "Adopted 9 fields into 3 files."

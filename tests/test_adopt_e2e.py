"""``reconciler adopt`` end to end (docs/contract.md, Commands): CLI → real HTTP on loopback → the emulator.

A dashboard change is made with a raw API call, then adopt writes the platform's value back into the file and
line that set it, every other byte of the files kept; the plan afterwards is empty. Each test runs in its own
directory (outside git, the current directory is the repository), with the assistants in ``d/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import TOKEN, Api, emulator, run, write_tree

from reconciler.session import Session

HEAD = (
    "type: outbound\nmode: pipeline\nlanguage_id: 1\nllm_model_id: 2\ntimezone: Europe/Berlin\n"
    "initial_message: Hello there.\n"
)
DEFAULTS = "# Shared by every assistant in d/.\nspeech_speed: 1.0   # the house pace\nrecord: true\n"
SUPPORT = (
    "# yaml-language-server: $schema=../schema/assistant.schema.json\n"
    "name: Support\n"
    f"{HEAD}"
    "voice: Maya  # warm, for support\n"
    "\n"
    "# The prompt is reviewed by the support leads.\n"
    "system_prompt: |\n"
    "  You are the support line of Acme.\n"
    "  Be brief.\n"
    "\n"
    "# Webhooks come later.\n"
    "webhook_url: 'https://hooks.example/support'\n"
)


def short(name: str) -> str:
    return f"name: {name}\n{HEAD}voice_id: 101\nsystem_prompt: You are {name}.\n"


pytestmark = pytest.mark.usefixtures("in_tmp")  # conftest: the test's directory is the working one


def texts() -> dict[str, str]:
    return {str(p): p.read_text() for p in sorted(Path("d").iterdir())}


def plan(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = run(capsys, "plan", "--dir", "d", "--format", "json")
    assert (code, err) == (0, "")
    return dict(json.loads(out))


def drifted(capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:
    """Each assistant's changed fields, as plan sees them."""
    return {c["key"]: [f["path"] for f in c["fields"]] for c in plan(capsys)["changes"] if c["fields"]}


def created(capsys: pytest.CaptureFixture[str], api: Api) -> dict[str, int]:
    """Apply the files, and the id of each assistant by its name."""
    code, _, err = run(capsys, "apply", "--dir", "d", "--auto-approve")
    assert (code, err) == (0, ""), err
    return {item["name"]: int(item["id"]) for item in api.items()}


def test_a_prompt_changed_in_the_dashboard_is_adopted_into_its_block_scalar(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/_defaults.yaml": DEFAULTS, "d/support.yaml": SUPPORT})
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        prompt = "You are the support line of Acme.\nBe brief, and kind.\nOffer a callback.\n"
        api.update(ids["Support"], {"system_prompt": prompt, "voice_id": 105})
        code, out, err = run(capsys, "adopt", "--dir", "d")
        assert (code, err) == (0, "")
        assert drifted(capsys) == {}
    assert out == (
        "adopted voice of support into d/support.yaml:9\n"
        "adopted system_prompt of support into d/support.yaml:12\n"
        "Adopted 2 fields into 1 file.\n"
    )
    assert texts()["d/support.yaml"] == SUPPORT.replace("voice: Maya", "voice: Nova").replace(
        "  Be brief.\n", "  Be brief, and kind.\n  Offer a callback.\n"
    )
    assert texts()["d/_defaults.yaml"] == DEFAULTS


def test_a_default_changed_on_every_assistant_that_shares_it_is_adopted_into_the_layer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/_defaults.yaml": DEFAULTS, "d/a.yaml": short("A"), "d/b.yaml": short("B")})
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        for name in ("A", "B"):
            api.update(ids[name], {"speech_speed": 1.15})
        code, out, err = run(capsys, "adopt", "--dir", "d")
        assert (code, err) == (0, "")
        assert drifted(capsys) == {}
    assert out == "adopted speech_speed of a, b into d/_defaults.yaml:2\nAdopted 1 field into 1 file.\n"
    assert texts() == {
        "d/_defaults.yaml": DEFAULTS.replace("1.0   #", "1.15   #"),
        "d/a.yaml": short("A"),
        "d/b.yaml": short("B"),
    }


def test_a_default_changed_on_some_of_its_assistants_is_an_override_in_their_files(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        {"d/_defaults.yaml": DEFAULTS, "d/a.yaml": short("A"), "d/b.yaml": short("B"), "d/c.yaml": short("C")}
    )
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        for name in ("A", "B"):
            api.update(ids[name], {"record": False})
        code, out, err = run(capsys, "adopt", "--dir", "d")
        assert (code, err) == (0, "")
        assert drifted(capsys) == {}
    reason = "(c also uses d/_defaults.yaml:3 and did not change)"
    assert out == (
        f"adopted record of a into d/a.yaml as an override {reason}\n"
        f"adopted record of b into d/b.yaml as an override {reason}\n"
        "Adopted 2 fields into 2 files.\n"
    )
    assert texts() == {
        "d/_defaults.yaml": DEFAULTS,
        "d/a.yaml": short("A") + "record: false\n",
        "d/b.yaml": short("B") + "record: false\n",
        "d/c.yaml": short("C"),
    }


def test_a_shared_default_with_different_new_values_is_an_override_in_each_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/_defaults.yaml": DEFAULTS, "d/a.yaml": short("A"), "d/b.yaml": short("B")})
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        api.update(ids["A"], {"speech_speed": 0.9})
        api.update(ids["B"], {"speech_speed": 1.2})
        code, out, err = run(capsys, "adopt", "--dir", "d")
        assert (code, err) == (0, "")
        assert drifted(capsys) == {}
    reason = "(the assistants that use d/_defaults.yaml:2 have different values on the platform)"
    assert out.splitlines()[:2] == [
        f"adopted speech_speed of a into d/a.yaml as an override {reason}",
        f"adopted speech_speed of b into d/b.yaml as an override {reason}",
    ]
    assert (texts()["d/a.yaml"], texts()["d/b.yaml"]) == (
        short("A") + "speech_speed: 0.9\n",
        short("B") + "speech_speed: 1.2\n",
    )


def test_a_secret_is_reported_and_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOOK_URL", "https://hooks.example/first-7c1d")
    files = {"d/a.yaml": short("A") + "webhook_url: ${HOOK_URL}\nspeech_speed: 1.0\n"}
    write_tree(files)
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        api.update(ids["A"], {"webhook_url": "https://hooks.example/second-9e2f", "speech_speed": 1.1})
        code, out, err = run(capsys, "adopt", "--dir", "d")
        assert code == 0
        assert drifted(capsys) == {"a": ["webhook_url"]}
    assert (
        err == "d/a.yaml:10: webhook_url: the platform has a different value for a secret; update HOOK_URL\n"
    )
    assert out == "adopted speech_speed of a into d/a.yaml:11\nAdopted 1 field into 1 file.\n"
    assert texts()["d/a.yaml"] == files["d/a.yaml"].replace("speech_speed: 1.0", "speech_speed: 1.1")
    assert "second-9e2f" not in out + err + texts()["d/a.yaml"]


def test_dry_run_prints_the_diff_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/_defaults.yaml": DEFAULTS, "d/support.yaml": SUPPORT})
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        api.update(ids["Support"], {"system_prompt": "Be brief.\n"})
        code, out, err = run(capsys, "adopt", "--dir", "d", "--dry-run")
        assert drifted(capsys) == {"support": ["system_prompt"]}
    assert code == 0
    assert texts() == {"d/_defaults.yaml": DEFAULTS, "d/support.yaml": SUPPORT}
    assert out == (
        "--- a/d/support.yaml\n"
        "+++ b/d/support.yaml\n"
        "@@ -10,7 +10,6 @@\n"
        " \n"
        " # The prompt is reviewed by the support leads.\n"
        " system_prompt: |\n"
        "-  You are the support line of Acme.\n"
        "   Be brief.\n"
        " \n"
        " # Webhooks come later.\n"
    )
    assert err == (
        "would adopt system_prompt of support into d/support.yaml:12\n"
        "Dry run: 1 field to adopt into 1 file; nothing was written.\n"
    )


def test_a_file_changed_on_disk_while_the_platform_was_read_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/a.yaml": short("A")})
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        api.update(ids["A"], {"system_prompt": "You are Alpha."})
        reading = Session.read

        def edited_meanwhile(self: Session, *args: Any) -> Any:
            Path("d/a.yaml").write_text(short("A") + "# edited in an editor\n")
            return reading(self, *args)

        monkeypatch.setattr(Session, "read", edited_meanwhile)
        code, out, err = run(capsys, "adopt", "--dir", "d")
    assert (code, out) == (1, "")
    assert err == "error: d/a.yaml changed on disk since it was read; nothing was written. Run adopt again\n"
    assert texts()["d/a.yaml"] == short("A") + "# edited in an editor\n"


def test_a_target_that_no_file_manages_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/a.yaml": short("A")})
    with emulator(monkeypatch) as api:
        code, out, err = run(capsys, "adopt", "--dir", "d", "--target", "nobody")
        assert api.journal() == []
    assert (code, out) == (1, "")
    assert err == "error: --target 'nobody' matches no file in d\n"


def test_target_and_field_choose_what_is_adopted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/a.yaml": short("A"), "d/b.yaml": short("B")})
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        for name in ("A", "B"):
            api.update(ids[name], {"system_prompt": f"You are {name}, changed.", "initial_message": "Hi."})
        code, out, err = run(capsys, "adopt", "--dir", "d", "--target", "a", "--field", "system_prompt")
        assert (code, err) == (0, "")
        assert drifted(capsys) == {"a": ["initial_message"], "b": ["initial_message", "system_prompt"]}
    assert out == "adopted system_prompt of a into d/a.yaml:9\nAdopted 1 field into 1 file.\n"


def test_an_unknown_field_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "adopt", "--dir", "d", "--field", "system_promt")
    assert (code, out) == (1, "")
    assert err == "error: --field 'system_promt': no such field; did you mean 'system_prompt'?\n"


def test_nothing_to_adopt_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/a.yaml": short("A")})
    with emulator(monkeypatch) as api:
        created(capsys, api)
        code, out, err = run(capsys, "adopt", "--dir", "d")
    assert (code, out, err) == (0, "Nothing to adopt: the platform holds the files' values.\n", "")
    assert texts()["d/a.yaml"] == short("A")


def test_a_platform_value_that_holds_a_credential_is_never_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"d/a.yaml": short("A") + "webhook_url: https://hooks.example/a\n"}
    write_tree(files)
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        api.update(ids["A"], {"webhook_url": "https://hooks.example/a?token=s3cr3t-4b1d"})
        code, out, err = run(capsys, "adopt", "--dir", "d")
    assert (code, out) == (0, "Nothing adopted: the differences above are left to you.\n")
    assert err == (
        "d/a.yaml:10: webhook_url: the platform's value holds a credential: not written; write it as ${NAME} "
        "by hand\n"
    )
    assert texts() == files


def test_a_write_only_field_cannot_be_adopted_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/a.yaml": short("A")})
    with emulator(monkeypatch) as api:
        created(capsys, api)
        code, out, err = run(capsys, "adopt", "--dir", "d", "--field", "custom_tools")
    assert (code, out) == (0, "Nothing adopted: the differences above are left to you.\n")
    assert (
        err == "--field tool_ids: write-only (the API never returns it): cannot be adopted; left as it is\n"
    )


def test_a_literal_dollar_brace_from_the_dashboard_stays_literal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/a.yaml": short("A")})
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        api.update(ids["A"], {"system_prompt": "Quote ${PRICE} as it is."})
        code, _, err = run(capsys, "adopt", "--dir", "d")
        assert (code, err) == (0, "")
        assert drifted(capsys) == {}
    assert "system_prompt: Quote $${PRICE} as it is.\n" in texts()["d/a.yaml"]


def test_a_layer_outside_the_directory_is_never_edited_from_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = "speech_speed: 1.0\n"
    own = {k: "extends: ../base/_common.yaml\n" + short(k.upper()) for k in ("a", "b")}
    write_tree({"base/_common.yaml": base, **{f"d/{k}.yaml": text for k, text in own.items()}})
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        for name in ("A", "B"):
            api.update(ids[name], {"speech_speed": 1.1})
        code, out, err = run(capsys, "adopt", "--dir", "d")
        assert (code, err) == (0, "")
        assert drifted(capsys) == {}
    why = "(base/_common.yaml:1 is outside d, and other directories may use it)"
    assert out.splitlines() == [
        f"adopted speech_speed of a into d/a.yaml as an override {why}",
        f"adopted speech_speed of b into d/b.yaml as an override {why}",
        "Adopted 2 fields into 2 files.",
    ]
    assert Path("base/_common.yaml").read_text() == base


def test_an_assistant_not_on_the_platform_has_nothing_to_adopt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/a.yaml": short("A")})
    with emulator(monkeypatch) as api:
        code, out, err = run(capsys, "adopt", "--dir", "d", "--target", "a")
        assert api.journal() == []
    assert (code, out) == (0, "Nothing adopted: the differences above are left to you.\n")
    assert err == "d/a.yaml: a is not on the platform (the plan creates it): nothing to adopt\n"


def test_a_platform_value_holding_the_token_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree({"d/a.yaml": short("A")})
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        api.update(ids["A"], {"system_prompt": f"Your key is {TOKEN}."})
        code, out, err = run(capsys, "adopt", "--dir", "d")
    assert (code, out) == (1, "")
    assert err == "error: d/a.yaml: the platform's value holds a secret this run knows; nothing was written\n"
    assert texts()["d/a.yaml"] == short("A")


def test_a_variable_removed_in_the_dashboard_leaves_the_file_or_is_nulled_over_its_layer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    defaults = "variables:\n  company: Acme\n"
    own = short("A") + "variables:\n  offer: spring  # until May\n  region: EU\n# the end\n"
    write_tree({"d/_defaults.yaml": defaults, "d/a.yaml": own, "d/b.yaml": short("B")})
    with emulator(monkeypatch) as api:
        ids = created(capsys, api)
        api.update(ids["A"], {"variables": {"region": "EU"}})
        code, out, err = run(capsys, "adopt", "--dir", "d")
        assert (code, err) == (0, ""), out
        assert drifted(capsys) == {}
    assert texts()["d/a.yaml"] == short("A") + "variables:\n  region: EU\n  company: null\n# the end\n"
    assert texts()["d/_defaults.yaml"] == defaults

"""Plan-time checks of the account's catalog (issue 14): every reference the API would refuse at apply is a
problem at plan time, with file, line, field and candidates, and nothing is written.

Each case also sends its bad body to the emulator raw, to show the API refuses it (the check is needed) and the
emulator says so in the API's words. The emulator's seed catalog: docs/api.md and reconciler/emulator/catalog.py.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hostile_server import Reply, Request, honest_account, hostile_api
from support import PIPELINE, Api, emulator, run, write_files

PIPELINE_VOICES = "candidates: 101 (Maya), 102 (Ethan), 103 (Lucia), 104 (Jonas), 105 (Nova)"
MULTIMODAL_VOICES = "candidates: 201 (Alloy), 202 (Shimmer), 203 (Echo), 302 (Orion)"
INBOUND_NUMBERS = "candidates: 501 (+14155550101), 502 (+14155550102), 504 (+4930901820)"
MULTIMODAL = {
    **PIPELINE,
    "mode": "multimodal",
    "voice_id": 201,
    "multimodal_model_id": 1,
    "llm_model_id": None,
}


def yaml_of(body: dict[str, Any]) -> str:
    """A file declaring ``body`` (flow style for lists), one key a line, in the body's order."""
    lines = []
    for key, value in body.items():
        if value is None:
            continue
        shown = "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else value
        lines.append(f"{key}: {shown}")
    return "\n".join(lines) + "\n"


def line_of(text: str, key: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(f"{key}:"))


def raw_error(api: Api, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with api.http() as http:
        response = http.request(method, path, json={k: v for k, v in body.items() if v is not None})
    return response.status_code, response.json().get("errors", {})


def refused(capsys: pytest.CaptureFixture[str], api: Api, directory: Path, expected: list[str]) -> None:
    """``apply --auto-approve`` stops at plan time with exactly these problems, exit 1, and writes nothing."""
    before = api.journal()
    code, _, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
    assert code == 1
    assert api.journal() == before
    noun = "problem" if len(expected) == 1 else "problems"
    files = len({line.split(":")[0] for line in expected})
    checked = len(list(directory.glob("*.yaml")))
    assert err.splitlines()[:-1] == expected
    where = f"{files} file" if checked == 1 else f"{files} of {checked} files"
    assert err.splitlines()[-1] == f"error: {len(expected)} {noun} in {where}"


# ---- ids the account does not have -----------------------------------------------------------------------

UNKNOWN_IDS = [
    # (engine body, key, value, the plan's message, the API's error key and message)
    (PIPELINE, "voice_id", 999, f"no voice 999 for pipeline mode; {PIPELINE_VOICES}", "voice_id", "The selected voice id is invalid."),
    (PIPELINE, "language_id", 9, "no language 9; candidates: 1 (English), 2 (Spanish), 3 (German), 4 (French)", "language_id", "The selected language id is invalid."),
    (PIPELINE, "secondary_language_ids", [2, 9], "no language 9; candidates: 1 (English), 2 (Spanish), 3 (German), 4 (French)", "secondary_language_ids.1", "The selected secondary language ids.1 is invalid."),
    (PIPELINE, "llm_model_id", 9, "no LLM model 9; candidates: 1 (GPT-4o mini), 2 (GPT-4.1), 3 (Claude Sonnet)", "llm_model_id", "The selected llm model id is invalid."),
    ({**MULTIMODAL, "mode": "dualplex", "voice_id": 301}, "multimodal_model_id", 1, "no dualplex model 1; candidates: 3 (Dualplex One), 4 (Dualplex Mini)", "multimodal_model_id", "The selected multimodal model id is invalid."),
    (MULTIMODAL, "chat_llm_fallback_id", 9, "no LLM model 9; candidates: 1 (GPT-4o mini), 2 (GPT-4.1), 3 (Claude Sonnet)", "chat_llm_fallback_id", "The selected chat llm fallback id is invalid."),
    (PIPELINE, "knowledgebase_id", 99, "no knowledgebase 99; candidates: 10 (Product FAQ), 11 (Returns policy)", "knowledgebase_id", "The selected knowledgebase id is invalid."),
    (PIPELINE, "phone_number_id", 599, "no phone number 599; candidates: 501 (+14155550101), 502 (+14155550102), 503 (+442071838750), 504 (+4930901820)", "phone_number_id", "The selected phone number id is invalid."),
    (PIPELINE, "tool_ids", [31, 99], "no tool 99; candidates: 31 (lookup_order), 32 (crm_create_lead)", "tool_ids.1", "The selected tool ids.1 is invalid."),
    (PIPELINE, "synthesizer_provider_id", 9, "no synthesizer provider 9; candidates: 1 (ElevenLabs), 2 (Cartesia)", "synthesizer_provider_id", "The selected synthesizer provider id is invalid."),
    (PIPELINE, "transcriber_provider_id", 9, "no transcriber provider 9; candidates: 1 (Deepgram), 2 (AssemblyAI)", "transcriber_provider_id", "The selected transcriber provider id is invalid."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("engine", "key", "value", "message", "api_key", "api_message"),
    UNKNOWN_IDS,
    ids=[case[1] for case in UNKNOWN_IDS],
)
def test_an_id_the_account_does_not_have_is_a_plan_problem_and_the_api_refuses_it(
    engine: dict[str, Any],
    key: str,
    value: Any,
    message: str,
    api_key: str,
    api_message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = {**engine, key: value}
    text = yaml_of(body)
    path = f"{key}[{len(value) - 1}]" if isinstance(value, list) else key
    with emulator(monkeypatch) as api:
        directory = write_files(tmp_path / "d", {"n": text})
        refused(capsys, api, directory, [f"{directory}/n.yaml:{line_of(text, key)}: {path}: {message}"])
        assert raw_error(api, "POST", "/user/assistant", body) == (422, {api_key: [api_message]})


def test_a_name_written_for_the_id_is_the_key_the_problem_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``secondary_languages: [German]`` resolves; the check then passes, and a bad sibling id still fails."""
    text = yaml_of({**PIPELINE, "tool_ids": [32, 77]}) + "secondary_languages: [German]\n"
    with emulator(monkeypatch) as api:
        directory = write_files(tmp_path / "d", {"n": text})
        refused(
            capsys,
            api,
            directory,
            [
                f"{directory}/n.yaml:{line_of(text, 'tool_ids')}: tool_ids[1]: no tool 77; candidates: "
                "31 (lookup_order), 32 (crm_create_lead)"
            ],
        )


# ---- the voice and the mode after the update --------------------------------------------------------------


def test_a_voice_of_another_mode_is_a_plan_problem_and_the_api_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {**PIPELINE, "voice_id": 201}
    text = yaml_of(body)
    with emulator(monkeypatch) as api:
        directory = write_files(tmp_path / "d", {"n": text})
        refused(
            capsys,
            api,
            directory,
            [
                f"{directory}/n.yaml:{line_of(text, 'voice_id')}: voice_id: voice 201 (Alloy) does not suit "
                f"pipeline mode; {PIPELINE_VOICES}"
            ],
        )
        assert raw_error(api, "POST", "/user/assistant", body) == (
            422,
            {"voice_id": ["The selected voice is not compatible with the chosen engine type."]},
        )


def test_a_voice_unchanged_on_the_platform_is_checked_against_the_mode_the_file_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file sets voice 101 (pipeline, as on the platform) and switches to multimodal: the body sends only
    the mode, and the API checks the voice it keeps against the new mode."""
    file_body = {**MULTIMODAL, "voice_id": 101}
    text = yaml_of(file_body)
    with emulator(monkeypatch) as api:
        assistant_id = api.create(PIPELINE)
        directory = write_files(tmp_path / "d", {"n": text})
        refused(
            capsys,
            api,
            directory,
            [
                f"{directory}/n.yaml:{line_of(text, 'voice_id')}: voice_id: voice 101 (Maya) does not suit "
                f"multimodal mode; {MULTIMODAL_VOICES}"
            ],
        )
        assert raw_error(
            api, "PUT", f"/user/assistant/{assistant_id}", {"mode": "multimodal", "multimodal_model_id": 1}
        ) == (422, {"voice_id": ["The selected voice is not compatible with the chosen engine type."]})


def test_a_mode_switch_that_keeps_the_platforms_voice_is_a_plan_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "name: Pipeline One\nmode: multimodal\nmultimodal_model_id: 1\n"
    with emulator(monkeypatch) as api:
        assistant_id = api.create(PIPELINE)
        directory = write_files(tmp_path / "d", {"n": text})
        refused(
            capsys,
            api,
            directory,
            [
                f"{directory}/n.yaml:2: mode: the platform's voice_id 101 does not suit multimodal mode, and this "
                f"file keeps it; set voice or voice_id; {MULTIMODAL_VOICES}"
            ],
        )
        assert raw_error(
            api, "PUT", f"/user/assistant/{assistant_id}", {"mode": "multimodal", "multimodal_model_id": 1}
        ) == (422, {"voice_id": ["The selected voice is not compatible with the chosen engine type."]})
        write_files(directory, {"n": text + "voice: Orion\n"})  # the way out the message names
        code, _, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
        assert (code, err) == (0, "")


# ---- an inbound assistant's phone number ------------------------------------------------------------------

INBOUND = {**PIPELINE, "type": "inbound"}


def test_a_caller_id_number_for_an_inbound_assistant_is_a_plan_problem_and_the_api_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {**INBOUND, "phone_number_id": 503}
    text = yaml_of(body)
    with emulator(monkeypatch) as api:
        directory = write_files(tmp_path / "d", {"n": text})
        refused(
            capsys,
            api,
            directory,
            [
                f"{directory}/n.yaml:{line_of(text, 'phone_number_id')}: phone_number_id: phone number 503 "
                f"(+442071838750) is a Caller ID number, which an inbound assistant cannot use; {INBOUND_NUMBERS}"
            ],
        )
        assert raw_error(api, "POST", "/user/assistant", body) == (
            422,
            {"phone_number_id": ["A Caller ID number cannot be used for an inbound assistant."]},
        )


def test_turning_inbound_with_the_platforms_caller_id_number_is_a_plan_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file keeps number 503 (ignore_changes, so the body sends only the type) and turns inbound."""
    text = yaml_of(INBOUND) + "ignore_changes: [phone_number_id]\n"
    with emulator(monkeypatch) as api:
        assistant_id = api.create({**PIPELINE, "phone_number_id": 503})
        directory = write_files(tmp_path / "d", {"n": text})
        refused(
            capsys,
            api,
            directory,
            [
                f"{directory}/n.yaml:{line_of(text, 'type')}: type: the platform's phone number 503 (+442071838750) is a Caller ID "
                f"number, which an inbound assistant cannot use; {INBOUND_NUMBERS}"
            ],
        )
        assert raw_error(api, "PUT", f"/user/assistant/{assistant_id}", {"type": "inbound"}) == (
            422,
            {"phone_number_id": ["A Caller ID number cannot be used for an inbound assistant."]},
        )


def test_turning_inbound_with_a_caller_id_number_the_file_keeps_names_the_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = yaml_of({**INBOUND, "phone_number_id": 503})
    with emulator(monkeypatch) as api:
        api.create({**PIPELINE, "phone_number_id": 503})
        directory = write_files(tmp_path / "d", {"n": text})
        refused(
            capsys,
            api,
            directory,
            [
                f"{directory}/n.yaml:{line_of(text, 'phone_number_id')}: phone_number_id: phone number 503 "
                f"(+442071838750) is a Caller ID number, which an inbound assistant cannot use; {INBOUND_NUMBERS}"
            ],
        )


def test_a_number_another_inbound_assistant_holds_on_the_platform_is_a_plan_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {**INBOUND, "name": "Second", "phone_number_id": 501}
    text = yaml_of(body)
    with emulator(monkeypatch) as api:
        holder = api.create({**INBOUND, "name": "First", "phone_number_id": 501})
        directory = write_files(tmp_path / "d", {"n": text})
        refused(
            capsys,
            api,
            directory,
            [
                f"{directory}/n.yaml:{line_of(text, 'phone_number_id')}: phone_number_id: phone number 501 "
                f"(+14155550101) is already used by inbound assistant {holder} (First); an inbound number serves "
                "one assistant; candidates: 502 (+14155550102), 504 (+4930901820)"
            ],
        )
        assert raw_error(api, "POST", "/user/assistant", body) == (
            422,
            {"phone_number_id": ["The phone number is already used by another inbound assistant."]},
        )


def test_two_files_claiming_one_inbound_number_are_both_plan_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = yaml_of({**INBOUND, "name": "First"}) + "phone_number: '+4930901820'\n"
    second = yaml_of({**INBOUND, "name": "Second", "phone_number_id": 504})
    with emulator(monkeypatch) as api:
        directory = write_files(tmp_path / "d", {"a": first, "b": second})
        tail = "an inbound number serves one assistant; candidates: 501 (+14155550101), 502 (+14155550102)"
        refused(
            capsys,
            api,
            directory,
            [
                f"{directory}/a.yaml:{line_of(first, 'phone_number')}: phone_number: phone number 504 "
                f"(+4930901820) is already used by the inbound assistant of {directory}/b.yaml; {tail}",
                f"{directory}/b.yaml:{line_of(second, 'phone_number_id')}: phone_number_id: phone number 504 "
                f"(+4930901820) is already used by the inbound assistant of {directory}/a.yaml; {tail}",
            ],
        )
        api.create({**INBOUND, "name": "First", "phone_number_id": 504})  # the first of the two applied...
        assert raw_error(
            api, "POST", "/user/assistant", {**INBOUND, "name": "Second", "phone_number_id": 504}
        ) == (
            422,
            {"phone_number_id": ["The phone number is already used by another inbound assistant."]},
        )  # ... and the second refused


def test_a_number_its_holder_gives_up_in_the_same_plan_says_which_file_to_apply_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    holder_file = yaml_of({**INBOUND, "name": "First", "phone_number_id": 502})
    claimer = yaml_of({**INBOUND, "name": "Second", "phone_number_id": 501})
    with emulator(monkeypatch) as api:
        holder = api.create({**INBOUND, "name": "First", "phone_number_id": 501})
        directory = write_files(tmp_path / "d", {"a": holder_file, "b": claimer})
        refused(
            capsys,
            api,
            directory,
            [
                f"{directory}/b.yaml:{line_of(claimer, 'phone_number_id')}: phone_number_id: phone number 501 "
                f"(+14155550101) is already used by inbound assistant {holder} (First), which {directory}/a.yaml "
                "gives up in this plan; the writes may run in any order and the API refuses the number until that "
                "one is applied: apply --target a first; an inbound number serves one assistant; candidates: "
                "504 (+4930901820)"
            ],
        )
        assert (
            raw_error(api, "POST", "/user/assistant", {**INBOUND, "name": "Second", "phone_number_id": 501})[
                0
            ]
            == 422
        )
        code, _, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve", "--target", "a")
        assert (code, err) == (0, "")
        code, _, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
        assert (code, err) == (0, "")


def test_a_plan_that_keeps_an_inbound_number_it_already_holds_is_green(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = yaml_of({**INBOUND, "name": "First", "phone_number_id": 501, "record": True})
    with emulator(monkeypatch) as api:
        api.create({**INBOUND, "name": "First", "phone_number_id": 501})
        directory = write_files(tmp_path / "d", {"a": text})
        code, _, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
    assert (code, err) == (0, "")


# ---- one request per distinct lookup ----------------------------------------------------------------------


def test_a_plan_of_many_assistants_asks_each_distinct_lookup_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {}
    for n in range(12):
        engine = [
            PIPELINE,
            MULTIMODAL,
            {**MULTIMODAL, "mode": "dualplex", "voice_id": 301, "multimodal_model_id": 3},
        ][n % 3]
        body = {
            **engine,
            "name": f"A{n}",
            "knowledgebase_id": 10,
            "tool_ids": [31],
            "secondary_language_ids": [2],
        }
        files[f"a{n}"] = yaml_of(body) + ("voice: Nova\n" if n == 0 else "")
    files["a0"] = files["a0"].replace("voice_id: 101\n", "")
    account = honest_account()
    gets: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

    def counting(request: Request) -> Reply:
        if request.method == "GET" and request.path != "/user/assistants/get":
            gets[(request.path, tuple(sorted(request.query.items())))] += 1
        return account.handle(request)

    directory = write_files(tmp_path / "d", files)
    with hostile_api(monkeypatch, counting) as server:
        code, _, err = run(capsys, "plan", "--dir", str(directory))
        assert server.writes() == []
    assert (code, err) == (0, "")
    assert max(gets.values()) == 1, gets
    assert sorted(gets) == sorted(
        [
            ("/user/assistants/languages", ()),
            ("/user/assistants/models", (("type", "dualplex"),)),
            ("/user/assistants/models", (("type", "llm"),)),
            ("/user/assistants/models", (("type", "multimodal"),)),
            (
                "/user/assistants/voices",
                (("language_id", "1"), ("mode", "pipeline")),
            ),  # the name's, and labels
            ("/user/assistants/voices", (("language_id", "1"), ("mode", "multimodal"))),  # the plan's labels
            ("/user/assistants/voices", (("language_id", "1"), ("mode", "dualplex"))),
            (
                "/user/assistants/voices",
                (("mode", "dualplex"),),
            ),  # the check: the API documents no language rule
            ("/user/assistants/voices", (("mode", "multimodal"),)),
            ("/user/assistants/voices", (("mode", "pipeline"),)),
            ("/user/knowledgebases", ()),
            ("/user/tools", ()),
        ]
    )

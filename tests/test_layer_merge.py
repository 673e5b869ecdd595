"""The merge of layered files (docs/contract.md#layers) against a small reference merge written out here, random
layer stacks applied through the CLI and planned again (empty), each layer read once per run, the plan's sources
through a saved plan, and the JSON Schema of a layer."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import MODE_SPECIFIC, OPTIONAL, assistant, names, property_settings
from support import emulator, plan_json, run

import reconciler.files
from reconciler.desired import load_directory
from reconciler.errors import Problem
from reconciler.plan import Action, Change, FieldChange, Plan, plan_from_data
from reconciler.schema import json_schema

#: Mode-only fields (of any mode) a layer may carry: the merged mode decides whether they stay.
MODE_ONLY = {key: strategy for fields in MODE_SPECIFIC.values() for key, strategy in fields.items()}
ONLY_IN = {"fillers": {"pipeline"}, "transcriber_provider_id": {"pipeline"}, "chat_llm_fallback_id": {"multimodal", "dualplex"}, "turn_detection_threshold": {"multimodal", "dualplex"}}  # fmt: skip


@st.composite
def layer(draw: st.DrawFn) -> dict[str, Any]:
    """A layer: some fields of every mode, some of one mode only, variables that may remove inherited keys."""
    fields = {**OPTIONAL, **MODE_ONLY}
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=6))
    data = {key: draw(fields[key]) for key in chosen}
    if draw(st.booleans()):
        data["variables"] = draw(
            st.dictionaries(
                st.sampled_from(["a", "b", "c"]), st.none() | st.sampled_from(["x", "y"]), max_size=3
            )
        )
    if draw(st.booleans()):
        data["ignore_changes"] = draw(
            st.lists(st.sampled_from(["record", "max_duration", "fillers"]), unique=True)
        )
    if draw(st.booleans()):
        data["voice_id"] = draw(st.sampled_from([101, 102]))
    return data


def reference_merge(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The contract's merge, lowest first, the assistant file last, said as plainly as it can be."""
    merged: dict[str, Any] = {}
    from_layer: dict[str, bool] = {}
    for position, doc in enumerate(docs):
        own = position == len(docs) - 1
        for key, value in doc.items():
            if key == "variables" and isinstance(value, dict):
                below = merged.get("variables") if isinstance(merged.get("variables"), dict) else {}
                combined = {**below, **value}
                merged["variables"] = {k: v for k, v in combined.items() if v is not None}
            elif key == "ignore_changes":
                merged["ignore_changes"] = [
                    *merged.get("ignore_changes", []),
                    *(v for v in value if v not in merged.get("ignore_changes", [])),
                ]
            else:
                for twin in ({"voice": "voice_id", "voice_id": "voice"}.get(key, ""),):
                    merged.pop(twin, None)
                merged[key] = value
            from_layer[key] = not own
    mode = merged["mode"]
    return {
        k: v for k, v in merged.items() if not (from_layer[k] and k in ONLY_IN and mode not in ONLY_IN[k])
    }


def _yaml(data: dict[str, Any]) -> str:
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in data.items())


@property_settings(examples=150)
@given(
    own=assistant("Layered"),
    defaults=st.none() | layer(),
    layers=st.lists(layer(), max_size=3),
    chained=st.booleans(),
    voice_by_name=st.booleans(),
)
def test_the_merged_assistant_is_the_reference_merge(
    own: dict[str, Any],
    defaults: dict[str, Any] | None,
    layers: list[dict[str, Any]],
    chained: bool,
    voice_by_name: bool,
) -> None:
    if voice_by_name and own["mode"] == "pipeline":
        del own["voice_id"]
        own["voice"] = "Maya"
    for key in ONLY_IN:  # the assistant file's own mode-only fields suit its mode (strategies.assistant)
        assert key not in own or own["mode"] in ONLY_IN[key]
    names = [f"_l{i}.yaml" for i in range(len(layers))]
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        if defaults is not None:
            (directory / "_defaults.yaml").write_text(_yaml(defaults) or "{}\n")
        if chained:  # each layer extends the one before it; the file extends the last
            for i, data in enumerate(layers):
                lower = {"extends": names[i - 1]} if i else {}
                (directory / names[i]).write_text(_yaml({**lower, **data}) or "{}\n")
            extends = {"extends": names[-1]} if names else {}
        else:  # the file lists them all, lowest first
            for name, data in zip(names, layers, strict=True):
                (directory / name).write_text(_yaml(data) or "{}\n")
            extends = {"extends": names}
        (directory / "a.yaml").write_text(_yaml({**extends, **own}))
        state = load_directory(directory, environ={})
    docs = [*([defaults] if defaults is not None else []), *layers, own]
    assert state.assistants[0].source.data == reference_merge(docs)


def write_stack(
    directory: Path, defaults: dict[str, Any] | None, layers: list[dict[str, Any]], chained: bool
) -> dict[str, Any]:
    """The layers on disk (chained: each extends the one before); the ``extends`` an assistant file then says."""
    files = [f"_l{i}.yaml" for i in range(len(layers))]
    directory.mkdir(parents=True, exist_ok=True)
    if defaults is not None:
        (directory / "_defaults.yaml").write_text(_yaml(defaults) or "{}\n")
    for i, data in enumerate(layers):
        lower = {"extends": files[i - 1]} if chained and i else {}
        (directory / files[i]).write_text(_yaml({**lower, **data}) or "{}\n")
    if chained:
        return {"extends": files[-1]} if files else {}
    return {"extends": files}


@property_settings(examples=10)
@given(
    owns=st.lists(st.integers(0, 10**6).flatmap(lambda n: assistant(f"Stacked {n}")), min_size=1, max_size=3),
    defaults=st.none() | layer(),
    layers=st.lists(layer(), max_size=3),
    chained=st.booleans(),
)
def test_a_random_layer_stack_applies_and_then_plans_empty(
    owns: list[dict[str, Any]],
    defaults: dict[str, Any] | None,
    layers: list[dict[str, Any]],
    chained: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """plan → apply → plan through the CLI against the emulator: what the merge sends is what it then reads."""
    directory = tmp_path / f"stack{next(names)}"
    extends = write_stack(directory, defaults, layers, chained)
    for i, own in enumerate(owns):
        own["name"] = f"{own['name']} {i}"
        (directory / f"a{i}.yaml").write_text(_yaml({**extends, **own}))
    with pytest.MonkeyPatch.context() as patch, emulator(patch):
        before = plan_json(capsys, directory)
        assert before["summary"]["create"] == len(owns)
        code, _, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
        assert (code, err) == (0, "")
        after = plan_json(capsys, directory)
    changed = [c for c in after["changes"] if c["action"] != "noop"]
    assert not changed, json.dumps(changed, indent=1)
    assert after["summary"]["noop"] == len(owns)


def test_each_layer_is_parsed_once_however_many_files_extend_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    parse = reconciler.files.parse

    def counting(raw: bytes, file: str, environ: Any) -> Any:
        parsed.append(file)
        return parse(raw, file, environ)

    monkeypatch.setattr(reconciler.files, "parse", counting)
    (tmp_path / "_defaults.yaml").write_text("record: true\n")
    (tmp_path / "_b.yaml").write_text("speech_speed: 1.1\n")
    (tmp_path / "_a.yaml").write_text("extends: _b.yaml\nmax_duration: 300\n")
    for i in range(50):
        (tmp_path / f"n{i:02}.yaml").write_text(f"extends: [_a.yaml, ./_b.yaml]\nname: N{i}\n")
    state = load_directory(tmp_path, environ={})
    assert len(state.assistants) == 50
    assert sorted(parsed) == sorted([str(tmp_path / n) for n in ("_defaults.yaml", "_a.yaml", "_b.yaml")] + [str(tmp_path / f"n{i:02}.yaml") for i in range(50)])  # fmt: skip


def test_a_field_change_keeps_its_source_through_a_saved_plan_and_an_old_plan_still_loads() -> None:
    fields = (
        FieldChange("record", False, True, source="d/_defaults.yaml:3", traced=True, from_layer=True),
        FieldChange("webhook_url", "https://a.example/h", None, traced=True),
        FieldChange("speech_speed", 1.0, 1.1),
    )
    plan = Plan.of([Change("a", "d/a.yaml", Action.UPDATE, 1, "A", {"record": True}, fields)])
    items = plan.data()["changes"][0]["fields"]
    assert items == [
        {
            "path": "record",
            "before": False,
            "after": True,
            "source": "d/_defaults.yaml:3",
            "from_layer": True,
        },
        {"path": "webhook_url", "before": "https://a.example/h", "after": None, "source": None},
        {"path": "speech_speed", "before": 1.0, "after": 1.1},
    ]
    assert plan_from_data(json.loads(json.dumps(plan.data()))).changes[0].fields == fields


def test_a_problem_of_a_value_from_a_layer_names_the_file_and_the_origin() -> None:
    problem = Problem("d/a.yaml", 0, "fillers (from _defaults.yaml:3)", "applies only to pipeline assistants")
    assert str(problem) == "d/a.yaml: fillers (from _defaults.yaml:3): applies only to pipeline assistants"


@pytest.mark.parametrize(
    ("document", "valid"),
    [
        ({"extends": [], "fillers": True}, True),  # a layer: every field optional, mode-only fields too
        ({"extends": "_base.yaml", "speech_speed": 1.1}, True),  # no name: a layer may give it
        ({"extends": ["_a.yaml", "../base/_b.yaml"], "mode": "multimodal", "fillers": True}, True),
        ({"fillers": True}, False),  # without extends: a whole assistant, as before
        ({"extends": 3, "name": "A"}, False),
        ({"extends": [""], "name": "A"}, False),
        ({"extends": [], "speech_speed": 5}, False),  # per-field checks hold in a layer
        ({"extends": [], "voice": "Maya", "voice_id": 101}, False),  # one document, both forms
    ],
)
def test_a_layer_validates_against_the_same_schema_with_every_field_optional(
    document: dict[str, Any], valid: bool
) -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    assert (not list(validator.iter_errors(document))) is valid

"""The planner on its own: files on disk and an account in memory → a Plan, with no server and no client.

``reconcile.build_plan`` is pure (the session reads the account and hands it in), so its identity, diff and
safety decisions can be pinned here directly, beside the end-to-end tests that go through the CLI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import reconcile
from reconciler.desired import load_directory
from reconciler.errors import FilesInvalid
from reconciler.plan import Action, Plan, Unmanaged
from reconciler.reconcile import Options, build_plan
from reconciler.record import keyed_digest
from reconciler.remote import Account
from reconciler.secret import Secret

FILE = (
    "name: {name}\ntype: outbound\nmode: pipeline\nlanguage_id: 1\nvoice_id: 101\nllm_model_id: 2\n"
    "timezone: Europe/Berlin\ninitial_message: Hello there.\nsystem_prompt: You are helpful.\n{extra}"
)


def item(assistant_id: int, name: str, **extra: Any) -> dict[str, Any]:
    """A list-endpoint item in the read shape (decimals as strings, 0/1 booleans)."""
    return {
        "id": assistant_id,
        "name": name,
        "type": "outbound",
        "mode": "pipeline",
        "language_id": 1,
        "voice_id": 101,
        "llm_model_id": 2,
        "timezone": "Europe/Berlin",
        "initial_message": "Hello there.",
        "system_prompt": "You are helpful.",
        "speech_speed": "1.0",
        "variables": {},
        **extra,
    }


def owned(owner: str, key: str) -> dict[str, str]:
    return {"_reconciler": json.dumps({"v": 1, "fields": {}, "owner": owner, "key": key})}


def plan(tmp_path: Path, files: dict[str, str], items: list[dict[str, Any]], **options: Any) -> Plan:
    for key, text in files.items():
        (tmp_path / f"{key}.yaml").write_text(text)
    state = load_directory(tmp_path, environ={})
    return build_plan(state, Account.of(items), digest=keyed_digest(Secret("k")), options=Options(**options))


def test_an_update_sends_only_the_changed_field_and_lists_what_no_file_manages(tmp_path: Path) -> None:
    files = {"desk": FILE.format(name="Desk", extra="speech_speed: 0.9\n")}
    result = plan(tmp_path, files, [item(1, "Desk"), item(2, "Lobby")], owner="o")
    (change,) = result.changes
    assert (change.action, change.id, change.body) == (Action.UPDATE, 1, {"speech_speed": 0.9})
    assert [(f.path, f.before, f.after) for f in change.fields] == [("speech_speed", 1.0, 0.9)]
    assert result.unmanaged == (Unmanaged(2, "Lobby"),)


def test_each_file_of_every_batch_is_planned_with_its_own_values(tmp_path: Path) -> None:
    """Files are planned in batches (``reconcile.BATCH``), their values first: each file's update carries its
    own value, on both sides of every batch's edge."""
    count = 2 * reconcile.BATCH + 3
    texts = {f"a{i:03d}": FILE.format(name=f"A{i}", extra="") for i in range(count)}
    files = {key: text.replace("Hello there.", f"Hello from {key}.") for key, text in texts.items()}
    result = plan(tmp_path, files, [item(i + 1, f"A{i}") for i in range(count)])
    assert [(c.key, c.id, c.body) for c in result.changes] == [
        (f"a{i:03d}", i + 1, {"initial_message": f"Hello from a{i:03d}."}) for i in range(count)
    ]


def test_a_matching_file_is_a_noop_with_an_empty_body(tmp_path: Path) -> None:
    result = plan(
        tmp_path,
        {"desk": FILE.format(name="Desk", extra="")},
        [item(1, "Desk", variables=owned("o", "desk"))],
        owner="o",
    )
    (change,) = result.changes
    assert (change.action, change.body, change.notes) == (Action.NOOP, {}, ())
    assert not result.has_changes


def test_the_record_finds_a_renamed_assistant_and_prune_deletes_only_what_this_owner_lost(
    tmp_path: Path,
) -> None:
    items = [
        item(1, "Old Name", variables=owned("o", "desk")),
        item(2, "Gone", variables=owned("o", "gone")),
        item(3, "Theirs", variables=owned("someone-else", "theirs")),
    ]
    result = plan(tmp_path, {"desk": FILE.format(name="New Name", extra="")}, items, owner="o", prune=True)
    assert [(c.key, c.action, c.id) for c in result.changes] == [
        ("desk", Action.UPDATE, 1),
        ("gone", Action.DELETE, 2),
    ]
    assert result.changes[0].body == {"name": "New Name"}
    assert result.unmanaged == (Unmanaged(3, "Theirs"),)


def test_every_refusal_is_a_problem_at_the_files_line_and_field(tmp_path: Path) -> None:
    items = [item(1, "Desk", variables=owned("someone-else", "desk")), item(2, "Twin"), item(3, "Twin")]
    files = {"desk": FILE.format(name="Desk", extra=""), "twin": FILE.format(name="Twin", extra="")}
    with pytest.raises(FilesInvalid) as raised:
        plan(tmp_path, files, items, owner="o")
    assert [str(p) for p in raised.value.problems] == [
        f"{tmp_path}/desk.yaml:1: name: matches assistant 1 by name, but its record says 'someone-else' "
        "manages it as 'desk'; add id: 1 to take it over on purpose",
        f"{tmp_path}/twin.yaml:1: name: 2 assistants on the platform are named 'Twin' (ids 2, 3); add id: to "
        "say which",
    ]


@given(
    directory=st.sampled_from([".", "d", "d/", "/x/d", "./d", "d/../e", "..", "/"]),
    name=st.lists(st.sampled_from(["a", ".", "..", "/", "b.yaml", "\\u0001"]), min_size=0, max_size=4).map(
        "".join
    ),
    joined=st.booleans(),
)
def test_a_files_path_relative_to_its_directory_is_what_relpath_says(
    directory: str, name: str, joined: bool
) -> None:
    """The saved plan's file digests are keyed by path relative to the directory: the shortcut for the usual
    file (issue 19) answers as ``os.path.relpath`` does for every path, usual or not."""
    file = str(Path(directory) / name) if joined else name or "."
    assert reconcile._relative(file, Path(directory)) == os.path.relpath(file, Path(directory))

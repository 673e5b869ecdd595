"""Property: whatever happens to identity between two applies — assistants renamed in their files, files
renamed, assistants deleted or created by hand in the dashboard — plan → apply → plan converges: the second plan
has nothing to do, and no file ever ends up with two assistants.

The oracle counts the assistants on the emulator by the record each create leaves (owner, key), read through
the emulator's own store, not through the reconciler.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import property_settings
from support import PIPELINE, pipeline_file

from reconciler.cli import main
from reconciler.emulator.server import EmulatorOptions, running_emulator
from reconciler.emulator.store import Store

TOKEN = "identity-property-token"
runs = count()

OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["rename", "move", "delete", "hand-create"]), st.integers(0, 3)), max_size=6
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    state = tmp_path_factory.mktemp("identity") / "state.sqlite"
    with running_emulator(EmulatorOptions(seed="empty", token=TOKEN, state=state)) as url:
        yield url, state


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return code, out


def owned_by(state: Path, owner: str) -> dict[str, list[int]]:
    """key → ids of the stored assistants whose record says this owner manages them under that key."""
    keys: dict[str, list[int]] = {}
    with Store.reading(state) as store:
        for data in store.all():
            record = json.loads((data.get("variables") or {}).get("_reconciler", "{}"))
            if record.get("owner") == owner:
                keys.setdefault(record["key"], []).append(data["id"])
    return keys


@property_settings(25)
@given(files=st.integers(1, 4), pinned=st.booleans(), prune=st.booleans(), operations=OPERATIONS)
def test_identity_operations_between_applies_converge_without_duplicates(
    files: int,
    pinned: bool,
    prune: bool,
    operations: list[tuple[str, int]],
    api: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, state = api
    monkeypatch.setenv("GLORIA_API_URL", url)
    monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
    run = next(runs)
    owner = f"owner-{run}"
    directory = tmp_path / f"d{run}"
    directory.mkdir()
    flags = ["--dir", str(directory), "--owner", owner, *(["--prune"] if prune else [])]
    names = {f"k{i}": f"Identity {run}.{i}" for i in range(files)}
    for key, name in names.items():
        (directory / f"{key}.yaml").write_text(pipeline_file(name))
    cli(capsys, "apply", "--auto-approve", *flags)
    ids = {key: found[0] for key, found in owned_by(state, owner).items()}
    if pinned:
        for key, name in names.items():
            (directory / f"{key}.yaml").write_text(pipeline_file(name, assistant_id=ids[key]))

    # Renaming both the assistant and its file between two applies leaves nothing to know it by (no id, no
    # record key, no name): that is a new assistant, as documented. Each file gets one of the two per round.
    touched: set[str] = set()
    http = httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    )
    for step, (operation, index) in enumerate(operations):
        key = sorted(names)[index % len(names)]
        if operation in ("rename", "move") and key in touched:
            continue
        if operation == "rename":  # the file gives its assistant a new name
            touched.add(key)
            names[key] = f"{names[key]} r{step}"
            (directory / f"{key}.yaml").write_text(
                pipeline_file(names[key], assistant_id=ids[key] if pinned else None)
            )
        elif operation == "move" and not pinned:  # git mv: the same assistant, a new key
            moved = f"{key}m{step}"
            (directory / f"{key}.yaml").rename(directory / f"{moved}.yaml")
            names[moved] = names.pop(key)
            ids[moved] = ids.pop(key)
            touched.add(moved)
        elif operation == "delete":  # deleted in the dashboard
            http.delete(f"/user/assistant/{ids[key]}")
        elif operation == "hand-create":  # made in the dashboard: no file manages it
            response = http.post("/user/assistant", json={**PIPELINE, "name": f"Hand {run}.{step}"})
            assert response.status_code == 201, response.text

    cli(capsys, "apply", "--auto-approve", *flags)
    _, out = cli(capsys, "plan", "--format", "json", *flags)
    again = json.loads(out)
    assert [c["action"] for c in again["changes"]] == ["noop"] * len(names), again["changes"]
    owned = owned_by(state, owner)
    assert sorted(owned) == sorted(names)
    assert all(len(found) == 1 for found in owned.values()), owned

"""Property: for random current and desired assistants, plan → apply → plan converges in one step, in both read
modes, and no body carries a field that no rule requires.

The oracle reads the emulator's stored state (the write shape, through ``Store.reading``), not through the
reconciler's normaliser, so that a normaliser bug cannot hide itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import assistant, names, property_settings

from reconciler.cli import main
from reconciler.emulator.server import EmulatorOptions, running_emulator
from reconciler.emulator.store import Store
from reconciler.spec import API_FIELDS, CLEARED_TO, MODE_ONLY, RESET_BY_MODE_CHANGE

TOKEN = "property-token"


class Account:
    def __init__(self, url: str, state: Path) -> None:
        self.url = url
        self.state = state
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
        )

    def create(self, body: dict[str, Any]) -> int:
        response = self.http.post("/user/assistant", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["data"]["id"])

    def stored(self, assistant_id: int) -> dict[str, Any]:
        with Store.reading(self.state) as store:
            data = store.get(assistant_id)
        assert data is not None, f"assistant {assistant_id} is not stored"
        return data


@pytest.fixture(scope="module", params=["read", "symmetric"])
def account(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    state = tmp_path_factory.mktemp("property") / "state.sqlite"
    options = EmulatorOptions(seed="empty", token=TOKEN, read_mode=request.param, state=state)
    with running_emulator(options) as url:
        yield Account(url, state)


#: Plan-time refusals that are right for some random pairs: the platform keeps a value the file leaves alone
#: and the update would contradict it (the API would answer 422).
CONFLICTS = ("but is_webhook_active is true on the platform", "mode refuses")


def plan(directory: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any] | None:
    code = main(["plan", "--dir", str(directory), "--format", "json"])
    out, err = capsys.readouterr()
    if code == 1 and any(conflict in err for conflict in CONFLICTS):
        return None
    assert code == 0, err
    return dict(json.loads(out))


def norm(value: Any) -> Any:
    """The test's own idea of what the API stores: strings trimmed, "" → null, tool keys without nulls."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        return [norm(v) for v in value]
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items() if norm(v) is not None or k != "description"}
    return value


def allowed_fields(file: dict[str, Any], stored: dict[str, Any], observed_all: bool) -> set[str]:
    """Fields a body may carry: changed ones, mode re-sends, write-only ones, and variables for bookkeeping."""
    mode = file["mode"]
    allowed = {"variables"}
    for field in API_FIELDS:
        if field in MODE_ONLY and mode not in MODE_ONLY[field]:
            continue
        if field in file:
            want = norm(file[field])
        elif field in CLEARED_TO:
            want = CLEARED_TO[field]
        else:
            continue
        have = stored.get(field)
        unordered = field in ("tool_ids", "secondary_language_ids", "tools", "post_call_schema")
        same = (
            sorted(map(json.dumps, want or [])) == sorted(map(json.dumps, have or []))
            if unordered
            else want == have
        )
        if not same or not observed_all:
            allowed.add(field)
    if mode != stored["mode"]:
        allowed |= {f for f in RESET_BY_MODE_CHANGE if f in file}
    return allowed


@property_settings(60)
@given(data=st.data())
def test_plan_apply_plan_converges(
    data: st.DataObject,
    account: Account,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GLORIA_API_URL", account.url)
    monkeypatch.setenv("GLORIA_API_TOKEN", TOKEN)
    name = f"Property {next(names)}"
    current = data.draw(assistant(name), label="current")
    desired = data.draw(assistant(name), label="desired")
    assistant_id = account.create(current)
    stored = account.stored(assistant_id)
    directory = tmp_path / f"d{next(names)}"
    directory.mkdir()
    (directory / "a.yaml").write_text(yaml.safe_dump(desired, allow_unicode=True, sort_keys=False))

    first = plan(directory, capsys)
    assume(first is not None)
    assert first is not None
    (change,) = first["changes"]
    symmetric = "tool_ids" in account.http.get("/user/assistants/get").json()["data"][0]
    assert set(change["body"]) <= allowed_fields(desired, stored, observed_all=symmetric), change["fields"]
    if change["body"]:
        response = account.http.put(f"/user/assistant/{assistant_id}", json=change["body"])
        assert response.status_code == 200, response.text

    second = plan(directory, capsys)
    assert second is not None
    assert second["changes"][0]["action"] == "noop", second["changes"][0]["fields"]

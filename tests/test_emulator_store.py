"""The emulator store's read accessors, the only way tests look at the state file: ``Store.reading``,
``journal()``, ``get()`` and ``all()`` (docs/api.md for what the API stores and answers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import PIPELINE, emulator

from reconciler.emulator.store import Store


def test_the_journal_holds_each_write_as_sent_with_its_status_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with emulator(monkeypatch) as api:
        assistant_id = api.create(PIPELINE)
        with api.http() as http:
            refused = http.put(f"/user/assistant/{assistant_id}", json={"mode": "bogus"})
            http.get("/user/assistants/get")  # a read is not a write: not journalled
        assert refused.status_code == 422
        with Store.reading(api.state) as store:
            assert store.journal() == [
                ("POST", "/api/user/assistant", PIPELINE, 201),
                ("PUT", f"/api/user/assistant/{assistant_id}", {"mode": "bogus"}, 422),
            ]


def test_get_and_all_give_the_stored_write_shape_while_the_server_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with emulator(monkeypatch) as api:
        first = api.create(PIPELINE)
        second = api.create({**PIPELINE, "name": "Pipeline Two"})
        api.update(first, {"llm_temperature": 0.4})
        with Store.reading(api.state) as store:
            stored = store.get(first)
            assert stored is not None
            # typed as written (a float, a bool), not the read shape's strings and 0/1
            assert (stored["id"], stored["name"], stored["llm_temperature"], stored["record"]) == (
                first,
                "Pipeline One",
                0.4,
                False,
            )
            assert [row["name"] for row in store.all()] == ["Pipeline One", "Pipeline Two"]
            assert store.all()[1] == store.get(second)
            assert store.get(second + 1) is None


def test_a_reader_sees_writes_made_after_it_opened_and_cannot_write(monkeypatch: pytest.MonkeyPatch) -> None:
    with emulator(monkeypatch) as api, Store.reading(api.state) as store:
        assert store.journal() == []
        api.create(PIPELINE)
        assert [(method, status) for method, _, _, status in store.journal()] == [("POST", 201)]
        with pytest.raises(Exception, match="attempt to write a readonly database"):
            store.record("POST", "/api/user/assistant", {}, 201)


def test_the_state_file_can_still_be_read_after_the_server_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    with emulator(monkeypatch, state=state) as api:
        api.create(PIPELINE)
    with Store.reading(state) as store:
        assert [row["name"] for row in store.all()] == ["Pipeline One"]
        assert len(store.journal()) == 1

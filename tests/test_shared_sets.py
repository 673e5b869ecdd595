"""Assistants that carried the same fields share one ``observed`` set (issue 19: 2 KB an assistant otherwise),
and what each one carried is still its own."""

from __future__ import annotations

from reconciler.remote import Account, normalise


def test_assistants_with_the_same_fields_share_one_observed_set() -> None:
    first = normalise({"id": 1, "name": "A", "mode": "pipeline", "speech_speed": "1.00"})
    second = normalise({"id": 2, "name": "B", "mode": "pipeline", "speech_speed": "0.90"})
    assert first.observed == {"name", "mode", "speech_speed"}
    assert first.observed is second.observed


def test_an_assistant_that_carried_other_fields_keeps_its_own() -> None:
    full = normalise({"id": 1, "name": "A", "mode": "pipeline", "speech_speed": "1.00"})
    short = normalise({"id": 2, "name": "B", "mode": "pipeline"})
    assert short.observed == {"name", "mode"}
    assert not short.carries("speech_speed")
    assert full.carries("speech_speed")
    account = Account((full, short))
    assert account.observed == {"name", "mode", "speech_speed"}

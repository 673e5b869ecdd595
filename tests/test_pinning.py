"""The one-line edit of ``apply --pin-ids`` (pinning.pinned_text): what it writes, and what it leaves alone."""

from __future__ import annotations

import pytest

from reconciler.pinning import pinned_text
from reconciler.plan import Action, Change, Plan, plan_from_data

REST = "name: A\nmode: pipeline\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (REST, "id: 7\n" + REST),
        ("# a\n\n# b\n" + REST, "# a\n\n# b\nid: 7\n" + REST),
        ("%YAML 1.2\n---\n" + REST, "%YAML 1.2\n---\nid: 7\n" + REST),
        ("id: 3\n" + REST, "id: 7\n" + REST),
        ("name: A\nid:   3   # kept\nmode: pipeline\n", "name: A\nid:   7   # kept\nmode: pipeline\n"),
        ("name: A\rmode: pipeline\r", "id: 7\rname: A\rmode: pipeline\r"),
        ("name: 'a ${X}'\n", "id: 7\nname: 'a ${X}'\n"),
        ("name: A\u2028B\nmode: pipeline\n", "id: 7\nname: A\u2028B\nmode: pipeline\n"),
    ],
    ids=["plain", "comments-and-blank", "directive", "stale", "stale-mid-file", "cr", "placeholder", "u2028"],
)
def test_one_line_is_added_or_changed_and_every_other_byte_kept(before: str, after: str) -> None:
    assert pinned_text(before.encode(), "a.yaml", 7) == after.encode()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{name: A, mode: pipeline}\n", "an id line cannot be added without changing the rest of it"),
        ("{id: 3, name: A}\n", "its id line is not of the form id: N"),
        ("id: &x 3\nname: A\n", "its id line is not of the form id: N"),
        ("name: [\n", "the file no longer parses"),
    ],
    ids=["flow-mapping", "flow-id", "anchored-id", "broken"],
)
def test_a_file_it_cannot_edit_safely_is_refused(text: str, why: str) -> None:
    assert pinned_text(text.encode(), "a.yaml", 7) == why


def test_the_pin_survives_a_saved_plan() -> None:
    change = Change("a", "a.yaml", Action.NOOP, 8, "A", pin=8)
    saved = plan_from_data(Plan.of([change]).data())
    assert saved.changes[0].pin == 8
    assert Plan.of([change]).data()["changes"][0]["pin"] == 8
    bad = Plan.of([change]).data()
    bad["changes"][0]["pin"] = "8"
    with pytest.raises(Exception, match="damaged"):
        plan_from_data(bad)

"""The listing makes each item with the caller's shape as its page arrives (issue 19): a plan holds normalised
assistants, never the raw JSON of every page at once, and the cross-checks still see every id."""

from __future__ import annotations

from typing import Any

from reconciler import listing
from reconciler.remote import RemoteAssistant, normalise


def pages(*counts: int, repeat: int | None = None) -> dict[int, dict[str, Any]]:
    """Pages of ``counts`` items with ids 1, 2, ...; ``repeat``: the last item of the last page has that id."""
    total, bodies, ident = sum(counts), {}, 0
    for number, count in enumerate(counts, start=1):
        data = []
        for _ in range(count):
            ident += 1
            data.append({"id": str(ident), "name": f"A{ident}", "mode": "pipeline"})
        bodies[number] = {"current_page": number, "per_page": 2, "total": total, "last_page": len(counts)}
        bodies[number]["data"] = data
    if repeat is not None:
        bodies[len(counts)]["data"][-1]["id"] = repeat
    return bodies


def test_each_item_is_shaped_once_with_its_id_as_an_int_and_the_listing_holds_the_shapes() -> None:
    bodies = pages(2, 2, 1)
    shaped: list[Any] = []

    def shape(item: dict[str, Any]) -> RemoteAssistant:
        shaped.append(item["id"])
        return normalise(item)

    read = listing.read(bodies.__getitem__, page_size=2, concurrency=2, shape=shape)

    assert shaped == [1, 2, 3, 4, 5]
    assert [(a.id, a.name) for a in read.items] == [(1, "A1"), (2, "A2"), (3, "A3"), (4, "A4"), (5, "A5")]
    assert read.problems == ()


def test_a_repeated_id_is_still_found_when_the_items_are_shaped() -> None:
    bodies = pages(2, 2, 1, repeat=2)
    read = listing.read(bodies.__getitem__, page_size=2, concurrency=2, shape=normalise)

    assert [a.id for a in read.items] == [1, 2, 3, 4]  # the first appearance of 2 is kept
    assert read.reads == listing.READS
    assert read.problems == ("total says 5, 4 seen", "page 3 repeats id 2")

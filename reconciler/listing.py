"""Reading the assistant list: Laravel's paginator, cross-checked rather than trusted.

The pages are separate reads with no snapshot or cursor behind them, so an assistant created or deleted while
they are read shifts the later pages: one assistant is seen twice, or never. A broken or hostile server can do
the same on purpose, or claim a billion pages. An assistant never seen is the dangerous case: a file naming it
plans a create, and the create makes a duplicate. So every read is held to its own claims:

- every page says it is the page asked for, with the total, ``per_page`` and ``last_page`` of page 1;
- ``last_page`` is what ``total`` and ``per_page`` make (a count the total does not back is not followed), and
  at most ``MAX_PAGES``;
- every page but the last holds ``per_page`` items, the last one the rest;
- no id comes twice, and as many ids are seen as ``total`` says.

A read that breaks a check is done again, up to ``READS`` times: an honest account that changed during one read
is consistent on the next, and a stable one is read once. A listing still inconsistent is returned marked so,
and no create is planned from it (reconcile.py); updates and deletes name assistants that were seen, so they stay
possible. A value the API cannot mean (an id ``1.5``, ``last_page: "abc"``) is no race: it fails at once, with
the page and the item.

What no check can see: a create and a delete between two page reads that keep the total and every page's size
(one assistant slides past a page boundary unseen). The API offers nothing to detect it; apply's read-back and
the next plan do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from reconciler.errors import ListingError
from reconciler.remote import assistant_id, whole_number
from reconciler.text import printable

READS = 3
MAX_PAGES = 1000  # 100,000 assistants at the API's 100 a page: more is a server that lies, not an account
SHOWN_PROBLEMS = 3
PAGINATOR = "{current_page, data, per_page, total, last_page}"
MALFORMED = "the assistant list is malformed"
ID_RULE = "an assistant id is a whole number from 1"

Fetch = Callable[[int], Any]  # page number -> the decoded JSON body
Progress = Callable[[int, int], None]
Item = TypeVar("Item")
#: What a listing makes of each item (its id checked already): a plan normalises it as its page arrives, so
#: that the raw JSON of 50,000 assistants is never held at once (issue 19); export and doctor keep it raw.
Shape = Callable[[dict[str, Any]], Item]


def raw(item: dict[str, Any]) -> dict[str, Any]:
    """The item as the API returned it (its id an int)."""
    return item


@dataclass(frozen=True)
class Listing(Generic[Item]):
    items: tuple[Item, ...]  # each id once; the API's order
    reads: int
    problems: tuple[str, ...] = ()  # what the last read contradicted itself in: () when it was consistent

    @property
    def inconsistency(self) -> str:
        """Why this listing may miss an assistant, as one phrase for a message; '' when it is consistent."""
        if not self.problems:
            return ""
        shown = list(self.problems[:SHOWN_PROBLEMS])
        if len(self.problems) > SHOWN_PROBLEMS:
            shown.append(f"and {len(self.problems) - SHOWN_PROBLEMS} more")
        return f"the assistant list is inconsistent after {self.reads} reads ({'; '.join(shown)})"


def read(
    fetch: Fetch,
    *,
    page_size: int,
    concurrency: int,
    shape: Shape[Item],
    progress: Progress | None = None,
) -> Listing[Item]:
    """Every assistant, each made by ``shape``, read again while a read contradicts itself (at most ``READS``
    reads)."""
    for attempt in range(1, READS + 1):
        pages = _read_once(fetch, page_size, concurrency, shape, progress)
        problems = _inconsistencies(pages)
        if not problems or attempt == READS:
            return Listing(_unique(pages), attempt, tuple(problems))
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class _Claims:
    total: int
    per_page: int
    last_page: int

    def fit(self) -> bool:
        return self.last_page == max(1, -(-self.total // self.per_page))

    def size_of(self, number: int) -> int:
        """How many items page ``number`` holds if the claims are true."""
        last = self.total - (self.last_page - 1) * self.per_page
        return self.per_page if number < self.last_page else last


@dataclass(frozen=True)
class _Page(Generic[Item]):
    number: int  # the page asked for
    current: int  # the page it says it is
    claims: _Claims
    ids: tuple[int, ...]
    items: tuple[Item, ...]  # one for each id


def _read_once(
    fetch: Fetch, page_size: int, concurrency: int, shape: Shape[Item], progress: Progress | None
) -> list[_Page[Item]]:
    """Page 1, then (concurrently) the pages it claims, when its claims hold together."""
    first = _parse(fetch(1), 1, page_size, shape)
    claims = first.claims
    count = claims.last_page if claims.fit() else 1
    if count > MAX_PAGES:
        raise ListingError(
            f"the assistant list claims {claims.total} assistants in {count} pages; "
            f"refusing to read more than {MAX_PAGES} pages"
        )
    pages = [first]
    if progress:
        progress(1, count)
    if count > 1:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for number, body in enumerate(pool.map(fetch, range(2, count + 1)), start=2):
                pages.append(_parse(body, number, page_size, shape))
                if progress:
                    progress(number, count)
    return pages


def _parse(body: Any, number: int, page_size: int, shape: Shape[Item]) -> _Page[Item]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ListingError(f"the assistant list did not have the paginator shape {PAGINATOR} (page {number})")
    claims = _Claims(
        _field(body, "total", number, minimum=0),
        _field(body, "per_page", number, minimum=1),
        _field(body, "last_page", number, minimum=1),
    )
    if claims.per_page > page_size:
        raise ListingError(
            f"{MALFORMED}: page {number} has per_page {claims.per_page}, more than the {page_size} asked for"
        )
    current = _field(body, "current_page", number, minimum=1)
    items = [_item(item, position, number) for position, item in enumerate(body["data"], start=1)]
    return _Page(number, current, claims, tuple(item["id"] for item in items), tuple(map(shape, items)))


def _field(body: dict[str, Any], key: str, number: int, *, minimum: int) -> int:
    if key not in body:
        raise ListingError(f"{MALFORMED}: page {number} has no {key}")
    value = whole_number(body[key], minimum=minimum)
    if value is None:
        raise ListingError(
            f"{MALFORMED}: page {number} has {key} {_shown(body[key])}, not a whole number from {minimum}"
        )
    return value


def _item(item: Any, position: int, number: int) -> dict[str, Any]:
    """The item with its id as an int; an item whose id the API cannot mean names itself in the error."""
    if not isinstance(item, dict):
        raise ListingError(f"{MALFORMED}: item {position} of page {number} is {_shown(item)}, not an object")
    if "id" not in item:
        raise ListingError(f"{MALFORMED}: {_named(item, position, number)} has no id; {ID_RULE}")
    ident = assistant_id(item["id"])
    if ident is None:
        raise ListingError(
            f"{MALFORMED}: {_named(item, position, number)} has id {_shown(item['id'])}; {ID_RULE}"
        )
    return item if item["id"] == ident else {**item, "id": ident}


def _named(item: dict[str, Any], position: int, number: int) -> str:
    """Which item an error is about, with its name when it has one: made for the error only, not for each of
    the 10,000 items that have none (issue 19)."""
    where = f"item {position} of page {number}"
    return where if item.get("name") is None else f"{where} ({_shown(item['name'])})"


def _shown(value: Any) -> str:
    """A value the server sent, for a message: as JSON, short, and escaped (it may hold a terminal escape)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return printable(text if len(text) <= 60 else text[:59] + "…")


def _inconsistencies(pages: list[_Page[Item]]) -> list[str]:
    """Everything a read contradicts itself in; [] for a read that holds together."""
    claims = pages[0].claims
    if not claims.fit():
        return [
            f"last_page {claims.last_page} does not fit total {claims.total} at {claims.per_page} a page "
            "(so only page 1 was read)"
        ]
    seen: set[int] = set()
    problems = [problem for page in pages for problem in _page_problems(page, claims, seen)]
    if len(seen) != claims.total:
        problems.insert(0, f"total says {claims.total}, {len(seen)} seen")
    return problems


def _page_problems(page: _Page[Item], claims: _Claims, seen: set[int]) -> list[str]:
    """What one page contradicts in page 1's claims; adds the page's ids to ``seen``."""
    number = page.number
    problems = [f"page {number} says it is page {page.current}"] if page.current != number else []
    for key in ("total", "per_page", "last_page"):
        said, first = getattr(page.claims, key), getattr(claims, key)
        if said != first:
            problems.append(f"page {number} says {key} {said}, page 1 said {first}")
    if len(page.ids) != claims.size_of(number):
        problems.append(f"page {number} has {len(page.ids)} items, {claims.size_of(number)} expected")
    repeated = []
    for ident in page.ids:
        if ident in seen:
            repeated.append(ident)
        seen.add(ident)
    if repeated:
        more = f" and {len(repeated) - 1} more" if len(repeated) > 1 else ""
        problems.append(f"page {number} repeats id {repeated[0]}{more}")
    return problems


def _unique(pages: list[_Page[Item]]) -> tuple[Item, ...]:
    """Each assistant once (its first appearance), in page order."""
    found: dict[int, Item] = {}
    for page in pages:
        for ident, item in zip(page.ids, page.items, strict=True):
            found.setdefault(ident, item)
    return tuple(found.values())

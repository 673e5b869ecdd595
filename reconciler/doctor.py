"""``reconciler doctor``: the first contact with an account, read only — can this version work with it, and what
does the platform return that this version should know about?

It asks as little as a plan does: ``GET /user/me`` (the token: whose account is it), one page of assistants
(the list's shape, ``per_page``, which API fields come back and in which shapes, what this version does not know),
each catalog lookup once, and then reports the rate-limit headers it saw, what the pacer learned and the latency.

What stops a plan is a failure (exit 1): no connection, a refused token, a list that is not the paginator. What a
plan tolerates is a finding (exit 0): a field or tool type this version does not know is ignored by plan, a field
that never comes back is write-only. ``survey`` is pure: it reads raw list items and nothing else.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.client import Client, Exchange
from reconciler.errors import ApiError, ReconcilerError
from reconciler.fields import FIELD_KINDS, LOOKUPS, WRITE_ONLY
from reconciler.names import Catalog, Context
from reconciler.spec import API_FIELDS
from reconciler.tolerance import unknowns

FORMAT_VERSION = 1

#: The rate-limit headers worth reporting, as the API (Laravel's throttle) names them.
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after")

Status = Literal["ok", "note", "fail"]


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, how it went, in words, and the data behind it (JSON only)."""

    check: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Survey:
    """What one page of list items shows about the API's read shape (pure: ``survey``)."""

    items: int
    returned: tuple[str, ...]  # API fields some item carries
    never: tuple[str, ...]  # API fields no item carries (write-only ones are expected among them)
    string_numbers: tuple[str, ...]  # number fields read back as strings ("0.7")
    int_booleans: tuple[str, ...]  # boolean fields read back as 0/1
    nested_tools: bool  # built-in tools under "data", not flat
    unknown_fields: tuple[str, ...]  # keys this version does not know (ignored by plan)
    unknown_tool_types: tuple[str, ...]


def survey(items: Sequence[dict[str, Any]]) -> Survey:
    """The read shape of ``items`` as the list returned them."""
    keys = {key for item in items for key in item}
    returned = tuple(f for f in API_FIELDS if f in keys)
    never = tuple(f for f in API_FIELDS if f not in keys)
    values = [(name, item[name]) for item in items for name in returned if item.get(name) is not None]
    numbers = sorted({n for n, v in values if FIELD_KINDS[n] in ("int", "float") and isinstance(v, str)})
    booleans = sorted({n for n, v in values if FIELD_KINDS[n] == "bool" and type(v) is int})
    tools = [tool for item in items for tool in (item.get("tools") or []) if isinstance(tool, dict)]
    nested = any(isinstance(tool.get("data"), dict) for tool in tools)
    unknown = unknowns(items)  # the same view plan and export take of what this version does not know
    return Survey(
        len(items),
        returned,
        never,
        tuple(numbers),
        tuple(booleans),
        nested,
        unknown.fields,
        unknown.tool_types,
    )


@dataclass(frozen=True)
class Diagnosis:
    api_url: str
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return all(f.status != "fail" for f in self.findings)


def examine(client: Client, api_url: str) -> Diagnosis:
    """Ask the platform what a plan asks, and say what it answered; a failure ends the examination there."""
    client.exchanges = []
    findings: list[Finding] = []
    for step in (_token, _listing, _lookups):
        found, go_on = step(client)
        findings += found
        if not go_on:
            break
    findings += _pacing(client, client.exchanges)
    return Diagnosis(api_url, tuple(findings))


def _token(client: Client) -> tuple[list[Finding], bool]:
    try:
        me = client.get("/user/me")
    except ApiError as error:
        return [Finding("token", "fail", str(error))], False
    if not isinstance(me, dict):
        return [Finding("token", "fail", "GET /user/me answered, but not with the account's details")], False
    name, email = str(me.get("name") or "?"), str(me.get("email") or "?")
    detail = f"the token works: the account is {name} <{email}>"
    return [Finding("token", "ok", detail, {"name": name, "email": email})], True


def _listing(client: Client) -> tuple[list[Finding], bool]:
    try:
        page = client.get("/user/assistants/get", {"per_page": "100", "page": "1"})
    except ApiError as error:
        return [Finding("list", "fail", str(error))], False
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        return [
            Finding("list", "fail", "GET /user/assistants/get did not answer with a paginator (no data list)")
        ], False
    items = [item for item in page["data"] if isinstance(item, dict)]
    total = page.get("total")
    findings = [
        Finding("list", "ok", f"a paginator: {len(items)} of {total} assistants on page 1", {"total": total}),
        _per_page(page, len(items)),
    ]
    return findings + _shape_findings(survey(items)), True


def _per_page(page: dict[str, Any], count: int) -> Finding:
    total = page.get("total")
    honoured = page.get("per_page") == 100 or (isinstance(total, int) and count == min(100, total))
    if honoured:
        return Finding("per_page", "ok", "per_page=100 is honoured", {"honoured": True})
    detail = f"asked for 100 a page, got {page.get('per_page')!r}: a plan reads that many a page"
    return Finding("per_page", "note", detail, {"honoured": False, "per_page": page.get("per_page")})


def _shape_findings(seen: Survey) -> list[Finding]:
    if not seen.items:
        return [Finding("fields", "note", "no assistants yet: nothing to learn about the read shape")]
    expected = [f for f in seen.never if f in WRITE_ONLY]
    missing = [f for f in seen.never if f not in WRITE_ONLY]
    fields_detail = f"{len(seen.returned)} of {len(API_FIELDS)} API fields come back"
    if expected:
        fields_detail += f"; write-only, as expected: {', '.join(expected)}"
    findings = [
        Finding("fields", "ok", fields_detail, {"returned": list(seen.returned), "never": list(seen.never)})
    ]
    if missing:
        detail = f"never returned, so managed like write-only fields: {', '.join(missing)}"
        findings.append(Finding("fields", "note", detail, {"never_unexpected": missing}))
    shapes = [
        *([f"numbers as strings ({', '.join(seen.string_numbers)})"] if seen.string_numbers else []),
        *([f"0/1 booleans ({', '.join(seen.int_booleans)})"] if seen.int_booleans else []),
        *(["built-in tools nested under data"] if seen.nested_tools else []),
    ]
    findings.append(
        Finding(
            "shapes",
            "ok",
            f"read shape: {'; '.join(shapes) or 'as written'} (plan undoes each)",
            {
                "string_numbers": list(seen.string_numbers),
                "int_booleans": list(seen.int_booleans),
                "nested_tools": seen.nested_tools,
            },
        )
    )
    if seen.unknown_fields:
        detail = f"fields this version does not know (plan ignores them): {', '.join(seen.unknown_fields)}"
        findings.append(Finding("unknown fields", "note", detail, {"fields": list(seen.unknown_fields)}))
    if seen.unknown_tool_types:
        detail = f"tool types this version does not know: {', '.join(seen.unknown_tool_types)}"
        findings.append(
            Finding("unknown tool types", "note", detail, {"types": list(seen.unknown_tool_types)})
        )
    return findings


def _lookups(client: Client) -> tuple[list[Finding], bool]:
    catalog = Catalog(client.lookup)
    found: list[Finding] = []
    for lookup in LOOKUPS:
        try:
            rows = catalog.rows(lookup, Context())
        except ReconcilerError as error:  # an API error, or an answer of another shape
            found.append(Finding(f"lookup {lookup}", "note", f"unavailable: {error}"))
            continue
        found.append(Finding(f"lookup {lookup}", "ok", f"{len(rows)} entries", {"entries": len(rows)}))
    return found, True


def _pacing(client: Client, exchanges: Iterable[Exchange]) -> list[Finding]:
    answered = list(exchanges)
    headers = {h: e.headers[h] for e in answered for h in RATE_HEADERS if h in e.headers}
    if headers:
        shown = ", ".join(f"{h}: {v}" for h, v in headers.items())
        rate = Finding(
            "rate limit", "ok", f"the platform announces its limit ({shown})", {"headers": headers}
        )
    else:
        rate = Finding(
            "rate limit", "note", "no rate-limit headers: apply paces by the answers alone", {"headers": {}}
        )
    limit = client.pacer.limit
    learned = f"pacing at most {limit} requests a minute" if limit else "no limit learned"
    pacer = Finding("pacer", "ok", learned, {"limit": limit, "throttled": client.pacer.throttled})
    if not answered:
        return [rate, pacer]
    times = [e.seconds * 1e3 for e in answered]
    detail = f"{len(times)} requests: median {statistics.median(times):.0f} ms, slowest {max(times):.0f} ms"
    latency = Finding(
        "latency",
        "ok",
        detail,
        {
            "requests": len(times),
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
        },
    )
    return [rate, pacer, latency]

"""Name references: ``voice: Alloy`` instead of ``voice_id: 201``, resolved through the API's lookup endpoints.

Ids differ between a staging and a production account; names travel. Each lookup endpoint is fetched at most once
per run (the client caches it), and only when a file uses a name or a plan shows an id. Voices are looked up for
the assistant's mode and language, models for the assistant's engine type, phone numbers by E.164 number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from reconciler import fields
from reconciler.errors import ReconcilerError

Fetch = Callable[[str, dict[str, str] | None], Any]


@dataclass(frozen=True)
class Entry:
    id: int
    names: tuple[str, ...]  # what a file may write: the name, and an iso code, model code or number

    @property
    def label(self) -> str:
        return self.names[0]


@dataclass(frozen=True)
class Context:
    """What narrows a lookup: the assistant's engine mode, language and direction."""

    mode: str | None = None
    language_id: int | None = None
    type: str | None = None


class Unresolved(Exception):
    """A name that matches no entry, or several."""


#: name key → (id field, which lookup), the language first (voices need it)
REFERENCES = fields.REFERENCES
LOOKUP_OF_ID = dict(REFERENCES.values())
NAME_OF_ID = {id_field: name for name, (id_field, _) in REFERENCES.items()}


class Catalog:
    """The account's lookup endpoints, fetched lazily through the client."""

    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch

    def entries(self, lookup: str, context: Context) -> list[Entry]:
        return [_entry(lookup, row) for row in self.rows(lookup, context) if _integral(row.get("id"))]

    def rows(self, lookup: str, context: Context) -> list[dict[str, Any]]:
        """The lookup's rows as the API returns them (objects only); an answer of another shape is an error."""
        path, params, enveloped = _request(lookup, context)
        answer = self.fetch(path, params)
        rows = answer.get("data") if enveloped and isinstance(answer, dict) else answer
        if not isinstance(rows, list):
            raise ReconcilerError(
                f"GET {path} answered {type(answer).__name__}, not the list the API documents"
            )
        return [row for row in rows if isinstance(row, dict)]

    def resolve(self, lookup: str, name: str, context: Context) -> int:
        entries = self.entries(lookup, context)
        wanted = name.strip().casefold()
        found = {e.id: e for e in entries if wanted in (n.casefold() for n in e.names)}
        if len(found) == 1:
            return next(iter(found))
        if found:
            ids = ", ".join(f"{e.id} ({e.label})" for e in found.values())
            what = _describe(lookup, context, plural=True)
            raise Unresolved(f"{name!r} matches {len(found)} {what}: {ids}; use the id field instead")
        known = ", ".join(sorted({e.label for e in entries})) or "none"
        raise Unresolved(f"no {_describe(lookup, context)} named {name!r}; candidates: {known}")

    def label(self, id_field: str, value: int, context: Context) -> str | None:
        """The name of an id, for plans; None when the lookup does not know it."""
        entries = self.entries(LOOKUP_OF_ID[id_field], context)
        return next((e.label for e in entries if e.id == value), None)

    def unique_name(self, id_field: str, value: int, context: Context) -> str | None:
        """The name that resolves back to exactly this id, for ``export --names``."""
        lookup = LOOKUP_OF_ID[id_field]
        name = self.label(id_field, value, context)
        if name is None:
            return None
        try:
            return name if self.resolve(lookup, name, context) == value else None
        except Unresolved:
            return None


def _request(lookup: str, context: Context) -> tuple[str, dict[str, str] | None, bool]:
    """(path, query, whether the rows come under "data") of a lookup, narrowed by what the endpoint takes."""
    language = {"language_id": str(context.language_id)} if context.language_id is not None else {}
    if lookup == "voices":
        params = {**({"mode": context.mode} if context.mode else {}), **language}
        return "/user/assistants/voices", params or None, False
    if lookup == "languages":
        return "/user/assistants/languages", None, False
    if lookup in ("llm_models", "mode_models"):
        kind = "llm" if lookup == "llm_models" else (context.mode or "multimodal")
        return "/user/assistants/models", {"type": kind}, False
    if lookup == "knowledgebases":
        return "/user/knowledgebases", None, True
    if lookup == "phone_numbers":
        return "/user/assistants/phone-numbers", None, False
    if lookup == "tools":
        return "/user/tools", None, False
    kind = lookup.removesuffix("_providers")
    return f"/user/assistants/{kind}-providers", language or None, False


def _integral(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.isdigit()
    )


def _entry(lookup: str, row: dict[str, Any]) -> Entry:
    if lookup == "phone_numbers":
        return Entry(int(row["id"]), (str(row.get("phone_number")),))
    extras = [row.get(k) for k in ("iso_2", "code") if row.get(k)]
    return Entry(int(row["id"]), tuple(str(n) for n in [row.get("name"), *extras] if n))


def describe_id(lookup: str, value: int, context: Context) -> str:
    """``voice 999 for pipeline mode``, ``dualplex model 1``, ``phone number 599``: an id in its lookup."""
    text = f"{_NOUNS[lookup].format(mode=context.mode or 'multimodal')} {value}"
    return text + (f" for {context.mode} mode" if lookup == "voices" and context.mode else "")


_NOUNS = {
    "voices": "voice",
    "languages": "language",
    "llm_models": "LLM model",
    "mode_models": "{mode} model",
    "knowledgebases": "knowledgebase",
    "phone_numbers": "phone number",
    "tools": "tool",
    "synthesizer_providers": "synthesizer provider",
    "transcriber_providers": "transcriber provider",
}


def _describe(lookup: str, context: Context, *, plural: bool = False) -> str:
    """``voice for multimodal mode and language 1``, ``LLM model``, ``knowledgebase``... (or plural)."""
    singular = _NOUNS[lookup].format(mode=context.mode or "multimodal")
    text = singular + ("s" if plural else "")
    if lookup == "voices":
        text += f" for {context.mode or 'any'} mode"
        text += f" and language {context.language_id}" if context.language_id is not None else ""
    return text


def references(declared: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(name key, id field, value) for every name reference a file declares, language first (voices need it)."""
    for name, (id_field, _) in REFERENCES.items():
        if name in declared:
            yield name, id_field, declared[name]


def resolve(
    declared: dict[str, Any], values: dict[str, Any], base: Context, catalog: Catalog
) -> tuple[dict[str, Any], list[tuple[tuple[str | int, ...], str]]]:
    """``values`` with every name reference of ``declared`` turned into its id field; and the failures."""
    values = dict(values)
    failures: list[tuple[tuple[str | int, ...], str]] = []
    for name, id_field, value in references(declared):
        context = Context(
            mode=values.get("mode", base.mode),
            language_id=values.get("language_id", base.language_id),
            type=values.get("type", base.type),
        )
        lookup = REFERENCES[name][1]
        items = value if isinstance(value, list) else [value]
        resolved: list[int | None] = []
        for index, item in enumerate(items):
            try:
                resolved.append(None if item is None else catalog.resolve(lookup, str(item), context))
            except Unresolved as exc:
                failures.append(((name, index) if isinstance(value, list) else (name,), str(exc)))
        if len(resolved) == len(items):
            values[id_field] = resolved if isinstance(value, list) else resolved[0]
    return values, failures


def labelled(change: Any, context: Context, catalog: Catalog) -> Any:
    """A FieldChange of an id field with the names of its ids beside them, for people reading the plan."""
    if change.path not in LOOKUP_OF_ID:
        return change

    def names(value: Any) -> Any:
        if isinstance(value, list):
            return [catalog.label(change.path, v, context) for v in value]
        return catalog.label(change.path, value, context) if isinstance(value, int) else None

    return replace(
        change,
        before_name=names(change.before) if change.before_known else None,
        after_name=names(change.after),
    )

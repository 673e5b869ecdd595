"""How the API grows (docs/api.md#growth): ``--api-version newer`` makes the emulator behave as
sibling platforms on the same backend already do, so that a reconciler can be tested against an API that knows
more than the reconciler does.

A newer API, compared with the documented one:
- takes new fields: ``folder_id`` (an id or null), ``label_ids`` (ids, replaced whole), ``filler_config`` (an
  object or null, replaced whole), ``conversation_inactivity_timeout`` (seconds);
- adds read-only fields to every assistant it returns: ``compliance_blocked_at`` (null until the platform
  blocks it) and ``inbound_webhook_url`` (made from the assistant's uuid);
- takes new built-in tool types, flat on write like the others: ``warm_call_transfer`` (``supervisor_phone``,
  ``outbound_phone_id``, ``description``, ``hold_music_volume`` 0-100, ``caller_id_mode``),
  ``collect_keypad`` (``timeout`` 1-30, ``stop_key`` ``#`` or ``*``, ``description``), ``assistant_transfer``
  (``assistant_id``); in the read shape their ids come back as strings (``"outbound_phone_id": "7"``).

The documented API (``DOCUMENTED``) has none of this: it drops the new fields silently, as Laravel drops every
key it does not validate, and answers 422 for the new tool types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.emulator.validation import _between, _enum, _integer, _string

Rule = Callable[[Any], Any]
Version = Literal["documented", "newer"]
_INBOUND_WEBHOOK = "https://app.gloriagent.ai/api/webhooks/inbound/{uuid}"


@dataclass(frozen=True)
class Growth:
    """What an API version knows beyond the documented page; the empty one is the documented API."""

    scalars: dict[str, Rule] = field(default_factory=dict)  # new scalar fields and their rules
    id_lists: tuple[str, ...] = ()  # new lists of ids, replaced whole
    objects: tuple[str, ...] = ()  # new free-form objects, replaced whole
    nullable: frozenset[str] = frozenset()
    defaults: dict[str, Any] = field(default_factory=dict)  # what a create without them stores
    tools: dict[str, dict[str, Rule]] = field(default_factory=dict)  # new tool types: their keys and rules
    tool_required: dict[str, tuple[str, ...]] = field(default_factory=dict)
    read_only: bool = False  # every read carries compliance_blocked_at and inbound_webhook_url
    string_tool_ids: bool = False  # the read shape returns the ids inside tools as strings

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.scalars, *self.id_lists, *self.objects)

    def on_read(
        self, stored: dict[str, Any], rendered: dict[str, Any], *, read_shape: bool
    ) -> dict[str, Any]:
        """``rendered`` (the read shape of ``stored``, or ``stored`` itself) as this version returns it."""
        # an assistant stored before the fields existed reads back with their defaults, as after a migration
        out = {**self.defaults, **rendered}
        if self.read_only:
            out.setdefault("compliance_blocked_at", None)
            out.setdefault("inbound_webhook_url", _INBOUND_WEBHOOK.format(uuid=stored.get("uuid")))
        if self.string_tool_ids and read_shape and isinstance(out.get("tools"), list):
            out["tools"] = [_ids_as_strings(tool) for tool in out["tools"]]
        return out


def _ids_as_strings(tool: Any) -> Any:
    if not isinstance(tool, dict) or not isinstance(tool.get("data"), dict):
        return tool
    data = {k: str(v) if k.endswith("_id") and isinstance(v, int) else v for k, v in tool["data"].items()}
    return {**tool, "data": data}


DOCUMENTED = Growth()
NEWER = Growth(
    scalars={"folder_id": _integer, "conversation_inactivity_timeout": _between(10, 3600, _integer)},
    id_lists=("label_ids",),
    objects=("filler_config",),
    nullable=frozenset({"folder_id", "filler_config"}),
    defaults={
        "folder_id": None,
        "label_ids": [],
        "filler_config": None,
        "conversation_inactivity_timeout": 60,
    },
    tools={
        "warm_call_transfer": {
            "supervisor_phone": _string,
            "outbound_phone_id": _integer,
            "description": _string,
            "hold_music_volume": _between(0, 100, _integer),
            "caller_id_mode": _string,
        },
        "collect_keypad": {
            "timeout": _between(1, 30, _integer),
            "stop_key": _enum("#", "*"),
            "description": _string,
        },
        "assistant_transfer": {"assistant_id": _integer},
    },
    tool_required={"warm_call_transfer": ("supervisor_phone",), "assistant_transfer": ("assistant_id",)},
    read_only=True,
    string_tool_ids=True,
)
VERSIONS: dict[str, Growth] = {"documented": DOCUMENTED, "newer": NEWER}

"""A fixed set of plans covering every kind of field diff the renderers know, for the golden files of
tests/test_golden.py. Each is built from the plan's value objects, so a golden file changes only when a
renderer does."""

from __future__ import annotations

from reconciler.plan import (
    ORIGIN_FILES,
    ORIGIN_PLATFORM,
    REASON_MODE,
    REASON_NEW,
    REASON_OWNER,
    Action,
    Change,
    FieldChange,
    Plan,
    Unmanaged,
)

FINGERPRINT = "f" * 16

LONG_PROMPT = (
    "You are the front desk of Acme Dental in Berlin. Greet the caller by name when you know it, ask how you can "
    "help, and keep every answer short: two sentences at most. When the caller wants an appointment, offer the "
    "next three free slots from the calendar and confirm the one they choose politely before you end the call. "
    "Never give medical advice; offer a call back from a dentist instead."
)

PROMPT_LINES = [
    "# Role",
    "You are the front desk of Acme Dental.",
    "",
    "# Tone",
    "Friendly, brief, never pushy.",
    "Use the caller's name.",
    "",
    "# Appointments",
    "Offer the next three free slots.",
    "Confirm the slot before ending the call.",
    "",
    "# Limits",
    "Never give medical advice.",
]


def _update(key: str, ident: int, name: str, *fields: FieldChange, **extra: object) -> Change:
    return Change(
        key,
        f"assistants.d/{key}.yaml",
        Action.UPDATE,
        ident,
        name,
        {f.path: f.after for f in fields},
        fields,
        FINGERPRINT,
        **extra,  # type: ignore[arg-type]
    )


def scalars() -> Plan:
    """Numbers, ids with their names, a write-only field, and a mode change that re-sends a mode field."""
    return Plan.of(
        [
            _update(
                "reception",
                7,
                "Reception",
                FieldChange("mode", "multimodal", "pipeline"),
                FieldChange("voice_id", 101, 102, before_name="Maya", after_name="Alloy"),
                FieldChange("speech_speed", 1.0, 0.9),
                FieldChange("fillers", False, True, reason=REASON_MODE),
                FieldChange(
                    "voice_mail_message", None, "Please call back.", before_known=False, reason=REASON_NEW
                ),
            )
        ]
    )


def lists() -> Plan:
    """Lists of objects paired by their naming key, and id lists as members joined and left, with names."""
    calendar = {"type": "calendar_integration", "calcom_api_key": "cal_live_1", "calcom_event_slug": "intro"}
    tools_before = [
        {"type": "call_transfer", "phone_number": "+4930111", "description": "To the front desk"},
        {"type": "dtmf_input", "description": "Read the caller's key presses"},
        calendar,
    ]
    tools_after = [
        {"type": "call_transfer", "phone_number": "+4930222", "description": "To the front desk"},
        calendar,
        {"type": "end_call", "description": "End politely"},
    ]
    schema_before = [
        {"name": "lead_score", "type": "number", "description": "How likely to buy"},
        {"name": "callback", "type": "bool", "description": "Wants a call back"},
    ]
    schema_after = [
        {"name": "lead_score", "type": "number", "description": "How likely to book, 0 to 10"},
        {"name": "callback", "type": "bool", "description": "Wants a call back"},
        {"name": "summary", "type": "string", "description": "The call in one sentence"},
    ]
    return Plan.of(
        [
            _update(
                "sales",
                12,
                "Sales",
                FieldChange(
                    "tool_ids",
                    [5, 9],
                    [9, 12],
                    before_name=["crm", "weather"],
                    after_name=["weather", "lookup_order"],
                ),
                FieldChange("tools", tools_before, tools_after),
                FieldChange("post_call_schema", schema_before, schema_after),
                FieldChange(
                    "secondary_language_ids",
                    [2],
                    [2, 3],
                    before_name=["German"],
                    after_name=["German", "French"],
                ),
            )
        ]
    )


def variables() -> Plan:
    """An object key by key: added, removed, changed, the unchanged ones counted."""
    before = {"company": "Acme", "region": "eu", "legacy_flow": "1", "hours": "9-17"}
    after = {"company": "Acme", "region": "eu-central", "hours": "9-17", "tone": "warm"}
    return Plan.of([_update("support", 3, "Support", FieldChange("variables", before, after))])


def prompts() -> Plan:
    """Long text: a multi-line prompt with a line changed in its middle, and one long line with one word
    changed."""
    before = "\n".join(PROMPT_LINES)
    after_lines = list(PROMPT_LINES)
    after_lines[9] = "Confirm the slot and the dentist's name before ending the call."
    after_lines.insert(13, "Never discuss prices.")
    return Plan.of(
        [
            _update(
                "desk",
                4,
                "Front Desk",
                FieldChange("system_prompt", before, "\n".join(after_lines)),
                FieldChange("initial_message", LONG_PROMPT, LONG_PROMPT.replace("politely", "warmly")),
            )
        ]
    )


def create() -> Plan:
    """A new assistant: every value whole, a prompt as a block of lines, a list of tools element by element."""
    fields = (
        FieldChange("name", None, "Night Line", before_known=False),
        FieldChange("type", None, "inbound", before_known=False),
        FieldChange("mode", None, "pipeline", before_known=False),
        FieldChange("voice_id", None, 101, before_known=False, after_name="Maya"),
        FieldChange("system_prompt", None, "\n".join(PROMPT_LINES[:6]), before_known=False),
        FieldChange("tools", None, [{"type": "end_call", "description": "End politely"}], before_known=False),
    )
    change = Change(
        "night",
        "assistants.d/night.yaml",
        Action.CREATE,
        None,
        "Night Line",
        {f.path: f.after for f in fields},
        fields,
    )
    return Plan.of([change])


def prune() -> Plan:
    """A delete (no fields: it says what goes), an update that only records ownership, and the warning."""
    delete = Change("old-sales", None, Action.DELETE, 21, "Old Sales", fingerprint=FINGERPRINT)
    record = {"company": "Acme"}
    owner = _update("billing", 22, "Billing", FieldChange("variables", record, record, reason=REASON_OWNER))
    return Plan.of(
        [delete, owner],
        unsafe=("1 assistant would be deleted",),
        owner="github.com/acme/assistants/assistants.d",
        prune=True,
    )


def baseline() -> Plan:
    """With ``--baseline``: a dashboard edit shown apart, before the pull request's own change."""
    return Plan.of(
        [
            _update(
                "sales",
                12,
                "Sales",
                FieldChange("speech_speed", 0.8, 1.0, origin=ORIGIN_PLATFORM),
                FieldChange("max_duration", 600, 900, origin=ORIGIN_FILES),
            )
        ]
    )


def secrets() -> Plan:
    """A rotated secret and a URL with a secret inside: never printed, said to differ."""
    fields = (
        FieldChange(
            "tools",
            [
                {
                    "type": "calendar_integration",
                    "calcom_api_key": "cal_live_old",
                    "calcom_event_slug": "intro",
                }
            ],
            [
                {
                    "type": "calendar_integration",
                    "calcom_api_key": "cal_live_new",
                    "calcom_event_slug": "intro",
                }
            ],
        ),
        FieldChange(
            "post_call_webhook_url",
            "https://hooks.example/acme?key=old-key-1",
            "https://hooks.example/acme?key=new-key-2",
        ),
    )
    return Plan.of(
        [
            _update(
                "cal",
                5,
                "Calendar",
                *fields,
                secret_paths=frozenset({"tools[0].calcom_api_key", "post_call_webhook_url"}),
                secret_masks={"post_call_webhook_url": "https://hooks.example/acme?key=(sensitive)"},
            )
        ]
    )


def unchanged() -> Plan:
    """Nothing to change, but an out-of-date id to pin, and assistants no file manages."""
    pinned = Change(
        "desk",
        "assistants.d/desk.yaml",
        Action.NOOP,
        9,
        "Front Desk",
        fingerprint=FINGERPRINT,
        notes=("the file's id 4 is out of date: the assistant is now id 9 (apply --pin-ids writes it)",),
        pin=9,
    )
    quiet = Change("sales", "assistants.d/sales.yaml", Action.NOOP, 12, "Sales", fingerprint=FINGERPRINT)
    return Plan.of([pinned, quiet], unmanaged=[Unmanaged(30, "Test Bot"), Unmanaged(31, "Holiday Line")])


def fleet() -> Plan:
    """The same changes on several assistants (a default changed for all): shown once, before the detail."""
    tools_before = [{"type": "end_call", "description": "End the call."}]
    tools_after = [{"type": "end_call", "description": "End the call politely."}]
    speed = FieldChange(
        "speech_speed", 1.0, 1.05, source="assistants.d/_defaults.yaml:3", traced=True, from_layer=True
    )
    tools = FieldChange("tools", tools_before, tools_after)
    return Plan.of(
        [
            _update("north", 1, "North", speed, tools),
            _update("south", 2, "South", speed, tools, FieldChange("max_duration", 600, 900)),
            _update("west", 3, "West", speed),
            _update(
                "east",
                4,
                "East",
                FieldChange(
                    "speech_speed",
                    0.9,
                    1.05,
                    source="assistants.d/_defaults.yaml:3",
                    traced=True,
                    from_layer=True,
                ),
            ),
        ]
    )


def long() -> Plan:
    """Fields with more rows than a pull-request comment shows: a shared change and one assistant's own are
    each cut at the same number of rows, and both say how many more there are."""
    shared = FieldChange("tool_ids", [1, 2], list(range(1, 76)))
    own = FieldChange("secondary_language_ids", [], list(range(100, 170)))
    return Plan.of(
        [
            _update("north", 1, "North", shared),
            _update("south", 2, "South", shared, own),
        ]
    )


PLANS = {
    "scalars": scalars,
    "lists": lists,
    "variables": variables,
    "prompts": prompts,
    "create": create,
    "prune": prune,
    "baseline": baseline,
    "secrets": secrets,
    "unchanged": unchanged,
    "fleet": fleet,
    "long": long,
}

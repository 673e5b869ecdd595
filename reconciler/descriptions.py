"""What each key of an assistant file means, in the words of the API page (``docs/api.md``, the Update
table and its create defaults) and the contract (``docs/contract.md``). The JSON Schema gives every property
its text from here, and editors show it on hover, so it is plain text: no markup, which editors would show as
typed.

Keys are field names; the keys of built-in tools and of post-call schema items carry their list's name in front
(``tools.phone_number`` is the number a call is transferred to, ``phone_number`` the assistant's own).
"""

from __future__ import annotations

from reconciler.fields import FIELDS, NAME_KEY_DESCRIPTIONS

DESCRIPTIONS: dict[str, str] = {
    # the reconciler's own keys
    "id": "Id of the assistant on the platform: binds this file to it. Without id the file is matched by name.",
    "ignore_changes": "API field names this file never manages: neither compared with the platform nor sent.",
    "extends": "Layer files this file builds on: one path or a list, relative to this file; later ones override "
    "earlier ones and this file's own keys override them all. _defaults.yaml in the directory is always the "
    "lowest layer.",
    "extra_fields": "API fields this version of reconciler does not know yet, by their API names: sent as "
    "written, and compared with the platform when it returns them. A field it knows is refused here.",
    # the API's fields and the name keys standing for them (fields.py)
    **{field.name: field.description for field in FIELDS},
    **NAME_KEY_DESCRIPTIONS,
    # built-in tools
    "tools.type": "The built-in tool: call_transfer, end_call, dtmf_input or calendar_integration.",
    "tools.description": "What the tool is for, as the assistant is told.",
    "tools.phone_number": "The number the call is transferred to, in E.164 form (like +14155550100).",
    "tools.custom": "The transfer's custom flag, as the API takes it.",
    "tools.timezone": "IANA time zone name of the transfer, such as Europe/Berlin.",
    "tools.calcom_api_key": "The Cal.com API key. A secret: write it as a placeholder such as "
    "${CALCOM_API_KEY}, read from the environment.",
    "tools.calcom_event_slug": "The Cal.com event type's slug.",
    # post-call schema items
    "post_call_schema.name": "Name of the extracted field: 3 to 16 characters of a-z, 0-9 and _, unique in "
    "the list.",
    "post_call_schema.type": "Type of the extracted value: string, number or bool.",
    "post_call_schema.description": "What to extract, 3 to 255 characters.",
}

"""export() on its own: an in-memory account in the read shape → the exact file text (docs/api.md, read shape vs
write shape; the README's export section). The end-to-end export tests are in test_export_e2e.py."""

from __future__ import annotations

from typing import Any

from reconciler.export import export
from reconciler.names import Catalog
from reconciler.remote import Account, normalise
from reconciler.secret import Secret

TOKEN = Secret("tok-unit-0123456789")

#: One assistant as the list endpoint returns it: numbers as strings, booleans as 0/1, tools nested, an
#: empty map as [] would be, ``boolean`` for ``bool``.
FRONT_DESK: dict[str, Any] = {
    # read-only fields the list adds
    "id": "7",
    "uuid": "0c5e9a52-1f0b-4c43-9d1e-3a3f2b7d9e11",
    "status": "inactive",
    "user_id": 1,
    "created_at": "2026-01-01T00:00:00.000000Z",
    "updated_at": "2026-01-02T00:00:00.000000Z",
    "deleted_at": None,
    "language": "en",
    # the write fields, in the read shape (docs/api.md#read-shape-vs-write-shape); the write-only ones absent
    "name": "Front Desk",
    "type": "inbound",
    "mode": "pipeline",
    "language_id": 1,
    "voice_id": 101,
    "llm_model_id": 2,
    "multimodal_model_id": None,  # the other engine mode's field reads back as null
    "synthesizer_provider_id": None,
    "transcriber_provider_id": None,
    "timezone": "Europe/Berlin",
    "voice_stability": "0.7",
    "voice_similarity": "0.5",
    "speech_speed": "1.0",
    "llm_temperature": "0.1",
    "initial_message": "Your code is tok-unit-0123456789; a visit costs ${PRICE}.",
    "system_prompt": "Be brief.\nBe kind.\n",
    "knowledgebase_id": None,
    "knowledgebase_mode": "function_call",
    "allow_interruptions": 1,
    "fillers": 0,
    "record": 0,
    "enable_noise_cancellation": 1,
    "wait_for_customer": 0,
    "endpoint_type": "vad",
    "endpoint_sensitivity": 0.5,
    "interrupt_sensitivity": 0.5,
    "min_interrupt_words": None,
    "ambient_sound": "off",
    "ambient_sound_volume": "0.5",
    "max_duration": 600,
    "max_silence_duration": 40,
    "max_initial_silence_duration": None,
    "ringing_time": 30,
    "reengagement_interval": 30,
    "phone_number_id": None,
    "end_call_on_voicemail": 1,
    "is_webhook_active": 1,
    "webhook_url": "https://hooks.example/in?token=hook-0123456789",
    "send_webhook_only_on_completed": 1,
    "include_recording_in_webhook": 0,
    "post_call_evaluation": 1,
    "post_call_schema": [{"name": "booked", "type": "boolean", "description": "Was a visit booked?"}],
    "variables": {"city": "Berlin", "api_secret": "s3cr3t-value-42"},
    "tools": [
        {"type": "end_call", "data": {"description": "Say goodbye first."}},
        {
            "type": "calendar_integration",
            "data": {"calcom_api_key": "cal_live_0123456789abcdef", "calcom_event_slug": "intro"},
        },
    ],
}

WRITE_ONLY_NOTE = "write-only (the API never returns it), so not exported; left out, the platform keeps it"

#: What export writes for FRONT_DESK with ids: canonical values, secrets and the token as placeholders, a literal
#: ``${`` escaped, null fields and cleared-anyway values left out, a comment for each write-only field.
EXPECTED = (
    "# Exported by `reconciler export`. A field left out is cleared if the API can clear it (null, [] or {}),\n"
    "# and otherwise kept as it is on the platform.\n"
    "id: 7\n"
    "\n"
    "# identity\n"
    "name: Front Desk\n"
    "type: inbound\n"
    "mode: pipeline\n"
    "\n"
    "# engine and voice\n"
    "language_id: 1\n"
    f"# secondary_language_ids: {WRITE_ONLY_NOTE}\n"
    "voice_id: 101\n"
    "llm_model_id: 2\n"
    "timezone: Europe/Berlin\n"
    f"# tts_emotion_enabled: {WRITE_ONLY_NOTE}\n"
    "voice_stability: 0.7\n"
    "voice_similarity: 0.5\n"
    "speech_speed: 1.0\n"
    "llm_temperature: 0.1\n"
    "\n"
    "# prompts\n"
    "initial_message: Your code is ${GLORIA_API_TOKEN}; a visit costs $${PRICE}.\n"
    "system_prompt: |-\n"
    "  Be brief.\n"
    "  Be kind.\n"
    "knowledgebase_mode: function_call\n"
    "\n"
    "# behaviour\n"
    "allow_interruptions: true\n"
    "fillers: false\n"
    "record: false\n"
    "enable_noise_cancellation: true\n"
    "wait_for_customer: false\n"
    "endpoint_type: vad\n"
    "endpoint_sensitivity: 0.5\n"
    "interrupt_sensitivity: 0.5\n"
    "ambient_sound: 'off'\n"
    "ambient_sound_volume: 0.5\n"
    "\n"
    "# timing\n"
    "max_duration: 600\n"
    "max_silence_duration: 40\n"
    "ringing_time: 30\n"
    "reengagement_interval: 30\n"
    f"# reengagement_prompt: {WRITE_ONLY_NOTE}\n"
    "\n"
    "# telephony and voicemail\n"
    "end_call_on_voicemail: true\n"
    f"# voice_mail_message: {WRITE_ONLY_NOTE}\n"
    "\n"
    "# webhooks\n"
    "is_webhook_active: true\n"
    "webhook_url: ${FRONT_DESK_WEBHOOK_URL}\n"
    "send_webhook_only_on_completed: true\n"
    "include_recording_in_webhook: false\n"
    "\n"
    "# post-call analysis\n"
    "post_call_evaluation: true\n"
    "post_call_schema:\n"
    "- name: booked\n"
    "  type: bool\n"
    "  description: Was a visit booked?\n"
    "\n"
    "# variables\n"
    "variables:\n"
    "  city: Berlin\n"
    "  api_secret: ${FRONT_DESK_API_SECRET}\n"
    "\n"
    "# tools\n"
    f"# tool_ids: {WRITE_ONLY_NOTE}\n"
    "tools:\n"
    "- type: end_call\n"
    "  description: Say goodbye first.\n"
    "- type: calendar_integration\n"
    "  calcom_api_key: ${FRONT_DESK_CALCOM_API_KEY}\n"
    "  calcom_event_slug: intro\n"
)


def exported(item: dict[str, Any], catalog: Catalog | None = None) -> tuple[str, dict[str, str]]:
    (file,) = export(Account((normalise(item),)), [7], catalog, TOKEN)
    return file.text, {name: secret.reveal() for name, secret in file.secrets.items()}


def test_an_assistant_in_the_read_shape_is_written_in_the_write_shape_without_its_secrets() -> None:
    text, secrets = exported(FRONT_DESK)
    assert text == EXPECTED
    # each placeholder's value, for the run to print the names to set (the values are never written)
    assert secrets == {
        "FRONT_DESK_CALCOM_API_KEY": "cal_live_0123456789abcdef",
        "FRONT_DESK_WEBHOOK_URL": "https://hooks.example/in?token=hook-0123456789",
        "FRONT_DESK_API_SECRET": "s3cr3t-value-42",
        "GLORIA_API_TOKEN": "tok-unit-0123456789",
    }


def test_a_null_field_is_left_out_and_a_field_the_item_lacks_gets_the_write_only_comment() -> None:
    text, _ = exported({**FRONT_DESK, "ringing_time": None})
    assert text == EXPECTED.replace("ringing_time: 30\n", "")
    lacking = {k: v for k, v in FRONT_DESK.items() if k != "ringing_time"}
    text, _ = exported(lacking)
    assert text == EXPECTED.replace("ringing_time: 30\n", f"# ringing_time: {WRITE_ONLY_NOTE}\n")


CATALOG = {
    "/user/assistants/languages": [{"id": 1, "name": "English", "iso_2": "en"}],
    "/user/assistants/voices": [{"id": 101, "name": "Alloy"}, {"id": 102, "name": "Echo"}],
    "/user/assistants/models": [{"id": 2, "name": "GPT-4o", "code": "gpt-4o"}],
}


def test_with_a_catalog_ids_become_the_names_that_resolve_back_to_them_and_the_id_line_goes() -> None:
    requests: list[tuple[str, dict[str, str] | None]] = []

    def lookup(path: str, params: dict[str, str] | None) -> Any:
        requests.append((path, params))
        return CATALOG[path]

    text, _ = exported(FRONT_DESK, Catalog(lookup))
    assert text == (
        EXPECTED.replace("id: 7\n", "")
        .replace("language_id: 1\n", "language: English\n")
        .replace("voice_id: 101\n", "voice: Alloy\n")
        .replace("llm_model_id: 2\n", "llm_model: GPT-4o\n")
    )
    # voices for the assistant's mode and language; each asked twice (its label, then the check that the
    # label resolves back): the run's client is what caches them (test_names_unit.py)
    assert [r for i, r in enumerate(requests) if r not in requests[:i]] == [
        ("/user/assistants/languages", None),
        ("/user/assistants/voices", {"mode": "pipeline", "language_id": "1"}),
        ("/user/assistants/models", {"type": "llm"}),
    ]


def test_an_id_whose_name_is_ambiguous_or_unknown_stays_an_id() -> None:
    catalog = {
        **CATALOG,
        "/user/assistants/voices": [{"id": 101, "name": "Alloy"}, {"id": 105, "name": "alloy"}],
        "/user/assistants/models": [{"id": 3, "name": "Other"}],
    }
    text, _ = exported(FRONT_DESK, Catalog(lambda path, params: catalog[path]))
    assert text == EXPECTED.replace("id: 7\n", "").replace("language_id: 1\n", "language: English\n")


def test_files_are_named_after_the_assistants_and_only_the_chosen_ids_are_exported() -> None:
    items = [
        {"id": 3, "name": "Front Desk", "type": "inbound", "mode": "pipeline"},
        {"id": 1, "name": "Front  Desk!", "type": "inbound", "mode": "pipeline"},
        {"id": 2, "name": "Sales", "type": "outbound", "mode": "pipeline"},
        {"id": 4, "name": "tok-unit-0123456789", "type": "outbound", "mode": "pipeline"},
    ]
    files = export(Account(tuple(normalise(i) for i in items)), [1, 3, 4], None, TOKEN)
    # a clash gets -2 in id order; a name that shows the token never names a file
    assert [(f.key, f.assistant_id) for f in files] == [
        ("assistant", 4),
        ("front-desk", 1),
        ("front-desk-2", 3),
    ]

"""What each key of an assistant file means, in the words of the API page (``docs/api.md``, the Update
table and its create defaults) and the contract (``docs/contract.md``). The JSON Schema gives every property
its text from here, and editors show it on hover, so it is plain text: no markup, which editors would show as
typed.

Keys are field names; the keys of built-in tools and of post-call schema items carry their list's name in front
(``tools.phone_number`` is the number a call is transferred to, ``phone_number`` the assistant's own).
"""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {
    # the reconciler's own keys
    "id": "Id of the assistant on the platform: binds this file to it. Without id the file is matched by name.",
    "ignore_changes": "API field names this file never manages: neither compared with the platform nor sent.",
    # identity and engine
    "name": "The assistant's name, at most 255 characters. Without id, the file manages the assistant of this "
    "name (or creates it).",
    "type": "Call direction: inbound or outbound.",
    "mode": "Engine mode: pipeline, multimodal or dualplex. Changing it resets the mode-specific settings (LLM "
    "model, multimodal model, providers) to the new mode's defaults unless the same file sets them.",
    "voice_id": "Id of the voice (GET /user/assistants/voices); it must suit the mode. Or give voice by name.",
    "language_id": "Id of the main language (GET /user/assistants/languages). Or give language by name.",
    "secondary_language_ids": "Ids of further languages; replaces the whole list, [] clears it. Or give "
    "secondary_languages by name.",
    "timezone": "IANA time zone name, such as Europe/Berlin.",
    "llm_model_id": "Id of the LLM (GET /user/assistants/models?type=llm). Pipeline only, and required there on "
    "create. Or give llm_model by name.",
    "multimodal_model_id": "Id of the multimodal or dualplex model (GET /user/assistants/models?type=multimodal "
    "or dualplex). Multimodal and dualplex only, and required there on create. Or give multimodal_model by name.",
    "chat_llm_fallback_id": "Id of the chat LLM to fall back on. Multimodal and dualplex only; null removes it. "
    "Or give chat_llm_fallback by name.",
    "turn_detection_threshold": "Turn detection threshold, 0 to 1. Multimodal and dualplex only; null means "
    "automatic.",
    "synthesizer_provider_id": "Id of the text-to-speech provider (GET /user/assistants/synthesizer-providers); "
    "null means the language's default. Or give synthesizer_provider by name.",
    "transcriber_provider_id": "Id of the speech-to-text provider (GET /user/assistants/transcriber-providers). "
    "Pipeline only; null means the language's default. Or give transcriber_provider by name.",
    # prompts
    "initial_message": "What the assistant says first, at most 200 characters. Variables appear as {{name}}.",
    "system_prompt": "The system prompt. Variables appear as {{name}}.",
    "variables": "Variables for the prompts, used there as {{name}}: names of ASCII letters, digits and _, "
    "string values. Replaces all variables; {} removes them. Names starting with _reconciler are reserved.",
    # knowledge and tools
    "knowledgebase_id": "Id of the knowledge base (GET /user/knowledgebases); null detaches it. Or give "
    "knowledgebase by name.",
    "knowledgebase_mode": "How the knowledge base is used: function_call or prompt; prompt is pipeline only.",
    "tool_ids": "Ids of custom mid-call tools (GET /user/tools); replaces the whole list, [] clears it. Or give "
    "custom_tools by name.",
    "tools": "Built-in tools, each by its type: call_transfer, end_call, dtmf_input or calendar_integration. "
    "Replaces the whole list; [] clears it.",
    # voice
    "tts_emotion_enabled": "Emotional text-to-speech. Platform default: true.",
    "voice_stability": "Voice stability, 0 to 1. Platform default: 0.7.",
    "voice_similarity": "Voice similarity, 0 to 1. Platform default: 0.5.",
    "speech_speed": "Speech speed, 0.7 to 1.2. Platform default: 1.0.",
    "llm_temperature": "LLM temperature, 0 to 1. Platform default: 0.1.",
    # conversation behaviour
    "allow_interruptions": "Whether the caller may interrupt the assistant. Cannot be false in multimodal or "
    "dualplex mode. Platform default: true.",
    "fillers": "Filler words while the assistant thinks. Pipeline only. Platform default: false.",
    "record": "Record calls. Platform default: false.",
    "enable_noise_cancellation": "Noise cancellation. Platform default: true.",
    "wait_for_customer": "Wait for the customer to speak first. Platform default: false.",
    "endpoint_type": "How the end of the caller's turn is detected: vad (voice activity detection) or ai. "
    "Platform default: vad.",
    "endpoint_sensitivity": "Sensitivity of the end-of-turn detection, 0 to 5. Platform default: 0.5.",
    "interrupt_sensitivity": "Sensitivity to the caller's interruptions, 0 to 5. Platform default: 0.5.",
    "min_interrupt_words": "Words the caller must say to interrupt, 0 to 10; null clears it.",
    "ambient_sound": "Background sound: off, office, city, forest, crowded_room, cafe or nature. Platform "
    "default: off.",
    "ambient_sound_volume": "Volume of the background sound, 0 to 1. Platform default: 0.5.",
    # timing
    "max_duration": "Longest call, 20 to 1200 seconds. Platform default: 600.",
    "max_silence_duration": "Longest silence in a call, 1 to 360 seconds. Platform default: 40.",
    "max_initial_silence_duration": "Longest silence at the start of a call, 1 to 120 seconds; null disables it.",
    "ringing_time": "How long the phone rings, 1 to 60 seconds. Platform default: 30.",
    "reengagement_interval": "Silence before the assistant re-engages the caller, 7 to 600 seconds. Platform "
    "default: 30.",
    "reengagement_prompt": "What the assistant says to re-engage a silent caller, at most 1000 characters; "
    "null means the platform's default.",
    # telephony and voicemail
    "phone_number_id": "Id of the phone number (GET /user/assistants/phone-numbers); it must belong to the "
    "account, and an inbound assistant's may be neither a Caller ID number nor another inbound assistant's. "
    "null detaches it. Or give phone_number in E.164 form.",
    "end_call_on_voicemail": "End the call on reaching voicemail. Platform default: true.",
    "voice_mail_message": "The message left on voicemail, at most 1000 characters; null disables it.",
    # webhooks and post-call analysis
    "is_webhook_active": "Send the webhook after calls; when true, webhook_url must be set in the same file. "
    "Platform default: false.",
    "webhook_url": "The http(s) URL the webhook goes to; null removes it.",
    "send_webhook_only_on_completed": "Send the webhook only for completed calls. Platform default: true.",
    "include_recording_in_webhook": "Include the recording in the webhook. Platform default: true.",
    "post_call_evaluation": "Analyse each call after it ends. Platform default: true.",
    "post_call_schema": "The fields the post-call analysis extracts, names unique. Replaces the whole list; "
    "[] clears it.",
    # name references, looked up in the account's catalog
    "voice": "The voice by name, instead of voice_id.",
    "language": "The main language by name, instead of language_id.",
    "secondary_languages": "Further languages by name, instead of secondary_language_ids.",
    "llm_model": "The LLM by name, instead of llm_model_id. Pipeline only.",
    "multimodal_model": "The multimodal or dualplex model by name, instead of multimodal_model_id. Multimodal "
    "and dualplex only.",
    "chat_llm_fallback": "The chat LLM to fall back on, by name, instead of chat_llm_fallback_id. Multimodal "
    "and dualplex only.",
    "knowledgebase": "The knowledge base by name, instead of knowledgebase_id.",
    "phone_number": "The assistant's phone number in E.164 form (like +14155550100), instead of "
    "phone_number_id.",
    "custom_tools": "Custom mid-call tools by name, instead of tool_ids.",
    "synthesizer_provider": "The text-to-speech provider by name, instead of synthesizer_provider_id.",
    "transcriber_provider": "The speech-to-text provider by name, instead of transcriber_provider_id. Pipeline "
    "only.",
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

"""A faithful local emulator of the gloriagent.ai assistant API (see gloriagent-api.md), quirks included."""

"""A faithful local emulator of the gloriagent.ai assistant API (see docs/api.md), quirks included."""

"""Renderers over one Plan, each writing to a given stream: text (like Terraform's), markdown (a PR comment),
JSON (the contract's plan format); and apply's report. Values go through ``Change.masked``, so no renderer can
print a secret.

Names, keys, prompts, catalog labels and server messages come from the platform, which may be hostile (or merely
careless): each renderer escapes every line it writes (``text._Lines``, ``markdown``'s three escapes).

- ``granular``: PURE, what changed inside one field's value, as rows (elements, keys, members, lines, words);
- ``common``: what the renderers share (headings, the summary, a field change as rows, secrets masked);
- ``text``: the terminal's plan, report and pins, with or without colour;
- ``markdown``: the pull request comment and the job summary.
"""

from reconciler.render.common import render_json, summary_line
from reconciler.render.markdown import (
    MARKDOWN_LIMIT,
    MARKER,
    render_markdown,
    render_pins_markdown,
    render_report_markdown,
)
from reconciler.render.text import Style, render_pins, render_report, render_text

__all__ = [
    "MARKDOWN_LIMIT",
    "MARKER",
    "Style",
    "render_json",
    "render_markdown",
    "render_pins",
    "render_pins_markdown",
    "render_report",
    "render_report_markdown",
    "render_text",
    "summary_line",
]

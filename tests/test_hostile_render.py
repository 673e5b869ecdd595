"""Remote text built to attack the outputs: names, prune record keys, prompt lines, catalog labels and server
messages holding terminal controls, bidi overrides, line breaks and markdown.

Each test drives the CLI against a small loopback server (``hostile_server.py``) that returns the hostile value
where an honest account returns a name. The text plan and every ``error:`` line must carry no raw control or
bidi character and no line that the value forged; the markdown comment, rendered by GitHub's own renderer
(cmark-gfm, with GitHub's extensions), must show each value as literal text: no link, no image, no heading, no
extra table row or cell, no way out of its ``<details>``, and never past the comment's size limit.
"""

from __future__ import annotations

import io
import json
import sys
import unicodedata
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hostile_server import Account, Reply, Request, assistant, honest_account, hostile_api
from support import run, write_files

from reconciler import cli
from reconciler.render import MARKDOWN_LIMIT

OWNER = "hostile-render-tests"
GENUINE = "Plan: 0 to create, 1 to update, 1 to delete, 0 unchanged."
FORGED = "Plan: 0 to create, 0 to update, 0 to delete, 2 unchanged."
#: A name that clears the screen, hides a hyperlink (OSC 8), rings the bell, reverses the line (RLO), truncates
#: C strings (NUL) and, with a carriage return and a newline, writes a reassuring plan summary of its own.
TERMINAL_ATTACK = (
    f"Sales\x1b[2J\x1b]8;;https://attacker.example\x07click\x1b]8;;\x07\u202eRLO\x00\r{FORGED}\n{FORGED}"
)
#: The same name as the text output must show it: every dangerous character as a visible ``\\uXXXX``.
TERMINAL_ATTACK_SHOWN = (
    "Sales\\u001b[2J\\u001b]8;;https://attacker.example\\u0007click\\u001b]8;;\\u0007\\u202eRLO\\u0000"
    f"\\u000d{FORGED}\\u000a{FORGED}"
)

SALES_FILE = (  # binds assistant 7 by id and names nothing: the plan shows the platform's name
    "id: 7\n"
    "type: outbound\n"
    "mode: pipeline\n"
    "language_id: 1\n"
    "voice_id: 102\n"
    "llm_model_id: 2\n"
    "timezone: Europe/Berlin\n"
    "initial_message: Hello there.\n"
    "system_prompt: |\n"
    "  Line one\n"
    "  changed\n"
    "  three\n"
)


def raw_controls(text: str) -> list[str]:
    """Every character in ``text`` that a terminal (or a reader) would not show as itself: controls other
    than the line feed, format characters (bidi overrides, zero-width), line and paragraph separators."""
    return [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
    ]


def summary_lines(text: str) -> list[str]:
    """Lines that start with ``Plan:``, split wherever a terminal starts a line (a carriage return too)."""
    return [line for line in text.splitlines() if line.startswith("Plan:")]


def record(key: str) -> dict[str, str]:
    """The ``variables`` of an assistant that ``OWNER`` recorded as its own, under file key ``key``."""
    return {"_reconciler": json.dumps({"v": 1, "fields": {}, "owner": OWNER, "key": key})}


def account(name: str, key: str, **more: Any) -> Account:
    """Assistant 7 named ``name`` (which ``SALES_FILE`` updates), and assistant 8, owned by the tests under
    the file key ``key``, whose file is gone (which ``--prune`` deletes)."""
    return honest_account(
        assistant(7, name=name, system_prompt="Line one\nold\nthree", **more),
        assistant(8, name=name, variables=record(key)),
    )


def with_voices(served: Account, label: str) -> Callable[[Request], Reply]:
    """``served``, with a voice catalog that labels voice 101 (assistant 7's voice) ``label``."""

    def handle(request: Request) -> Reply:
        if request.path == "/user/assistants/voices":
            return Reply(200, [{"id": 101, "name": label}, {"id": 102, "name": "Ethan"}])
        return served.handle(request)

    return handle


def files(tmp_path: Path, sales: str = SALES_FILE) -> Path:
    return write_files(tmp_path / "assistants.d", {"sales": sales})


def plan(capsys: pytest.CaptureFixture[str], directory: Path, fmt: str) -> str:
    code, out, err = run(
        capsys, "plan", "--dir", str(directory), "--prune", "--owner", OWNER, "--format", fmt
    )
    assert (code, err) == (0, "")
    return out


# ---- the text plan and the terminal ------------------------------------------------------------------------


def test_text_plan_escapes_remote_names_record_keys_prompt_lines_and_catalog_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served = account(TERMINAL_ATTACK, f"gone-{TERMINAL_ATTACK}")
    served.items[0]["system_prompt"] = "Line one\n\x1b[31m\u202eold\x07\nthree"
    directory = files(tmp_path)
    with hostile_api(monkeypatch, with_voices(served, f"Maya{TERMINAL_ATTACK}")):
        out = plan(capsys, directory, "text")
    assert raw_controls(out) == []
    assert summary_lines(out) == [GENUINE]
    lines = out.splitlines()
    assert f'  - delete gone-{TERMINAL_ATTACK_SHOWN} "{TERMINAL_ATTACK_SHOWN}" (id 8)' in lines
    assert f'  ~ update sales "{TERMINAL_ATTACK_SHOWN}" (id 7)    {directory}/sales.yaml' in lines
    assert f"      ~ voice_id: 101 (Maya{TERMINAL_ATTACK_SHOWN}) → 102 (Ethan)" in lines
    assert "          - \\u001b[31m\\u202eold\\u0007" in lines


def test_apply_shows_the_hostile_name_escaped_before_the_yes_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served = honest_account(assistant(7, name=TERMINAL_ATTACK, system_prompt="Line one\nold\nthree"))
    directory = files(tmp_path)
    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO("no\n"))
    with hostile_api(monkeypatch, served.handle) as server:
        code, out, err = run(capsys, "apply", "--dir", str(directory))
    assert (code, err) == (1, "error: apply cancelled; nothing was changed\n")
    assert server.writes() == []
    shown, _prompt = out.split("\nApply these changes?")
    assert raw_controls(shown) == []
    assert summary_lines(shown) == ["Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged."]
    assert (
        f'  ~ update sales "{TERMINAL_ATTACK_SHOWN}" (id 7)    {directory}/sales.yaml' in shown.splitlines()
    )


def test_a_servers_error_message_is_escaped_in_the_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(request: Request) -> Reply:
        return Reply(400, {"message": TERMINAL_ATTACK})

    directory = files(tmp_path)
    with hostile_api(monkeypatch, refuse):
        code, out, err = run(capsys, "plan", "--dir", str(directory))
    assert (code, out) == (1, "")
    assert err == f"error: GET /user/assistants/get: 400 {TERMINAL_ATTACK_SHOWN}\n"


def test_catalog_names_quoted_by_a_name_reference_problem_are_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served = honest_account(assistant(7, name="Sales"))
    directory = files(tmp_path, sales=SALES_FILE.replace("voice_id: 102", "voice: Nobody"))
    with hostile_api(monkeypatch, with_voices(served, TERMINAL_ATTACK)):
        code, out, err = run(capsys, "plan", "--dir", str(directory))
    assert (code, out) == (1, "")
    assert raw_controls(err) == []
    assert summary_lines(err) == []
    problem, summary = err.splitlines()
    assert problem.endswith(f"candidates: Ethan, {TERMINAL_ATTACK_SHOWN}")
    assert summary == "error: 1 problem in 1 file"


def test_apply_report_escapes_the_servers_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served = honest_account(assistant(7, name="Sales", system_prompt="Line one\nold\nthree"))

    def refuse_updates(request: Request) -> Reply:
        if request.method == "PUT":
            return Reply(422, {"message": TERMINAL_ATTACK, "errors": {"system_prompt": [TERMINAL_ATTACK]}})
        return served.handle(request)

    directory = files(tmp_path, sales=SALES_FILE.replace("id: 7\n", "id: 7\nname: Sales\n"))
    with hostile_api(monkeypatch, refuse_updates):
        code, out, err = run(capsys, "apply", "--dir", str(directory), "--auto-approve")
    assert code == 1
    assert raw_controls(out + err) == []
    assert summary_lines(out) == ["Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged."]
    failed = [line for line in out.splitlines() if line.startswith("  ! sales")]
    assert failed == [f"  ! sales (id 7): update failed: PUT /user/assistant/7: 422 {TERMINAL_ATTACK_SHOWN}"]


def test_validate_no_env_escapes_a_malformed_placeholder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fork's author writes the placeholder; ``validate --no-env`` quotes it in a problem line."""
    forged = "assistants.d/other.yaml:1: name: looks fine"
    text = SALES_FILE.replace("system_prompt: |\n  Line one\n  changed\n  three\n", "")
    text += f'system_prompt: "${{\\e[31m\\u202e\\r\\n{forged}}}"\n'
    directory = files(tmp_path, sales=text)
    code, out, err = run(capsys, "validate", "--dir", str(directory), "--no-env")
    assert (code, out) == (1, "")
    assert raw_controls(err) == []
    assert err == (
        f"{directory}/sales.yaml:9: system_prompt: malformed placeholder "
        f"${{\\u001b[31m\\u202e\\u000d\\u000a{forged}}}: write ${{NAME}}, or $${{ for a literal ${{\n"
        "error: 1 problem in 1 file\n"
    )


# ---- the markdown comment, as GitHub renders it -------------------------------------------------------------


def github_html(markdown: str) -> str:
    """``markdown`` rendered the way GitHub renders a comment: GFM with its table, autolink, strikethrough and
    tagfilter extensions. Raw HTML is kept (GitHub sanitizes it afterwards), so an injected tag shows here."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


class _Page(HTMLParser):
    """The parts of a rendered comment the tests look at: tags opened, and the text of cells and summaries."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.cells: list[str] = []
        self.summaries: list[str] = []
        self.code_blocks: list[str] = []
        self.paragraphs: list[str] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("td", "summary", "pre", "p"):
            self._open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            _, parts = self._open.pop()
            text = "".join(parts)
            kinds = {
                "td": self.cells,
                "summary": self.summaries,
                "pre": self.code_blocks,
                "p": self.paragraphs,
            }
            kinds[tag].append(text)

    def handle_data(self, data: str) -> None:
        for _, parts in self._open:
            parts.append(data)


def page_of(markdown: str) -> _Page:
    page = _Page()
    page.feed(github_html(markdown))
    page.close()
    return page


HOSTILE_NAMES = {
    "link": "[Approve](https://attacker.example)",
    "image": "![pixel](https://attacker.example/p.png)",
    "html image": '<img src="https://attacker.example/p.png">',
    "html link": '<a href="https://attacker.example">Approve</a>',
    "angle autolink": "<https://attacker.example>",
    "bare url": "see https://attacker.example/approve",
    "www": "www.attacker.example",
    "e-mail": "approve@attacker.example",
    "reference link": "x\n\n[ref]: https://attacker.example\n[Approve][ref]",
    "emphasis": "**urgent** _now_ ~~gone~~ `code`",
    "entities": "&lt;b&gt; &amp; &#x41;",
    "cell break": "a | b | c",
    "escaped cell break": "a \\| b \\\\| c",
    "new row": "x\n| forged | row | 1 | 2 | 3 |",
    "heading": "x\n\n# Forged heading",
    "crlf heading": "x\r\n\r\n## Forged heading",
    "list": "x\n\n- [x] approved",
    "details breakout": "</summary></details>\n\n# Out\n\n<details><summary>",
}


@pytest.mark.parametrize("name", list(HOSTILE_NAMES.values()), ids=list(HOSTILE_NAMES))
def test_markdown_plan_shows_a_hostile_name_key_and_label_as_literal_text(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served = account(name, key=f"gone-{name}")  # "gone-…" sorts before "sales": the delete comes first
    directory = files(tmp_path)
    with hostile_api(monkeypatch, with_voices(served, name)):
        markdown = plan(capsys, directory, "markdown")
    page = page_of(markdown)
    shown = name.replace("\r", "\\u000d").replace("\n", "\\u000a")  # line breaks visible, all else as it is
    assert {"a", "img", "h1", "h2", "h4", "h5", "h6", "ul", "li", "input", "em", "del"} & set(
        page.tags
    ) == set()
    assert page.tags.count("h3") == page.tags.count("strong") == 1  # the title; "apply will need --force"
    assert page.tags.count("tr") == 1 + 2  # the header, the delete, the update
    assert page.cells == [
        *("- delete", f"gone-{shown}", shown, "8", ""),
        *("~ update", "sales", shown, "7", "voice_id, system_prompt"),
    ]
    assert page.tags.count("details") == page.tags.count("summary") == 2
    assert page.summaries == [
        f"- delete gone-{shown} — {shown} (deleted)",
        f"~ update sales — {shown} (2 fields)",
    ]
    assert f"- voice_id: 101 ({shown})\n+ voice_id: 102 (Ethan)\n" in page.code_blocks[-1]


def test_markdown_plan_escapes_controls_in_names_and_diffs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served = account(TERMINAL_ATTACK, key="gone")
    served.items[0]["system_prompt"] = "Line one\n\x1b[31m\u202eold\x07\nthree"
    directory = files(tmp_path)
    with hostile_api(monkeypatch, with_voices(served, TERMINAL_ATTACK)):
        markdown = plan(capsys, directory, "markdown")
    assert raw_controls(markdown) == []
    page = page_of(markdown)
    assert page.cells[1:3] == ["gone", TERMINAL_ATTACK_SHOWN]
    assert page.summaries[1] == f"~ update sales — {TERMINAL_ATTACK_SHOWN} (2 fields)"
    assert "\n-   \\u001b[31m\\u202eold\\u0007\n" in page.code_blocks[-1]


def test_markdown_comment_stays_under_its_limit_whatever_the_platform_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 100,000-character prune key and name, and 60 more owned assistants whose keys are 2,000 control
    characters each (six characters apiece once escaped): the comment keeps its bound and says what it cut."""
    huge = "!" + "k" * 100_000  # "!" sorts first: its section and its place in the key list come first
    served = honest_account(
        assistant(7, name="Sales", system_prompt="Line one\nold\nthree"),
        assistant(8, name=huge, variables=record(huge)),
        *(assistant(100 + i, name=f"n{i}", variables=record(f"{i:02d}" + "\x1b" * 2000)) for i in range(60)),
    )
    directory = files(tmp_path)
    with hostile_api(monkeypatch, with_voices(served, "Maya")):
        markdown = plan(capsys, directory, "markdown")
    assert len(markdown) <= MARKDOWN_LIMIT
    clipped = "!" + "k" * 299 + "… (99701 more characters)"
    escapes = "\\u001b" * 298
    assert f"- **delete** (61): `{clipped}`, `00{escapes}… (1702 more characters)`, " in markdown
    assert f"<summary>- delete <code>{clipped}</code> — {clipped} (deleted)</summary>" in markdown
    page = page_of(markdown)
    assert page.tags.count("details") == page.tags.count("summary") > 0
    assert markdown.rstrip().endswith("more assistants are not shown here; the JSON plan has every change.")


def test_apply_summary_shows_the_servers_refusal_as_literal_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    message = "[Approve](https://attacker.example) | x\n\n# Forged"
    served = honest_account(assistant(7, name="Sales", system_prompt="Line one\nold\nthree"))

    def refuse_updates(request: Request) -> Reply:
        if request.method == "PUT":
            return Reply(422, {"message": message})
        return served.handle(request)

    directory = files(tmp_path, sales=SALES_FILE.replace("id: 7\n", "id: 7\nname: Sales\n"))
    summary = tmp_path / "summary.md"
    with hostile_api(monkeypatch, refuse_updates):
        code, _, _ = run(
            capsys, "apply", "--dir", str(directory), "--auto-approve", "--summary", str(summary)
        )
    assert code == 1
    page = page_of(summary.read_text())
    assert not {"a", "h1", "h2"} & set(page.tags)
    assert page.tags.count("tr") == 2
    shown = message.replace("\n", "\\u000a")
    assert f"sales: PUT /user/assistant/7: 422 {shown}" in page.paragraphs


def test_a_code_fence_in_a_prompt_is_shown_as_written_inside_the_diff_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # prompts for LLMs often hold fences; the diff block is fenced longer than any of them, not rewritten
    fenced = SALES_FILE.replace("  changed\n", "  ```json\n  {}\n  ````\n")
    with hostile_api(monkeypatch, account("Sales", "gone").handle):
        markdown = plan(capsys, files(tmp_path, fenced), "markdown")
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    blocks = [part.split("</code></pre>")[0] for part in html.split('<pre lang="diff"><code>')[1:]]
    assert len(blocks) == 2  # the update of the prompt and the prune's delete: the fence held
    assert any("+   ```json\n+   {}\n+   ````\n" in block for block in blocks)

"""The repository's documentation holds together: nothing cites pages that live outside it, and every relative
link in README.md and docs/*.md reaches an existing file and, for a markdown page, an existing heading.

The pages the code cites are ``docs/api.md`` and ``docs/contract.md``; before them, docstrings cited documents
that were never in the repository, so a reader of a clone could not follow them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]

# Built from pieces so that this file does not cite them itself.
OUTSIDE_CITATIONS = ("../" + "shared/", "gloriagent-api" + ".md", "reconciler-contract" + ".md")

# Generated, cached or local state: not part of the repository's text.
SKIPPED_DIRECTORIES = frozenset(
    {".git", ".venv", "venv", ".reconciler", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
    | {".hypothesis", "build", "dist", "node_modules"}
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"`[^`]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # https:, mailto:, ...


def repository_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        if path.is_dir():
            if path.name not in SKIPPED_DIRECTORIES and not path.name.endswith(".egg-info"):
                yield from repository_files(path)
        elif path.is_file():
            yield path


def outside_citations(root: Path) -> list[str]:
    """``FILE:LINE: text`` for every line of a text file under ``root`` that cites a page outside the repository."""
    found = []
    for path in repository_files(root):
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if any(citation in line for citation in OUTSIDE_CITATIONS):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """The lines outside fenced code blocks, with their numbers."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            yield number, line


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a markdown page, a repeated heading's ``-1``, ``-2``, ... included."""
    found: set[str] = set()
    repeats: dict[str, int] = {}
    for _, line in _prose_lines(page.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = repeats.get(base, 0)
            repeats[base] = count + 1
            found.add(f"{base}-{count}" if count else base)
    return found


def broken_links(page: Path) -> list[str]:
    """``FILE:LINE: target (why)`` for every relative link of ``page`` that leads nowhere."""
    broken = []
    for number, line in _prose_lines(page.read_text(encoding="utf-8")):
        for target in _LINK.findall(_INLINE_CODE.sub("", line)):
            if _EXTERNAL.match(target):
                continue
            why = _why_broken(page, target)
            if why:
                broken.append(f"{page.name}:{number}: {target} ({why})")
    return broken


def _why_broken(page: Path, target: str) -> str | None:
    path_part, _, anchor = target.partition("#")
    destination = (page.parent / path_part).resolve() if path_part else page
    if not destination.exists():
        return "no such file"
    if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
        return f"no heading with the anchor #{anchor}"
    return None


def documentation_pages() -> list[Path]:
    return [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]


def test_no_file_cites_pages_outside_the_repository() -> None:
    assert outside_citations(REPOSITORY) == []


def test_the_cited_pages_exist() -> None:
    assert (REPOSITORY / "docs" / "api.md").is_file()
    assert (REPOSITORY / "docs" / "contract.md").is_file()


@pytest.mark.parametrize("page", documentation_pages(), ids=lambda page: page.name)
def test_every_relative_link_reaches_a_file_and_heading(page: Path) -> None:
    assert broken_links(page) == []


def test_a_citation_of_an_outside_page_is_found(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text('"""See ' + OUTSIDE_CITATIONS[1] + '."""\n')
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "ignored").write_text(OUTSIDE_CITATIONS[0])
    assert outside_citations(tmp_path) == [f'module.py:1: """See {OUTSIDE_CITATIONS[1]}."""']


def test_a_link_to_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Read shape vs write shape\n\n## Layers (planned)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n"
        "[ok](other.md#layers-planned) [ok](#title) [ok](https://example.com/x) `[code](missing.md)`\n"
        "[gone](missing.md) [no heading](other.md#layers)\n"
        "```\n[fenced](missing.md)\n```\n"
    )
    assert broken_links(page) == [
        "page.md:3: missing.md (no such file)",
        "page.md:3: other.md#layers (no heading with the anchor #layers)",
    ]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Read shape vs write shape", "read-shape-vs-write-shape"),
        ("Layers (planned)", "layers-planned"),
        ("`${NAME}` placeholders", "name-placeholders"),
        ("Benchmarks, soak and hostile input", "benchmarks-soak-and-hostile-input"),
    ],
)
def test_anchors_follow_githubs_slug_rules(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor

"""Every command's --help: an example, the environment variables it reads, its exit codes; the group's help with
every command's whole first line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support import run

from reconciler.cli import cli
from reconciler.commandline import ENVIRONMENT

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"

API = ["GLORIA_API_TOKEN", "GLORIA_API_URL"]
LIMITS = [
    "RECONCILER_DEADLINE",
    "RECONCILER_REQUEST_DEADLINE",
    "RECONCILER_MAX_RETRY_AFTER",
    "RECONCILER_MAX_RESPONSE_BYTES",
]
COLOUR = ["NO_COLOR", "FORCE_COLOR", "TERM"]

#: What each command reads, found by reading the code (session.connect, limits.py, session.owner_of, lock.py,
#: files.environment, output.wants_colour), written out here rather than taken from the help's own table.
READS = {
    ("validate",): ["${NAME}"],
    ("schema",): [],
    ("plan",): [*API, "RECONCILER_OWNER", *LIMITS, "${NAME}", *COLOUR],
    ("apply",): [*API, "RECONCILER_OWNER", *LIMITS, "XDG_CACHE_HOME", "${NAME}", *COLOUR],
    ("export",): [*API, "RECONCILER_OWNER", *LIMITS, "${NAME}"],
    ("show",): COLOUR,
    ("explain",): ["${NAME}"],
    ("adopt",): [*API, "RECONCILER_OWNER", *LIMITS, "${NAME}"],
    ("emulator", "serve"): [],
}


def help_of(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    code, out, err = run(capsys, *command, "--help")
    assert (code, err) == (0, "")
    return out


def sections(text: str) -> dict[str, list[str]]:
    """The help's closing sections: title → their lines, stripped."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        title = re.fullmatch(r"  (Examples|Environment|Exit codes):", line)
        if title:
            current = found.setdefault(title.group(1), [])
        elif current is not None and line.startswith("    "):
            current.append(line.strip())
        else:
            current = None
    return found


@pytest.mark.parametrize("command", list(READS), ids=" ".join)
def test_each_commands_help_has_an_example_its_environment_and_its_exit_codes(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    found = sections(help_of(capsys, *command))
    assert list(found) == ["Examples", "Environment", "Exit codes"]
    assert all(line.startswith("reconciler ") for line in found["Examples"])
    listed = [line.split()[0] for line in found["Environment"]]
    assert listed == (READS[command] or ["none"])
    codes = [line.split()[0] for line in found["Exit codes"]]
    assert {"0", "1"} <= set(codes)
    assert ("2" in codes) is (
        command == ("plan",)
    )  # only plan --detailed-exitcode exits 2 (docs/contract.md)


def test_every_variable_the_code_reads_is_described() -> None:
    # a new variable read anywhere in the package (the emulator's own aside) must reach the help's table
    reads = re.compile(
        r"""\benv(?:iron)?(?:\.get)?[\[(]\s*"([A-Z_]+)"|getenv\(\s*"([A-Z_]+)"|"env":\s*"([A-Z_]+)\""""
    )
    found = set()
    for path in PACKAGE.glob("*.py"):
        for match in reads.finditer(path.read_text()):
            found.add(next(group for group in match.groups() if group))
    assert found == {"GLORIA_API_TOKEN", "GLORIA_API_URL", "RECONCILER_OWNER", "XDG_CACHE_HOME", *LIMITS} | {
        "NO_COLOR",
        "FORCE_COLOR",
        "TERM",
    }
    assert found <= set(ENVIRONMENT)


def test_the_groups_help_lists_every_command_with_its_whole_first_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = help_of(capsys)
    commands = out.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    assert "..." not in commands
    flat = "".join(commands.split())  # blanks aside: click wraps long lines, at a hyphen too
    for name, command in sorted(cli.commands.items()):
        first = (command.help or "").split("\n\n", 1)[0]
        assert "".join(f"{name} {first}".split()) in flat, name
    assert [line.split()[0] for line in commands.splitlines() if not line.startswith("   ")] == sorted(
        cli.commands
    )


def test_the_help_says_global_options_may_follow_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        "Global options may also follow the command name: reconciler plan --debug --color never"
        in help_of(capsys)
    )


def test_apply_says_a_plan_file_is_applied_without_a_prompt(capsys: pytest.CaptureFixture[str]) -> None:
    flat = " ".join(help_of(capsys, "apply").split())
    assert "A PLAN_FILE (saved by plan --out) is applied as it is, without a prompt" in flat

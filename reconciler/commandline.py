"""The command line's frame around the commands: global options wherever they are written, and the help.

``reconciler plan --debug`` and ``reconciler --debug plan`` are one run: ``GlobalOptionsGroup`` moves the global
options written after the command name to the front before click parses them, so that each is declared, parsed
and read once (on the group). Every command's ``--help`` ends with an example, the environment variables it reads
and its exit codes (docs/contract.md, "Exit codes"), built here from one table of variables, so that a variable
is described once however many commands read it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import click

#: The group's options that may also be written after the command name, and whether each takes a value.
GLOBAL_OPTIONS = {"--debug": False, "--color": True}


def hoisted(args: Sequence[str], value_options: Collection[str] = ()) -> list[str]:
    """``args`` with the global options that follow the command name moved before it (their order kept).

    Only up to a ``--``: what follows it is never an option. Nothing before the command name moves, and neither
    does the value of one of the commands' ``value_options`` (``--dir --debug`` names a directory)."""
    head, rest = _leading_globals(list(args))
    moved: list[str] = []
    kept: list[str] = []
    index = 0
    while index < len(rest):
        token = rest[index]
        if token == "--":
            kept += rest[index:]
            break
        name = token.split("=", 1)[0]
        if name in value_options and "=" not in token:
            kept += rest[index : index + 2]
            index += 2
            continue
        if name in GLOBAL_OPTIONS:
            takes_value = GLOBAL_OPTIONS[name] and "=" not in token and index + 1 < len(rest)
            moved += rest[index : index + 1 + takes_value]
            index += 1 + takes_value
            continue
        kept.append(token)
        index += 1
    return head + moved + kept


def _leading_globals(args: list[str]) -> tuple[list[str], list[str]]:
    """The global options before the command name, and everything from the command name on."""
    index = 0
    while index < len(args):
        name = args[index].split("=", 1)[0]
        if name not in GLOBAL_OPTIONS:
            break
        index += 2 if GLOBAL_OPTIONS[name] and "=" not in args[index] else 1
    return args[:index], args[index:]


class GlobalOptionsGroup(click.Group):
    """The top-level group: global options anywhere on the line, and each command's whole first line in the
    group's help (click shortens them to about 45 characters, mid-sentence)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoisted(args, value_options(self)))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, first_line(command)) for name, command in self._visible(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def _visible(self, ctx: click.Context) -> list[tuple[str, click.Command]]:
        found = ((name, self.get_command(ctx, name)) for name in self.list_commands(ctx))
        return [(name, command) for name, command in found if command is not None and not command.hidden]


def value_options(group: click.Group) -> frozenset[str]:
    """The names of every option of the group's commands (and their subcommands') that takes a value."""
    names: set[str] = set()
    for command in group.commands.values():
        if isinstance(command, click.Group):
            names |= value_options(command)
        for param in command.params:
            if isinstance(param, click.Option) and not param.is_flag and not param.count:
                names.update(param.opts)
    return frozenset(names)


def first_line(command: click.Command) -> str:
    """The first paragraph of a command's help, whole (click's own summary stops at about 45 characters)."""
    text = command.short_help or command.help or ""
    return " ".join(text.split("\n\n", 1)[0].split())


# ---- the help's closing sections ---------------------------------------------------------------------------

#: Every variable a command reads, described once. ``${NAME}`` stands for the variables the files' placeholders
#: name (files.py).
ENVIRONMENT = {
    "GLORIA_API_TOKEN": "the account's API key (required; never printed)",
    "GLORIA_API_URL": "the API's base URL (default https://app.gloriagent.ai/api; --api-url wins)",
    "RECONCILER_OWNER": "who manages the assistants this run creates (--owner wins)",
    "RECONCILER_DEADLINE": "seconds for all of the run's requests, waits and retries (default 1800)",
    "RECONCILER_REQUEST_DEADLINE": "seconds for one request (default 60)",
    "RECONCILER_MAX_RETRY_AFTER": "the longest Retry-After wait honoured, in seconds (default 120)",
    "RECONCILER_MAX_RESPONSE_BYTES": "the largest answer read, in bytes (default 64 MiB)",
    "XDG_CACHE_HOME": "where the apply lock is kept (default ~/.cache)",
    "${NAME}": "each variable a file's ${NAME} placeholder names (its value is a secret)",
    "NO_COLOR": "set and not empty: no colour under --color auto (no-color.org)",
    "FORCE_COLOR": "set and not empty: colour under --color auto, even into a pipe (force-color.org)",
    "TERM": "dumb: no colour under --color auto",
}

_API = ("GLORIA_API_TOKEN", "GLORIA_API_URL")
_LIMITS = (
    "RECONCILER_DEADLINE",
    "RECONCILER_REQUEST_DEADLINE",
    "RECONCILER_MAX_RETRY_AFTER",
    "RECONCILER_MAX_RESPONSE_BYTES",
)
_COLOUR = ("NO_COLOR", "FORCE_COLOR", "TERM")

#: What each command reads, in the order its help lists them.
READS: dict[str, tuple[str, ...]] = {
    "validate": ("${NAME}",),
    "schema": (),
    "plan": (*_API, "RECONCILER_OWNER", *_LIMITS, "${NAME}", *_COLOUR),
    "apply": (*_API, "RECONCILER_OWNER", *_LIMITS, "XDG_CACHE_HOME", "${NAME}", *_COLOUR),
    "export": (*_API, "RECONCILER_OWNER", *_LIMITS, "${NAME}"),
    "show": _COLOUR,
    "doctor": (*_API, *_LIMITS),
    "explain": ("${NAME}",),
    "adopt": (*_API, "RECONCILER_OWNER", *_LIMITS, "${NAME}"),
    "serve": (),
}

_OK = "0  success"
_ERROR = "1  an error (bad files, bad usage, an API failure, ...): one line on stderr says which"
_INTERRUPTED = "130  interrupted (Ctrl-C)"
EXIT_CODES: dict[str, tuple[str, ...]] = {
    "validate": ("0  every file is valid", "1  a problem in a file (every problem is listed), or bad usage"),
    "schema": (_OK, _ERROR),
    "plan": (
        "0  success, whether or not there are changes",
        "2  with --detailed-exitcode: success, and there are changes",
        _ERROR,
        _INTERRUPTED,
    ),
    "apply": (
        "0  every change applied and read back as planned, or nothing to do",
        "1  an error, a refused plan (stale, unsafe), a failed change, or a change the read-back still finds",
        _INTERRUPTED,
    ),
    "export": (_OK, _ERROR, _INTERRUPTED),
    "show": ("0  the plan was shown", "1  the file is not a saved plan"),
    "doctor": (
        "0  this version can work with the account (findings marked note are worth reading)",
        "1  it cannot: no connection, a refused token, or a list that is not the API's",
    ),
    "explain": ("0  the assistant was shown", "1  no file has the key, a problem in the file or its layers"),
    "adopt": (
        "0  every value that can be adopted was written (or, with --dry-run, shown); what cannot is on stderr",
        "1  an error (a file changed on disk since it was read, an edit that cannot be made safely, bad usage, "
        "an API failure): nothing was written",
        _INTERRUPTED,
    ),
    "serve": ("0  stopped", "1  an error (the port is taken, a bad option)", _INTERRUPTED),
}


#: Each command's examples, the first the most common.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "validate": (
        "reconciler validate",
        "reconciler validate --no-env --format github   # in a workflow: each problem on its line of the PR",
        "reconciler validate --format json assistants.d/sales.yaml",
    ),
    "plan": (
        "reconciler plan",
        "reconciler plan --target 'sales-*' --format markdown --out plan.json --detailed-exitcode",
        "reconciler plan --emulator   # against the embedded emulator: no account needed",
    ),
    "apply": (
        "reconciler apply                       # shows the plan, then asks for 'yes'",
        "reconciler apply plan.json             # the plan saved by plan --out, without a prompt",
        "reconciler apply --auto-approve --format json > report.json",
    ),
    "doctor": (
        "reconciler doctor                                  # before the first plan against a new account",
        "reconciler doctor --format json > doctor.json      # to attach to a bug report: no secret in it",
    ),
    "show": (
        "reconciler show plan.json",
        'reconciler show plan.json --format markdown >> "$GITHUB_STEP_SUMMARY"',
    ),
    "export": (
        "reconciler export --unmanaged                     # every assistant no file manages yet",
        "reconciler export --id 42 --names --secret-name calcom_api_key=CAL_KEY",
    ),
    "explain": (
        "reconciler explain sales-outbound",
        "reconciler explain sales-outbound --dir accounts/staging --format json",
    ),
    "schema": ("reconciler schema > schema/assistant.schema.json",),
    "adopt": (
        "reconciler adopt --dry-run             # the edits as a unified diff; nothing is written",
        "reconciler adopt --target support --field system_prompt",
    ),
    "serve": (
        "reconciler emulator serve --port 8080 --seed demo   # then GLORIA_API_URL=http://127.0.0.1:8080/api",
    ),
}


def epilog(command: str) -> str:
    """The closing sections of ``command``'s help: Examples, Environment, Exit codes (``\\b``: click keeps their
    lines as they are instead of rewrapping them into one paragraph)."""
    variables = READS[command]
    width = max((len(name) for name in variables), default=0)
    environment = [f"  {name.ljust(width)}  {ENVIRONMENT[name]}" for name in variables] or ["  none"]
    return "\n\n".join(
        [
            _section("Examples", [f"  {example}" for example in EXAMPLES[command]]),
            _section("Environment", environment),
            _section("Exit codes", [_exit_line(line) for line in EXIT_CODES[command]]),
        ]
    )


def _section(title: str, lines: Sequence[str]) -> str:
    return "\b\n" + "\n".join([f"{title}:", *lines])


def _exit_line(line: str) -> str:
    code, _, meaning = line.partition("  ")
    return f"  {code.ljust(3)}  {meaning}"

"""The command line: parse options, call one function, render, return an exit code.

``main(argv) -> int`` is what tests call; the console script is ``reconciler.__main__.run``, which catches a Ctrl-C
during the imports too. Exit codes follow the contract:
0 success, 1 any error (usage errors included: click's own 2 would look like drift), 130 on Ctrl-C.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

import click

from reconciler import __version__
from reconciler.commandline import GlobalOptionsGroup, epilog
from reconciler.emulator.command import emulator
from reconciler.errorhandling import RunFlags, debug_log, handle_errors
from reconciler.errors import FilesInvalid, Problem, ReconcilerError, UsageError
from reconciler.machine import (
    Checked,
    Validation,
    render_apply_json,
    render_valid_lines,
    render_validation_github,
    render_validation_json,
)
from reconciler.options import (
    BASELINE_OPTION,
    DIR_OPTION,
    OWNER_OPTION,
    PRUNE_OPTION,
    SAFETY_OPTION,
    TARGET_OPTION,
    api_options,
    run_options,
)
from reconciler.output import COLOUR_CHOICES, ProgressLine, Redactor, check_writable, wants_colour, write_text
from reconciler.plan import Plan
from reconciler.results import Pinned
from reconciler.secret import Secret, run_secrets
from reconciler.streams import Writer
from reconciler.text import counted, did_you_mean, printable

if TYPE_CHECKING:
    from reconciler.adopt import Adoption
    from reconciler.applying import Applied
    from reconciler.desired import DesiredState
    from reconciler.explain import Explanation
    from reconciler.render import Style

# Start-up (issue 19): what only some commands need is imported inside them — the HTTP client, the applier, the
# diff, export, the renderers, the files' parser and pydantic — so that ``--help``, ``schema`` and ``validate`` (a pre-commit
# hook) do not pay for the libraries they never use. Above: the command line itself and the light core.
# tests/test_layers.py checks that ``--help`` and ``validate`` load neither httpx nor DeepDiff.


def _imported(module: str, name: str) -> Callable[..., None]:
    """A renderer imported when it first renders: a command that shows no plan (validate) does not load them."""

    def render(*args: Any, **kwargs: Any) -> None:
        getattr(importlib.import_module(module), name)(*args, **kwargs)

    return render


#: writes in flight an apply starts with; the pacer grows them while the API announces no rate limit
DEFAULT_PARALLELISM = 4

PLAN_FORMATS: dict[str, Callable[[Plan, Writer], None]] = {
    "text": lambda plan, stream: _imported("reconciler.render", "render_text")(
        plan, stream, style_for(stream)
    ),
    "json": _imported("reconciler.render", "render_json"),
    "markdown": _imported("reconciler.render", "render_markdown"),
}
"""How ``plan --format`` and ``show --format`` show a plan: a new format is a renderer and a row here."""

VALIDATION_FORMATS: dict[str, Callable[[Validation, Writer], None]] = {
    "json": render_validation_json,
    "github": render_validation_github,
}
"""``validate --format`` beside ``text`` (which reports problems on stderr, as every error is reported)."""

EXPLAIN_FORMATS: dict[str, Callable[[Explanation, Writer], None]] = {
    "text": _imported("reconciler.explain", "render_explanation_text"),
    "json": _imported("reconciler.explain", "render_explanation_json"),
}
"""How ``explain --format`` shows the merged assistant."""


def style_for(stream: Writer) -> Style:
    """The colours of what goes to ``stream``, as ``--color`` and the environment decide (``wants_colour``)."""
    from reconciler.render import Style

    ctx = click.get_current_context(silent=True)
    flags = (ctx.find_object(RunFlags) if ctx else None) or RunFlags()
    return Style(colour=wants_colour(cast(TextIO, stream), flags.colour))


@click.group(
    cls=GlobalOptionsGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="\b\nGlobal options may also follow the command name: reconciler plan --debug --color never",
)
@click.version_option(__version__, prog_name="reconciler")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors, and log every request.")
@click.option(
    "--color",
    "colour",
    type=click.Choice(COLOUR_CHOICES),
    default="auto",
    show_default=True,
    help="Colour the text output. auto: on a terminal (TERM not dumb), never with NO_COLOR set and not empty, "
    "else always with FORCE_COLOR set and not empty.",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, colour: str) -> None:
    """Keep gloriagent.ai assistants exactly as the files in assistants.d/ declare them."""
    flags = ctx.ensure_object(RunFlags)
    flags.debug = debug  # the one reading of --debug: the error handler asks the flags when the run ends
    flags.colour = colour
    ctx.with_resource(debug_log(debug))


@cli.command(
    epilog=epilog("validate"),
)
@DIR_OPTION
@click.option("--no-env", is_flag=True, help="Accept ${NAME} placeholders without reading the environment.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", *VALIDATION_FORMATS]),
    default="text",
    show_default=True,
    help="text: problems on stderr; json: one document on stdout; github: workflow annotations on stdout.",
)
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(path_type=Path, exists=True))
def validate(directory: Path, no_env: bool, fmt: str, paths: tuple[Path, ...]) -> int:
    """Check every assistant file offline and report all problems at once.

    Each PATH is an assistants directory or a file in one (what the pre-commit hook passes): the whole
    directory holding it is checked, since the rules across files need all of it. Without PATH: --dir.
    """
    result = validation(directories_of(paths, directory, dir_given=_given("directory")), no_env=no_env)
    if fmt != "text":
        VALIDATION_FORMATS[fmt](result, sys.stdout)
        if result.problems:  # listed on stdout: stderr gets the summary line only
            raise ReconcilerError(str(FilesInvalid(list(result.problems), result.files_checked)))
        return 0
    render_valid_lines(result, sys.stdout)  # the problems go to stderr, as every error does
    if result.problems:
        raise FilesInvalid(list(result.problems), result.files_checked)
    return 0


def validation(directories: Sequence[Path], *, no_env: bool, read_ahead: bool = True) -> Validation:
    """Every directory loaded, its problems collected rather than raised: all of them are reported at once.
    The state is only checked, so a helper process may read files meanwhile (``read_ahead``, readahead.py)."""
    from reconciler.files import environment

    environ = None if no_env else environment()
    problems: list[Problem] = []
    valid: list[Checked] = []
    checked = 0
    said: set[str] = set()  # tool types warned about: once per run
    for each in directories:
        try:
            state = loaded(each, environ=environ, said=said, read_ahead=read_ahead)
        except FilesInvalid as invalid:
            problems += invalid.problems
            checked += invalid.files_checked
            continue
        checked += len(state.assistants)
        valid.append(Checked(str(each), len(state.assistants)))
    return Validation(tuple(valid), tuple(sorted(problems)), checked, environment_read=not no_env)


def loaded(
    directory: Path,
    *,
    environ: Mapping[str, str] | None,
    said: set[str] | None = None,
    read_ahead: bool = False,
) -> DesiredState:
    """The directory's files, loaded and checked, and what is allowed but likely a mistake said on stderr
    without failing the run: a layer no assistant uses, a built-in tool type this version does not know (once
    per run, docs/contract.md#when-the-api-grows). ``read_ahead``: see ``load_directory``."""
    from reconciler.desired import load_directory
    from reconciler.tolerance import unknown_tool_warnings

    state = load_directory(directory, environ=environ, read_ahead=read_ahead)
    for file, message in state.warnings:
        sys.stderr.write(f"{printable(f'warning: {file}: {message}')}\n")
    for line in unknown_tool_warnings(state.assistants, said):
        sys.stderr.write(f"warning: {printable(line)}\n")
    return state


def directories_of(paths: Sequence[Path], directory: Path, *, dir_given: bool) -> list[Path]:
    """The assistants directories to check: those of PATHs (a file stands for its directory), and --dir."""
    found = {path if path.is_dir() else path.parent for path in paths}
    if dir_given or not paths:
        found.add(directory)
    return sorted(found, key=str)


def _given(parameter: str) -> bool:
    """Whether the user wrote the option, rather than getting its default."""
    source = click.get_current_context().get_parameter_source(parameter)
    return source is click.core.ParameterSource.COMMANDLINE


@cli.command(
    epilog=epilog("plan"),
)
@DIR_OPTION
@TARGET_OPTION
@click.option("--format", "fmt", type=click.Choice(list(PLAN_FORMATS)), default="text", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also save the plan as JSON, for apply PLAN_FILE (stderr says how to apply it).",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0: none, 1: error).")
@BASELINE_OPTION
@PRUNE_OPTION
@OWNER_OPTION
@SAFETY_OPTION
@api_options
def plan(
    directory: Path,
    targets: tuple[str, ...],
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    baseline: str | None,
    prune: bool,
    owner: str | None,
    max_update_share: float,
    emulator: bool,
    api_url: str | None,
) -> int:
    """Read the platform and show what apply would change."""
    from reconciler.baseline import read_baseline, snapshots, with_origins
    from reconciler.files import environment
    from reconciler.render import render_json
    from reconciler.session import connect

    check_writable("--out", out)
    state = loaded(directory, environ=environment())
    options = run_options(directory, targets, prune, owner, max_update_share)
    then = read_baseline(directory, baseline, environ=environment()) if baseline is not None else None
    saved_or_json = out is not None or fmt == "json"  # only they carry the fingerprints
    with _reading() as progress, connect(emulator=emulator, api_url=api_url) as session:
        result = session.plan(state, options, progress, fingerprinted=saved_or_json)
    if then is not None:
        result = with_origins(result, snapshots(state.assistants), then)
    PLAN_FORMATS[fmt](result, sys.stdout)  # a Redactor for the whole run (_masked_streams)
    if out is not None:
        saved = io.StringIO()
        render_json(result, saved)
        write_text(out, saved.getvalue())
        sys.stderr.write(saved_note(out, directory, emulator=emulator, api_url=api_url))
    return 2 if detailed_exitcode and result.has_changes else 0


def saved_note(out: Path, directory: Path, *, emulator: bool, api_url: str | None) -> str:
    """Where ``plan --out`` saved the plan, and the command that applies it (on stderr: stdout may be JSON):
    with the options that reach the same files and the same account, so that it can be pasted as it is."""
    words = ["reconciler", "apply", str(out)]
    if _given("directory"):
        words += ["--dir", str(directory)]
    words += ["--emulator"] if emulator else []
    words += ["--api-url", api_url] if api_url else []
    command = " ".join(shlex.quote(word) for word in words)
    return printable(f"Saved the plan to {out}; apply it with: {command}") + "\n"


@cli.command(
    epilog=epilog("apply"),
)
@click.argument("plan_file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@DIR_OPTION
@TARGET_OPTION
@click.option("--auto-approve", is_flag=True, help="Apply without asking for 'yes'.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the report as one document on stdout (the plan goes to stderr); needs --auto-approve or "
    "PLAN_FILE.",
)
@click.option("--force", is_flag=True, help="Apply even past the safety thresholds (deletes, large updates).")
@PRUNE_OPTION
@OWNER_OPTION
@SAFETY_OPTION
@click.option(
    "--parallelism",
    type=click.IntRange(1, 32),
    help="Writes in flight.  [default: 4, growing up to 32 while the API announces no rate limit and answers "
    "fast]",
)
@click.option(
    "--summary",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append the result as markdown to this file (e.g. $GITHUB_STEP_SUMMARY).",
)
@click.option(
    "--pin-ids",
    is_flag=True,
    help="Afterwards, write id: N into the file of each assistant created, and correct an out-of-date id.",
)
@api_options
def apply(
    plan_file: Path | None,
    directory: Path,
    targets: tuple[str, ...],
    auto_approve: bool,
    fmt: str,
    force: bool,
    prune: bool,
    owner: str | None,
    max_update_share: float,
    parallelism: int | None,
    summary: Path | None,
    pin_ids: bool,
    emulator: bool,
    api_url: str | None,
) -> int:
    """Make the platform match the files: plan, confirm, write, read back.

    Without PLAN_FILE, the plan is made now, shown, and applied once you type 'yes' (or with --auto-approve).
    A PLAN_FILE (saved by plan --out) is applied as it is, without a prompt (it was reviewed when it was
    made), and refused, before any write, if the files or a planned assistant changed since.
    """
    if plan_file and (targets or prune):
        raise UsageError("a saved plan is applied as it is: --target and --prune belong to the plan command")
    if fmt == "json" and not (auto_approve or plan_file):
        raise UsageError("apply --format json asks nothing: give --auto-approve, or a PLAN_FILE")
    check_writable("--summary", summary)
    from reconciler.applying import ApplyRequest, ApplyView, run_apply
    from reconciler.files import environment
    from reconciler.render import render_text
    from reconciler.session import connect

    state = loaded(directory, environ=environment())
    request = ApplyRequest(
        state, run_options(directory, targets, prune, owner, max_update_share), plan_file, force, pin_ids
    )
    with connect(
        emulator=emulator,
        api_url=api_url,
        writable=True,
        concurrency=parallelism or DEFAULT_PARALLELISM,
        fixed=parallelism is not None,  # the writes in flight a user asks for are not grown
    ) as session:
        out = sys.stdout if fmt == "text" else sys.stderr  # json: stdout holds the report only
        style = style_for(out)
        view = ApplyView(
            confirm=_approved if not auto_approve else lambda: True,
            show=lambda plan: render_text(plan, out, style, forced=force),
            writing=lambda: _blank_line(out),
            reading=_reading,
        )
        applied = run_apply(session, request, view)
    _summarise(applied, summary)
    if fmt == "json":
        render_apply_json(
            applied.plan,
            applied.report,
            sys.stdout,
            pinned=applied.pinned,
            already_applied=applied.already_applied,
        )
    else:
        _show_applied(applied, out, style)
    if applied.report is not None and applied.report.interrupted:
        raise KeyboardInterrupt  # what was written is reported: now end as any Ctrl-C does (130)
    pinned = applied.pinned or Pinned()
    return 0 if (applied.report is None or applied.report.ok) and not pinned.refused else 1


def _show_applied(applied: Applied, out: TextIO, style: Style) -> None:
    """What the apply did, as text: the report of the writes (or why there were none), then the pins."""
    from reconciler.render import render_pins, render_report

    if applied.already_applied:
        out.write("This plan is applied already: the platform holds every change it makes. Nothing to do.\n")
    if applied.report is not None:
        render_report(applied.report, out, style)
        out.flush()
    render_pins(applied.pinned or Pinned(), out, style)


def _summarise(applied: Applied, summary: Path | None) -> None:
    """``--summary``: the same result as markdown, appended (whatever the format of stdout)."""
    if summary is None:
        return
    from reconciler.render import render_pins_markdown, render_report_markdown

    text = io.StringIO()
    if applied.already_applied:
        text.write("### reconciler apply: the saved plan is applied already, nothing to do\n")
    elif applied.report is None:
        text.write("### reconciler apply: no changes, the platform matches the files\n")
    else:
        render_report_markdown(applied.plan, applied.report, text)
    render_pins_markdown(applied.pinned or Pinned(), text)
    _append(summary, text.getvalue())


def _blank_line(out: TextIO) -> None:
    out.write("\n")  # between the plan (and its prompt) and the report of the writes


def _append(path: Path | None, text: str) -> None:
    if path is not None:
        write_text(path, text, append=True)


@cli.command(
    epilog=epilog("show"),
)
@click.argument("plan_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(list(PLAN_FORMATS)), default="text", show_default=True)
def show(plan_file: Path, fmt: str) -> int:
    """Show a plan saved by plan --out, offline, as plan shows it (nothing is checked against the platform)."""
    from reconciler.applying import read_plan_file

    PLAN_FORMATS[fmt](read_plan_file(plan_file), sys.stdout)
    return 0


@cli.command(
    epilog=epilog("doctor"),
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@api_options
def doctor(fmt: str, emulator: bool, api_url: str | None) -> int:
    """Check the connection, the token and what the platform returns, reading only (a first contact)."""
    from reconciler.doctor import examine
    from reconciler.render.doctor import render_doctor_json, render_doctor_text
    from reconciler.session import connect

    with connect(emulator=emulator, api_url=api_url) as session:
        diagnosis = examine(session.client, session.identity if not emulator else "the embedded emulator")
    (render_doctor_json if fmt == "json" else render_doctor_text)(diagnosis, sys.stdout)
    return 0 if diagnosis.ok else 1


@cli.command(
    "export",
    epilog=epilog("export"),
)
@DIR_OPTION
@click.option("--id", "ids", multiple=True, type=int, metavar="ID", help="Export this assistant. Repeatable.")
@click.option("--all", "export_all", is_flag=True, help="Export every assistant of the account.")
@click.option(
    "--names", "use_names", is_flag=True, help="Names instead of ids, and no id line: files that travel."
)
@click.option(
    "--unmanaged", is_flag=True, help="Export every assistant that no file in --dir manages (by id or name)."
)
@click.option(
    "--secret-name",
    "secret_names",
    multiple=True,
    metavar="FIELD=NAME",
    callback=lambda _ctx, _param, value: secret_names_of(value),
    help="Write the secrets under FIELD as ${NAME}. Repeatable.",
)
@click.option(
    "--factor",
    is_flag=True,
    help="With --all: also write _defaults.yaml with the values at least half of the assistants share, and "
    "leave them out of the files.",
)
@click.option("--force", is_flag=True, help="Overwrite existing files (a managing file is written again).")
@api_options
def export_command(
    directory: Path,
    ids: tuple[int, ...],
    export_all: bool,
    use_names: bool,
    unmanaged: bool,
    secret_names: dict[str, str],
    factor: bool,
    force: bool,
    emulator: bool,
    api_url: str | None,
) -> int:
    """Write files for existing assistants, so that the next plan is empty."""
    if not (ids or export_all or unmanaged):
        raise UsageError("say which assistants to export: --all, --unmanaged, or --id ID (repeatable)")
    if unmanaged and (ids or export_all):
        raise UsageError("--unmanaged chooses the assistants itself: give it without --all or --id")
    if factor and not (export_all and not ids):
        raise UsageError(
            "--factor needs --all (and no --id): _defaults.yaml holds what the whole account shares"
        )
    from reconciler.export import (
        ExportRequest,
        check_directory,
        files_in,
        report_export,
        schema_reference,
        write_exported,
    )
    from reconciler.session import connect

    check_writable("--dir", directory, directory=True)
    check_directory(directory)  # before reading the platform, and again when writing
    state = files_in(directory, strict=unmanaged)
    request = ExportRequest(state, unmanaged, force, schema_reference(directory), secret_names, factor)
    with _reading() as progress, connect(emulator=emulator, api_url=api_url) as session:
        selected = None if export_all or unmanaged else list(ids)
        files = session.export(selected, names=use_names, progress=progress, request=request)
    if unmanaged and not files:
        click.echo(f"Nothing to export: every assistant on the platform is managed by a file in {directory}/")
        return 0
    written = write_exported(directory, files, force=force)
    report_export(directory, files, written, sys.stdout)
    return 0


def secret_names_of(values: Sequence[str]) -> dict[str, str]:
    """``--secret-name FIELD=NAME`` options as FIELD → NAME; NAME as a ``${NAME}`` placeholder allows it."""
    from reconciler.yamlfile import ENV_NAME

    names: dict[str, str] = {}
    for value in values:
        field, _, name = value.partition("=")
        if not field or not re.fullmatch(ENV_NAME, name):
            raise UsageError(
                f"--secret-name {printable(value)!r}: expected FIELD=NAME, NAME of letters, digits and _ "
                "not starting with a digit"
            )
        if names.get(field, name) != name:
            raise UsageError(f"--secret-name {field}: given twice, as {names[field]} and {name}")
        names[field] = name
    return names


def _reading() -> ProgressLine:
    """The progress line of reading the platform; a context manager that erases it however the block ends."""
    return ProgressLine(sys.stderr, "reading the platform")


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _approved() -> bool:
    """The reader's "yes" at the terminal; without a terminal, a refusal (CI must say --auto-approve)."""
    if not stdin_is_terminal():
        raise ReconcilerError(
            "refusing to apply: no terminal to confirm on, and no --auto-approve; nothing was changed"
        )
    return _ask("\nApply these changes? Only 'yes' is accepted: ").strip() == "yes"


def _ask(question: str) -> str:
    """The answer typed at the terminal. Ctrl-D ends the input with no answer, which is not a yes: a cancel,
    like any other answer (Ctrl-C still interrupts)."""
    try:
        return input(question)
    except EOFError:
        sys.stdout.write("\n")  # end the prompt's line, so that the refusal gets a line of its own
        return ""


@cli.command(
    epilog=epilog("explain"),
)
@click.argument("key")
@DIR_OPTION
@click.option("--format", "fmt", type=click.Choice(list(EXPLAIN_FORMATS)), default="text", show_default=True)
def explain(key: str, directory: Path, fmt: str) -> int:
    """Show one assistant as its layers merge it: every field, its value and where it came from, offline.

    Also every field it leaves out, and why: another engine mode's, not set in any layer, or ignore_changes.
    Values from ${NAME} are shown as (sensitive).
    """
    from reconciler.explaining import explanation_of
    from reconciler.files import environment

    EXPLAIN_FORMATS[fmt](explanation_of(directory, key, environ=environment()), sys.stdout)
    return 0


@cli.command(
    epilog=epilog("adopt"),
)
@DIR_OPTION
@TARGET_OPTION
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="PATH",
    help="Only this field (an API field or a name key: voice, system_prompt). Repeatable.",
)
@click.option("--dry-run", is_flag=True, help="Print the edits as a unified diff and write nothing.")
@OWNER_OPTION
@api_options
def adopt(
    directory: Path,
    targets: tuple[str, ...],
    fields: tuple[str, ...],
    dry_run: bool,
    owner: str | None,
    emulator: bool,
    api_url: str | None,
) -> int:
    """Keep the dashboard's changes: write the platform's values into the files and lines that set them.

    Each drifted field goes where its value was set: the assistant file, or the layer it came from when every
    assistant that uses that line has the same new value on the platform (else into each assistant file, as an
    override). Only the values change: comments, key order, quoting and blank lines stay. A value from
    ${NAME} is never written (the report names the variable to update), nor a write-only field.
    """
    from reconciler.adopt import adoption
    from reconciler.adoptfiles import check_no_secret, read_texts, unified_diff, write_adoption
    from reconciler.files import environment
    from reconciler.reconcile import select
    from reconciler.session import connect

    wanted = adopted_fields(fields)
    state = loaded(directory, environ=environment())
    keys = [a.key for a in select(state, targets)]
    options = run_options(directory, (), False, owner, 1.0)
    with _reading() as progress, connect(emulator=emulator, api_url=api_url) as session:
        account = session.read(progress)
        result = session.plan_against(state, account, options)
        texts = read_texts(state.assistants)
        done = adoption(result, state, account, session.catalog(), texts, keys=keys, fields=wanted)
    for note in done.notes:
        sys.stderr.write(printable(note) + "\n")
    for refusal in done.refused:
        sys.stderr.write(printable(f"error: {refusal}; nothing was written") + "\n")
    if done.refused:
        return 1
    check_no_secret(done)
    if dry_run:
        for line in done.adopted:
            sys.stderr.write(printable("would adopt" + line.removeprefix("adopted")) + "\n")
        sys.stdout.write(unified_diff(done))
        sys.stderr.write(dry_run_line(done))
        return 0
    write_adoption(done)
    for line in done.adopted:
        sys.stdout.write(printable(line) + "\n")
    sys.stdout.write(adopted_line(done))
    return 0


def adopted_fields(given: Sequence[str]) -> frozenset[str]:
    """``--field`` values as API fields (a name key stands for its id field); an unknown one is a usage error."""
    from reconciler.spec import API_FIELDS, NAME_KEYS

    known = {*API_FIELDS, *NAME_KEYS}
    for name in given:
        if name not in known:
            raise UsageError(f"--field {printable(name)!r}: no such field{did_you_mean(name, known)}")
    return frozenset(NAME_KEYS.get(name, name) for name in given)


def _nothing(done: Adoption) -> str:
    if done.notes:
        return "Nothing adopted: the differences above are left to you.\n"
    return "Nothing to adopt: the platform holds the files' values.\n"


def dry_run_line(done: Adoption) -> str:
    if not done.files:
        return _nothing(done)
    files = counted(len(done.files), "file")
    return f"Dry run: {counted(done.fields, 'field')} to adopt into {files}; nothing was written.\n"


def adopted_line(done: Adoption) -> str:
    if not done.files:
        return _nothing(done)
    return f"Adopted {counted(done.fields, 'field')} into {counted(len(done.files), 'file')}.\n"


@cli.command(
    epilog=epilog("schema"),
)
def schema() -> int:
    """Print the JSON Schema of an assistant file (for yaml-language-server)."""
    from reconciler.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))
    return 0


cli.add_command(emulator)
emulator.commands["serve"].epilog = epilog("serve")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    flags = RunFlags()
    with run_secrets(), _masked_streams():
        Secret(os.environ.get("GLORIA_API_TOKEN", ""), origin="GLORIA_API_TOKEN")  # known before any read
        return handle_errors(
            lambda: cli.main(args=args, prog_name="reconciler", standalone_mode=False, obj=flags), flags
        )


@contextmanager
def _masked_streams() -> Iterator[None]:
    """The last line of defence for secrets: for the whole run, stdout and stderr mask every secret the run
    knows (the token, every value a file took from the environment), whatever wrote to them — a problem line,
    ``error: ...``, a traceback under --debug, a debug line, click's own messages."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = cast(TextIO, Redactor(sys.stdout)), cast(TextIO, Redactor(sys.stderr))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def run() -> None:
    """The console script of installs made before it moved to ``reconciler.__main__.run``: they still start."""
    from reconciler.__main__ import run as entry

    entry()

"""The command line: parse options, call one function, render, return an exit code.

``main(argv) -> int`` is what tests call; the console script is ``reconciler.__main__.run``, which catches a Ctrl-C
during the imports too. Exit codes follow the contract:
0 success, 1 any error (usage errors included: click's own 2 would look like drift), 130 on Ctrl-C.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TextIO, cast

import click

from reconciler import __version__
from reconciler.apply import ApplyInterrupted, check_matches_files, check_safe, check_saved
from reconciler.desired import DesiredState, load_directory
from reconciler.emulator.command import emulator
from reconciler.errors import FilesInvalid, PlanFileError, Problem, ReconcilerError, UsageError
from reconciler.export import check_directory, report_export, write_exported
from reconciler.files import environment
from reconciler.lock import apply_lock
from reconciler.options import (
    DIR_OPTION,
    OWNER_OPTION,
    PRUNE_OPTION,
    SAFETY_OPTION,
    TARGET_OPTION,
    api_options,
    run_options,
)
from reconciler.output import ProgressLine, Redactor, check_writable, wants_colour, write_text
from reconciler.plan import Plan, plan_from_data
from reconciler.reconcile import Options, files_digest
from reconciler.render import (
    Style,
    render_json,
    render_markdown,
    render_report,
    render_report_markdown,
    render_text,
)
from reconciler.results import Report
from reconciler.schema import json_schema
from reconciler.secret import Secret, run_secrets
from reconciler.session import Session, connect
from reconciler.text import printable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
def cli(debug: bool) -> None:
    """Keep gloriagent.ai assistants exactly as the files in assistants.d/ declare them."""


@cli.command()
@DIR_OPTION
@click.option("--no-env", is_flag=True, help="Accept ${NAME} placeholders without reading the environment.")
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(path_type=Path, exists=True))
def validate(directory: Path, no_env: bool, paths: tuple[Path, ...]) -> int:
    """Check every assistant file offline and report all problems at once.

    Each PATH is an assistants directory or a file in one (what the pre-commit hook passes): the whole
    directory holding it is checked, since the rules across files need all of it. Without PATH: --dir.
    """
    environ = None if no_env else environment()
    note = " (placeholders not resolved: --no-env)" if no_env else ""
    problems: list[Problem] = []
    checked = 0
    for each in directories_of(paths, directory, dir_given=_given("directory")):
        try:
            state = load_directory(each, environ=environ)
        except FilesInvalid as invalid:
            problems += invalid.problems
            checked += invalid.files_checked
            continue
        count = len(state.assistants)
        checked += count
        click.echo(f"{each}: {count} assistant file{'s' if count != 1 else ''} valid{note}")
    if problems:
        raise FilesInvalid(problems, checked)
    return 0


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


@cli.command()
@DIR_OPTION
@TARGET_OPTION
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Also save the plan as JSON (for apply)."
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0: none, 1: error).")
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
    prune: bool,
    owner: str | None,
    max_update_share: float,
    emulator: bool,
    api_url: str | None,
) -> int:
    """Read the platform and show what apply would change."""
    check_writable("--out", out)
    state = load_directory(directory, environ=environment())
    options = run_options(directory, targets, prune, owner, max_update_share)
    with _reading() as progress, connect(emulator=emulator, api_url=api_url) as session:
        result = session.plan(state, options, progress)
    stream = Redactor(sys.stdout, state.secrets | {session.token})
    if fmt == "json":
        render_json(result, stream)
    elif fmt == "markdown":
        render_markdown(result, stream)
    else:
        render_text(result, stream, Style(colour=wants_colour(sys.stdout)))
    if out is not None:
        saved = io.StringIO()
        render_json(result, saved)
        write_text(out, saved.getvalue(), secrets=state.secrets | {session.token})
    return 2 if detailed_exitcode and result.has_changes else 0


@cli.command()
@click.argument("plan_file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@DIR_OPTION
@TARGET_OPTION
@click.option("--auto-approve", is_flag=True, help="Apply without asking for 'yes'.")
@click.option("--force", is_flag=True, help="Apply even past the safety thresholds (deletes, large updates).")
@PRUNE_OPTION
@OWNER_OPTION
@SAFETY_OPTION
@click.option(
    "--parallelism", type=click.IntRange(1, 32), default=4, show_default=True, help="Writes in flight."
)
@click.option(
    "--summary",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append the result as markdown to this file (e.g. $GITHUB_STEP_SUMMARY).",
)
@api_options
def apply(
    plan_file: Path | None,
    directory: Path,
    targets: tuple[str, ...],
    auto_approve: bool,
    force: bool,
    prune: bool,
    owner: str | None,
    max_update_share: float,
    parallelism: int,
    summary: Path | None,
    emulator: bool,
    api_url: str | None,
) -> int:
    """Make the platform match the files: plan, confirm, write, read back."""
    if plan_file and (targets or prune):
        raise UsageError("a saved plan is applied as it is: --target and --prune belong to the plan command")
    check_writable("--summary", summary)
    state = load_directory(directory, environ=environment())
    options = run_options(directory, targets, prune, owner, max_update_share)
    # the lock is taken before the plan: a second apply's plan must be made after the first one's writes
    with (
        connect(emulator=emulator, api_url=api_url, writable=True, concurrency=parallelism) as session,
        apply_lock(session.account_id),
    ):
        out = Redactor(sys.stdout, state.secrets | {session.token})
        style = Style(colour=wants_colour(sys.stdout))
        if plan_file:
            result = _saved_plan(plan_file, state, session)
        else:
            with _reading() as progress:
                result = session.plan(state, options, progress)
        render_text(result, out, style)
        if not result.has_changes:
            _append(summary, "### reconciler apply: no changes, the platform matches the files\n")
            return 0
        check_safe(result, force=force)
        if not plan_file:
            with session.client.deadline.paused():
                _confirm(auto_approve)
        out.write("\n")
        try:
            report = session.apply(state, result, options)
        except ApplyInterrupted as interrupt:  # report what was written, then end as any Ctrl-C does (130)
            _report(result, Report(interrupt.outcomes, interrupted=True), out, style, summary)
            raise
    _report(result, report, out, style, summary)
    return 0 if report.ok else 1


def _report(plan: Plan, report: Report, out: Redactor, style: Style, summary: Path | None) -> None:
    render_report(report, out, style)
    out.flush()
    if summary is not None:
        text = io.StringIO()
        render_report_markdown(plan, report, text)
        _append(summary, text.getvalue(), out.given)


def _append(path: Path | None, text: str, secrets: frozenset[Secret] = frozenset()) -> None:
    if path is not None:
        write_text(path, text, append=True, secrets=secrets)


@cli.command("export")
@DIR_OPTION
@click.option("--id", "ids", multiple=True, type=int, metavar="ID", help="Export this assistant. Repeatable.")
@click.option("--all", "export_all", is_flag=True, help="Export every assistant of the account.")
@click.option(
    "--names", "use_names", is_flag=True, help="Names instead of ids, and no id line: files that travel."
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@api_options
def export_command(
    directory: Path,
    ids: tuple[int, ...],
    export_all: bool,
    use_names: bool,
    force: bool,
    emulator: bool,
    api_url: str | None,
) -> int:
    """Write files for existing assistants, so that the next plan is empty."""
    if not ids and not export_all:
        raise UsageError("say which assistants to export: --all, or --id ID (repeatable)")
    check_writable("--dir", directory, directory=True)
    check_directory(directory)  # before reading the platform, and again when writing
    with _reading() as progress, connect(emulator=emulator, api_url=api_url) as session:
        files = session.export(None if export_all else list(ids), names=use_names, progress=progress)
        secrets = {session.token}
    written = write_exported(directory, files, force=force)
    out = Redactor(sys.stdout, secrets | {v for f in files for v in f.secrets.values()})
    report_export(directory, files, written, out)
    return 0


def _reading() -> ProgressLine:
    """The progress line of reading the platform; a context manager that erases it however the block ends."""
    return ProgressLine(sys.stderr, "reading the platform")


def _saved_plan(path: Path, state: DesiredState, session: Session) -> Plan:
    try:
        saved = plan_from_data(json.loads(path.read_text()))
    except ValueError as exc:
        raise PlanFileError(f"{path} is not a saved plan: {exc}") from exc
    account = session.read()
    check_saved(saved, account_id=session.account_id, files=files_digest(state), account=account)
    check_matches_files(saved, session.plan_against(state, account, Options(prune_owner=saved.owner)))
    return saved


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _confirm(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not stdin_is_terminal():
        raise ReconcilerError(
            "refusing to apply: no terminal to confirm on, and no --auto-approve; nothing was changed"
        )
    if _ask("\nApply these changes? Only 'yes' is accepted: ").strip() != "yes":
        raise ReconcilerError("apply cancelled; nothing was changed")


def _ask(question: str) -> str:
    """The answer typed at the terminal. Ctrl-D ends the input with no answer, which is not a yes: a cancel,
    like any other answer (Ctrl-C still interrupts)."""
    try:
        return input(question)
    except EOFError:
        sys.stdout.write("\n")  # end the prompt's line, so that the refusal gets a line of its own
        return ""


@cli.command()
def schema() -> int:
    """Print the JSON Schema of an assistant file (for yaml-language-server)."""
    click.echo(json.dumps(json_schema(), indent=2))
    return 0


cli.add_command(emulator)


def report(error: ReconcilerError, stream: IO[str]) -> None:
    """A known error: every problem on its own line, then one summary line.

    Each line is escaped whole: a message can quote a server's answer, a catalog's names or a file's text (a
    malformed placeholder), and none of them may forge a line or reach the terminal as a control sequence.
    """
    if isinstance(error, FilesInvalid):
        for problem in error.problems:
            stream.write(f"{printable(str(problem))}\n")
    stream.write(f"{printable(f'error: {error}')}\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args[: args.index("--")] if "--" in args else "--debug" in args
    with run_secrets(), _masked_streams(), _debug_log(debug):
        Secret(os.environ.get("GLORIA_API_TOKEN", ""), origin="GLORIA_API_TOKEN")  # known before any read
        return _main(args, debug)


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


@contextmanager
def _debug_log(enabled: bool) -> Iterator[None]:
    """The reconciler's log on stderr: its warnings always, as they are (a wait the API asked for: stdout is the
    plan, and stays clean of it); under --debug also every request: method, path, status, time (never headers:
    never the token)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StderrFormat())
    logger = logging.getLogger("reconciler")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if enabled else logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


class _StderrFormat(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno >= logging.WARNING else f"debug: {record.name}: {text}"


def _main(args: list[str], debug: bool) -> int:
    try:
        result = cli.main(args=args, prog_name="reconciler", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        sys.stderr.write("interrupted\n")
        return 130
    except click.ClickException as exc:
        exc.show(sys.stderr)
        return 1
    except ReconcilerError as exc:
        if debug:
            traceback.print_exc(file=sys.stderr)
        report(exc, sys.stderr)
        return 1
    except Exception as exc:
        if debug:
            traceback.print_exc(file=sys.stderr)
        hint = "" if debug else " (run again with --debug for the traceback)"
        sys.stderr.write(f"{printable(f'unexpected error: {type(exc).__name__}: {exc}')}{hint}\n")
        return 1
    return result if isinstance(result, int) else 0


def run() -> None:
    """The console script of installs made before it moved to ``reconciler.__main__.run``: they still start."""
    from reconciler.__main__ import run as entry

    entry()

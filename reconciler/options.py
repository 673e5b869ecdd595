"""The command line's shared options, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.errorhandling import RunFlags
from reconciler.limits import RUN_DEADLINE, seconds
from reconciler.plan import Safety

if TYPE_CHECKING:
    from reconciler.reconcile import Options

DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("assistants.d"),
    show_default=True,
    help="Directory of assistant files.",
)


def _record_timeout(context: click.Context, _: click.Parameter, value: float | None) -> None:
    """Keep ``--timeout`` in the run's flags, where ``session.connect`` finds it: no command takes it."""
    if value is not None:
        context.ensure_object(RunFlags).timeout = value


def api_options(command: Any) -> Any:
    command = click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        metavar="SECONDS",
        expose_value=False,
        callback=_record_timeout,
        help="Seconds the whole run may spend on the API, retries and waits included (one request: at most 60 s)."
        f"  [default: $RECONCILER_DEADLINE or {seconds(RUN_DEADLINE)}]",
    )(command)
    command = click.option(
        "--emulator", is_flag=True, help="Use the embedded emulator (demo data, state in .reconciler/)."
    )(command)
    return click.option(
        "--api-url",
        metavar="URL",
        help="API base URL.  [default: $GLORIA_API_URL or https://app.gloriagent.ai/api]",
    )(command)


TARGET_OPTION = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="KEY",
    help="Only this assistant (a file key; globs allowed). Repeatable.",
)


PRUNE_OPTION = click.option(
    "--prune",
    is_flag=True,
    help="Delete assistants this repository owns whose file is gone (records ownership).",
)
OWNER_OPTION = click.option(
    "--owner",
    metavar="NAME",
    help="Who manages the assistants this run creates (recorded on each), and for --prune.  [default: $RECONCILER_OWNER, else the git origin and directory]",
)
BASELINE_OPTION = click.option(
    "--baseline",
    metavar="GIT_REF",
    help="Show apart the fields changed outside the repository: those whose file is as it was at GIT_REF (e.g. the base branch).",
)
SAFETY_OPTION = click.option(
    "--max-update-share",
    type=click.FloatRange(0, 1),
    default=0.3,
    show_default=True,
    help="Updating more than this share of existing assistants (10 or more) needs --force.",
)


def run_options(
    directory: Path, targets: tuple[str, ...], prune: bool, owner: str | None, share: float
) -> Options:
    from reconciler.reconcile import Options  # the planner and the session: only commands that plan load them
    from reconciler.session import owner_of

    return Options(
        targets=targets,
        owner=owner or owner_of(directory, required=prune),
        prune=prune,
        safety=Safety(max_update_share=share),
    )

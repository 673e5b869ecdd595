"""``reconciler emulator serve``: the emulator as a foreground server, for curl and for other processes."""

from __future__ import annotations

import errno
import ipaddress
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import click

if TYPE_CHECKING:
    from reconciler.emulator.server import OpenedState


class CannotServe(click.ClickException):
    """The address cannot be listened on: one line, ``error: ...`` like every other error of the CLI (click's own
    would say ``Error: ...``), exit 1, no traceback."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file or sys.stderr)


@click.group()
def emulator() -> None:
    """The local gloriagent API emulator."""


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port."
)
@click.option(
    "--state",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SQLite state file.  [default: .reconciler/emulator.sqlite]",
)
@click.option(
    "--seed",
    type=click.Choice(["demo", "empty"]),
    default="demo",
    show_default=True,
    help="Data for a new state file (an existing one is kept unless --reset).",
)
@click.option("--reset", is_flag=True, help="Start the state file again from the seed, even if it exists.")
@click.option(
    "--token",
    default="emulator-token",
    show_default=True,
    help="The bearer token the emulator accepts; one of your own to serve a --host other than loopback.",
)
@click.option(
    "--read-mode",
    type=click.Choice(["read", "symmetric"]),
    default="read",
    show_default=True,
    help="read: the API's read shape; symmetric: exactly what is stored.",
)
@click.option(
    "--api-version",
    type=click.Choice(["documented", "newer"]),
    default="documented",
    show_default=True,
    help="documented: the API page as written; newer: as sibling platforms show it growing (new fields, "
    "read-only fields on every read, new built-in tool types whose ids read back as strings).",
)
@click.option("--latency-ms", type=click.IntRange(0), default=0, help="Delay before every response.")
@click.option(
    "--error-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of requests answered 500."
)
@click.option(
    "--reset-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of connections reset (before or after the work).",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(0),
    default=0,
    help="Requests a window per token (429 beyond); 0: none.",
)
@click.option(
    "--rate-window",
    type=click.FloatRange(0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds of the --rate-limit window (never announced in the headers).",
)
@click.option(
    "--rate-burst",
    type=click.IntRange(0),
    default=0,
    help="A second limit checked with --rate-limit: requests per --rate-burst-window; 0: none.",
)
@click.option(
    "--rate-burst-window",
    type=click.FloatRange(0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds of the --rate-burst window.",
)
@click.option(
    "--rate-body",
    type=click.Choice(["laravel", "error"]),
    default="laravel",
    show_default=True,
    help='The 429 body: laravel {"message"} with Retry-After; error {"error", "retry_after"}, no Retry-After.',
)
@click.option(
    "--update-method",
    type=click.Choice(["any", "PUT", "PATCH"]),
    default="any",
    show_default=True,
    help="The verbs an update takes: any (PUT and PATCH), or only one (405 with Allow for the other).",
)
@click.option("--fault-seed", type=int, default=0, help="Seed of the fault sequence.")
@click.option(
    "--max-connections",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    help="Connections served at once (503 beyond).",
)
def serve(
    state: Path | None, seed: str, read_mode: str, api_version: str, update_method: str, **options: Any
) -> int:
    """Serve the emulated API under /api until Ctrl-C."""
    from reconciler.emulator.server import DEFAULT_TOKEN, EMBEDDED_STATE, EmulatorOptions
    from reconciler.emulator.server import serve as start

    check_exposure(options["host"], options["token"], DEFAULT_TOKEN)
    settings = EmulatorOptions(
        state=state or EMBEDDED_STATE,
        seed=cast(Any, seed),
        read_mode=cast(Any, read_mode),
        api_version=cast(Any, api_version),
        update_methods=("PUT", "PATCH") if update_method == "any" else (update_method,),
        access_log=True,
        **options,
    )
    try:
        server, opened = start(settings)
    except OSError as error:
        raise CannotServe(cannot_listen(error, options["host"], options["port"])) from error
    source = click.get_current_context().get_parameter_source("seed")
    seed_given = source is not click.core.ParameterSource.DEFAULT
    newer = ", newer API" if api_version == "newer" else ""
    click.echo(f"gloriagent emulator listening on {server.url} ({read_mode} mode{newer})")
    click.echo(f"  state {settings.state}: {describe_state(opened, seed, seed_given)}")
    click.echo(
        f"  try: curl -H 'Accept: application/json' -H 'Authorization: Bearer <token>' {server.url}/user/assistants/get"
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
        opened.store.close()
    return 0


def cannot_listen(error: OSError, host: str, port: int) -> str:
    """Why ``host:port`` cannot be listened on, and what to change."""
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use: choose another with --port (0 picks a free one)"
    if error.errno == errno.EACCES:
        return f"no permission to listen on port {port} of {host}: choose one above 1023 with --port"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: it is not an address of this machine; choose another with --host"
    return f"cannot listen on {host} port {port}: {error.strerror or error}"


def check_exposure(host: str, token: str, default_token: str) -> None:
    """Refuse to serve other machines with the default token: it is printed in the README and in ``--help``, so
    anyone who reaches the port could read and change everything. A warning would scroll by; a refusal before
    anything is opened or bound cannot be missed, and ``--token`` is all it takes."""
    if token == default_token and not is_loopback(host):
        raise click.UsageError(
            f"--host {host or repr(host)} can be reached from other machines, and the default token "
            f"{default_token!r} is public: give a --token of your own to serve there"
        )


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is this machine's own: ``localhost``, 127.0.0.0/8 or ::1. Any other
    name may resolve elsewhere, and "" or 0.0.0.0 is every interface."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def describe_state(opened: OpenedState, seed: str, seed_given: bool) -> str:
    """What became of the state file: a seed only fills a new one, so say when it was ignored."""
    count = f"{opened.assistants} assistant{'' if opened.assistants == 1 else 's'}"
    if opened.origin == "new":
        return f"a new file, seeded with --seed {seed} ({count})"
    if opened.origin == "reset":
        return f"reset, seeded with --seed {seed} ({count})"
    if seed_given:
        return (
            f"the existing file is kept ({count}); --seed {seed} is ignored, a seed only fills a new file "
            "(--reset starts again from the seed)"
        )
    return f"the existing file is kept ({count}); --reset starts again from the {seed} seed"

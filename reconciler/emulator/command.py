"""``reconciler emulator serve``: the emulator as a foreground server, for curl and for other processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import click


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
    help="Data for a new state file.",
)
@click.option(
    "--token", default="emulator-token", show_default=True, help="The bearer token the emulator accepts."
)
@click.option(
    "--read-mode",
    type=click.Choice(["read", "symmetric"]),
    default="read",
    show_default=True,
    help="read: the API's read shape; symmetric: exactly what is stored.",
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
    help="Requests a minute per token (429 beyond); 0: none.",
)
@click.option("--fault-seed", type=int, default=0, help="Seed of the fault sequence.")
def serve(state: Path | None, seed: str, read_mode: str, **options: Any) -> int:
    """Serve the emulated API under /api until Ctrl-C."""
    from reconciler.emulator.server import EMBEDDED_STATE, EmulatorOptions
    from reconciler.emulator.server import serve as start

    settings = EmulatorOptions(
        state=state or EMBEDDED_STATE,
        seed=cast(Any, seed),
        read_mode=cast(Any, read_mode),
        access_log=True,
        **options,
    )
    server = start(settings)
    click.echo(
        f"gloriagent emulator listening on {server.url} (state {settings.state}, seed {seed}, {read_mode} mode)"
    )
    click.echo(
        f"  try: curl -H 'Accept: application/json' -H 'Authorization: Bearer <token>' {server.url}/user/assistants/get"
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0

"""The emulator in a process of its own on 127.0.0.1, for every benchmark: it must not share the measured GIL.

Usage: python bench/emulator_launch.py --state FILE [SERVE OPTION ...]  (serves until Ctrl-C, as benchmarks start it)

No import from reconciler: a benchmark paired against an older commit (bench/paired.py --script-from-this-tree)
runs with that commit on PYTHONPATH, and this module must load there too.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx


@contextmanager
def serving(
    state: Path,
    options: Sequence[str],
    *,
    tree: Path | None = None,
    access_log: IO[bytes] | None = None,
    tries: int = 100,
) -> Iterator[tuple[str, int]]:
    """``reconciler emulator serve --state STATE OPTIONS...`` on a free port; yields its URL and pid once it
    answers (``tries`` times 0.1 s at most). ``tree``: the source tree whose emulator runs (default: the one
    PYTHONPATH names). ``access_log``: where its stderr goes, one line a request answered (else discarded)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", str(port)]
    command += ["--state", str(state), *options]
    environment = None if tree is None else {**os.environ, "PYTHONPATH": str(tree)}
    process = subprocess.Popen(
        command,
        cwd=tree,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=access_log if access_log else subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        for _ in range(tries):
            try:
                httpx.get(url + "/user/tools", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the emulator as the benchmarks do, until Ctrl-C.")
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("options", nargs=argparse.REMAINDER, help="more `reconciler emulator serve` options")
    args = parser.parse_args()
    with serving(args.state, args.options) as (url, pid):
        print(f"emulator {pid} at {url}", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

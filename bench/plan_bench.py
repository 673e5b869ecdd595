"""Benchmark: `plan` over N assistants against the emulator with latency on every request (issue 4).

Usage: python bench/plan_bench.py [--sizes 2000 10000] [--latency-ms 50]

For each N: an emulator (loopback only) holding N assistants, N files of which 10% differ from the platform, and
one plan through the same code path as the CLI. Prints requests sent, wall time (split into reading the files
and the rest), and peak memory. Targets: at most ceil(N/100) + 10 requests; 2,000 assistants in under 3 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import yaml
from emulator_launch import serving  # type: ignore[import-not-found]

from reconciler.__main__ import tune_collector
from reconciler.client import Client
from reconciler.desired import load_directory
from reconciler.emulator.assistants import Assistants
from reconciler.emulator.server import open_store
from reconciler.secret import Secret
from reconciler.session import Session

TOKEN = "bench-token"
# libyaml's dumper writes the same text as the pure-Python one, four times as fast: 50,000 files take seconds.
DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def body(index: int) -> dict[str, object]:
    mode = ("pipeline", "multimodal", "dualplex")[index % 3]
    data: dict[str, object] = {
        "name": f"Assistant {index:05d}",
        "type": "outbound",
        "mode": mode,
        "language_id": 1,
        "voice_id": {"pipeline": 101, "multimodal": 201, "dualplex": 301}[mode],
        "timezone": "Europe/Berlin",
        "initial_message": f"Hello from {index}.",
        "system_prompt": f"You are assistant {index}.\nBe brief and kind.",
        "speech_speed": 1.0,
        "variables": {"company": "Northwind"},
        "tools": [{"type": "end_call", "description": "End the call."}],
        "post_call_schema": [{"name": "happy", "type": "bool", "description": "Caller was happy."}],
    }
    if mode == "pipeline":
        data["llm_model_id"] = 2
    else:
        data["multimodal_model_id"] = 1 if mode == "multimodal" else 3
    return data


def prepare(
    root: Path, count: int, drifted: Callable[[int], bool] = lambda i: i % 10 == 0
) -> tuple[Path, Path]:
    """A state file with ``count`` assistants, and their files; ``drifted`` files ask for speech_speed 0.9."""
    state = root / "state.sqlite"
    store = open_store(state, "empty")
    with store.transaction():
        rules = Assistants(store.catalog(), [])
        for index in range(count):
            store.insert(rules.create(body(index), store.now()))
    store.close()
    files = root / "assistants.d"
    files.mkdir()
    for index in range(count):
        data = body(index)
        if drifted(index):
            data["speech_speed"] = 0.9
        (files / f"a{index:05d}.yaml").write_text(yaml.dump(data, Dumper=DUMPER, sort_keys=False))
    return state, files


@contextmanager
def emulator_process(
    state: Path,
    latency_ms: int,
    rate_limit: int = 0,
    extra: Sequence[str] = (),
    access_log: IO[bytes] | None = None,
) -> Iterator[str]:
    """The emulator in its own process, as the real API would be (emulator_launch.py); yields its URL.

    ``access_log``: where its stderr goes, one line a request answered (discarded without it).
    """
    options = ["--token", TOKEN, "--latency-ms", str(latency_ms), "--rate-limit", str(rate_limit), *extra]
    with serving(state, options, access_log=access_log) as (url, _):
        yield url


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(count: int, latency_ms: int, *, baseline: bool = False) -> dict[str, float]:
    """One plan of ``count`` assistants; with ``baseline``, also the naive one-assistant-per-request read."""
    with tempfile.TemporaryDirectory() as tmp:
        state, files = prepare(Path(tmp), count)
        tune_collector()  # as the console script does after its imports
        with emulator_process(state, latency_ms) as url:
            cpu, start = cpu_seconds(), time.perf_counter()
            desired = load_directory(files, environ={})
            loaded = time.perf_counter()
            with Client(url, TOKEN) as client:
                session = Session(client, Secret(TOKEN), url)
                account = session.read()
                read = time.perf_counter()
                plan = session.plan_against(desired, account)
                done, cpu = time.perf_counter(), cpu_seconds() - cpu
                requests = client.requests
            naive = naive_read(url, count) if baseline else {}
    assert plan.summary["update"] == math.ceil(count / 10), plan.summary
    return {
        "assistants": count,
        "latency_ms": latency_ms,
        "requests": requests,
        "budget": math.ceil(count / 100) + 10,
        "total": done - start,
        "files": loaded - start,
        "read": read - loaded,
        "diff": done - read,
        "cpu_ms_per_assistant": cpu / count * 1e3,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **naive,
    }


NAIVE_CAP = 1000  # requests actually sent by the baseline; beyond that its time is extrapolated


def naive_read(url: str, count: int) -> dict[str, float]:
    """The baseline: one assistant per request, one request after the other (per_page=1, page by page)."""
    sent = min(count, NAIVE_CAP)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        start = time.perf_counter()
        for page in range(1, sent + 1):
            http.get("/user/assistants/get", params={"per_page": 1, "page": page}).raise_for_status()
        elapsed = time.perf_counter() - start
    return {
        "naive_requests": count,
        "naive_read": elapsed * count / sent,
        "naive_extrapolated": float(sent < count),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument(
        "--json", action="store_true", help="One JSON line per size, with the naive baseline."
    )
    args = parser.parse_args()
    if args.json:
        for count in args.sizes:
            print(json.dumps(measure(count, args.latency_ms, baseline=True)), flush=True)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"latency: {args.latency_ms} ms a request; 10% of assistants differ from their files\n")
    print("Peak memory is the process's peak RSS so far (interpreter and earlier sizes included).\n")
    print("| assistants | requests (budget) | wall time | read files | read platform | diff | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for count in args.sizes:
        m = measure(count, args.latency_ms)
        print(
            f"| {count:,} | {m['requests']:.0f} ({m['budget']:.0f}) | {m['total']:.2f} s | {m['files']:.2f} s "
            f"| {m['read']:.2f} s | {m['diff']:.2f} s | {m['peak_mib']:.0f} MiB |"
        )


if __name__ == "__main__":
    main()

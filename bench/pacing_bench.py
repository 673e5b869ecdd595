"""Benchmark: apply N updates against four platforms' rate limits (issue 17), a few runs each.

Usage: python bench/pacing_bench.py [--updates 300] [--runs 3] [--scenarios a,b,c,d] [--json]

  a  600 requests a minute (Laravel's throttle, one window of 60 s)
  b  10 requests a second (a window of 1 s)
  c  100 a minute, and bursts of 20 per 10 s (a sibling's documented limits)
  d  no limit headers at all, 50 ms a request: how many writes the pacer lets fly, and the rate

The emulator runs in its own process on loopback; the apply takes the CLI's own code path (4 writes in flight to
start with, as `apply` without `--parallelism`). For a-c: the updates a second as a share of the binding limit
(target >= 0.9) and the answers 429 (target <= 3). The window's length is never in the headers: the pacer
learns it. Scenario c takes about N / (100 / 60) seconds (3 minutes for 300), b N / 10, a and d seconds.

The server, and the state it starts from, always come from the tree this script is in, whichever ``reconciler``
is on PYTHONPATH: ``paired.py --script-from-this-tree`` measures an older client (one from before this script,
ec730fc's 4 writes in flight) against the same server. ``client_cpu_s`` and ``server_cpu_s`` (the emulator's
process, from /proc) say whether either side was the bound; ``write_seconds`` is the writes alone, the rest of
``seconds`` the read-back.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emulator_launch import serving  # type: ignore[import-not-found]

from reconciler.client import Client
from reconciler.desired import load_directory
from reconciler.reconcile import Options
from reconciler.secret import Secret
from reconciler.session import Session

try:
    from reconciler.pacing import MAX_IN_FLIGHT
except ImportError:  # a client from before issue 17: a fixed number of writes in flight
    MAX_IN_FLIGHT = None

TREE = Path(__file__).resolve().parent.parent  # where the server and the seeding come from
TOKEN = "bench-token"
START_IN_FLIGHT = 4  # `apply` without --parallelism

#: scenario -> (rate limit, window s, burst, burst window s, latency ms)
SCENARIOS: dict[str, tuple[int, float, int, float, int]] = {
    "a": (600, 60.0, 0, 10.0, 0),
    "b": (10, 1.0, 0, 10.0, 0),
    "c": (100, 60.0, 20, 10.0, 0),
    "d": (0, 60.0, 0, 10.0, 50),
}


def binding_rate(limit: int, window: float, burst: int, burst_window: float) -> float:
    """Requests a second the tightest limit allows over time (0: no limit)."""
    rates = [n / s for n, s in ((limit, window), (burst, burst_window)) if n]
    return min(rates, default=0.0)


#: run in this tree's own interpreter path: the state file and the files, by plan_bench's own seeding
SEED = """
import sys
from pathlib import Path
from plan_bench import prepare
prepare(Path(sys.argv[1]), int(sys.argv[2]), drifted=lambda _: True)  # every assistant changes
"""


def seeded(root: Path, updates: int) -> tuple[Path, Path]:
    """A state file with ``updates`` assistants and files that change every one, by this tree's code."""
    subprocess.run(
        [sys.executable, "-c", SEED, str(root), str(updates)],
        env={**os.environ, "PYTHONPATH": str(TREE)},
        cwd=TREE / "bench",
        check=True,
    )
    return root / "state.sqlite", root / "assistants.d"


@contextmanager
def emulator_process(
    state: Path, latency_ms: int, rate_limit: int, extra: Sequence[str]
) -> Iterator[tuple[str, int]]:
    """This tree's emulator in its own process on 127.0.0.1, whichever client is measured; yields URL and pid."""
    options = ["--token", TOKEN, "--latency-ms", str(latency_ms), "--rate-limit", str(rate_limit), *extra]
    with serving(state, options, tree=TREE) as running:
        yield running


def cpu_seconds(pid: int | None = None) -> float:
    """User + system seconds: this process's, or another's from /proc (Linux)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client(url: str) -> Client:
    """The client `apply` makes: 4 writes in flight to start with, grown as far as the tree's pacer grows them."""
    grows = "max_in_flight" in inspect.signature(Client).parameters
    extra: dict[str, Any] = {"max_in_flight": MAX_IN_FLIGHT} if grows else {}
    return Client(url, TOKEN, writable=True, concurrency=START_IN_FLIGHT, **extra)


def one(scenario: str, updates: int) -> dict[str, Any]:
    limit, window, burst, burst_window, latency = SCENARIOS[scenario]
    extra = [
        "--rate-window",
        str(window),
        "--rate-burst",
        str(burst),
        "--rate-burst-window",
        str(burst_window),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        state, files = seeded(Path(tmp), updates)
        with emulator_process(state, latency, limit, extra) as (url, pid), client(url) as api:
            desired = load_directory(files, environ={})
            session = Session(api, Secret(TOKEN), url)
            plan = session.plan(desired, Options())
            assert plan.summary["update"] == updates, plan.summary
            written: list[float] = []
            server, mine, start = cpu_seconds(pid), cpu_seconds(), time.perf_counter()
            report = session.apply(desired, plan, Options(), lambda _: written.append(time.perf_counter()))
            elapsed = time.perf_counter() - start
            server, mine = cpu_seconds(pid) - server, cpu_seconds() - mine
            pacer = api.pacer
            result = {"throttled": pacer.throttled, "requests": api.requests}
            result["learned"] = pacer.learned() if hasattr(pacer, "learned") else []
            result["in_flight"] = getattr(pacer, "most_in_flight", START_IN_FLIGHT)
    applied = sum(o.status == "applied" for o in report.outcomes)
    rate = binding_rate(limit, window, burst, burst_window)
    result |= {"scenario": scenario, "updates": updates, "applied": applied, "seconds": round(elapsed, 2)}
    result |= {"per_second": round(applied / elapsed, 2), "not_converged": len(report.unconverged)}
    result |= {"write_seconds": round(max(written, default=start) - start, 2)}
    result |= {"client_cpu_s": round(mine, 2), "server_cpu_s": round(server, 2)}
    if rate:
        result["share_of_limit"] = round(applied / elapsed / rate, 3)
    return result


def spread(values: list[float]) -> str:
    return f"{min(values):g} / {statistics.median(values):g} / {max(values):g}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default="a,b,c,d")
    parser.add_argument("--json", action="store_true", help="Print one JSON line a run instead of the table.")
    args = parser.parse_args()
    rows = []
    for scenario in args.scenarios.split(","):
        runs = [one(scenario, args.updates) for _ in range(args.runs)]
        if args.json:
            for run in runs:
                print(json.dumps(run), flush=True)
            continue
        limit, window, burst, burst_window, latency = SCENARIOS[scenario]
        if scenario == "d":
            what = f"no limit, {latency} ms a request"
            figure = f"{spread([r['in_flight'] for r in runs])} in flight, {spread([r['per_second'] for r in runs])}/s"
        else:
            what = f"{limit} per {window:g} s" + (f" + {burst} per {burst_window:g} s" if burst else "")
            figure = f"{spread([r['share_of_limit'] for r in runs])} of the limit"
        throttled = spread([r["throttled"] for r in runs])
        rows.append(
            f"| {scenario} | {what} | {figure} | {throttled} | {spread([r['seconds'] for r in runs])} s |"
        )
    if not args.json:
        print(f"{args.updates} updates, {args.runs} runs each; min / median / max")
        print("| | limit | throughput | answers 429 | apply time |")
        print("|---|---|---|---|---|")
        print("\n".join(rows))


if __name__ == "__main__":
    main()

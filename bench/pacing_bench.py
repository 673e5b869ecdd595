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
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from plan_bench import TOKEN, emulator_process, prepare  # type: ignore[import-not-found]

from reconciler.client import Client
from reconciler.desired import load_directory
from reconciler.pacing import MAX_IN_FLIGHT
from reconciler.reconcile import Options
from reconciler.secret import Secret
from reconciler.session import Session

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
        state, files = prepare(Path(tmp), updates, drifted=lambda _: True)  # every assistant changes
        with emulator_process(state, latency, rate_limit=limit, extra=extra) as url:
            desired = load_directory(files, environ={})
            with Client(url, TOKEN, writable=True, concurrency=4, max_in_flight=MAX_IN_FLIGHT) as client:
                session = Session(client, Secret(TOKEN), url)
                plan = session.plan(desired, Options())
                assert plan.summary["update"] == updates, plan.summary
                start = time.perf_counter()
                report = session.apply(desired, plan, Options())
                elapsed = time.perf_counter() - start
                pacer = client.pacer
                result = {
                    "throttled": pacer.throttled,
                    "requests": client.requests,
                    "learned": pacer.learned(),
                }
                result |= {"in_flight": pacer.most_in_flight}
    applied = sum(o.status == "applied" for o in report.outcomes)
    rate = binding_rate(limit, window, burst, burst_window)
    result |= {"scenario": scenario, "updates": updates, "applied": applied, "seconds": round(elapsed, 2)}
    result |= {"per_second": round(applied / elapsed, 2), "not_converged": len(report.unconverged)}
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

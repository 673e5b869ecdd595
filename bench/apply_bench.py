"""Benchmark: apply N updates against the emulator's rate limit (issue 5).

Usage: python bench/apply_bench.py [--updates 300] [--limit 600]

The emulator runs in its own process on loopback with Laravel's throttle (LIMIT requests a minute per token).
The run applies N updates with the CLI's own code path and reports the write throughput as a fraction of the
limit, and how many 429s the platform answered. Targets: at least 0.9 of the limit, at most 3 429s.
It takes about N / (LIMIT / 60) seconds: 300 updates at 600 a minute is half a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from plan_bench import TOKEN, emulator_process, prepare  # type: ignore[import-not-found]

from reconciler.client import Client
from reconciler.desired import load_directory
from reconciler.reconcile import Options
from reconciler.secret import Secret
from reconciler.session import Session


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="Print one JSON line instead of the report.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state, files = prepare(Path(tmp), args.updates, drifted=lambda _: True)  # every assistant changes
        with emulator_process(state, 0, rate_limit=args.limit) as url:
            desired = load_directory(files, environ={})
            with Client(url, TOKEN, writable=True, concurrency=args.parallelism) as client:
                session = Session(client, Secret(TOKEN), url)
                plan = session.plan(desired, Options())
                assert plan.summary["update"] == args.updates, plan.summary
                start = time.perf_counter()
                report = session.apply(desired, plan, Options())
                elapsed = time.perf_counter() - start
                throttled = client.pacer.throttled
                requests = client.requests
    applied = sum(o.status == "applied" for o in report.outcomes)
    rate = args.limit / 60
    if args.json:
        result = {"updates": args.updates, "limit": args.limit, "applied": applied, "seconds": elapsed}
        result |= {"share_of_limit": applied / elapsed / rate, "throttled": throttled, "requests": requests}
        print(json.dumps(result | {"not_converged": len(report.unconverged)}))
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"limit: {args.limit} requests a minute; {args.updates} updates, parallelism {args.parallelism}")
    print(f"applied: {applied}, not converged: {len(report.unconverged)}, requests in all: {requests}")
    print(f"apply wall time: {elapsed:.1f} s (read-back included)")
    print(
        f"throughput: {applied / elapsed:.2f} updates/s = {applied / elapsed / rate:.2f} of the limit (target >= 0.9)"
    )
    print(f"429 answers: {throttled} (target <= 3)")


if __name__ == "__main__":
    main()

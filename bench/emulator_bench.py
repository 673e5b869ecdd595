"""Benchmark: the emulator under concurrent load (issue 3).

Usage: python bench/emulator_bench.py [--requests 1000] [--connections 8]

Each connection (its own keep-alive httpx client) alternates list reads and partial updates. Every
connection owns one numeric field and writes it on every assistant in turn, so at the end each field of each
assistant must hold the last value its owner wrote: a lost update (two read-modify-writes interleaving) shows
as a mismatch. Traffic goes to 127.0.0.1 only, and the run stops after the fixed request count.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time

import httpx

from reconciler.emulator.server import EmulatorOptions, running_emulator

HEADERS = {"Authorization": "Bearer emulator-token", "Accept": "application/json"}
FIELDS = [
    ("max_duration", lambda n: 20 + n % 1000),
    ("max_silence_duration", lambda n: 1 + n % 300),
    ("ringing_time", lambda n: 1 + n % 60),
    ("reengagement_interval", lambda n: 7 + n % 500),
    ("max_initial_silence_duration", lambda n: 1 + n % 120),
    ("min_interrupt_words", lambda n: n % 11),
    ("endpoint_type", lambda n: ("vad", "ai")[n % 2]),
    ("ambient_sound", lambda n: ("off", "office", "city", "cafe")[n % 4]),
]


def worker(url: str, index: int, count: int, ids: list[int], out: dict[str, object]) -> None:
    field, value_of = FIELDS[index % len(FIELDS)]
    latencies: list[float] = []
    errors = 0
    last: dict[int, object] = {}
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as client:
        for n in range(count):
            start = time.perf_counter()
            if n % 2 == 0:
                response = client.get("/user/assistants/get", params={"per_page": 100})
            else:
                target = ids[(n // 2) % len(ids)]
                value = value_of(n + index)
                response = client.put(f"/user/assistant/{target}", json={field: value})
                if response.status_code == 200:
                    last[target] = value
            latencies.append(time.perf_counter() - start)
            errors += response.status_code >= 400
    out[str(index)] = (field, last, latencies, errors)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    per = args.requests // args.connections
    with running_emulator(EmulatorOptions(seed="demo", read_mode="symmetric")) as url:
        with httpx.Client(base_url=url, headers=HEADERS) as client:
            ids = [a["id"] for a in client.get("/user/assistants/get").json()["data"]]
        results: dict[str, object] = {}
        threads = [
            threading.Thread(target=worker, args=(url, i, per, ids, results)) for i in range(args.connections)
        ]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        with httpx.Client(base_url=url, headers=HEADERS) as client:
            final = {a["id"]: a for a in client.get("/user/assistants/get").json()["data"]}
    latencies, errors, lost = [], 0, 0
    for field, last, lat, errs in results.values():  # type: ignore[misc]
        latencies += lat
        errors += errs
        lost += sum(final[target][field] != value for target, value in last.items())
    total = per * args.connections
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"requests: {total} ({total // 2} list, {total - total // 2} update) over {args.connections} connections"
    )
    print(f"wall: {elapsed:.2f} s, rate: {total / elapsed:.0f} requests/s")
    print(
        f"latency: p50 {statistics.median(latencies) * 1e3:.1f} ms, p95 {sorted(latencies)[int(len(latencies) * 0.95)] * 1e3:.1f} ms"
    )
    print(f"errors: {errors}, lost updates: {lost}")


if __name__ == "__main__":
    main()

"""The one benchmark command: runs every benchmark on this machine, prints a table, writes docs/benchmarks.md.

Usage: python bench/run.py [--quick]

Each measurement runs in its own process (so peak memory is its own) against an emulator in yet another
process on 127.0.0.1, as the real API would be. The naive baseline (one assistant per request, one request after
the other) runs in the same process as the plan it is compared with, against the same emulator, at the same
moment. Everything stops by itself: the naive baseline sends at most 1,000 requests and extrapolates beyond.
Then a soak (bench/soak.py) for --soak-seconds.
--quick: 100 and 1,000 assistants, 60 updates, a 10 s soak (about a minute and a half) instead of the full run
(about seven minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
DOCS = BENCH.parent / "docs" / "benchmarks.md"


def child(script: str, *args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--json", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=BENCH,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        model = names[0] if names else model
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = int(meminfo.read_text().split("MemTotal:")[1].split()[0]) / 2**20
        memory = f", {total:.0f} GiB RAM"
    return f"{platform.system()} {platform.machine()}, {model}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def plan_rows(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for latency in (0, 50):
        for size in sizes:
            rows += child("plan_bench.py", "--sizes", str(size), "--latency-ms", str(latency))
    return rows


def soak_section(seconds: float) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(BENCH / "soak.py"), "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    return ["## soak", "", "`python bench/soak.py`:", "", "```text", *done.stdout.splitlines(), "```", ""]


def report(plans: list[dict[str, Any]], apply: dict[str, Any], validate: dict[str, Any], took: float) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Run by `python bench/run.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {took:.0f} s in all.",
        f"Machine: {machine()}.",
        "The emulator runs in its own process on 127.0.0.1; latency is added to every request it answers.",
        "",
        "## plan",
        "",
        "10% of the assistants differ from their files. CPU is the planner's own (reading files, reading the",
        "platform, diffing), per assistant. Peak RSS is the measuring process's, interpreter included. The naive",
        "baseline reads one assistant per request, sequentially, in the same process against the same emulator;",
        "an `*` marks a time extrapolated from its first 1,000 requests.",
        "",
        "| assistants | latency | requests (budget) | wall time | CPU / assistant | peak RSS | naive: requests | naive: read time | speed-up |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in plans:
        star = "*" if r["naive_extrapolated"] else ""
        lines.append(
            f"| {r['assistants']:,} | {r['latency_ms']} ms | {r['requests']} ({r['budget']}) | {r['total']:.2f} s "
            f"| {r['cpu_ms_per_assistant']:.2f} ms | {r['peak_mib']:.0f} MiB | {r['naive_requests']:,} "
            f"| {r['naive_read']:.1f} s{star} | {r['naive_read'] / r['total']:.0f}x |"
        )
    lines += [
        "",
        "## apply against a rate limit",
        "",
        f"{apply['updates']} updates against a limit of {apply['limit']} requests a minute (Laravel's throttle):",
        f"{apply['applied']} applied in {apply['seconds']:.1f} s (read-back included), "
        f"**{apply['share_of_limit']:.2f} of the limit**, **{apply['throttled']} answers 429**, "
        f"{apply['requests']} requests in all, {apply['not_converged']} not converged. "
        "Targets: at least 0.9, at most 3.",
        "",
        "## validate",
        "",
        f"{validate['files']:,} files ({validate['kib']:.0f} KiB): **{validate['cli']:.2f} s** for the whole "
        f"`python -m reconciler validate` (interpreter start-up included), {validate['in_process']:.2f} s in-process. "
        "Target: under 2 s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--soak-seconds", type=float, help="How long the soak runs (default 120, --quick 10)."
    )
    args = parser.parse_args()
    started = time.monotonic()
    sizes = [100, 1000] if args.quick else [100, 1000, 10000]
    validate = child("validate_bench.py", "--files", "1000")[0]
    plans = plan_rows(sizes)
    apply = child("apply_bench.py", "--updates", "60" if args.quick else "300", "--limit", "600")[0]
    soak = soak_section(args.soak_seconds or (10 if args.quick else 120))
    text = report(plans, apply, validate, time.monotonic() - started) + "\n" + "\n".join(soak)
    print(text)
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(text)
    print(f"\n(written to {DOCS.relative_to(BENCH.parent)})")


if __name__ == "__main__":
    main()

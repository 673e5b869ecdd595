"""Benchmark: the whole `plan` CLI from 100 to 50,000 assistants, as a user runs it (issue 19).

Usage: python bench/scale_bench.py [--sizes 100 1000 10000 50000] [--latency-ms 50] [--json]

For each size N: N assistants in an emulator state file and N files of which 10% differ (bench/plan_bench.py's
prepare(), not measured), the emulator in its own process with --latency-ms on every answer, and one
``python -m reconciler plan --dir DIR --api-url URL --detailed-exitcode`` in a subprocess with GLORIA_API_TOKEN
set, interpreter start-up included, its text written to a file. The plan must exit 2 (changes present).

Measured, per size: wall time; the plan process's CPU (user + system) and peak RSS, from os.wait4; requests sent,
counted in the emulator's access log (its list pages and the rest: catalog reads); and the network floor, the
time those requests take at the latency as the CLI sends them (page 1, then the other pages 4 at a time, its
default --parallelism), beside the sequential one (requests x latency). Nothing is kept between runs:
every run prepares its own files and state.

The code under test is the tree PYTHONPATH names first (default: this one), so that ``bench/paired.py
--script-from-this-tree`` can run this script against a commit that does not have it. The emulator, and the
preparation, are always this script's tree: both sides of a pair talk to the same server. Before each plan the
tree under test is byte-compiled (not measured), as after ``pip install``: on machines with
PYTHONDONTWRITEBYTECODE set every run would otherwise also compile every module.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
UNDER_TEST = Path(os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or ROOT).resolve()
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = str(ROOT)  # the emulator's process: this tree's, whatever is under test

from plan_bench import TOKEN, emulator_process, prepare  # noqa: E402

SIZES = [100, 1000, 10000, 50000]
LIST_PATH = "/api/user/assistants/get"
READS_IN_FLIGHT = (
    4  # the CLI's default --parallelism (cli.DEFAULT_PARALLELISM), here too for a base without it
)


def byte_compile(tree: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(tree / "reconciler")],
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def answered(log: Path) -> list[str]:
    """The requests of the access log, "METHOD PATH" each (the lines that end in ``-> STATUS``)."""
    lines = log.read_text().splitlines()
    return [line.split(" ", 1)[1].rsplit(" -> ", 1)[0] for line in lines if " -> " in line]


def run_plan(directory: Path, url: str, out: Path) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of one plan process, and its exit code."""
    environment = {**os.environ, "PYTHONPATH": str(UNDER_TEST), "GLORIA_API_TOKEN": TOKEN}
    environment.pop("GLORIA_API_URL", None)
    command = [sys.executable, "-m", "reconciler", "plan", "--dir", str(directory), "--api-url", url]
    with out.open("wb") as stdout:
        start = time.perf_counter()
        process = subprocess.Popen(
            [*command, "--detailed-exitcode"],
            env=environment,
            cwd=directory.parent,
            stdout=stdout,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, process.returncode


def measure(count: int, latency_ms: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        state, files = prepare(root, count)
        byte_compile(UNDER_TEST)
        log = root / "access.log"
        with log.open("wb") as sink, emulator_process(state, latency_ms, access_log=sink) as url:
            before = len(answered(log))  # the readiness probe's
            wall, cpu, rss_kib, code = run_plan(files, url, root / "plan.txt")
            sent = answered(log)[before:]
        if code != 2:
            raise SystemExit(f"plan exited {code}, not 2:\n{(root / 'plan.txt').read_text()[-2000:]}")
    pages = sum(1 for request in sent if request.split(" ", 1)[1].startswith(LIST_PATH))
    # the CLI reads page 1, then the other pages READS_IN_FLIGHT at a time (its --parallelism default)
    other = len(sent) - pages
    floor = (min(pages, 1) + math.ceil(max(pages - 1, 0) / READS_IN_FLIGHT) + other) * latency_ms / 1e3
    return {
        "assistants": count,
        "latency_ms": latency_ms,
        "tree": str(UNDER_TEST),
        "exit_code": code,
        "wall": wall,
        "cpu": cpu,
        "cpu_ms_per_assistant": cpu / count * 1e3,
        "peak_rss_mib": rss_kib / 1024,
        "rss_kib_per_assistant": rss_kib / count,
        "requests": len(sent),
        "list_requests": pages,
        "other_requests": len(sent) - pages,
        "list_pages_needed": math.ceil(count / 100),
        "floor": floor,
        "sequential_floor": len(sent) * latency_ms / 1e3,
        "wall_over_floor": wall / floor if floor else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="One JSON line per size.")
    args = parser.parse_args()
    if args.json:
        for count in args.sizes:
            print(json.dumps(measure(count, args.latency_ms)), flush=True)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"code under test: {UNDER_TEST}; {args.latency_ms} ms a request; 10% of the files differ\n")
    print("| assistants | wall | CPU | CPU / assistant | peak RSS | RSS / assistant | requests | floor |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for count in args.sizes:
        print(row(measure(count, args.latency_ms)), flush=True)


def row(m: dict[str, Any]) -> str:
    return (
        f"| {m['assistants']:,} | {m['wall']:.2f} s | {m['cpu']:.2f} s | {m['cpu_ms_per_assistant']:.3f} ms "
        f"| {m['peak_rss_mib']:.0f} MiB | {m['rss_kib_per_assistant']:.1f} KiB | {m['requests']} "
        f"({m['list_requests']} + {m['other_requests']}) | {m['floor']:.2f} s |"
    )


if __name__ == "__main__":
    main()

"""The one benchmark command: runs every benchmark on this machine, prints a table, writes docs/benchmarks.md.

Usage: python bench/run.py [--quick] [--base REV]

Each measurement runs in its own process (so peak memory is its own) against an emulator in yet another
process on 127.0.0.1, as the real API would be. The naive baseline (one assistant per request, one request after
the other) runs in the same process as the plan it is compared with, against the same emulator, at the same
moment. Everything stops by itself: the naive baseline sends at most 1,000 requests and extrapolates beyond.
Then a soak (bench/soak.py) for --soak-seconds.
The scaling table (bench/scale_bench.py) runs the whole `plan` CLI, as a user does, at 100; 1,000; 10,000 and
50,000 assistants, one process a size. --base REV adds this tree paired against commit REV: the scaling benchmark
at 1,000 assistants, and each of issue 19's targets (TARGETS: the plan of 10,000 and 50,000, validate of 10,000
files, apply with no limit announced), runs of each tree interleaved (base, this, this, base, ...), min / median /
max. --quick: 100 and 1,000 assistants (scaling and paired at 1,000 only, no targets), 60 updates, a 10 s soak
(about two minutes) instead of the full run (about ten minutes; with --base about fifteen more).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paired import paired

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


SCALE_SIZES = [100, 1000, 10000, 50000]
PAIRED_SIZES = [1000]
PAIRED_RUNS = 3
PAIRED_KEYS = {
    "wall": ("wall", "{:.2f} s"),
    "cpu_ms_per_assistant": ("CPU / assistant", "{:.3f} ms"),
    "peak_rss_mib": ("peak RSS", "{:.0f} MiB"),
    "rss_kib_per_assistant": ("RSS / assistant", "{:.1f} KiB"),
    "requests": ("requests", "{:.0f}"),
}


def scaling_section(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## scaling: the whole plan CLI",
        "",
        "`python bench/scale_bench.py`: `python -m reconciler plan --detailed-exitcode` in a subprocess, as a user runs",
        "it (interpreter start-up included), against the emulator in its own process at 50 ms a request; 10% of the",
        "files differ (exit code 2, checked). CPU (user + system) and peak RSS are the plan process's own (os.wait4).",
        "Requests are counted in the emulator's access log: list pages + everything else (catalog reads). The network",
        "floor is what those requests take at 50 ms as the CLI sends them: page 1, then the other pages 4 at a time",
        "(its default --parallelism).",
        "",
        "| assistants | wall | CPU | CPU / assistant | peak RSS | RSS / assistant | requests (list + other) | network floor | wall / floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['assistants']:,} | {r['wall']:.2f} s | {r['cpu']:.2f} s | {r['cpu_ms_per_assistant']:.3f} ms "
            f"| {r['peak_rss_mib']:.0f} MiB | {r['rss_kib_per_assistant']:.1f} KiB "
            f"| {r['requests']} ({r['list_requests']} + {r['other_requests']}) | {r['floor']:.2f} s "
            f"| {r['wall'] / r['floor']:.1f}x |"
        )
    return [*lines, ""]


def spread(values: list[float], unit: str) -> str:
    return " / ".join(unit.format(v) for v in (min(values), statistics.median(values), max(values)))


def commit_described(base: str) -> str:
    """``abc1234, committed 2026-12-04``: a base named by hash and date, not by a cut-off subject."""
    return subprocess.run(
        ["git", "-C", str(BENCH), "log", "-1", "--format=%h, committed %cs", base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def paired_section(base: str, sizes: list[int]) -> list[str]:
    """This tree against ``base`` in one run: the scaling benchmark, interleaved, min / median / max."""
    args = ["--sizes", *map(str, sizes)]
    old, new = paired(base, "scale_bench.py", args, PAIRED_RUNS, script_from_this_tree=True)
    described = commit_described(base)
    lines = [
        f"## scaling, paired against {base}",
        "",
        f"Base: {described}. The same scaling benchmark (this tree's copy, and this tree's emulator for both),",
        f"{PAIRED_RUNS} runs of each tree, interleaved (base, this, this, base, ...), on the same machine at the same",
        "moments. min / median / max; before -> after compares the medians.",
        "",
        "| assistants | measure | base | this tree | before -> after |",
        "|---:|---|---:|---:|---:|",
    ]
    for line, size in enumerate(sizes):
        for key, (label, unit) in PAIRED_KEYS.items():
            before = [run[line][key] for run in old]
            after = [run[line][key] for run in new]
            middle = (statistics.median(before), statistics.median(after))
            change = f"{unit.format(middle[0])} -> {unit.format(middle[1])} ({middle[1] / middle[0]:.0%})"
            lines.append(
                f"| {size:,} | {label} | {spread(before, unit)} | {spread(after, unit)} | {change} |"
            )
    return [*lines, ""]


#: Issue 19's targets, each measured against --base in the same run: (script, its arguments, runs of each tree,
#: and per figure: (key, what it is, unit, the target)). Every script runs this tree's copy for both trees.
TARGETS: list[tuple[str, list[str], int, list[tuple[str, str, str, str]]]] = [
    (
        "scale_bench.py",
        ["--sizes", "10000"],
        3,
        [
            (
                "cpu_ms_per_assistant",
                "plan of 10,000 (whole CLI, 50 ms a request): CPU per assistant",
                "{:.3f} ms",
                "≤ 0.25 ms",
            ),
            ("wall", "plan of 10,000: wall time", "{:.2f} s", "< 4 s"),
            ("rss_kib_per_assistant", "plan of 10,000: peak RSS per assistant", "{:.1f} KiB", "≤ 10 KiB"),
        ],
    ),
    (
        "scale_bench.py",
        ["--sizes", "50000"],
        1,
        [
            ("peak_rss_mib", "plan of 50,000: peak RSS", "{:.0f} MiB", "< 500 MiB"),
            ("rss_kib_per_assistant", "plan of 50,000: peak RSS per assistant", "{:.1f} KiB", "≤ 10 KiB"),
            ("cpu_ms_per_assistant", "plan of 50,000: CPU per assistant", "{:.3f} ms", "≤ 0.25 ms"),
        ],
    ),
    (
        "validate_bench.py",
        ["--files", "10000", "--repeat", "1"],
        3,
        [("cli", "validate of 10,000 files (whole CLI)", "{:.2f} s", "< 50% of before")],
    ),
    (
        "pacing_bench.py",
        ["--scenarios", "d", "--runs", "1"],
        3,
        [
            (
                "per_second",
                "apply of 300 updates, no limit announced, 50 ms: updates/s",
                "{:.0f}",
                "≥ 3x before",
            ),
            ("throttled", "the same: answers 429", "{:.0f}", "0"),
        ],
    ),
]


def targets_section(base: str) -> list[str]:
    """Each of issue 19's targets, this tree against ``base``, interleaved runs: min / median / max."""
    described = commit_described(base)
    lines = [
        f"## targets, paired against {base}",
        "",
        f"Base: {described}. Each benchmark runs this tree's copy for both trees (each tree's own code on",
        "PYTHONPATH, this tree's emulator for both), the trees interleaved (base, this, this, base, ...) on the same",
        "machine at the same moments. min / median / max; before -> after compares the medians.",
        "",
        "| measure | runs | base | this tree | before -> after | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for script, args, runs, figures in TARGETS:
        old, new = paired(base, script, args, runs, script_from_this_tree=True)
        for key, label, unit, target in figures:
            before, after = [run[-1][key] for run in old], [run[-1][key] for run in new]
            middle = (statistics.median(before), statistics.median(after))
            ratio = f" ({middle[1] / middle[0]:.0%})" if middle[0] else ""
            change = f"{unit.format(middle[0])} -> {unit.format(middle[1])}{ratio}"
            lines.append(
                f"| {label} | {runs} | {spread(before, unit)} | {spread(after, unit)} | {change} | {target} |"
            )
    return [*lines, ""]


def soak_section(seconds: float) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(BENCH / "soak.py"), "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    return ["## soak", "", "`python bench/soak.py`:", "", "```text", *done.stdout.splitlines(), "```", ""]


def report(
    plans: list[dict[str, Any]],
    scaling: list[str],
    apply: dict[str, Any],
    validate: dict[str, Any],
    took: float,
) -> str:
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
    lines += ["", *scaling]
    lines += [
        "## apply against a rate limit",
        "",
        f"{apply['updates']} updates against a limit of 10 requests a second (`bench/pacing_bench.py`, scenario b):",
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
    parser.add_argument("--base", metavar="REV", help="Also pair the scaling benchmark against commit REV.")
    args = parser.parse_args()
    started = time.monotonic()
    sizes = [100, 1000] if args.quick else [100, 1000, 10000]
    validate = child("validate_bench.py", "--files", "1000")[0]
    plans = plan_rows(sizes)
    scale_sizes = SCALE_SIZES[:2] if args.quick else SCALE_SIZES
    scaling = scaling_section(
        [row for size in scale_sizes for row in child("scale_bench.py", "--sizes", str(size))]
    )
    if args.base:
        scaling += paired_section(args.base, PAIRED_SIZES)  # 10,000 and 50,000 are among the targets
        if not args.quick:
            scaling += targets_section(args.base)
    # 10 a second over a 1 s window binds: 600 a minute over 60 s no longer does, since 300 updates take a second
    apply = child(
        "pacing_bench.py", "--scenarios", "b", "--runs", "1", "--updates", "60" if args.quick else "300"
    )[0]
    soak = soak_section(args.soak_seconds or (10 if args.quick else 120))
    text = report(plans, scaling, apply, validate, time.monotonic() - started) + "\n" + "\n".join(soak)
    print(text)
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(text)
    print(f"\n(written to {DOCS.relative_to(BENCH.parent)})")


if __name__ == "__main__":
    main()

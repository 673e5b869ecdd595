"""Benchmark: N assistants sharing three layers validate and plan within 20% of the same assistants written out
flat (issue 16: layers are loaded once, not once per assistant).

Usage: python bench/layers_bench.py [--sizes 2000] [--runs 5] [--json]

For each N: one emulator process holding N assistants (loopback, no added latency, so that the files' share of
the time shows), the files twice — flat (every field in every file, as ``plan_bench``) and layered
(``_defaults.yaml`` plus ``extends: [_common.yaml, _analysis.yaml]``, each file keeping only its own fields) — both
meaning the same, 10% of them differing from the platform. Paired runs, interleaved (layered, flat, layered,
flat...), so that a slower moment of the machine hits both; each run validates (``load_directory``) and plans
(files, one read of the platform, diff). Prints min / median / max of each, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from plan_bench import TOKEN, body, emulator_process, prepare

from reconciler.client import Client
from reconciler.desired import load_directory
from reconciler.secret import Secret
from reconciler.session import Session

LAYERS = {
    "_defaults.yaml": ("type", "language_id", "timezone", "speech_speed"),
    "_common.yaml": ("variables", "tools"),
    "_analysis.yaml": ("post_call_schema",),
}
TARGET = 1.2  # layered within 20% of flat


def drifted(index: int) -> bool:
    return index % 10 == 0


def write_layered(directory: Path, count: int) -> None:
    """The same assistants as ``prepare``'s flat files: the shared fields in three layers, the rest per file."""
    directory.mkdir()
    shared = body(0)
    for name, keys in LAYERS.items():
        (directory / name).write_text(yaml.safe_dump({k: shared[k] for k in keys}, sort_keys=False))
    layered = {k for keys in LAYERS.values() for k in keys}
    for index in range(count):
        data = body(index)
        own: dict[str, object] = {"extends": ["_common.yaml", "_analysis.yaml"]}
        own.update({k: v for k, v in data.items() if k not in layered})
        if drifted(index):
            own["speech_speed"] = 0.9
        (directory / f"a{index:05d}.yaml").write_text(yaml.safe_dump(own, sort_keys=False))


def one_run(files: Path, url: str) -> tuple[float, float, dict[str, int]]:
    """(validate seconds, plan seconds, plan summary) for one directory."""
    start = time.perf_counter()
    load_directory(files, environ={})
    validated = time.perf_counter()
    desired = load_directory(files, environ={})
    with Client(url, TOKEN) as client:
        session = Session(client, Secret(TOKEN), url)
        plan = session.plan_against(desired, session.read())
    return validated - start, time.perf_counter() - validated, dict(plan.summary)


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def measure(count: int, runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        state, flat = prepare(Path(tmp), count, drifted)
        layered = Path(tmp) / "layered.d"
        write_layered(layered, count)
        times: dict[str, dict[str, list[float]]] = {
            kind: {"validate": [], "plan": []} for kind in ("layered", "flat")
        }
        with emulator_process(state, 0) as url:
            for _ in range(runs):
                summaries = []
                for kind, files in (("layered", layered), ("flat", flat)):
                    validate, plan, summary = one_run(files, url)
                    times[kind]["validate"].append(validate)
                    times[kind]["plan"].append(plan)
                    summaries.append(summary)
                assert summaries[0] == summaries[1], summaries  # the two directories mean the same
                assert summaries[0]["update"] == len([i for i in range(count) if drifted(i)]), summaries
    result: dict[str, object] = {"assistants": count, "runs": runs}
    for step in ("validate", "plan"):
        layered_s, flat_s = spread(times["layered"][step]), spread(times["flat"][step])
        result[step] = {
            "layered": layered_s,
            "flat": flat_s,
            "ratio": layered_s["median"] / flat_s["median"],
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000])
    parser.add_argument("--runs", type=int, default=5, help="Paired runs per size (layered, flat, ...).")
    parser.add_argument("--json", action="store_true", help="One JSON line per size.")
    args = parser.parse_args()
    if args.json:
        for count in args.sizes:
            print(json.dumps(measure(count, args.runs)), flush=True)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{args.runs} paired runs, interleaved; emulator on loopback, no added latency\n")
    print("| assistants | step | layered min / median / max | flat min / median / max | layered / flat |")
    print("|---:|---|---:|---:|---:|")
    for count in args.sizes:
        m = measure(count, args.runs)
        for step in ("validate", "plan"):
            row = m[step]
            assert isinstance(row, dict)
            cells = [
                " / ".join(f"{row[kind][k]:.2f}" for k in ("min", "median", "max")) + " s"
                for kind in ("layered", "flat")
            ]
            verdict = "" if row["ratio"] <= TARGET else " (over the 20% target)"
            print(f"| {count:,} | {step} | {cells[0]} | {cells[1]} | {row['ratio']:.2f}{verdict} |")


if __name__ == "__main__":
    main()

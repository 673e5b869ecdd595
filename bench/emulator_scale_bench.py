"""Benchmark: what the emulator itself costs with many assistants stored (issue 19).

Usage: python bench/emulator_scale_bench.py [--sizes 1000 10000 50000] [--updates 500] [--runs 3]
                                            [--compare REV] [--budget-s 20] [--json]

For each size N, a state file holding N assistants is seeded once through the emulator's own store; each run
copies it and serves the copy from an emulator in its own process on 127.0.0.1, then
(a) lists every page of 100, one request after the other on one keep-alive connection, and
(b) sends up to --updates partial updates (PUT), spread over the assistants, for at most --budget-s seconds.
It reports wall time and the emulator process's CPU (user + system, from /proc) for each.
--compare REV also runs the emulator of commit REV (checked out in a temporary `git worktree`) on the same state
file, its runs interleaved with ours, so both are measured on the same machine at the same moment.
Traffic goes to 127.0.0.1 only; every phase stops after its fixed request count or its time budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from emulator_launch import serving  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.emulator.assistants import Assistants  # noqa: E402
from reconciler.emulator.server import open_store  # noqa: E402

TOKEN = "bench-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
PER_PAGE = 100


def body(index: int) -> dict[str, Any]:
    """A valid assistant of each mode in turn, with a little of everything (tools, schema, variables)."""
    mode = ("pipeline", "multimodal", "dualplex")[index % 3]
    data: dict[str, Any] = {
        "name": f"Assistant {index:05d}",
        "type": "outbound",
        "mode": mode,
        "language_id": 1,
        "voice_id": {"pipeline": 101, "multimodal": 201, "dualplex": 301}[mode],
        "timezone": "Europe/Berlin",
        "initial_message": f"Hello from {index}.",
        "system_prompt": f"You are assistant {index}.\nBe brief and kind.",
        "variables": {"company": "Northwind"},
        "tools": [{"type": "end_call", "description": "End the call."}],
        "post_call_schema": [{"name": "happy", "type": "bool", "description": "Caller was happy."}],
    }
    if mode == "pipeline":
        data["llm_model_id"] = 2
    else:
        data["multimodal_model_id"] = 1 if mode == "multimodal" else 3
    return data


def seed(path: Path, count: int) -> None:
    store = open_store(path, "empty")
    with store.transaction():
        rules = Assistants(store.catalog(), [])
        for index in range(count):
            store.insert(rules.create(body(index), store.now()))
    store.close()


def cpu_of(pid: int) -> float:
    """User + system seconds the process has used so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def emulator_process(state: Path, tree: Path) -> Iterator[tuple[str, int]]:
    """The emulator of the source tree ``tree`` in its own process; yields its URL and pid."""
    with serving(state, ["--token", TOKEN], tree=tree, tries=300) as running:
        yield running


def list_all(http: httpx.Client, pid: int, count: int) -> tuple[float, float]:
    cpu, start = cpu_of(pid), time.perf_counter()
    seen: list[int] = []
    page, last = 1, 1
    while page <= last:
        answer = http.get("/user/assistants/get", params={"per_page": PER_PAGE, "page": page}).json()
        assert answer["total"] == count, answer["total"]
        seen += [row["id"] for row in answer["data"]]
        last, page = answer["last_page"], page + 1
    wall, cpu = time.perf_counter() - start, cpu_of(pid) - cpu
    assert len(set(seen)) == count == len(seen), len(seen)
    return wall, cpu


def update_some(
    http: httpx.Client, pid: int, count: int, updates: int, budget: float
) -> tuple[int, float, float]:
    cpu, start = cpu_of(pid), time.perf_counter()
    done = 0
    while done < updates and time.perf_counter() - start < budget:
        target = 1 + (done * 7919) % count  # spread over the whole table (ids are 1..N in a fresh seed)
        answer = http.put(f"/user/assistant/{target}", json={"speech_speed": (0.8, 0.9, 1.0, 1.1)[done % 4]})
        assert answer.status_code == 200, answer.text
        done += 1
    return done, time.perf_counter() - start, cpu_of(pid) - cpu


def measure(seeded: Path, count: int, tree: Path, updates: int, budget: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        state = Path(scratch) / "state.sqlite"
        shutil.copyfile(seeded, state)
        with (
            emulator_process(state, tree) as (url, pid),
            httpx.Client(base_url=url, headers=HEADERS, timeout=120) as http,
        ):
            list_wall, list_cpu = list_all(http, pid, count)
            done, update_wall, update_cpu = update_some(http, pid, count, updates, budget)
    return {
        "list_wall": list_wall,
        "list_cpu": list_cpu,
        "updates": done,
        "updates_per_s": done / update_wall,
        "update_cpu_ms": update_cpu / done * 1e3,
    }


@contextmanager
def tree_of(revision: str | None) -> Iterator[Path]:
    """This source tree, or commit ``revision`` checked out in a temporary worktree (removed afterwards)."""
    if revision is None:
        yield ROOT
        return
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as scratch:
        path = Path(scratch) / "tree"
        git = ["git", "-C", str(ROOT)]
        subprocess.run(
            [*git, "worktree", "add", "--detach", str(path), revision], check=True, capture_output=True
        )
        try:
            yield path
        finally:
            subprocess.run(
                [*git, "worktree", "remove", "--force", str(path)], check=True, capture_output=True
            )


def spread(values: list[float], unit: str, digits: int = 2) -> str:
    """min / median / max, or the one value."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}{unit}"
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:.{digits}f} / {mid:.{digits}f} / {high:.{digits}f}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--budget-s", type=float, default=20.0, help="Time limit of one run's updates.")
    parser.add_argument("--compare", metavar="REV", help="Also run the emulator of this commit, interleaved.")
    parser.add_argument("--json", action="store_true", help="One JSON line per size and source tree.")
    args = parser.parse_args()
    with tree_of(args.compare) as other:
        trees = {"this tree": ROOT, **({args.compare: other} if args.compare else {})}
        if not args.json:
            print(
                f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
            )
            print(f"pages of {PER_PAGE}, one request after the other; up to {args.updates} updates a run")
            print(f"{args.runs} runs each, figures min / median / max\n")
            print(
                "| assistants | emulator | list all: wall | list all: emulator CPU | updates/s | CPU / update |"
            )
            print("|---:|---|---:|---:|---:|---:|")
        for count in args.sizes:
            with tempfile.TemporaryDirectory() as scratch:
                seeded = Path(scratch) / "seeded.sqlite"
                seed(seeded, count)
                runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
                for _ in range(args.runs):
                    for name, tree in trees.items():
                        runs[name].append(measure(seeded, count, tree, args.updates, args.budget_s))
            for name, rows in runs.items():
                column = {key: [row[key] for row in rows] for key in rows[0]}
                if args.json:
                    print(json.dumps({"assistants": count, "emulator": name, **column}), flush=True)
                    continue
                print(
                    f"| {count:,} | {name} | {spread(column['list_wall'], ' s')} | {spread(column['list_cpu'], ' s')} "
                    f"| {spread(column['updates_per_s'], '', 1)} | {spread(column['update_cpu_ms'], ' ms', 1)} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()

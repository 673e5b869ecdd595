"""Benchmark: `reconciler validate` over generated assistant files.

Usage: python bench/validate_bench.py [--files N]

Prints the in-process time of loading and checking N files, and the wall time of the whole CLI
(`python -m reconciler validate`, interpreter start-up included) — the figure a CI job sees.
Target (issue 2): 1,000 files in under 2 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import reconciler
from reconciler.desired import load_directory

MODES = {
    "pipeline": "llm_model_id: 2\ntranscriber_provider_id: 1\nfillers: true\n",
    "multimodal": "multimodal_model_id: 1\nchat_llm_fallback_id: 1\nturn_detection_threshold: 0.5\n",
    "dualplex": "multimodal_model_id: 3\nendpoint_type: ai\n",
}


def assistant(index: int) -> str:
    mode = list(MODES)[index % 3]
    return f"""name: Assistant {index:05d}
type: {"inbound" if index % 2 else "outbound"}
mode: {mode}
{MODES[mode]}language_id: 1
secondary_language_ids: [2, 3]
voice_id: {101 + index % 5}
timezone: Europe/Berlin
initial_message: Hello from assistant {index}, how can I help?
system_prompt: |
  You are assistant number {index}. Be brief and friendly.
  Collect the caller's name and reason for calling, then summarise.
variables:
  company: Northwind
  agent_name: Maya
speech_speed: 1.0
voice_stability: 0.7
llm_temperature: 0.2
max_duration: 600
ringing_time: 30
reengagement_interval: 30
ambient_sound: off
tools:
  - type: end_call
    description: End the call politely.
  - type: call_transfer
    phone_number: "+14155550100"
    description: Transfer to a human.
post_call_schema:
  - name: satisfied
    type: bool
    description: Whether the caller was satisfied.
webhook_url: https://hooks.example.com/{index}
is_webhook_active: true
"""


def generate(directory: Path, count: int) -> None:
    for index in range(count):
        (directory / f"assistant-{index:05d}.yaml").write_text(assistant(index))


def byte_compile() -> None:
    """Compile the package under test (the one ``import reconciler`` found) as ``pip install`` does, not
    measured: with PYTHONDONTWRITEBYTECODE set every CLI run would also compile each module it imports, and
    a fresh checkout (a paired base) pays it where a used one does not."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    package = str(Path(reconciler.__file__).parent)
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], env=environment, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="Print one JSON line instead of the report.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        generate(directory, args.files)
        size = sum(p.stat().st_size for p in directory.iterdir())
        in_process = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            state = load_directory(directory, environ=os.environ)
            in_process.append(time.perf_counter() - start)
        assert len(state.assistants) == args.files
        byte_compile()
        cli = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "reconciler", "validate", "--dir", str(directory)],
                check=True,
                capture_output=True,
            )
            cli.append(time.perf_counter() - start)
    if args.json:
        result = {"files": args.files, "kib": size / 1024, "in_process": statistics.median(in_process)}
        print(json.dumps(result | {"cli": statistics.median(cli)}))
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"files: {args.files} ({size / 1024:.0f} KiB), runs: {args.repeat}")
    print(f"validate in-process: median {statistics.median(in_process):.3f} s, best {min(in_process):.3f} s")
    print(
        f"validate CLI wall:   median {statistics.median(cli):.3f} s, best {min(cli):.3f} s  (target < 2 s)"
    )
    print(f"per file (in-process median): {statistics.median(in_process) / args.files * 1e3:.2f} ms")


if __name__ == "__main__":
    main()

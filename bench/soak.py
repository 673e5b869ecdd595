"""Soak: rounds of random edits to the files and behind the tool's back, each applied under faults.

Usage: python bench/soak.py [--seconds 180] [--seed 1]

Loopback only (an emulator on 127.0.0.1 with 500s, connection resets and a rate limit), bounded by --seconds:
the last round starts before the deadline and the run stops by itself. After every round it asserts that the
apply succeeded, that a fresh plan is empty (every file's values are on the platform: no lost update) and that
no managed assistant exists twice (no duplicate create); then it prints what it did.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from reconciler.cli import main as cli
from reconciler.emulator.server import EmulatorOptions, running_emulator

TOKEN = "soak-token"
FAULTS = {"error_rate": 0.15, "reset_rate": 0.03, "rate_limit": 6000}
VOICES = {"pipeline": 101, "multimodal": 201, "dualplex": 301}


def assistant(name: str, rng: random.Random) -> dict[str, Any]:
    mode = rng.choice(list(VOICES))
    data: dict[str, Any] = {
        "name": name,
        "type": "outbound",
        "mode": mode,
        "language_id": 1,
        "voice_id": VOICES[mode],
        "timezone": "Europe/Berlin",
        "initial_message": f"Hello from {name}.",
        "system_prompt": "You help.\nBe brief.",
        "speech_speed": 1.0,
    }
    data["llm_model_id" if mode == "pipeline" else "multimodal_model_id"] = 2 if mode == "pipeline" else 1
    if mode == "dualplex":
        data["multimodal_model_id"] = 3
    return data


class Soak:
    def __init__(self, url: str, directory: Path, rng: random.Random) -> None:
        self.url = url
        self.directory = directory
        self.rng = rng
        self.counts: Counter[str] = Counter()
        self.serial = 0
        self.http = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
            timeout=10,
        )

    def files(self) -> dict[str, dict[str, Any]]:
        return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(self.directory.glob("*.yaml"))}

    def write(self, key: str, data: dict[str, Any]) -> None:
        (self.directory / f"{key}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    def new_file(self) -> None:
        self.serial += 1
        self.write(f"a{self.serial:04d}", assistant(f"Soak {self.serial:04d}", self.rng))
        self.counts["files added"] += 1

    def edit_files(self) -> None:
        files = self.files()
        for key in self.rng.sample(sorted(files), k=min(len(files), self.rng.randint(1, 5))):
            data = files[key]
            field = self.rng.choice(["speech_speed", "system_prompt", "ringing_time", "variables"])
            data[field] = {
                "speech_speed": round(self.rng.uniform(0.7, 1.2), 2),
                "system_prompt": f"Round {self.counts['rounds']}.\nBe {self.rng.choice(['kind', 'brief'])}.",
                "ringing_time": self.rng.randint(1, 60),
                "variables": {"round": str(self.counts["rounds"])},
            }[field]
            self.write(key, data)
            self.counts["file edits"] += 1
        if self.rng.random() < 0.5:
            self.new_file()

    def remote(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response | None:
        """A write behind the tool's back, through the same faults (retried; a lost answer may still have happened)."""
        for _ in range(20):
            try:
                response = self.http.request(method, path, json=body)
            except httpx.TransportError:
                continue
            if response.status_code < 500 and response.status_code != 429:
                return response
            time.sleep(0.05)
        return None

    def edit_platform(self) -> None:
        items = self.listing()
        managed = [a for a in items if str(a["name"]).startswith("Soak ")]
        for item in self.rng.sample(managed, k=min(len(managed), self.rng.randint(1, 4))):
            body = self.rng.choice(
                [{"speech_speed": 0.75}, {"ringing_time": 59}, {"system_prompt": "Hand edit."}]
            )
            if self.remote("PUT", f"/user/assistant/{item['id']}", body) is not None:
                self.counts["platform edits"] += 1
        if managed and self.rng.random() < 0.3:
            victim = self.rng.choice(managed)
            if self.remote("DELETE", f"/user/assistant/{victim['id']}") is not None:
                self.counts["platform deletes"] += 1
        if self.rng.random() < 0.3:
            self.serial += 1
            body = assistant(f"Hand made {self.serial}", self.rng)
            if self.remote("POST", "/user/assistant", body) is not None:
                self.counts["unmanaged creates"] += 1

    def listing(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self.remote("GET", f"/user/assistants/get?per_page=100&page={page}")
            assert response is not None
            assert response.status_code == 200
            data = response.json()
            items += data["data"]
            if page >= data["last_page"]:
                return items
            page += 1

    def apply(self) -> None:
        code, out = run_cli(
            "apply", "--dir", str(self.directory), "--auto-approve", "--force", "--parallelism", "4"
        )
        assert code == 0, out[-3000:]
        self.counts["applies"] += 1
        self.counts["assistants written"] += sum(out.count(f": {verb}") for verb in ("created", "updated"))

    def check(self) -> None:
        code, out = run_cli("plan", "--dir", str(self.directory), "--format", "json")
        assert code == 0, out[-3000:]
        plan = json.loads(out)
        pending = [c["key"] for c in plan["changes"] if c["action"] != "noop"]
        assert not pending, f"round {self.counts['rounds']}: not converged: {pending}"
        names = Counter(a["name"] for a in self.listing())
        wanted = {data["name"] for data in self.files().values()}
        duplicates = {n: c for n, c in names.items() if n in wanted and c > 1}
        assert not duplicates, f"round {self.counts['rounds']}: duplicates {duplicates}"
        missing = wanted - set(names)
        assert not missing, f"round {self.counts['rounds']}: missing {missing}"


def run_cli(*argv: str) -> tuple[int, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        code = cli(list(argv))
    return code, buffer.getvalue()


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def soak(seconds: float, seed: int = 1) -> dict[str, int]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        options = EmulatorOptions(
            seed="empty", token=TOKEN, fault_seed=seed, state=Path(tmp) / "s.sqlite", **FAULTS
        )
        with running_emulator(options) as url, environment(GLORIA_API_URL=url, GLORIA_API_TOKEN=TOKEN):
            directory = Path(tmp) / "assistants.d"
            directory.mkdir()
            run = Soak(url, directory, rng)
            for _ in range(12):
                run.new_file()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                run.counts["rounds"] += 1
                run.edit_files()
                run.edit_platform()
                run.apply()
                run.check()
            run.counts["assistants at the end"] = len(run.listing())
            return dict(run.counts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    start = time.monotonic()
    counts = soak(args.seconds, args.seed)
    print(f"soak: {time.monotonic() - start:.0f} s, faults {FAULTS}, seed {args.seed}")
    for name, value in counts.items():
        print(f"  {name}: {value}")
    print("every round: apply exit 0, next plan empty, no duplicate, nothing missing")


if __name__ == "__main__":
    main()

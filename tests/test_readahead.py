"""Reading files ahead in a helper process (readahead.py, issue 19): the same reads, problems and messages as
reading them here, whatever becomes of the helper; and a validate through it says what one without it says."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from support import pipeline_file, write_files

from reconciler.cli import validation
from reconciler.desired import load_directory
from reconciler.errors import FilesInvalid
from reconciler.files import Boundary, FileRead, discover, read_file, repository_of
from reconciler.machine import render_validation_json
from reconciler.readahead import BATCH, MIN_FILES, SHARE, reading_ahead

COUNT = 7 * BATCH + 5  # batches 0-4 and 6-7 for the helper, 5 here (SHARE 6); the last one short
ENVIRON = {"SALES_WEBHOOK_SECRET": "s3cr3t-value", "REGION": "eu"}


def texts() -> dict[str, str]:
    """Every kind of file a directory holds: plain, from the environment (whole and partly), layered, broken
    YAML, a schema problem, aliases (the composer's path), other layouts, a name used twice, bytes not UTF-8."""
    files: dict[str, str] = {}
    for index in range(COUNT):
        kind = index % 9
        name = f"Assistant {index:04d}"
        extra = [
            "",
            "webhook_url: https://hooks.example.com/${REGION}/x\nwebhook_secret: ${SALES_WEBHOOK_SECRET}\n",
            "extends: _base.yaml\n",
            "speech_speed: 9\n",
            "variables: &v {a: b}\npost_call_schema: []\n",
            "tools:\n  - type: end_call\n    description: Bye.\n",
            "voice_stability: 0.5\nfillers: true\n",
            "speech_speed: 1.0\nspeech_speed: 1.1\n",
            "initial_message: ${MISSING_NAME}\n",
        ][kind]
        files[f"a{index:04d}"] = pipeline_file("Assistant 0001" if index == 500 else name, extra)
    return files


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ahead")
    found = write_files(root / "assistants.d", texts())
    (found / "_base.yaml").write_text("voice_stability: 0.6\n")
    (found / "a0100.yaml").write_bytes(b"name: caf\xe9\n")
    return found


def paths_of(directory: Path) -> list[Path]:
    paths, problems = discover(directory)
    assert problems == []
    return paths


def reader(directory: Path) -> Any:
    return partial(read_file, environ=ENVIRON, boundary=Boundary(repository_of(directory)))


def comparable(read: FileRead | list[Any]) -> Any:
    if isinstance(read, list):
        return read
    parsed = read.parsed
    return (
        read.file,
        read.digest,
        repr(parsed.data),  # types too: 1 and 1.0 are equal, not the same value
        list(parsed.lines.items()),
        parsed.secret_paths,
        dict(parsed.masks),
        dict(parsed.secrets),
        parsed.placeholders,
        parsed.problems,
    )


def helper_batches(count: int) -> int:
    """Files in the batches the helper reads."""
    return sum(
        len(range(start, min(start + BATCH, count)))
        for start in range(0, count, BATCH)
        if start // BATCH % SHARE != SHARE - 1
    )


def read_all(paths: list[Path], read: Any) -> tuple[list[Any], int]:
    with reading_ahead(paths, read) as ahead:
        reads = [comparable(ahead(path)) for path in paths]
    return reads, ahead.from_helper


# Each check runs in an interpreter of its own (``in_a_fresh_interpreter``): the helper is only started by a
# process with no other thread, and the test process has the daemon threads of earlier tests' servers, with
# which every check here would silently test the fallback instead.


def check_every_read_from_the_helper_is_the_read_made_here(directory: Path) -> None:
    paths = paths_of(directory)
    here = [comparable(reader(directory)(path)) for path in paths]
    reads, from_helper = read_all(paths, reader(directory))
    assert from_helper == helper_batches(len(paths)) == 6 * BATCH + 5
    assert reads == here
    assert any(isinstance(read, list) for read in here)  # problems crossed too
    assert any(read[6] for read in here if isinstance(read, tuple))  # and values from the environment


def check_a_helper_that_dies_half_way_leaves_the_rest_to_be_read_here(directory: Path) -> None:
    paths = paths_of(directory)
    parent = os.getpid()
    read = reader(directory)

    def dying(path: Path) -> Any:
        if os.getpid() != parent and path == paths[BATCH + 10]:
            os._exit(3)  # in the helper, in the middle of its second batch
        return read(path)

    reads, from_helper = read_all(paths, dying)
    assert from_helper == BATCH  # its first batch arrived; nothing after it
    assert reads == [comparable(read(path)) for path in paths]


def check_paths_asked_out_of_order_are_read_here(directory: Path) -> None:
    paths = paths_of(directory)
    read = reader(directory)
    with reading_ahead(paths, read) as ahead:
        first = comparable(ahead(paths[0]))
        skipped = comparable(ahead(paths[2]))
        rest = [comparable(ahead(path)) for path in paths[3:]]
    assert ahead.from_helper == 1
    assert [first, skipped, *rest] == [comparable(read(p)) for p in [paths[0], *paths[2:]]]


def check_no_helper_while_another_thread_runs_nor_for_a_few_files(directory: Path) -> None:
    paths = paths_of(directory)
    read = reader(directory)
    assert read_all(paths, read)[1] > 0
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert read_all(paths, read)[1] == 0
    finally:
        stop.set()
        other.join()
    assert read_all(paths[: MIN_FILES - 1], read)[1] == 0
    assert read_all(paths[:MIN_FILES], read)[1] > 0


def check_load_directory_gives_the_same_problems_in_the_same_order_with_the_helper(directory: Path) -> None:
    def problems(read_ahead: bool) -> list[str]:
        try:
            load_directory(directory, environ=ENVIRON, read_ahead=read_ahead)
        except FilesInvalid as invalid:
            return [str(p) for p in invalid.problems]
        raise AssertionError("the directory is invalid")

    found = problems(False)
    assert problems(True) == found
    assert len(found) > 3 * COUNT // 9  # the schema problems, the duplicate keys, the missing names...
    assert "s3cr3t-value" not in "\n".join(found)


@pytest.mark.parametrize(
    "check",
    [
        check_every_read_from_the_helper_is_the_read_made_here,
        check_a_helper_that_dies_half_way_leaves_the_rest_to_be_read_here,
        check_paths_asked_out_of_order_are_read_here,
        check_no_helper_while_another_thread_runs_nor_for_a_few_files,
        check_load_directory_gives_the_same_problems_in_the_same_order_with_the_helper,
    ],
    ids=lambda check: check.__name__.removeprefix("check_"),
)
def test_in_a_fresh_interpreter(directory: Path, check: Any) -> None:
    code = f"import sys, pathlib, {__name__} as t; t.{check.__name__}(pathlib.Path(sys.argv[1]))"
    tests = str(Path(__file__).parent)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code, str(directory)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_validate_through_the_cli_says_what_it_says_without_the_helper(
    directory: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real command in a process of its own (no other thread: the helper runs), against the same
    validation in this process with the helper turned off."""
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "--dir", str(directory), "--format", fmt],
        capture_output=True,
        text=True,
        cwd=directory.parent,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    if fmt == "json":
        expected = io.StringIO()
        render_validation_json(validation([directory], no_env=False, read_ahead=False), expected)
        assert done.stdout == expected.getvalue()
        return
    with pytest.raises(FilesInvalid) as invalid:
        load_directory(directory, environ=dict(os.environ), read_ahead=False)
    assert done.stderr.splitlines() == [*map(str, invalid.value.problems), f"error: {invalid.value}"]
    assert done.stdout == ""


def processes_reading(directory: Path) -> list[int]:
    """Processes whose command line names ``directory``: a helper outliving its run would be one."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(directory).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("group", [True, False], ids=["ctrl-c-to-both", "signal-to-the-run-alone"])
def test_ctrl_c_mid_validate_ends_both_processes_as_any_interrupt(tmp_path: Path, group: bool) -> None:
    """A terminal's Ctrl-C reaches the helper too; a signal to the run alone leaves the helper to find the
    pipe closed at its next batch. Either way: exit 130, the one line, no traceback, no process left."""
    big = write_files(tmp_path / "big", {f"a{i:05d}": pipeline_file(f"A {i}") for i in range(12_000)})
    run = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "validate", "--dir", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(0.6)  # past the imports (about 0.2 s), into the files (over a second of them)
    if group:
        os.killpg(run.pid, signal.SIGINT)
    else:
        run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=30)
    assert (run.returncode, out, err) == (130, "", "\ninterrupted\n")
    deadline = time.monotonic() + 5
    while processes_reading(big) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_reading(big) == []

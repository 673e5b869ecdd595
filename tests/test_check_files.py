"""Files checked in batches, stage by stage (``desired.check_files``, issue 19): each file gets exactly what it
gets checked alone, whatever files share its batch, and ``load_directory`` reports what it reported file by file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import pipeline_file, write_files

from reconciler.desired import BATCH, Checked, check_file, check_files, layer_loader, load_directory
from reconciler.errors import FilesInvalid, Problem
from reconciler.files import FileRead, discover, read_file, read_files

ENVIRON = {"REGION": "eu"}

#: One of each way a file ends, in an order that puts files with layers and broken files between the ones
#: the model validates: a batch must hand each file its own validation, not its neighbour's.
KINDS = [
    "",  # valid
    "extends: _base.yaml\n",  # layered, valid
    "speech_speed: 9\n",  # the model refuses it
    "webhook_url: https://hooks.example.com/${REGION}/x\n",  # from the environment
    "is_webhook_active: true\n",  # a rule refuses it (no webhook_url)
    "extends: _missing.yaml\n",  # layered, its layer missing
    "speech_speed: 1.0\nspeech_speed: 1.1\n",  # YAML: a duplicate key
    "webhook_url: ${MISSING_URL}\n",  # unset: refused, but with no environment only its format is unknown
    "is_webhook_active: true\nspeech_speed: 9\n",  # a rule and the model both
    "voice_stability: [1\n",  # not YAML at all
]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = {
        f"a{i:03d}": pipeline_file(f"Assistant {i:03d}", KINDS[i % len(KINDS)]) for i in range(BATCH + 9)
    }
    found = write_files(tmp_path_factory.mktemp("batches") / "assistants.d", files)
    (found / "_base.yaml").write_text("voice_stability: 0.6\n")
    return found


def comparable(checked: Checked) -> Any:
    assistant, problems = checked
    if assistant is None:
        return None, problems
    values = repr(dict(assistant.values))  # types too: 1 and 1.0 are equal, not the same value
    return (assistant.key, assistant.id, assistant.name, values, assistant.source.origins), problems


@pytest.mark.parametrize("environ", [ENVIRON, None], ids=["environment", "no-env"])
def test_a_batch_gives_each_file_what_it_gets_alone(directory: Path, environ: dict[str, str] | None) -> None:
    paths = discover(directory)[0]
    alone_loader = layer_loader(directory, environ=environ)
    alone = [check_file(path, environ=environ, layers=alone_loader) for path in paths]
    batch_loader = layer_loader(directory, environ=environ)
    batch = check_files(paths, [None] * len(paths), environ=environ, layers=batch_loader)
    assert [comparable(c) for c in batch] == [comparable(c) for c in alone]
    assert batch_loader.problems == alone_loader.problems
    # every kind ends as it should, so that the comparison above covers each of them
    outcomes = [(a is not None, bool(p)) for a, p in batch[: len(KINDS)]]
    valid_with_env = [True, True, False, True, False, False, False, environ is None, False, False]
    assert outcomes == [(ok, not ok) for ok in valid_with_env]


def test_the_directory_reports_every_file_in_order_across_batches(directory: Path) -> None:
    paths = discover(directory)[0]
    loader = layer_loader(directory, environ=ENVIRON)
    one_by_one = [p for path in paths for p in check_file(path, environ=ENVIRON, layers=loader)[1]]
    with pytest.raises(FilesInvalid) as raised:
        load_directory(directory, environ=ENVIRON)
    assert raised.value.problems[: len(one_by_one)] == one_by_one
    assert raised.value.problems[len(one_by_one) :] == loader.problems  # the missing layer, once


def test_reading_a_batch_gives_each_file_what_reading_it_alone_gives(tmp_path: Path) -> None:
    """``read_files`` reads every file's bytes, then parses them all: each file ends as ``read_file`` ends it,
    read and parsed or refused, a directory, a link to nowhere and bytes that are not UTF-8 among them."""
    files = {f"a{i:03d}": pipeline_file(f"Assistant {i:03d}", KINDS[i % len(KINDS)]) for i in range(BATCH)}
    found = write_files(tmp_path / "assistants.d", files)
    (found / "b-directory.yaml").mkdir()
    (found / "b-dangling.yaml").symlink_to(found / "missing.yaml")
    (found / "b-latin1.yaml").write_bytes(b"name: caf\xe9\n")
    paths = discover(found)[0]
    boundary = layer_loader(found, environ=ENVIRON).boundary
    batch = read_files(paths, environ=ENVIRON, boundary=boundary)
    alone = [read_file(path, environ=ENVIRON, boundary=boundary) for path in paths]
    assert [read_comparable(r) for r in batch] == [read_comparable(r) for r in alone]
    refused = [r[0].message for r in batch if isinstance(r, list)]
    assert "is a directory, not an assistant file" in refused
    assert "cannot read the file: No such file or directory" in refused


def read_comparable(read: FileRead | list[Problem]) -> Any:
    if isinstance(read, list):
        return read
    parsed = read.parsed
    return read.file, read.digest, repr(parsed.data), dict(parsed.lines), parsed.problems, parsed.secrets

"""Hostile files: symbolic links that lead out of the repository, the way a pull request can commit them.

``export`` must never write outside its directory: a link at a file's name (dangling or not) is refused without
``--force`` and replaced itself, never followed, with it. ``validate`` and ``plan`` must never read a file that
resolves outside the repository (the git work tree of the directory, or the current directory outside git), so
that nothing of it can reach a message, a plan or a pull-request comment. Links that stay inside keep working.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support import PIPELINE, emulator, run

#: In every file outside the repository: it must never appear in any output.
CANARY = "OUTSIDE-CANARY-93f1"
OUTSIDE_TEXT = (
    "name: Outside\ntype: outbound\nmode: pipeline\nlanguage_id: 1\nvoice_id: 101\nllm_model_id: 2\n"
    "timezone: Europe/Berlin\ninitial_message: Hello.\nsystem_prompt: Help.\n"
    f"endpoint_type: {CANARY}\n"  # invalid: a file that is read gets this value quoted back in its problem
)
DEMO_FILES = ["legacy-survey.yaml", "sales-assistant.yaml", "support-line.yaml"]


def _valid_text(name: str) -> str:
    return "".join(f"{key}: {value}\n" for key, value in {**PIPELINE, "name": name}.items())


def _git_repository(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def _link_to_a_precious_file(directory: Path, tmp_path: Path) -> tuple[Path, bytes]:
    """``sales-assistant.yaml`` in ``directory`` made a link to an existing file outside: (its path, its bytes)."""
    target = tmp_path / "outside" / "precious.conf"
    precious = b"do not overwrite me\x00\xff\n"
    target.write_bytes(precious)
    _link(directory / "sales-assistant.yaml", target)
    return target, precious


def _link(name: Path, target: Path | str) -> None:
    try:
        name.symlink_to(target)
    except (OSError, NotImplementedError) as exc:
        pytest.skip(f"symlinks are not supported here: {exc}")


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A git work tree with an ``assistants.d/`` in it; ``tmp_path/outside`` is beyond it."""
    repo = _git_repository(tmp_path / "repo")
    (repo / "assistants.d").mkdir()
    (tmp_path / "outside").mkdir()
    return repo


# ---- export ------------------------------------------------------------------------------------------------


def test_export_refuses_a_dangling_link_and_creates_nothing_outside(
    repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repository / "assistants.d"
    target = tmp_path / "outside" / "new"
    _link(directory / "sales-assistant.yaml", target)

    with emulator(monkeypatch, seed="demo"):
        code, out, err = run(capsys, "export", "--all", "--dir", str(directory))

    assert (code, out) == (1, "")
    assert err == (
        f"error: {directory}/sales-assistant.yaml is a symbolic link to {target}; nothing was written. "
        "Use --force to replace the link itself (its target is never written)\n"
    )
    assert not os.path.lexists(target)
    assert os.readlink(directory / "sales-assistant.yaml") == str(target)
    assert sorted(p.name for p in directory.iterdir()) == ["sales-assistant.yaml"]


def test_export_force_replaces_a_dangling_link_with_a_file_and_creates_nothing_outside(
    repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repository / "assistants.d"
    target = tmp_path / "outside" / "new"
    _link(directory / "sales-assistant.yaml", target)

    with emulator(monkeypatch, seed="demo"):
        code, out, err = run(capsys, "export", "--all", "--dir", str(directory), "--force")

    assert (code, err) == (0, "")
    assert out.startswith(f"Exported 3 assistants to {directory}/\n")
    assert not os.path.lexists(target)
    assert list((tmp_path / "outside").iterdir()) == []
    written = directory / "sales-assistant.yaml"
    assert not written.is_symlink()
    assert written.is_file()
    assert written.read_text().startswith(
        "# yaml-language-server: $schema=../schema/assistant.schema.json\n# Exported by `reconciler export`."
    )
    assert sorted(p.name for p in directory.iterdir()) == DEMO_FILES  # no staged file left behind


def test_export_refuses_a_link_to_an_existing_file_outside_and_leaves_it_untouched(
    repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repository / "assistants.d"
    target, precious = _link_to_a_precious_file(directory, tmp_path)

    with emulator(monkeypatch, seed="demo"):
        code, out, err = run(capsys, "export", "--all", "--dir", str(directory))

    assert (code, out) == (1, "")
    assert err == (
        f"error: {directory}/sales-assistant.yaml is a symbolic link to {target}; nothing was written. "
        "Use --force to replace the link itself (its target is never written)\n"
    )
    assert target.read_bytes() == precious
    assert sorted(p.name for p in directory.iterdir()) == ["sales-assistant.yaml"]


def test_export_force_replaces_a_link_to_an_existing_file_outside_not_the_file(
    repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repository / "assistants.d"
    target, precious = _link_to_a_precious_file(directory, tmp_path)

    with emulator(monkeypatch, seed="demo"):
        code, _, err = run(capsys, "export", "--all", "--dir", str(directory), "--force")

    assert (code, err) == (0, "")
    assert target.read_bytes() == precious
    written = directory / "sales-assistant.yaml"
    assert not written.is_symlink()
    assert "\nname: Sales Assistant\n" in written.read_text()
    assert sorted(p.name for p in directory.iterdir()) == DEMO_FILES


def test_export_refuses_every_link_at_a_files_name_even_one_inside_the_repository(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repository / "assistants.d"
    (repository / "shared").mkdir()
    kept = repository / "shared" / "support.yaml"
    kept.write_text("name: mine\n")
    _link(directory / "support-line.yml", kept)
    _link(directory / "sales-assistant.yaml", repository / "shared" / "missing.yaml")

    with emulator(monkeypatch, seed="demo"):
        code, _, err = run(capsys, "export", "--all", "--dir", str(directory))
        assert code == 1
        assert err == (
            f"error: {directory}/sales-assistant.yaml is a symbolic link to {repository}/shared/missing.yaml "
            "(and 1 more link); nothing was written. "
            "Use --force to replace the link itself (its target is never written)\n"
        )
        assert run(capsys, "export", "--all", "--dir", str(directory), "--force")[0] == 0

    assert kept.read_text() == "name: mine\n"  # the .yml link was removed, not its target
    assert not (repository / "shared" / "missing.yaml").exists()
    assert sorted(p.name for p in directory.iterdir()) == DEMO_FILES
    assert not any(p.is_symlink() for p in directory.iterdir())


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_export_refuses_a_directory_that_is_a_link_out_of_the_repository(
    force: list[str],
    repository: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    elsewhere = tmp_path / "outside"
    _link(repository / "exported", elsewhere)

    with emulator(monkeypatch, seed="demo") as api:
        code, out, err = run(capsys, "export", "--all", "--dir", str(repository / "exported"), *force)
        assert api.journal() == []

    assert (code, out) == (1, "")
    assert err == (
        f"error: --dir {repository}/exported resolves to {elsewhere}, outside the repository {repository}; "
        "nothing was written\n"
    )
    assert list(elsewhere.iterdir()) == []


def test_export_into_a_link_that_stays_inside_the_repository_works(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (repository / "real").mkdir()
    _link(repository / "exported", repository / "real")

    with emulator(monkeypatch, seed="demo"):
        code, _, err = run(capsys, "export", "--all", "--dir", str(repository / "exported"))

    assert (code, err) == (0, "")
    assert sorted(p.name for p in (repository / "real").iterdir()) == DEMO_FILES


# ---- validate and plan -------------------------------------------------------------------------------------


def test_validate_refuses_a_link_to_a_file_outside_the_git_repository_without_reading_it(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repository / "assistants.d"
    target = tmp_path / "outside" / "secret.yaml"
    target.write_text(OUTSIDE_TEXT)
    _link(directory / "leak.yaml", target)

    code, out, err = run(capsys, "validate", "--dir", str(directory))

    assert (code, out) == (1, "")
    assert err == (
        f"{directory}/leak.yaml:1: resolves to {target}, outside the repository {repository}; "
        "refusing to read it\n"
        "error: 1 problem in 1 file\n"
    )
    assert CANARY not in out + err


def test_plan_refuses_a_link_to_a_file_outside_and_sends_nothing(
    repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repository / "assistants.d"
    target = tmp_path / "outside" / "secret.yaml"
    target.write_text(OUTSIDE_TEXT)
    (directory / "ok.yaml").write_text(_valid_text("Ok"))
    _link(directory / "leak.yaml", target)

    with emulator(monkeypatch) as api:
        code, out, err = run(capsys, "plan", "--dir", str(directory), "--format", "json")
        assert api.journal() == []

    assert (code, out) == (1, "")
    assert err == (
        f"{directory}/leak.yaml:1: resolves to {target}, outside the repository {repository}; "
        "refusing to read it\n"
        "error: 1 problem in 1 of 2 files\n"
    )
    assert CANARY not in out + err


def test_a_link_that_goes_out_and_back_through_another_link_is_judged_by_where_it_ends(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A link into the repository through a path outside it ends inside: accepted (only the end matters)."""
    directory = repository / "assistants.d"
    (repository / "shared").mkdir()
    (repository / "shared" / "a.yaml").write_text(_valid_text("A"))
    _link(tmp_path / "outside" / "hop", repository / "shared")
    _link(directory / "a.yaml", tmp_path / "outside" / "hop" / "a.yaml")

    assert run(capsys, "validate", "--dir", str(directory)) == (
        0,
        f"{directory}: 1 assistant file valid\n",
        "",
    )


def test_plan_follows_a_link_that_stays_inside_the_repository(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = repository / "assistants.d"
    (repository / "shared").mkdir()
    (repository / "shared" / "base.yaml").write_text(_valid_text("Linked Inside"))
    _link(directory / "linked.yaml", Path("..") / "shared" / "base.yaml")

    with emulator(monkeypatch):
        code, out, err = run(capsys, "plan", "--dir", str(directory))

    assert (code, err) == (0, "")
    assert '  + create linked "Linked Inside"' in out
    assert out.endswith("Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged.\n")


def test_validate_refuses_an_assistants_directory_that_links_out_of_the_repository(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "outside"
    (elsewhere / "secret.yaml").write_text(OUTSIDE_TEXT)
    _link(repository / "linked.d", elsewhere)

    code, out, err = run(capsys, "validate", "--dir", str(repository / "linked.d"))

    assert (code, out) == (1, "")
    assert err == (
        f"error: assistants directory {repository}/linked.d resolves to {elsewhere}, outside the repository "
        f"{repository}; refusing to use it\n"
    )
    assert CANARY not in err


def test_outside_git_the_current_directory_is_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    (work / "assistants.d").mkdir(parents=True)
    (work / "shared").mkdir()
    (work / "shared" / "inside.yaml").write_text(_valid_text("Inside"))
    (tmp_path / "secret.yaml").write_text(OUTSIDE_TEXT)
    _link(work / "assistants.d" / "inside.yaml", work / "shared" / "inside.yaml")
    _link(work / "assistants.d" / "leak.yaml", tmp_path / "secret.yaml")
    monkeypatch.chdir(work)

    code, out, err = run(capsys, "validate", "--dir", "assistants.d")

    assert (code, out) == (1, "")
    assert err == (
        f"assistants.d/leak.yaml:1: resolves to {tmp_path}/secret.yaml, outside the repository {work}; "
        "refusing to read it\n"
        "error: 1 problem in 1 of 2 files\n"
    )
    assert CANARY not in err
    (work / "assistants.d" / "leak.yaml").unlink()
    assert run(capsys, "validate", "--dir", "assistants.d") == (
        0,
        "assistants.d: 1 assistant file valid\n",
        "",
    )


def test_a_directory_linked_to_another_git_work_tree_is_outside_the_repository(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ``.git`` the link leads to does not count: the repository is the one the link sits in."""
    other = _git_repository(tmp_path / "other")
    (other / "secret.yaml").write_text(OUTSIDE_TEXT)
    _link(repository / "linked.d", other)

    code, out, err = run(capsys, "validate", "--dir", str(repository / "linked.d"))

    assert (code, out) == (1, "")
    assert err == (
        f"error: assistants directory {repository}/linked.d resolves to {other}, outside the repository "
        f"{repository}; refusing to use it\n"
    )


def test_export_refuses_a_new_directory_below_a_dangling_link_out_of_the_repository(
    repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "outside" / "missing"
    _link(repository / "out", missing)

    with emulator(monkeypatch, seed="demo"):
        code, out, err = run(capsys, "export", "--all", "--dir", str(repository / "out" / "assistants.d"))

    assert (code, out) == (1, "")
    assert err == (
        f"error: --dir {repository}/out/assistants.d resolves to {missing}/assistants.d, outside the repository "
        f"{repository}; nothing was written\n"
    )
    assert not os.path.lexists(missing)

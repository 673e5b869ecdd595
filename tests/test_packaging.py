"""What a user installs: the wheel (licence, one version, metadata) and the locked dependencies CI installs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from reconciler import __version__
from reconciler.cli import main

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = ROOT / "requirements"


def declared(group: str) -> list[Requirement]:
    """pyproject.toml's dependencies (group "dependencies") or one of its extras."""
    project = PYPROJECT["project"]
    found = project["dependencies"] if group == "dependencies" else project["optional-dependencies"][group]
    return [Requirement(r) for r in found]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """A lock as {name: (version, hashes)}; a requirement may continue over `\\` lines."""
    entries: dict[str, tuple[str, list[str]]] = {}
    text = re.sub(r"\\\n", " ", lock.read_text())
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        name, _, version = words[0].partition("==")
        assert version, f"{lock.name}: {words[0]} is not pinned with =="
        hashes = [w.removeprefix("--hash=sha256:") for w in words[1:] if w.startswith("--hash=sha256:")]
        entries[canonical(name.split("[")[0])] = (version.split(";")[0], hashes)
    return entries


# --- the wheel --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel built from a copy of the sources (the build writes next to them), offline."""
    scratch = tmp_path_factory.mktemp("wheel")
    source = scratch / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".git", "tests", "bench", "docs", "build", "*.egg-info", ".*cache*"),
    )
    out = scratch / "out"
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index"]
    command += ["--no-build-isolation", "--wheel-dir", str(out), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("*.whl")
    return zipfile.ZipFile(built)


def metadata(wheel: zipfile.ZipFile) -> Any:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode())


def test_wheel_ships_the_mit_licence_text(wheel: zipfile.ZipFile) -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License\n\nCopyright (c) ")
    assert "the reconciler authors" in licence.splitlines()[2]
    assert wheel.read(f"reconciler-{__version__}.dist-info/licenses/LICENSE").decode() == licence
    meta = metadata(wheel)
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["License"] is None  # the deprecated table form is gone
    assert not [
        c for c in meta.get_all("Classifier") if c.startswith("License ::")
    ]  # PEP 639: the expression


def test_version_is_written_once_and_reaches_the_wheel_and_the_cli(
    wheel: zipfile.ZipFile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "reconciler.__version__"}
    assert Path(wheel.filename or "").name == f"reconciler-{__version__}-py3-none-any.whl"
    assert metadata(wheel)["Version"] == __version__
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"reconciler, version {__version__}\n"


def test_wheel_metadata_has_classifiers_and_project_urls(wheel: zipfile.ZipFile) -> None:
    meta = metadata(wheel)
    classifiers = meta.get_all("Classifier")
    pythons = [
        c.rsplit(" ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    assert pythons == ci["jobs"]["test"]["strategy"]["matrix"]["python"]  # what CI tests is what we claim
    assert meta["Requires-Python"] == f">={pythons[0]}"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert set(urls) == {"Homepage", "Documentation", "Issues"}
    assert all(u.startswith("https://github.com/gloriagent/reconciler") for u in urls.values())


# --- the locked dependencies ------------------------------------------------------------------------------------


def test_runtime_dependencies_have_an_upper_bound() -> None:
    for requirement in map(Requirement, PYPROJECT["project"]["dependencies"]):
        if requirement.name == "tzdata":
            continue  # the time zone database: each year's release only adds data
        assert any(s.operator in {"<", "<=", "~=", "=="} for s in requirement.specifier), requirement


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    pins = locked(LOCKS / "test.txt")
    for requirement in declared("dependencies") + declared("test") + declared("lock"):
        assert canonical(requirement.name) in pins, f"{requirement.name} is not locked: run scripts/lock"
        version, _ = pins[canonical(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), f"{requirement}: locked {version}"
    for name, (version, hashes) in pins.items():
        assert hashes, f"{name}=={version} has no hash"


def test_the_action_installs_the_same_versions_and_only_what_it_needs() -> None:
    pins, action = locked(LOCKS / "test.txt"), locked(LOCKS / "action.txt")
    needed = {canonical(r.name) for r in declared("dependencies")}
    build = {canonical(Requirement(r).name) for r in PYPROJECT["build-system"]["requires"]}
    assert needed | build <= set(action)
    tools = {canonical(r.name) for r in declared("test") + declared("lock")} - needed - build
    assert not tools & set(action), "the production apply installs no test tool"
    for name, pin in action.items():
        assert pin[0] == pins[name][0], f"{name}: {pin[0]} for the action, {pins[name][0]} for CI"
        assert pin[1], f"{name} has no hash"
        assert set(pin[1]) <= set(pins[name][1]), name


def test_every_install_uses_the_lock() -> None:
    install = "pip install --require-hashes -r requirements/test.txt && pip install --no-deps --no-build-isolation -e ."
    readme = (ROOT / "README.md").read_text()
    assert f"python3 -m venv .venv && . .venv/bin/activate && {install} && pytest\n" in readme
    assert (
        f"\n{install} && pytest\n" in (ROOT / ".ci" / "run").read_text()
    )  # the README's test command exactly
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    assert [step.get("run") for step in ci["jobs"]["test"]["steps"]][2] == install
    action = yaml.safe_load((ROOT / ".github" / "actions" / "reconciler" / "action.yml").read_text())
    (step,) = [s for s in action["runs"]["steps"] if s.get("name") == "Install the reconciler"]
    assert step["run"].splitlines() == [
        'python -m pip install --quiet --require-hashes -r "$GITHUB_ACTION_PATH/../../../requirements/action.txt"',
        'python -m pip install --quiet --no-deps --no-build-isolation "$GITHUB_ACTION_PATH/../../.."',
    ]


def test_scripts_lock_writes_both_locks_from_pyproject() -> None:
    script = (ROOT / "scripts" / "lock").read_text()
    assert "uv pip compile pyproject.toml --extra test --extra lock" in script
    assert "--generate-hashes" in script
    assert "--output-file requirements/test.txt" in script
    assert "--constraint requirements/test.txt" in script
    assert "--output-file requirements/action.txt" in script
    for lock in ("test.txt", "action.txt"):
        header = (LOCKS / lock).read_text().splitlines()[:2]
        assert header == [
            "# This file was autogenerated by uv via the following command:",
            "#    scripts/lock",
        ]
    assert "`scripts/lock`" in (ROOT / "README.md").read_text()

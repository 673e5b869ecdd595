"""Fixtures every test gets."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_lock_directory(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apply takes its lock under $XDG_CACHE_HOME: in tests, a directory of the test's, never the user's cache."""
    cache: Path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own directory as the working directory: files are written and shown relative to it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(params=["libyaml", "pure"])
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with libyaml's reader and parser, then with PyYAML's own (a PyYAML built without libyaml)."""
    from reconciler import yamlfile

    name: str = request.param
    if name not in yamlfile.LOADERS:
        pytest.skip("this PyYAML has no libyaml")
    monkeypatch.setattr(yamlfile, "LOADER", yamlfile.LOADERS[name])
    return name

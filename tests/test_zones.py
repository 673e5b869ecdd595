"""``zones.is_available_zone`` answers as ``zoneinfo.available_timezones()`` does, name by name: for every zone of
this machine, for names the list leaves out, and in a time zone tree made to hold every case its walk treats
apart (a linked directory, a linked or broken file, a file that is no zone, ``right/`` and ``posix/`` at the top
and below it, ``posixrules``, names differing in case)."""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.zones import is_available_zone

ZONE = b"TZif2" + bytes(40)  # the magic the list looks for; nothing else of the file is read


@pytest.fixture
def tzpath(tmp_path: Path) -> Iterator[Path]:
    """A made-up time zone tree as the first TZPATH root, its names none of the tzdata package's (which the list
    reads first), then a root whose top holds files named like the directories the walk skips, a root that is a
    link to a directory, one that is a file, and one that is missing."""
    root, other, linked = tmp_path / "zoneinfo", tmp_path / "other", tmp_path / "linked"
    for name in ["Hyperborea", "Atlantis/Thera", "Atlantis/Poseidonia", "Lemuria/South/Mu", "posixrules"]:
        _zone(root / name)
    for name in ["right/Hyperborea", "posix/Atlantis/Thera", "Asia/right/Tokyo", "Asia/posix/Seoul"]:
        _zone(root / name)
    (root / "zone.tab").write_text("# not a zone\n")
    (root / "Empty").mkdir()
    (root / "Etc").mkdir()
    os.symlink(root / "Atlantis", root / "Linked")  # a linked directory: the walk lists it, never enters it
    os.symlink(root / "Hyperborea", root / "Etc" / "Own_Hyperborea")  # a linked file is a file
    os.symlink(root / "Nowhere", root / "Etc" / "Broken")
    os.symlink(root / "Empty", root / "Etc" / "Directory")  # a link to a directory is no file
    _zone(other / "right")
    _zone(other / "posix")
    _zone(other / "Only/Here")
    _zone(tmp_path / "behind-the-link" / "Via" / "Link")
    os.symlink(tmp_path / "behind-the-link", linked)  # a root that is a link is walked all the same
    (tmp_path / "a-file").write_bytes(ZONE)
    roots = [root, other, linked, tmp_path / "a-file", tmp_path / "missing"]
    zoneinfo.reset_tzpath(to=[str(path) for path in roots])
    try:
        yield root
    finally:
        zoneinfo.reset_tzpath()


def _zone(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ZONE)


LEFT_OUT = [
    "",
    "posixrules",
    "europe/berlin",
    "EUROPE/BERLIN",
    "Europe",
    "Europe/",
    "/Europe/Berlin",
    "Europe//Berlin",
    "./Europe/Berlin",
    "Europe/./Berlin",
    "Europe/../Europe/Berlin",
    "right/UTC",
    "posix/Europe/Berlin",
    "zone.tab",
    "Linked/Berlin",
    "Etc/Broken",
    "Etc/Directory",
    "Europe/Berlin\x00",
    "Mars/Olympus_Mons",
    "atlantis/thera",
    "ATLANTIS/THERA",
    "Atlantis",
    "/Atlantis/Thera",
    "Atlantis//Thera",
    "Atlantis/./Thera",
    "Atlantis/../Atlantis/Thera",
    "right/Hyperborea",
    "posix/Atlantis/Thera",
    "Linked/Thera",
    "Via",
    "a-file",
]


def test_every_zone_of_this_machine_and_none_of_the_names_it_leaves_out() -> None:
    listed = zoneinfo.available_timezones()
    assert len(listed) > 300  # the machine has a time zone database to compare with
    assert [name for name in sorted(listed) if not is_available_zone(name)] == []
    assert [name for name in LEFT_OUT if is_available_zone(name) != (name in listed)] == []


def _packaged() -> set[str]:
    """The zones of the ``tzdata`` package (a dependency), which the list reads before it walks TZPATH."""
    zoneinfo.reset_tzpath(to=[])
    try:
        return zoneinfo.available_timezones()
    finally:
        zoneinfo.reset_tzpath()


PACKAGED = _packaged()


def test_a_made_up_tree_gets_the_lists_answer_for_every_name_in_it_and_beside_it(tzpath: Path) -> None:
    listed = zoneinfo.available_timezones()
    assert "Europe/Berlin" in PACKAGED
    assert listed - PACKAGED == {
        "Hyperborea",
        "Atlantis/Thera",
        "Atlantis/Poseidonia",
        "Lemuria/South/Mu",
        "Via/Link",
        "Asia/right/Tokyo",
        "Asia/posix/Seoul",
        "Etc/Own_Hyperborea",
        "right",
        "posix",
        "Only/Here",
    }
    found = {str(path.relative_to(tzpath)) for path in tzpath.rglob("*")} | {"Mars", "Mars/Olympus_Mons"}
    for name in sorted(found | set(LEFT_OUT) | listed):
        assert is_available_zone(name) == (name in listed), name


WORDS = ["UTC", "Europe", "Berlin", "europe", "Argentina", "America", "Salta", "right", "posix", "posixrules"]
PARTS = st.sampled_from(
    [
        *WORDS,
        "Asia",
        "Tokyo",
        "Etc",
        "Broken",
        "Directory",
        "Linked",
        "Only",
        "Here",
        "zone.tab",
        ".",
        "..",
        "",
    ]
)


# the tree is made once for all the names: none of them changes it
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(PARTS, min_size=1, max_size=4))
def test_any_name_of_the_trees_words_gets_the_lists_answer(tzpath: Path, parts: list[str]) -> None:
    name = "/".join(parts)
    assert is_available_zone(name) == (name in zoneinfo.available_timezones())


@pytest.mark.parametrize(
    "where", ["/nowhere/tzdata/__init__.py", None], ids=["in-an-archive", "namespace-package"]
)
def test_the_packaged_list_is_read_through_importlib_resources_when_the_package_lies_in_no_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str | None
) -> None:
    import tzdata  # type: ignore[import-untyped]  # a data package: no types to check

    from reconciler import zones

    (tmp_path / "zones").write_text("Not/A_Zone\n")  # what a relative "zones" would find
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tzdata, "__file__", where)
    zones._tzdata_zones.cache_clear()
    try:
        assert zones._tzdata_zones() == PACKAGED
    finally:
        zones._tzdata_zones.cache_clear()


def test_a_root_no_file_system_can_name_is_skipped_as_the_list_skips_it(tmp_path: Path) -> None:
    _zone(tmp_path / "Atlantis" / "Thera")
    zoneinfo.reset_tzpath(to=[f"{tmp_path}/\x00", f"{tmp_path}/\ud800", str(tmp_path)])
    try:
        listed = zoneinfo.available_timezones()
        for name in ["Atlantis/Thera", "Atlantis", "UTC", "Mars"]:
            assert is_available_zone(name) == (name in listed), name
    finally:
        zoneinfo.reset_tzpath()

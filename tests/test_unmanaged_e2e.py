"""Assistants no file manages, end to end: listed by plan in every format (and left alone), and adopted one at a
time by ``export --unmanaged``, which never writes a second file for a managed assistant."""

from __future__ import annotations

import json
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from support import PIPELINE, Terminal, emulator, plan_json, run, write_files

from reconciler.cli import main
from reconciler.plan import Plan, Unmanaged, plan_from_data

#: A name that would colour the terminal, forge a line, and in markdown make a link.
HOSTILE = "[Approve](https://attacker.example)\x1b[31m\nPlan: 0 to create"
HOSTILE_SHOWN = "[Approve](https://attacker.example)\\u001b[31m\\u000aPlan: 0 to create"


def pipeline_file(name: str, extra: str = "") -> str:
    body = {k: v for k, v in PIPELINE.items() if k != "name"}
    return f"name: {name}\n" + "".join(f"{k}: {v}\n" for k, v in body.items()) + extra


def half_managed(api_create: object, directory: Path, names: list[str]) -> Path:
    """One assistant per name; the first is bound by id, the second by name, the rest no file manages."""
    ids = [api_create({**PIPELINE, "name": name}) for name in names]  # type: ignore[operator]
    return write_files(
        directory,
        {"first": f"id: {ids[0]}\n" + pipeline_file(names[0]), "second": pipeline_file(names[1])},
    )


# ---- plan ----------------------------------------------------------------------------------------------


def test_text_plan_counts_the_unmanaged_and_names_the_first_five(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        names = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta"]
        directory = half_managed(api.create, tmp_path / "d", names)
        code, out, err = run(capsys, "plan", "--dir", str(directory), "--detailed-exitcode")
    assert (code, err) == (0, "")  # unmanaged assistants are not drift: the plan changes nothing
    assert out == (
        "No changes. The platform matches the files (2 assistants).\n"
        "6 assistants on the platform are not managed by any file: "
        "Gamma (3), Delta (4), Epsilon (5), Zeta (6), Eta (7) and 1 more\n"
    )


def test_text_plan_with_colour_leaves_the_line_plain_and_escapes_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    with emulator(monkeypatch) as api:
        directory = half_managed(api.create, tmp_path / "d", ["Alpha", "Beta", HOSTILE])
        (directory / "new.yaml").write_text(pipeline_file("New"))
        terminal = Terminal()
        monkeypatch.setattr("sys.stdout", terminal)
        assert main(["plan", "--dir", str(directory)]) == 0
    lines = terminal.getvalue().splitlines()
    assert lines[-2:] == [
        "Plan: 1 to create, 0 to update, 0 to delete, 2 unchanged.",
        f"1 assistant on the platform is not managed by any file: {HOSTILE_SHOWN} (3)",
    ]
    assert '\033[32m  + create new "New"\033[0m' in lines[2]  # colour is on: the line is plain by choice


def test_markdown_plan_lists_them_collapsed_and_as_literal_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        directory = half_managed(api.create, tmp_path / "d", ["Alpha", "Beta", "Gamma", HOSTILE])
        code, out, err = run(capsys, "plan", "--dir", str(directory), "--format", "markdown")
    assert (code, err) == (0, "")
    assert out.endswith(
        "No changes: the platform matches the files.\n\n"
        "<details><summary>2 assistants on the platform are not managed by any file</summary>\n\n"
        "- Gamma (id 3)\n"
        "- \\[Approve\\](https\\://attacker.example)\\\\u001b\\[31m\\\\u000aPlan: 0 to create (id 4)\n"
        "\n</details>\n"
    )
    html = cmarkgfm.github_flavored_markdown_to_html(out, options=Options.CMARK_OPT_UNSAFE)
    assert html.endswith(
        "<details><summary>2 assistants on the platform are not managed by any file</summary>\n"
        "<ul>\n<li>Gamma (id 3)</li>\n"
        "<li>[Approve](https://attacker.example)\\u001b[31m\\u000aPlan: 0 to create (id 4)</li>\n"
        "</ul>\n</details>\n"
    )
    assert "<a " not in html


def test_json_plan_lists_every_unmanaged_assistant_and_a_target_plan_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        directory = half_managed(api.create, tmp_path / "d", ["Alpha", "Beta", "Gamma", HOSTILE])
        whole = plan_json(capsys, directory)
        targeted = plan_json(capsys, directory, "--target", "first")
        code, out, _ = run(capsys, "plan", "--dir", str(directory), "--target", "first")
    assert whole["unmanaged"] == [{"id": 3, "name": "Gamma"}, {"id": 4, "name": HOSTILE}]
    assert "unmanaged" not in targeted  # a partial plan does not look at the rest of the account
    assert (code, out) == (0, "No changes. The platform matches the files (1 assistant).\n")


def test_prune_deletes_what_it_owns_and_lists_only_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        directory = half_managed(api.create, tmp_path / "d", ["Alpha", "Beta", "Gamma"])
        (directory / "owned.yaml").write_text(pipeline_file("Owned"))
        prune = ("--prune", "--owner", "tests")
        assert run(capsys, "apply", "--dir", str(directory), "--auto-approve", *prune)[0] == 0
        (directory / "owned.yaml").unlink()
        plan = plan_json(capsys, directory, *prune)
        code = run(capsys, "plan", "--dir", str(directory), "--detailed-exitcode", *prune)[0]
    assert [(c["action"], c["name"]) for c in plan["changes"] if c["action"] == "delete"] == [
        ("delete", "Owned")
    ]
    assert plan["unmanaged"] == [{"id": 3, "name": "Gamma"}]
    assert code == 2  # the delete is a change; the unmanaged Gamma is not


def test_saved_plans_keep_the_list_and_older_ones_still_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        directory = half_managed(api.create, tmp_path / "d", ["Alpha", "Beta", "Gamma"])
        saved = tmp_path / "plan.json"
        assert run(capsys, "plan", "--dir", str(directory), "--out", str(saved))[0] == 0
    data = json.loads(saved.read_text())
    assert plan_from_data(data).unmanaged == (Unmanaged(3, "Gamma"),)
    del data["unmanaged"]
    assert plan_from_data(data).unmanaged is None
    assert plan_from_data(Plan.of([], unmanaged=[]).data()).unmanaged == ()


# ---- export --------------------------------------------------------------------------------------------


def test_export_unmanaged_writes_only_what_no_file_manages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()  # the repository whose schema/ the files point to
    with emulator(monkeypatch) as api:
        directory = half_managed(api.create, tmp_path / "d", ["Alpha", "Beta", "Gamma", "Delta"])
        (directory / "gamma.yaml").write_text(f"id: 1\n{pipeline_file('Alpha')}")  # a key, not Gamma's file
        (directory / "first.yaml").unlink()
        code, out, err = run(capsys, "export", "--unmanaged", "--dir", str(directory))
        assert (code, err) == (0, "")
        assert out == (
            f"Exported 2 assistants to {directory}/\n"
            "  delta.yaml: id 4 (write-only, not exported: secondary_language_ids, tts_emotion_enabled, "
            "reengagement_prompt, voice_mail_message, tool_ids)\n"
            "  gamma-2.yaml: id 3 (write-only, not exported: secondary_language_ids, tts_emotion_enabled, "
            "reengagement_prompt, voice_mail_message, tool_ids)\n"
        )
        assert sorted(p.name for p in directory.iterdir()) == [
            "delta.yaml",
            "gamma-2.yaml",
            "gamma.yaml",
            "second.yaml",
        ]
        assert (
            (directory / "gamma-2.yaml")
            .read_text()
            .startswith(
                "# yaml-language-server: $schema=../schema/assistant.schema.json\n# Exported by `reconciler export`."
            )
        )
        plan = plan_json(capsys, directory)
        again = run(capsys, "export", "--unmanaged", "--dir", str(directory))
    assert plan["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 4}
    assert plan["unmanaged"] == []
    assert again == (
        0,
        f"Nothing to export: every assistant on the platform is managed by a file in {directory}/\n",
        "",
    )


def test_export_refuses_a_second_file_for_a_managed_assistant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        directory = half_managed(api.create, tmp_path / "d", ["Alpha", "Beta", "Gamma"])
        before = {p.name: p.read_text() for p in directory.iterdir()}
        by_id = run(capsys, "export", "--id", "1", "--dir", str(directory))
        everything = run(capsys, "export", "--all", "--dir", str(directory))
        assert {p.name: p.read_text() for p in directory.iterdir()} == before
        forced = run(capsys, "export", "--all", "--force", "--dir", str(directory))
        plan = plan_json(capsys, directory)
    assert by_id == (
        1,
        "",
        f"error: assistant 1 is managed by {directory}/first.yaml already; nothing was written. Use --unmanaged "
        "to export only the assistants no file manages, or --force to write the managing files again\n",
    )
    assert everything[0] == 1
    assert everything[2].startswith(
        f"error: assistant 1 is managed by {directory}/first.yaml already (and 1 more);"
    )
    assert forced[0] == 0
    # --force writes the managing files again, under their own names: still one file per assistant
    assert sorted(p.name for p in directory.iterdir()) == ["first.yaml", "gamma.yaml", "second.yaml"]
    assert (directory / "second.yaml").read_text().splitlines().count("id: 2") == 1
    assert plan["summary"]["noop"] == 3


def test_export_usage_of_unmanaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch):
        both = run(capsys, "export", "--unmanaged", "--all", "--dir", str(tmp_path / "d"))
        bad = run(capsys, "export", "--all", "--secret-name", "calcom_api_key", "--dir", str(tmp_path / "d"))
    assert both == (
        1,
        "",
        "error: --unmanaged chooses the assistants itself: give it without --all or --id\n",
    )
    assert bad == (
        1,
        "",
        "error: --secret-name 'calcom_api_key': expected FIELD=NAME, NAME of letters, digits and _ not starting "
        "with a digit\n",
    )


CAL_SHARED = "cal_live_shared_0123456789"
CAL_OWN = "cal_live_own_9876543210"


def with_calendar(name: str, key: str) -> dict[str, object]:
    tool = {"type": "calendar_integration", "calcom_api_key": key, "calcom_event_slug": "intro"}
    return {**PIPELINE, "name": name, "tools": [tool]}


def test_a_secret_two_assistants_share_is_one_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        for name, key in (("Sales", CAL_SHARED), ("Support", CAL_SHARED), ("Solo", CAL_OWN)):
            api.create(with_calendar(name, key))
        code, out, err = run(capsys, "export", "--all", "--dir", str(tmp_path / "d"))
        assert (code, err) == (0, "")
        texts = {p.stem: p.read_text() for p in (tmp_path / "d").iterdir()}
        monkeypatch.setenv("CALCOM_API_KEY", CAL_SHARED)
        monkeypatch.setenv("SOLO_CALCOM_API_KEY", CAL_OWN)
        plan = plan_json(capsys, tmp_path / "d")
    assert out.endswith(
        "set these environment variables before plan or apply:\n  CALCOM_API_KEY\n  SOLO_CALCOM_API_KEY\n"
    )
    assert "calcom_api_key: ${CALCOM_API_KEY}\n" in texts["sales"]
    assert "calcom_api_key: ${CALCOM_API_KEY}\n" in texts["support"]
    assert "calcom_api_key: ${SOLO_CALCOM_API_KEY}\n" in texts["solo"]
    assert CAL_SHARED not in "".join(texts.values()) + out
    assert plan["summary"] == {"create": 0, "update": 0, "delete": 0, "noop": 3}


def test_secret_name_names_the_variables_of_a_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(monkeypatch) as api:
        for name, key in (("Sales", CAL_SHARED), ("Support", CAL_SHARED), ("Solo", CAL_OWN)):
            api.create(with_calendar(name, key))
        named = ("--secret-name", "calcom_api_key=CAL_KEY")
        code, out, err = run(capsys, "export", "--all", "--dir", str(tmp_path / "d"), *named)
        unknown = run(capsys, "export", "--all", "--dir", str(tmp_path / "e"), "--secret-name", "nope=X")
    assert (code, err) == (0, "")
    assert out.endswith("before plan or apply:\n  CAL_KEY\n  CAL_KEY_2\n")
    assert (
        "${CAL_KEY}" in (tmp_path / "d" / "sales.yaml").read_text()
    )  # files in key order: sales, solo, support
    assert "${CAL_KEY_2}" in (tmp_path / "d" / "solo.yaml").read_text()
    assert "${CAL_KEY}" in (tmp_path / "d" / "support.yaml").read_text()
    assert unknown == (
        1,
        "",
        "error: --secret-name nope=...: no secret the export writes is under a field named 'nope'\n",
    )
    assert not (tmp_path / "e").exists()


def test_the_schema_line_points_from_a_nested_directory_to_the_repositorys_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    directory = tmp_path / "accounts" / "staging"
    with emulator(monkeypatch) as api:
        api.create(PIPELINE)
        assert run(capsys, "export", "--all", "--dir", str(directory))[0] == 0
    first = (directory / "pipeline-one.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../schema/assistant.schema.json"

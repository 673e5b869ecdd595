"""An environment pair end to end (README "Environments: staging and production from one base"): the
repository's own ``examples/environments/`` tree, whose ``accounts/staging/`` and ``accounts/production/`` extend
one ``base/``, planned and applied through the CLI over real HTTP against two emulator accounts, one each.

The two accounts give the same catalog names different ids (``catalog_offset``), as two real accounts do: the
base says ``voice: Maya``, and each account's plan sends its own id for it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from support import Api, emulator, run

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "environments"
#: How far the production account's catalog ids are from the staging account's.
PRODUCTION_OFFSET = 1000


@pytest.fixture(autouse=True)
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example, as the current directory (the repository boundary outside git)."""
    shutil.copytree(EXAMPLE, tmp_path / "environments")
    monkeypatch.chdir(tmp_path / "environments")
    return tmp_path / "environments"


def plan(capsys: pytest.CaptureFixture[str], api: Api, account: str, *extra: str) -> tuple[int, str]:
    code, out, err = run(capsys, "plan", "--dir", f"accounts/{account}", "--api-url", api.url, *extra)
    assert err == "", err
    return code, out


def apply(capsys: pytest.CaptureFixture[str], api: Api, account: str) -> None:
    code, _, err = run(
        capsys, "apply", "--dir", f"accounts/{account}", "--api-url", api.url, "--auto-approve"
    )
    assert (code, err) == (0, ""), err


def sales_body(offset: int, account_wide: dict[str, Any], webhook: str) -> dict[str, Any]:
    """The create body of the sales assistant in an account whose catalog ids are ``offset`` away."""
    return {
        "name": "Sales Assistant",
        "type": "outbound",
        "mode": "pipeline",
        "language_id": 1 + offset,  # English, from base/_company.yaml
        "voice_id": 101 + offset,  # Maya
        "llm_model_id": 2 + offset,  # GPT-4.1
        "timezone": "America/New_York",
        "initial_message": "Hi, this is Maya from Northwind Solar. Do you have two minutes?",
        "system_prompt": "You are Maya, a friendly sales representative for Northwind Solar.\n"
        "Qualify the lead: confirm they own their home and ask about their monthly electricity bill.",
        "tools": [
            {
                "type": "end_call",
                "description": "End the call politely once the lead is qualified or declines.",
            }
        ],
        "speech_speed": 1.05,
        "llm_temperature": 0.3,
        "allow_interruptions": True,
        "fillers": True,  # pipeline only: base/_company.yaml says it, and only this assistant gets it
        **account_wide,
        "webhook_url": webhook,
    }


def support_body(offset: int, account_wide: dict[str, Any], webhook: str, number: int) -> dict[str, Any]:
    """The create body of the support line in an account whose catalog ids are ``offset`` away."""
    return {
        "name": "Support Line",
        "type": "inbound",
        "mode": "multimodal",
        "language_id": 1 + offset,
        "voice_id": 202 + offset,  # Shimmer
        "multimodal_model_id": 1 + offset,  # GPT-4o Realtime
        "timezone": "Europe/London",
        "initial_message": "Thanks for calling Northwind support. How can I help you today?",
        "system_prompt": "You are the support assistant for Northwind Solar customers.\n"
        "Answer from the knowledge base; if the answer is not there, say so and offer to open a ticket.",
        "knowledgebase_id": 10 + offset,  # Product FAQ
        "knowledgebase_mode": "function_call",
        "tools": [{"type": "end_call", "description": "End the call when the customer says goodbye."}],
        "speech_speed": 1.05,
        "allow_interruptions": True,
        **account_wide,
        "webhook_url": webhook,
        "phone_number_id": number + offset,
    }


def sources(account: str, key: str) -> list[tuple[str, str]]:
    """Where each field of a create comes from: the base, the company layer, or the account's own files."""
    mine = f"accounts/{account}"
    base = f"base/{key}.yaml"
    wide = (
        [("record", f"{mine}/_defaults.yaml:4"), ("max_duration", f"{mine}/_defaults.yaml:5")]
        if account == "staging"
        else [("record", f"{mine}/_defaults.yaml:4"), ("is_webhook_active", f"{mine}/_defaults.yaml:5")]
    )
    head = [("name", f"{base}:4"), ("type", f"{base}:5"), ("mode", f"{base}:6"), ("timezone", f"{base}:9")]
    head += [("initial_message", f"{base}:10"), ("system_prompt", f"{base}:11")]
    head += [("variables", "base/_company.yaml:8")]
    if key == "sales-outbound":
        return [
            *head,
            ("tools", f"{base}:15"),
            ("speech_speed", "base/_company.yaml:5"),
            ("llm_temperature", f"{base}:14"),
            ("allow_interruptions", "base/_company.yaml:6"),
            ("fillers", "base/_company.yaml:7"),
            *wide,
            ("webhook_url", f"{mine}/{key}.yaml:3"),
            ("language_id", "base/_company.yaml:4"),
            ("voice_id", f"{base}:7"),
            ("llm_model_id", f"{base}:8"),
        ]
    return [
        *head,
        ("knowledgebase_mode", f"{base}:15"),
        ("tools", f"{base}:16"),
        ("speech_speed", "base/_company.yaml:5"),
        ("allow_interruptions", "base/_company.yaml:6"),
        *wide,
        ("webhook_url", f"{mine}/{key}.yaml:4"),
        ("language_id", "base/_company.yaml:4"),
        ("voice_id", f"{base}:7"),
        ("multimodal_model_id", f"{base}:8"),
        ("knowledgebase_id", f"{base}:14"),
        ("phone_number_id", f"{mine}/{key}.yaml:3"),
    ]


#: What each account's own _defaults.yaml adds to every assistant there.
ACCOUNT_WIDE = {
    "staging": {"record": False, "max_duration": 300},
    "production": {"record": True, "is_webhook_active": True},
}
WEBHOOKS = {
    "staging": "https://staging.northwind.example/hooks",
    "production": "https://northwind.example/hooks",
}
NUMBERS = {"staging": 501, "production": 502}  # +14155550101, +14155550102 in either catalog


def expected_creates(account: str, offset: int) -> list[dict[str, Any]]:
    wide, hooks, variables = ACCOUNT_WIDE[account], WEBHOOKS[account], {"environment": account}
    variables["company"] = "Northwind Solar"
    return [
        {
            "key": "sales-outbound",
            "file": f"accounts/{account}/sales-outbound.yaml",
            "action": "create",
            "name": "Sales Assistant",
            "body": sales_body(offset, wide, f"{hooks}/sales"),
            "variables": variables,
            "managed": sorted(["allow_interruptions", "fillers", "llm_temperature", "speech_speed", *wide]),
            "sources": sources(account, "sales-outbound"),
        },
        {
            "key": "support-inbound",
            "file": f"accounts/{account}/support-inbound.yaml",
            "action": "create",
            "name": "Support Line",
            "body": support_body(offset, wide, f"{hooks}/support", NUMBERS[account]),
            "variables": variables,
            "managed": sorted(["allow_interruptions", "knowledgebase_mode", "speech_speed", *wide]),
            "sources": sources(account, "support-inbound"),
        },
    ]


def creates(plan_data: dict[str, Any]) -> list[dict[str, Any]]:
    """A plan's changes as the test compares them: the body apart from its variables, the variables apart from
    the reconciler's record (its digests are keyed by the token), the record's ``managed`` list, each field's
    source."""
    shown = []
    for change in plan_data["changes"]:
        body = dict(change["body"])
        variables = dict(body.pop("variables"))
        record = json.loads(variables.pop("_reconciler"))
        shown.append(
            {
                "key": change["key"],
                "file": change["file"],
                "action": change["action"],
                "name": change["name"],
                "body": body,
                "variables": variables,
                "managed": record["managed"],
                "sources": [(item["path"], item["source"]) for item in change["fields"]],
            }
        )
    return shown


#: The ids the README's quoted plan shows (the order the creates happened to finish in when it was made).
README_IDS = {"Sales Assistant": 1, "Support Line": 2}


def promoted(account: str, ids: dict[str, int]) -> str:
    """The text plan of each account once base/_company.yaml says speech_speed: 1.1: one line for the fleet.
    ``ids``: each assistant's id by name (the two creates run at once, so either may get id 1)."""
    return f"""\
Changes shared by several assistants:

  ~ speech_speed: 1.05 → 1.1 on 2 assistants (from base/_company.yaml:5)

reconciler will make these changes:

  ~ update sales-outbound "Sales Assistant" (id {ids["Sales Assistant"]})    accounts/{account}/sales-outbound.yaml
      ~ speech_speed: the shared change above

  ~ update support-inbound "Support Line" (id {ids["Support Line"]})    accounts/{account}/support-inbound.yaml
      ~ speech_speed: the shared change above

Plan: 0 to create, 2 to update, 0 to delete, 0 unchanged.
"""


def test_an_environment_pair_planned_against_two_emulator_accounts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        emulator(monkeypatch) as staging,
        emulator(monkeypatch, catalog_offset=PRODUCTION_OFFSET) as production,
    ):
        accounts = (("staging", staging, 0), ("production", production, PRODUCTION_OFFSET))
        for account, api, offset in accounts:
            code, out = plan(capsys, api, account, "--format", "json")
            data = json.loads(out)
            assert (code, data["summary"]) == (0, {"create": 2, "update": 0, "delete": 0, "noop": 0})
            assert creates(data) == expected_creates(account, offset), account
            apply(capsys, api, account)
            assert plan(capsys, api, account, "--detailed-exitcode")[0] == 0, account

        # the promotion: one edit of base/ in a pull request, and the plan of each account shows it
        company = Path("base/_company.yaml")
        company.write_text(company.read_text().replace("speech_speed: 1.05", "speech_speed: 1.1"))
        for account, api, _ in accounts:
            written = len(api.journal())
            ids = {item["name"]: item["id"] for item in api.items()}
            assert sorted(ids.values()) == [1, 2], account
            assert plan(capsys, api, account) == (0, promoted(account, ids))
            assert len(api.journal()) == written, "a plan sends nothing"
            apply(capsys, api, account)
            assert sorted((m, p, b) for m, p, b, _ in api.journal()[written:]) == [
                ("PUT", "/api/user/assistant/1", {"speech_speed": 1.1}),
                ("PUT", "/api/user/assistant/2", {"speech_speed": 1.1}),
            ], account


def test_the_readme_quotes_the_promotion_plan_as_it_is() -> None:
    readme = (EXAMPLE.parent.parent / "README.md").read_text()
    assert f"```text\n{promoted('staging', README_IDS)}```" in readme


def test_each_account_directory_of_the_example_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    for account in ("staging", "production"):
        assert run(capsys, "validate", "--dir", f"accounts/{account}") == (
            0,
            f"accounts/{account}: 2 assistant files valid\n",
            "",
        )

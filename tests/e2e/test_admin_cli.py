"""An administrator reading and changing the broker from the command line: tables for people,
`--json` for scripts, the same rules and audit as the API, and no secret on the screen."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from schemas.vocabulary import Scope
from tests.e2e.processes import ImbInstallation
from tests.e2e.test_cli import EXAMPLE, ONE_DATABASE, _select

pytestmark = [pytest.mark.slow, pytest.mark.acceptance]

POLICY = {
    "policies": [
        {
            "event_type": "*",
            "urgency": "*",
            "deliver_within": "PT2H",
            "ack_within": "P1D",
            "escalation": ["duty_team"],
        }
    ]
}
HOOK = "https://duty.example.org/escalations?token=s3cr3t-receiver-token"


def _agencies(imb: ImbInstallation) -> None:
    imb.run("agency", "add", "RX4", "--name", "Riverside Trust", "--kind", "nhs_trust")
    imb.run("agency", "add", "LA001", "--name", "Riverside Council", "--kind", "local_authority")


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _rows_written(imb: ImbInstallation) -> tuple[object, ...]:
    tables = ("agencies", "clients", "agreement_versions", "duty_teams", "audit_records")
    counts = ", ".join(f"(SELECT count(*) FROM {table})" for table in tables)
    timeframes = _select(imb, "SELECT * FROM timeframe_policies ORDER BY 1")
    return (*_select(imb, f"SELECT {counts}")[0], str(timeframes))


@ONE_DATABASE
def test_agencies_clients_and_agreements_read_as_tables_and_as_json(
    installation: ImbInstallation,
) -> None:
    _agencies(installation)
    issued = json.loads(
        installation.run("client", "add", "--agency", "RX4", "--scopes", "inbox:read").stdout
    )
    added = json.loads(installation.run("agreement", "add", "--file", str(EXAMPLE)).stdout)

    agencies = installation.run("agency", "list").stdout
    listed = _json_lines(installation.run("agency", "list", "--json").stdout)
    trust = json.loads(installation.run("agency", "show", "RX4", "--json").stdout)
    client = json.loads(installation.run("client", "show", issued["client_id"], "--json").stdout)
    client_table = installation.run("client", "show", issued["client_id"]).stdout
    drafts = _json_lines(
        installation.run(
            "agreement", "list", "--agency", "LA001", "--status", "draft", "--json"
        ).stdout
    )
    none_active = installation.run("agreement", "list", "--status", "active").stdout
    agreements = installation.run("agreement", "list").stdout
    agreement = json.loads(installation.run("agreement", "show", added["id"], "--json").stdout)
    agreement_table = installation.run("agreement", "show", added["id"]).stdout

    assert "Riverside Council" in agencies and "local_authority" in agencies
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", agencies)
    assert listed[0]["created_at"] not in agencies  # RFC 3339 is for --json
    assert [(a["code"], a["kind"]) for a in listed] == [
        ("LA001", "local_authority"),
        ("RX4", "nhs_trust"),
    ]
    assert trust["clients"] == [issued["client_id"]] and trust["duty_team"] is None
    assert (client["agency"], client["scopes"], client["revoked_at"]) == (
        "RX4",
        ["inbox:read"],
        None,
    )
    assert issued["client_id"] in client_table
    assert issued["client_secret"] not in client_table + json.dumps(client) + json.dumps(trust)
    assert [d["id"] for d in drafts] == [added["id"]]
    assert drafts[0]["pending_approvals"] == ["LA001", "RX4"]
    assert none_active.strip() == "(none)"
    assert added["id"] in agreements  # piped, a table keeps an id whole
    assert agreement["review_date"] == "2027-01-01" and agreement["versions"][0]["version"] == 1
    assert added["id"] in agreement_table and "LA001 (joint_controller)" in agreement_table


@ONE_DATABASE
def test_duty_team_and_timeframes_set_from_the_command_line_are_audited_as_by_the_api(
    installation: ImbInstallation, tmp_path: Path
) -> None:
    _agencies(installation)
    policy = tmp_path / "timeframes.json"
    policy.write_text(json.dumps(POLICY))

    set_team = installation.run(
        "duty-team",
        "set",
        "LA001",
        "--name",
        "Council duty",
        "--email",
        "duty@council.example",
        "--webhook-url",
        HOOK,
    )
    team = json.loads(installation.run("duty-team", "show", "LA001", "--json").stdout)
    council = json.loads(installation.run("agency", "show", "LA001", "--json").stdout)
    installation.run("timeframes", "set", "--file", str(policy))
    shown = json.loads(installation.run("timeframes", "show", "--json").stdout)
    table = installation.run("timeframes", "show").stdout

    assert team["name"] == "Council duty" and team["webhook"] == "https://duty.example.org"
    assert council["duty_team"] == {"name": "Council duty", "email": "duty@council.example"}
    assert "s3cr3t" not in set_team.stdout + json.dumps(team)
    assert [(p["event_type"], p["deliver_within"]) for p in shown["policies"]] == [("*", "PT2H")]
    assert "2 h" in table and "1 d" in table and "duty_team" in table
    assert "PT2H" not in table  # ISO 8601 is for --json
    audited = _select(
        installation,
        "SELECT event, actor_client FROM audit_records"
        " WHERE event IN ('duty_team.set', 'timeframes.replaced') ORDER BY id",
    )
    assert audited == [("duty_team.set", "imb-cli"), ("timeframes.replaced", "imb-cli")]


REFUSALS: list[tuple[tuple[str, ...], str]] = [
    (("agency", "show", "NOPE1"), "unknown agency NOPE1"),
    (("client", "show", "imb_nobody"), "no such client"),
    (("agreement", "show", "not-a-uuid"), "not an agreement id"),
    (("agreement", "show", "00000000-0000-4000-8000-000000000000"), "no agreement"),
    (("agreement", "list", "--agency", "NOPE1"), "unknown agency NOPE1"),
    (("escalation", "list", "--agency", "NOPE1", "--json"), "unknown agency NOPE1"),
    (("duty-team", "show", "NOPE1"), "unknown agency NOPE1"),
    (("duty-team", "show", "RX4"), "no duty team"),
    (("duty-team", "set", "NOPE1", "--name", "X", "--email", "x@x.example"), "NOPE1"),
    (("duty-team", "set", "RX4", "--name", "X", "--email", "not a mailbox"), "email"),
    (
        (
            "duty-team",
            "set",
            "RX4",
            "--name",
            "X",
            "--email",
            "x@x.example",
            "--webhook-url",
            "ftp://x.example",
        ),
        "webhook_url",
    ),
    (("timeframes", "set", "--file", "/nonexistent/timeframes.json"), "cannot read"),
    (("timeframes", "set", "--file", "{shorter_ack}"), "ack_within"),
]


@ONE_DATABASE
def test_bad_input_to_an_admin_command_is_one_line_and_writes_nothing(
    installation: ImbInstallation, tmp_path: Path
) -> None:
    _agencies(installation)
    shorter_ack = tmp_path / "shorter-ack.json"
    row = {**POLICY["policies"][0], "ack_within": "PT1H"}
    shorter_ack.write_text(json.dumps({"policies": [row]}))
    before = _rows_written(installation)

    for args, message in REFUSALS:
        result = installation.run(*(a.format(shorter_ack=shorter_ack) for a in args), check=False)

        assert result.returncode == 1, args
        assert result.stderr.startswith("imb: "), args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert message in result.stderr, result.stderr
        assert result.stdout == "", args
    assert _rows_written(installation) == before


@ONE_DATABASE
def test_an_agreement_reviewed_before_it_starts_is_refused_by_the_command(
    installation: ImbInstallation, tmp_path: Path
) -> None:
    _agencies(installation)
    body = json.loads(EXAMPLE.read_text()) | {"review_date": "2025-12-31"}
    path = tmp_path / "agreement.json"
    path.write_text(json.dumps(body))
    before = _rows_written(installation)

    result = installation.run("agreement", "add", "--file", str(path), check=False)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "imb: review_date: Value error, review_date must not be before effective_from (2026-01-01)"
    ]
    assert _rows_written(installation) == before


@ONE_DATABASE
def test_client_add_help_says_what_every_scope_allows(installation: ImbInstallation) -> None:
    help_text = installation.run("client", "add", "--help").stdout

    for scope in Scope:
        assert any(
            line.split()
            and line.split()[0] == scope.value
            and scope.allows in " ".join(line.split())
            for line in help_text.splitlines()
        ), scope


@ONE_DATABASE
def test_help_states_the_exit_statuses_and_a_usage_error_exits_2(
    installation: ImbInstallation,
) -> None:
    help_text = installation.run("--help").stdout
    misuse = installation.run("agency", "show", check=False)

    assert "exit status:" in help_text
    for status in ("0 ", "1 ", "2 ", "130"):
        assert f"  {status}" in help_text
    assert misuse.returncode == 2 and "usage:" in misuse.stderr


@ONE_DATABASE
def test_long_commands_draw_progress_on_standard_error_only_when_asked(
    installation: ImbInstallation, tmp_path: Path
) -> None:
    _agencies(installation)

    quiet = installation.run("audit", "export-checkpoints")
    watched = installation.run("audit", "export-checkpoints", "--progress")
    verified = installation.run("audit", "verify", "--progress")
    migrated = installation.run("migrate", "--progress")
    kept = installation.run("audit", "prune", "--before", "2000-01-01")
    pruned = installation.run("audit", "prune", "--before", "2000-01-01", "--progress")

    assert quiet.stderr == ""
    assert "exporting signed checkpoints" in watched.stderr
    assert _json_lines(watched.stdout) == _json_lines(quiet.stdout)
    assert "verifying the audit chain" in verified.stderr
    assert verified.stdout.startswith("audit chain intact")
    assert "schema" in migrated.stderr and "is up to date" in migrated.stdout
    assert kept.stderr == "" and "pruning audit records before 2000-01-01" in pruned.stderr
    assert pruned.stdout == kept.stdout
    assert json.loads(pruned.stdout) == {"pruned_records": 0, "through_seq": None}

"""The operator's commands: clear one-line errors, non-zero exits, nothing half-written."""

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from broker.db.engine import Database
from tests.e2e.processes import IMB, ImbInstallation
from tests.world import agreement_body

pytestmark = pytest.mark.slow

# A command's refusal is decided before it writes, the same on either database, and the
# integration tests cover both databases' transactions; so the many refusal cases, each a set
# of `imb` processes, run on SQLite alone.
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _select(imb: ImbInstallation, sql: str) -> list[tuple[object, ...]]:
    """Rows read straight from the installation's database, as an auditor would."""

    async def rows() -> list[tuple[object, ...]]:
        db = Database(imb.database_url)
        try:
            async with db.unit_of_work() as session:
                return [tuple(row) for row in (await session.execute(text(sql))).all()]
        finally:
            await db.dispose()

    return asyncio.run(rows())


# Arranging what a test needs runs in one process (`run_in_one_process`); the command a test is
# about always runs as its own `imb` process.
TWO_AGENCIES = [
    ["agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust"],
    ["agency", "add", "LA001", "--name", "Council", "--kind", "local_authority"],
]


def _rows_written(imb: ImbInstallation) -> int:
    counts = _select(
        imb,
        "SELECT (SELECT count(*) FROM agencies) + (SELECT count(*) FROM clients)"
        " + (SELECT count(*) FROM agreement_versions)",
    )
    return int(str(counts[0][0]))


def test_help_documents_every_command(installation: ImbInstallation) -> None:
    out = installation.run("--help").stdout
    for command in ("serve", "migrate", "worker", "agency", "client", "agreement", "user"):
        assert command in out


def test_client_add_prints_credentials_once_and_stores_only_a_hash(
    installation: ImbInstallation,
) -> None:
    installation.run("agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust")
    result = installation.run("client", "add", "--agency", "RX4", "--scopes", "events:publish")

    issued = json.loads(result.stdout)
    assert set(issued) == {"client_id", "client_secret"}
    stored = _select(installation, "SELECT * FROM clients")
    assert [row[0] for row in stored] == [issued["client_id"]]
    assert all(issued["client_secret"] not in str(value) for row in stored for value in row)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("agency", "add", "bad code!", "--name", "X", "--kind", "housing"), "code"),
        (("client", "add", "--agency", "NOPE1", "--scopes", "events:publish"), "unknown agency"),
        (("client", "add", "--agency", "RX4", "--scopes", "events:publish fly"), "scopes"),
        (("agreement", "add", "--file", "/nonexistent/agreement.json"), "cannot read"),
    ],
)
@ONE_DATABASE
def test_bad_input_is_one_line_and_writes_nothing(
    installation: ImbInstallation, args: tuple[str, ...], message: str
) -> None:
    installation.run("agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust")
    before = _rows_written(installation)

    result = installation.run(*args, check=False)

    assert result.returncode != 0
    assert result.stderr.startswith("imb: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert _rows_written(installation) == before


def test_agreement_file_with_bad_terms_is_refused(
    installation: ImbInstallation, tmp_path: Path
) -> None:
    installation.run_in_one_process(*TWO_AGENCIES)
    body = agreement_body(["RX4", "LA001"])
    body["lawful_basis"] = {**body["lawful_basis"], "art9": "substantial_public_interest"}
    del body["lawful_basis"]["dpa_sch1_para"]
    path = tmp_path / "agreement.json"
    path.write_text(json.dumps(body))
    before = _rows_written(installation)

    result = installation.run("agreement", "add", "--file", str(path), check=False)

    assert result.returncode == 1
    assert "Sch 1 paragraph" in result.stderr
    assert _rows_written(installation) == before


EXAMPLE = Path(__file__).parents[2] / "deploy" / "examples" / "agreement.json"


def _approve(imb: ImbInstallation, agreement_id: str, agency: str, *more: str) -> Any:
    return imb.run(
        "agreement",
        "approve",
        agreement_id,
        "--agency",
        agency,
        *more,
        check=False,
    )


def _signing(name: str = "R. Okafor", role: str = "Caldicott Guardian") -> tuple[str, ...]:
    return ("--name", name, "--role", role)


def _sign_offs(imb: ImbInstallation) -> list[tuple[object, ...]]:
    return _select(
        imb,
        "SELECT (SELECT count(*) FROM agreement_parties WHERE approved_at IS NOT NULL),"
        " (SELECT count(*) FROM audit_records)",
    )


def test_readme_walk_through_proposes_the_example_and_every_party_puts_it_in_force(
    installation: ImbInstallation,
) -> None:
    installation.run("agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust")
    installation.run("agency", "add", "LA001", "--name", "Council", "--kind", "local_authority")

    added = json.loads(installation.run("agreement", "add", "--file", str(EXAMPLE)).stdout)
    first = json.loads(_approve(installation, added["id"], "RX4", *_signing()).stdout)
    last = json.loads(_approve(installation, added["id"], "LA001", *_signing("S. Byrne")).stdout)

    assert (added["version"], added["status"]) == (1, "draft")
    assert (first["status"], first["pending_approvals"]) == ("draft", ["LA001"])
    assert (last["status"], last["pending_approvals"]) == ("active", [])
    signed = _select(
        installation,
        "SELECT agency_code, approved_by_client FROM agreement_parties ORDER BY agency_code",
    )
    assert signed == [("LA001", "imb-cli"), ("RX4", "imb-cli")]
    events = _select(installation, "SELECT event FROM audit_records WHERE event LIKE 'agreement.%'")
    assert [e for (e,) in events].count("agreement.activated") == 1


@pytest.mark.parametrize(
    ("agreement_id", "agency", "signing", "message"),
    [
        ("not-a-uuid", "RX4", _signing(), "not an agreement id"),
        ("00000000-0000-4000-8000-000000000000", "RX4", _signing(), "no agreement"),
        (None, "GP001", _signing(), "to which GP001 is a party"),
        (None, "RX4", _signing(), "already approved"),
        (None, "LA001", _signing(name=" "), "approved_by.name"),
    ],
)
@ONE_DATABASE
def test_agreement_approve_bad_input_is_one_line_and_writes_nothing(
    installation: ImbInstallation,
    agreement_id: str | None,
    agency: str,
    signing: tuple[str, ...],
    message: str,
) -> None:
    *_, proposed, _ = installation.run_in_one_process(
        *TWO_AGENCIES,
        ["agreement", "add", "--file", str(EXAMPLE)],
        ["agreement", "approve", "$2.id", "--agency", "RX4", *_signing()],
    )
    added = json.loads(proposed)
    before = _sign_offs(installation)

    result = _approve(installation, agreement_id or added["id"], agency, *signing)

    assert result.returncode == 1
    assert result.stderr.startswith("imb: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert _sign_offs(installation) == before


def test_serve_refuses_an_unmigrated_database(tmp_path: Path, kafka_bootstrap: str) -> None:
    fresh = ImbInstallation(
        tmp_path / "fresh", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", kafka_bootstrap
    )
    result = fresh.run("serve", "--port", "0", check=False)
    assert result.returncode == 1
    assert "run `imb migrate`" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_migrate_on_a_fresh_machine_creates_the_data_dir_and_database(tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.e2e.processes import IMB

    env = {k: v for k, v in os.environ.items() if not k.startswith("IMB_")}
    env["IMB_DATA_DIR"] = str(tmp_path / "new" / "imb-data")

    result = subprocess.run(
        [IMB, "migrate"], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "imb-data" / "imb.db").exists()
    assert "up to date" in result.stdout


def test_unreachable_database_is_a_one_line_error(installation: ImbInstallation) -> None:
    broken = ImbInstallation(
        installation.data_dir,
        "postgresql+asyncpg://nobody@127.0.0.1:9/none",
        installation.kafka_bootstrap,
    )
    result = broken.run("agency", "add", "RX4", "--name", "T", "--kind", "nhs_trust", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("imb: could not connect")
    assert "127.0.0.1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_key_file_readable_by_others_is_a_one_line_refusal(installation: ImbInstallation) -> None:
    installation.run("agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust")
    (installation.data_dir / "keys" / "digest.key").chmod(0o644)

    result = installation.run(
        "agency", "add", "LA001", "--name", "LA", "--kind", "housing", check=False
    )

    assert result.returncode == 1
    assert result.stderr.startswith("imb: key material:")
    assert "digest.key" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


PASS_PHRASE = "a long pass phrase"


def _add_user(
    imb: ImbInstallation, *args: str, password: str = PASS_PHRASE
) -> subprocess.CompletedProcess[str]:
    """`imb user add …` with the password on standard input, as a script would give it."""
    return subprocess.run(
        [IMB, "user", "add", *args],
        env=imb.env,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_user_add_reads_the_password_from_stdin_and_stores_only_a_scrypt_hash(
    installation: ImbInstallation,
) -> None:
    installation.run("agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust")

    result = _add_user(installation, "ig.lead", "--agency", "RX4", "--role", "ig_lead")

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert {k: shown[k] for k in ("username", "agency", "role")} == {
        "username": "ig.lead",
        "agency": "RX4",
        "role": "ig_lead",
    }
    ((stored_hash,),) = _select(installation, "SELECT password_hash FROM users")
    assert str(stored_hash).startswith("scrypt$n=16384,r=8,p=1$")
    audit = _select(installation, "SELECT detail FROM audit_records WHERE event = 'user.created'")
    assert len(audit) == 1
    assert PASS_PHRASE not in f"{stored_hash} {audit}"


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("ig.lead", "--agency", "RX4", "--role", "ig_lead"), "eleven char", "12 to 1024"),
        (("ig.lead", "--agency", "NOPE1", "--role", "ig_lead"), PASS_PHRASE, "unknown agency"),
        (("taken.name", "--agency", "RX4", "--role", "ig_lead"), PASS_PHRASE, "already exists"),
        (("ig.lead", "--agency", "RX4", "--role", "boss"), PASS_PHRASE, "role: one of ig_lead"),
        (("Bad Name!", "--agency", "RX4", "--role", "duty"), PASS_PHRASE, "username"),
        (("ig.lead", "--agency", "RX4", "--role", "duty"), "", "no password"),
    ],
)
@ONE_DATABASE
def test_user_add_bad_input_is_one_line_and_writes_nothing(
    installation: ImbInstallation, args: tuple[str, ...], password: str, message: str
) -> None:
    installation.run_in_one_process(
        TWO_AGENCIES[0],
        {
            "argv": ["user", "add", "taken.name", "--agency", "RX4", "--role", "duty"],
            "stdin": PASS_PHRASE,
        },
    )
    before = _select(installation, "SELECT count(*) FROM users")

    result = _add_user(installation, *args, password=password)

    assert result.returncode == 1
    assert result.stderr.startswith("imb: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert _select(installation, "SELECT count(*) FROM users") == before


def test_user_add_takes_no_password_on_the_command_line(installation: ImbInstallation) -> None:
    out = installation.run("user", "add", "--help").stdout

    assert "--password" not in out
    assert "ig_lead|duty|auditor|admin" in out

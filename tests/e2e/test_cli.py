"""The operator's commands: clear one-line errors, non-zero exits, nothing half-written."""

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from broker.db.engine import Database
from tests.e2e.processes import ImbInstallation
from tests.world import agreement_body

pytestmark = pytest.mark.slow


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


def _rows_written(imb: ImbInstallation) -> int:
    counts = _select(
        imb,
        "SELECT (SELECT count(*) FROM agencies) + (SELECT count(*) FROM clients)"
        " + (SELECT count(*) FROM agreement_versions)",
    )
    return int(str(counts[0][0]))


def test_help_documents_every_command(installation: ImbInstallation) -> None:
    out = installation.run("--help").stdout
    for command in ("serve", "migrate", "worker", "agency", "client", "agreement"):
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
    installation.run("agency", "add", "RX4", "--name", "Trust", "--kind", "nhs_trust")
    installation.run("agency", "add", "LA001", "--name", "Council", "--kind", "local_authority")
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

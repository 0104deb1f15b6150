"""`imb migrate --check`: what a Kubernetes pod waits on before it starts. It says whether the
schema is at this release's head, and never changes the database, whatever its state."""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from broker.db.engine import create_engine, is_sqlite
from broker.db.migrate import head_revision
from tests.e2e.processes import ImbInstallation


async def _as_admin(url: str, statement: str) -> None:
    engine = create_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _table_names(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()


def tables_in(url: str) -> list[str]:
    return asyncio.run(_table_names(url))


@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database that exists but has no schema yet, on the backend of the run."""
    if is_sqlite(database_url):
        empty = tmp_path / "empty.db"
        empty.touch()
        yield f"sqlite+aiosqlite:///{empty}"
        return
    name = f"imb_check_{uuid.uuid4().hex[:10]}"
    asyncio.run(_as_admin(database_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(False)
    finally:
        asyncio.run(_as_admin(database_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
def unmigrated(tmp_path: Path, empty_database: str) -> ImbInstallation:
    return ImbInstallation(tmp_path / "imb-data", empty_database, kafka_bootstrap=None)


def test_check_on_an_unmigrated_database_fails_in_one_line_and_creates_nothing(
    unmigrated: ImbInstallation,
) -> None:
    checked = unmigrated.run("migrate", "--check", check=False)

    assert checked.returncode == 1
    assert checked.stderr.startswith("imb: the database schema is at nothing")
    assert "run `imb migrate`" in checked.stderr
    assert len(checked.stderr.strip().splitlines()) == 1
    assert tables_in(unmigrated.database_url) == []
    assert not unmigrated.data_dir.exists()


def test_check_passes_once_migrate_has_brought_the_schema_to_head(
    unmigrated: ImbInstallation,
) -> None:
    assert unmigrated.run("migrate", "--check", check=False).returncode == 1

    unmigrated.run("migrate")
    checked = unmigrated.run("migrate", "--check", check=False)

    assert checked.returncode == 0, checked.stderr
    assert f"at the schema's head, {head_revision()}" in checked.stdout
    assert checked.stderr == ""


def test_check_of_a_missing_sqlite_file_fails_without_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "imb.db"
    installation = ImbInstallation(
        tmp_path / "imb-data", f"sqlite+aiosqlite:///{missing}", kafka_bootstrap=None
    )

    checked = installation.run("migrate", "--check", check=False)

    assert checked.returncode == 1
    assert checked.stderr.strip() == f"imb: no database at {missing}: run `imb migrate`"
    assert not missing.parent.exists()
    assert not installation.data_dir.exists()


def test_check_of_an_unreachable_database_fails_in_one_line(tmp_path: Path) -> None:
    installation = ImbInstallation(
        tmp_path / "imb-data", "postgresql+asyncpg://nobody@127.0.0.1:9/none", kafka_bootstrap=None
    )

    checked = installation.run("migrate", "--check", check=False)

    assert checked.returncode == 1
    assert checked.stderr.startswith("imb: could not connect")
    assert len(checked.stderr.strip().splitlines()) == 1

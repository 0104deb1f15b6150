"""Schema migrations (Alembic), run programmatically: the schema comes only from them."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from broker.db.engine import create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number, the same in every IMB process: the PostgreSQL advisory lock under which one
# migrator at a time reads the schema's revision and upgrades it. Without it, two migrators at
# once (a retry of deploy/k8s's migration Job, a run by hand) would each try the same DDL.
MIGRATION_LOCK = 0x494D42_4D4947  # "IMB" "MIG"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def _one_migrator_at_a_time(connection: Connection) -> None:
    # Released when the migration's transaction ends. SQLite needs none: one process owns it.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def _upgrade(connection: Connection, revision: str = "head") -> None:
    _one_migrator_at_a_time(connection)
    command.upgrade(_config(connection), revision)


def _downgrade(connection: Connection, revision: str) -> None:
    _one_migrator_at_a_time(connection)
    command.downgrade(_config(connection), revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_to_head(url: str) -> None:
    await migrate_to(url, "head")


async def migrate_to(url: str, revision: str, *, down: bool = False) -> None:
    """Upgrade (or, `down`, downgrade) the schema to `revision`."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade if down else _upgrade, revision)
    finally:
        await engine.dispose()


async def schema_behind(url: str) -> str | None:
    """Why the schema is not at this release's head, or None when it is; reads only."""
    current, head = await current_revision(url), head_revision()
    if current == head:
        return None
    return f"the database schema is at {current or 'nothing'}, not {head}: run `imb migrate`"


async def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current)
    finally:
        await engine.dispose()


def upgrade_to_head_blocking(url: str) -> None:
    asyncio.run(upgrade_to_head(url))

"""Real databases for tests, their schema built only by the Alembic migrations.

SQLite always; PostgreSQL too when IMB_TEST_DATABASE_URL is set, in which case a server that
cannot be reached fails the run rather than skipping it.
"""

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from broker.db.engine import create_engine
from broker.db.migrate import upgrade_to_head
from broker.db.models import Base

POSTGRES_ENV = "IMB_TEST_DATABASE_URL"
# Tables the migrations fill with defaults (the default timeframes), as a new database has them.
SEEDED_TABLES = ("timeframe_policies", "audit_chain_head")


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]


class SqliteTemplate:
    def __init__(self, folder: Path) -> None:
        self.template = folder / "template.db"
        asyncio.run(upgrade_to_head(self.url_for(self.template)))

    @staticmethod
    def url_for(path: Path) -> str:
        return f"sqlite+aiosqlite:///{path}"

    def fresh(self, folder: Path) -> str:
        target = folder / "imb.db"
        shutil.copyfile(self.template, target)
        return self.url_for(target)


class PostgresDatabase:
    """A database of its own for this test run, emptied before each test."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"imb_test_{uuid.uuid4().hex[:12]}"
        self.url = make_url(admin_url).set(database=self.name).render_as_string(False)
        asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
        asyncio.run(upgrade_to_head(self.url))
        asyncio.run(self._keep_seeds())

    async def _admin(self, statement: str) -> None:
        engine = create_engine(self.admin_url).execution_options(isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    def fresh(self) -> str:
        asyncio.run(self._truncate())
        return self.url

    async def _keep_seeds(self) -> None:
        """A copy of what the migrations seed, outside the schema, to restore after emptying."""
        engine = create_engine(self.url)
        try:
            async with engine.begin() as connection:
                for table in SEEDED_TABLES:
                    await connection.execute(
                        text(f'CREATE TABLE "seed_{table}" AS SELECT * FROM "{table}"')
                    )
        finally:
            await engine.dispose()

    async def _truncate(self) -> None:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        engine = create_engine(self.url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                for table in SEEDED_TABLES:
                    await connection.execute(
                        text(f'INSERT INTO "{table}" SELECT * FROM "seed_{table}"')
                    )
        finally:
            await engine.dispose()

    def drop(self) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


def postgres_database() -> Iterator[PostgresDatabase]:
    database = PostgresDatabase(os.environ[POSTGRES_ENV])
    try:
        yield database
    finally:
        database.drop()


# For slow end-to-end tests where one database is enough: the use cases beneath them are
# covered on both by the integration tests. SQLITE_ONLY, or the production one when configured.
SQLITE_ONLY = ["sqlite"]
PRODUCTION_LIKE = backends()[-1:]

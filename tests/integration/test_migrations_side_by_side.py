"""`imb migrate` in several pods at once (deploy/k8s runs it before every pod starts)."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from broker.db.engine import create_engine
from broker.db.migrate import current_revision, head_revision, upgrade_to_head
from tests.databases import POSTGRES_ENV


async def _admin(statement: str) -> None:
    engine = create_engine(os.environ[POSTGRES_ENV]).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
async def empty_postgres() -> AsyncIterator[str]:
    """A PostgreSQL database with no schema at all, as on a first install."""
    if not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"the advisory lock is PostgreSQL's: set {POSTGRES_ENV}")
    name = f"imb_empty_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(os.environ[POSTGRES_ENV]).set(database=name).render_as_string(False)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_pods_migrating_at_once_leave_one_schema_at_head(empty_postgres: str) -> None:
    await asyncio.gather(*(upgrade_to_head(empty_postgres) for _ in range(4)))

    assert await current_revision(empty_postgres) == head_revision()


async def test_migrating_a_database_already_at_head_changes_nothing(database_url: str) -> None:
    before = await current_revision(database_url)

    await upgrade_to_head(database_url)

    assert before == head_revision()
    assert await current_revision(database_url) == head_revision()

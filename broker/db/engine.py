"""Engine and unit of work. Nothing is built at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from broker.db.reachability import name_connection_failures

# asyncpg waits 60 s for a server that swallows packets; a request or a worker should learn
# sooner that the database is out of reach, and answer 503 or back off.
CONNECT_TIMEOUT_SECONDS = 5.0


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _make_sqlite_transactions_immediate(engine: AsyncEngine) -> None:
    """Take SQLite's write lock at BEGIN, so concurrent writers wait instead of failing.

    A deferred transaction that reads and then writes cannot wait for the lock (SQLite would
    deadlock), so it fails with "database is locked"; BEGIN IMMEDIATE waits up to busy_timeout.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str) -> AsyncEngine:
    # Parameters are sealed content, pseudonyms and tokens: an error message or log line that
    # quotes a statement must never quote them.
    private = {"hide_parameters": True}
    if is_sqlite(url):
        # One connection: SQLite has one writer anyway, and queuing in the pool is cheaper
        # than contending for the file lock.
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60, **private)
        _make_sqlite_transactions_immediate(engine)
        return engine
    engine = create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        **private,
    )
    name_connection_failures(engine)
    return engine


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is rolled back unless the caller commits it."""
        async with self._sessions() as session:
            try:
                yield session
            finally:
                await session.rollback()

    async def dispose(self) -> None:
        await self.engine.dispose()

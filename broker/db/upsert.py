"""INSERT … ON CONFLICT DO NOTHING for both dialects: the idempotent write every stage uses."""

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import Base


async def insert_if_absent(
    session: AsyncSession, model: type[Base], values: dict[str, Any]
) -> bool:
    """Insert a row unless one with the same key exists; True when this call inserted it."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values).on_conflict_do_nothing()
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def insert_all_if_absent(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]
) -> None:
    """Insert each row unless one with the same key exists, in one statement."""
    if not rows:
        return
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    await session.execute(dialect.insert(model).values(rows).on_conflict_do_nothing())

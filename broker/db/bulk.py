"""Rows a hot path writes, inserted together: one multi-row INSERT per table, without the ORM.

Accepting, routing and dispatching write several rows per event (the message or delivery, its
audit records, its outbox entries). As ORM objects their bookkeeping cost more than the rest of
the work; as rows for the table itself they cost a dictionary each. Tables are inserted in the
order they were named, so a parent's rows go before its children's.
"""

from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import Base

Row = dict[str, Any]


class RowsToInsert:
    def __init__(self, *tables: type[Base]) -> None:
        self._rows: dict[type[Base], list[Row]] = {table: [] for table in tables}

    def add(self, table: type[Base], row: Row) -> None:
        self._rows[table].append(row)

    async def insert(self, session: AsyncSession) -> None:
        """Insert everything added so far, in this session's transaction."""
        for table, rows in self._rows.items():
            if rows:
                await session.execute(insert(cast(Table, table.__table__)), rows)
                rows.clear()

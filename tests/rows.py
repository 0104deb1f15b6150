"""Counting rows, to show that refused input left nothing behind."""

from sqlalchemy import func, select
from sqlalchemy.orm import DeclarativeBase

from broker.runtime import Runtime


async def row_counts(runtime: Runtime, *models: type[DeclarativeBase]) -> dict[str, int]:
    async with runtime.db.unit_of_work() as session:
        return {
            str(model.__tablename__): int(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )
            for model in models
        }

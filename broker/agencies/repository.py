"""Agency look-ups."""

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import Agency
from broker.runtime import Runtime


async def registered(session: AsyncSession, rt: Runtime, codes: Collection[str]) -> set[str]:
    """Which of these agency codes are registered (agencies are never removed, so a code
    once found is remembered for the life of the process)."""
    unseen = [code for code in codes if code not in rt.known_agencies]
    if unseen:
        found = await session.scalars(select(Agency.code).where(Agency.code.in_(unseen)))
        rt.known_agencies.update(found.all())
    return {code for code in codes if code in rt.known_agencies}

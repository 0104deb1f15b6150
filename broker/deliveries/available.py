"""What follows, in the same transaction, whenever deliveries are made available: each gets
its recipient's next `seq`, webhook agencies get a push queued, and waiting inbox readers are
told at commit. The dispatcher and the non-delivery reports both go through here."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from broker.deliveries import arrivals, push, sequence


async def made_available(
    session: AsyncSession, at: datetime, deliveries: Sequence[tuple[UUID, str]]
) -> None:
    """`deliveries`: (delivery id, recipient), in the order they were accepted."""
    await arrivals.announce(session, (recipient for _, recipient in deliveries))
    await push.queue_pushes(session, at, list(deliveries))
    # Last, so the agencies' counters are held only for the commit.
    await sequence.number(session, deliveries)

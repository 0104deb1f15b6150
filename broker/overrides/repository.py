"""Override items: opening one per permit_override delivery, and reading the queue."""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import Message, Override


async def overrides_visible_to(
    session: AsyncSession, agency: str | None, status: str | None
) -> Sequence[tuple[Override, Message]]:
    """Oldest first, so the queue is worked in the order the overrides happened."""
    statement = (
        select(Override, Message)
        .join(Message, Message.id == Override.message_id)
        .order_by(Override.opened_at, Override.id)
    )
    if agency is not None:
        statement = statement.where(
            or_(Override.sender_agency == agency, Override.recipient_agency == agency)
        )
    if status is not None:
        statement = statement.where(Override.status == status)
    return [(o, m) for o, m in (await session.execute(statement)).all()]


async def overrides_of_message(session: AsyncSession, message_id: UUID) -> dict[UUID, Override]:
    """The message's override items by delivery."""
    rows = await session.scalars(select(Override).where(Override.message_id == message_id))
    return {o.delivery_id: o for o in rows}

"""Look-ups of people and their browser sessions."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import User, WebSession


async def user_named(session: AsyncSession, username: str) -> User | None:
    found: User | None = await session.scalar(select(User).where(User.username == username))
    return found


async def live_session(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[WebSession, User] | None:
    """The session with this token hash if it has neither ended nor expired, and its user
    is not disabled."""
    row = (
        await session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(
                WebSession.token_hash == token_hash,
                WebSession.ended_at.is_(None),
                WebSession.expires_at > now,
                User.disabled_at.is_(None),
            )
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def end_sessions(session: AsyncSession, user_id: UUID, at: datetime) -> int:
    """End every open session of the user; how many there were."""
    result = await session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=at)
    )
    return int(getattr(result, "rowcount", 0))


async def users_of(session: AsyncSession, agency: str | None) -> list[User]:
    statement = select(User).order_by(User.agency_code, User.username)
    if agency is not None:
        statement = statement.where(User.agency_code == agency)
    return list((await session.scalars(statement)).all())

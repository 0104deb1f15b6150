"""Look-ups of people and their browser sessions."""

from datetime import datetime

from sqlalchemy import select
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

"""Locking a username out after repeated failed sign-ins, for longer each time.

After `sign_in_failures` failures in a row a username is locked for `lockout_seconds`; each
further lockout doubles, up to `lockout_max_seconds`. While locked, even the right password is
refused (a guesser must not learn that it guessed right). A successful sign-in, or a day with no
failure, starts the count again. Unknown usernames are counted the same way, so the answer never
says whether an account exists. Counts are rows in the database, so every process of the broker
sees the same lockout; each step is one atomic UPDATE, so two processes failing at once cannot
lose a count.
"""

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import SignInAttempts
from broker.db.upsert import insert_if_absent
from broker.settings import RateLimitSettings

FORGIVEN_AFTER = timedelta(days=1)


async def locked_until(session: AsyncSession, username: str, now: datetime) -> datetime | None:
    row = await session.get(SignInAttempts, username)
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until


async def note_failure(
    session: AsyncSession, policy: RateLimitSettings, username: str, now: datetime
) -> tuple[datetime, int] | None:
    """Count a failure; when it completes a run, lock the username: (until, lockouts)."""
    await insert_if_absent(session, SignInAttempts, {"username": username})
    await _forgive_old_failures(session, username, now)
    failures = await session.scalar(
        update(SignInAttempts)
        .where(SignInAttempts.username == username)
        .values(failures=SignInAttempts.failures + 1, last_failure_at=now)
        .returning(SignInAttempts.failures)
    )
    if failures is None or failures < policy.sign_in_failures:
        return None
    return await _lock(session, policy, username, now)


async def _lock(
    session: AsyncSession, policy: RateLimitSettings, username: str, now: datetime
) -> tuple[datetime, int] | None:
    row = await session.get(SignInAttempts, username, populate_existing=True)
    assert row is not None
    lockouts = row.lockouts + 1
    seconds = min(policy.lockout_seconds * 2 ** (lockouts - 1), policy.lockout_max_seconds)
    until = now + timedelta(seconds=seconds)
    # Compare-and-set on the count, so that of two processes failing at once only one locks.
    locked = await session.scalar(
        update(SignInAttempts)
        .where(SignInAttempts.username == username, SignInAttempts.failures >= row.failures)
        .values(failures=0, lockouts=lockouts, locked_until=until)
        .returning(SignInAttempts.lockouts)
    )
    return (until, lockouts) if locked is not None else None


async def _forgive_old_failures(session: AsyncSession, username: str, now: datetime) -> None:
    await session.execute(
        update(SignInAttempts)
        .where(
            SignInAttempts.username == username,
            SignInAttempts.last_failure_at < now - FORGIVEN_AFTER,
        )
        .values(failures=0, lockouts=0)
    )


async def note_success(session: AsyncSession, username: str) -> None:
    await session.execute(
        update(SignInAttempts)
        .where(SignInAttempts.username == username)
        .values(failures=0, lockouts=0, locked_until=None)
    )

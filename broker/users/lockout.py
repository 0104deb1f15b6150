"""Locking a username out after repeated failed sign-ins, for longer each time.

After `sign_in_failures` failures in a row a username is locked for `lockout_seconds`; each
further lockout doubles, up to `lockout_max_seconds`. While locked, even the right password is
refused (a guesser must not learn that it guessed right). A successful sign-in, or a day with no
failure, starts the count again. Unknown usernames are counted the same way, so the answer never
says whether an account exists. Counts are rows in the database, so every process of the broker
sees the same lockout. Each attempt is counted *before* its password is checked, in one atomic
UPDATE that also refuses a locked username: a burst of guesses sent at once gets at most
`sign_in_failures` of them checked, however many processes answer them.
"""

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import SignInAttempts
from broker.db.upsert import insert_if_absent
from broker.settings import RateLimitSettings

FORGIVEN_AFTER = timedelta(days=1)


async def begin_attempt(
    session: AsyncSession, policy: RateLimitSettings, username: str, now: datetime
) -> tuple[datetime, int | None] | None:
    """Count the attempt as a failure until it succeeds. None: go on and check the password.
    Otherwise the username is locked until then (with the lockout's number if this attempt
    started it): refuse without checking."""
    await insert_if_absent(session, SignInAttempts, {"username": username})
    await _forgive_old_failures(session, username, now)
    failures = await session.scalar(
        update(SignInAttempts)
        .where(
            SignInAttempts.username == username,
            or_(SignInAttempts.locked_until.is_(None), SignInAttempts.locked_until <= now),
        )
        .values(failures=SignInAttempts.failures + 1, last_failure_at=now)
        .returning(SignInAttempts.failures)
    )
    if failures is None:
        row = await session.get(SignInAttempts, username, populate_existing=True)
        assert row is not None
        assert row.locked_until is not None
        return row.locked_until, None
    if failures > policy.sign_in_failures:
        locked = await _lock(session, policy, username, now)
        if locked is not None:
            return locked
        row = await session.get(SignInAttempts, username, populate_existing=True)
        assert row is not None
        return (row.locked_until or now), None
    return None


async def note_failure(
    session: AsyncSession, policy: RateLimitSettings, username: str, now: datetime
) -> tuple[datetime, int] | None:
    """The attempt, already counted, failed: lock the username if it completed a run."""
    row = await session.get(SignInAttempts, username, populate_existing=True)
    if row is None or row.failures < policy.sign_in_failures:
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


async def unlock(session: AsyncSession, username: str) -> bool:
    """Clear the username's failures and lockout (an administrator's act); whether it had any."""
    result = await session.execute(
        update(SignInAttempts)
        .where(
            SignInAttempts.username == username,
            SignInAttempts.failures + SignInAttempts.lockouts > 0,
        )
        .values(failures=0, lockouts=0, locked_until=None)
    )
    return bool(getattr(result, "rowcount", 0))


async def note_success(session: AsyncSession, username: str) -> None:
    await session.execute(
        update(SignInAttempts)
        .where(SignInAttempts.username == username)
        .values(failures=0, lockouts=0, locked_until=None)
    )

"""CreateUser, SignIn, the signed-in session, SignOut.

A browser holds a 256-bit random token in a cookie; the database keeps only its SHA-256, so
a copy of the table signs nobody in. Each session also carries a synchronizer token that
every form posts back (CSRF).
"""

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from broker.agencies.repository import registered
from broker.audit.log import Actor, AuditEvent, append
from broker.db.models import User, WebSession
from broker.errors import Conflict, FieldError, InvalidInput, NotFound
from broker.runtime import Runtime
from broker.users.lockout import begin_attempt, note_failure, note_success, unlock
from broker.users.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from broker.users.repository import end_sessions, live_session, user_named
from broker.users.roles import UserRole

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")
# Who refused a sign-in: nobody is signed in yet, so no agency is named.
SIGN_IN_DESK = Actor(agency=None, client="web:sign-in")


@dataclass(frozen=True)
class SignedIn:
    """A person with a live browser session."""

    user: User
    web_session: WebSession

    @property
    def actor(self) -> Actor:
        return user_actor(self.user)

    @property
    def role(self) -> UserRole:
        return UserRole(self.user.role)


@dataclass(frozen=True)
class IssuedSession:
    """A new session; `token` goes into the cookie and is never stored."""

    token: str
    signed_in: SignedIn


def user_actor(user: User) -> Actor:
    return Actor(agency=user.agency_code, client=f"user:{user.username}")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def create_user(
    session: AsyncSession,
    rt: Runtime,
    actor: Actor,
    *,
    username: str,
    agency: str,
    role: str,
    password: str,
) -> User:
    _check_new_user(username, role, password)
    if not await registered(session, rt, [agency]):
        raise InvalidInput("no such agency", [FieldError(("agency",), f"unknown agency {agency}")])
    if await user_named(session, username) is not None:
        raise Conflict(f"user {username} already exists")
    now = rt.clock()
    password_hash = await asyncio.to_thread(hash_password, password)
    user = User(
        id=uuid4(),
        username=username,
        agency_code=agency,
        role=role,
        password_hash=password_hash,
        created_at=now,
    )
    session.add(user)
    detail = {"user_id": str(user.id), "username": username, "agency": agency, "role": role}
    append(session, AuditEvent.USER_CREATED, actor, now, detail=detail)
    return user


def _check_new_user(username: str, role: str, password: str) -> None:
    errors = []
    if not USERNAME.fullmatch(username):
        errors.append(
            FieldError(("username",), "2 to 100 characters: lower-case letters, digits and . _ @ -")
        )
    if role not in set(UserRole):
        errors.append(FieldError(("role",), f"one of {', '.join(UserRole)}"))
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        errors.append(
            FieldError(
                ("password",),
                f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            )
        )
    if errors:
        raise InvalidInput("the user cannot be created", errors)


@dataclass(frozen=True)
class SignInRefused:
    """Why a sign-in was refused: a wrong username or password (or a disabled account), or a
    lockout until `locked_until`."""

    locked_until: datetime | None = None


async def sign_in(
    session: AsyncSession, rt: Runtime, username: str, password: str
) -> IssuedSession | SignInRefused:
    """A new session, or the refusal (audited). An unknown username costs the same scrypt
    work as a known one, and is counted towards a lockout the same way."""
    now = rt.clock()
    key = username[:100]
    locked = await begin_attempt(session, rt.settings.rate_limit, key, now)
    if locked is not None:
        return _locked_out(session, key, now, *locked)
    user = await user_named(session, username) if len(username) <= 100 else None
    stored = user.password_hash if user is not None else dummy_hash()
    matches = await asyncio.to_thread(verify_password, password, stored)
    if user is None or user.disabled_at is not None or not matches:
        return await _refused(session, rt, key, now)
    await note_success(session, key)
    if needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    return _new_session(session, rt, user, now)


async def _refused(
    session: AsyncSession, rt: Runtime, username: str, now: datetime
) -> SignInRefused:
    refused = {"username": username}
    append(session, AuditEvent.USER_SIGN_IN_REFUSED, SIGN_IN_DESK, now, detail=refused)
    locked = await note_failure(session, rt.settings.rate_limit, username, now)
    if locked is None:
        return SignInRefused()
    until, lockouts = locked
    _note_lockout(session, username, now, until, lockouts)
    return SignInRefused(locked_until=until)


def _locked_out(
    session: AsyncSession, username: str, now: datetime, until: datetime, lockouts: int | None
) -> SignInRefused:
    """Refused unchecked: the username is locked (and, with `lockouts`, this attempt locked it)."""
    detail = {"username": username, "locked_until": until.isoformat()}
    append(session, AuditEvent.USER_SIGN_IN_REFUSED, SIGN_IN_DESK, now, detail=detail)
    if lockouts is not None:
        _note_lockout(session, username, now, until, lockouts)
    return SignInRefused(locked_until=until)


def _note_lockout(
    session: AsyncSession, username: str, now: datetime, until: datetime, lockouts: int
) -> None:
    detail = {"username": username, "locked_until": until.isoformat(), "lockouts": lockouts}
    append(session, AuditEvent.USER_LOCKED_OUT, SIGN_IN_DESK, now, detail=detail)


def _new_session(session: AsyncSession, rt: Runtime, user: User, now: datetime) -> IssuedSession:
    token = secrets.token_urlsafe(32)
    web_session = WebSession(
        token_hash=token_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(minutes=rt.settings.web.session_minutes),
    )
    session.add(web_session)
    detail = {"user_id": str(user.id), "username": user.username}
    append(session, AuditEvent.USER_SIGNED_IN, user_actor(user), now, detail=detail)
    return IssuedSession(token, SignedIn(user, web_session))


async def signed_in(session: AsyncSession, rt: Runtime, token: str) -> SignedIn | None:
    """Who holds this cookie token, if its session is live."""
    found = await live_session(session, token_digest(token), rt.clock())
    return None if found is None else SignedIn(user=found[1], web_session=found[0])


def sign_out(session: AsyncSession, signed_in: SignedIn, at: datetime) -> None:
    signed_in.web_session.ended_at = at
    user = signed_in.user
    detail = {"user_id": str(user.id), "username": user.username}
    append(session, AuditEvent.USER_SIGNED_OUT, user_actor(user), at, detail=detail)


async def disable_user(session: AsyncSession, rt: Runtime, actor: Actor, username: str) -> User:
    """No more sign-ins, and every open session of the person ends now (audited)."""
    user = await _user(session, username)
    if user.disabled_at is not None:
        raise Conflict(f"user {username} is already disabled")
    now = rt.clock()
    user.disabled_at = now
    ended = await end_sessions(session, user.id, now)
    detail = {"user_id": str(user.id), "username": username, "sessions_ended": ended}
    append(session, AuditEvent.USER_DISABLED, actor, now, detail=detail)
    return user


async def enable_user(session: AsyncSession, rt: Runtime, actor: Actor, username: str) -> User:
    user = await _user(session, username)
    if user.disabled_at is None:
        raise Conflict(f"user {username} is not disabled")
    user.disabled_at = None
    detail = {"user_id": str(user.id), "username": username}
    append(session, AuditEvent.USER_ENABLED, actor, rt.clock(), detail=detail)
    return user


async def _user(session: AsyncSession, username: str) -> User:
    user = await user_named(session, username) if len(username) <= 100 else None
    if user is None:
        raise NotFound(f"no user {username}")
    return user


async def unlock_user(session: AsyncSession, rt: Runtime, actor: Actor, username: str) -> User:
    """Lift a sign-in lockout (audited): the administrator's answer to "ask your administrator"."""
    user = await _user(session, username)
    if not await unlock(session, username):
        raise Conflict(f"user {username} is not locked out and has no failed sign-ins")
    detail = {"user_id": str(user.id), "username": username}
    append(session, AuditEvent.USER_UNLOCKED, actor, rt.clock(), detail=detail)
    return user

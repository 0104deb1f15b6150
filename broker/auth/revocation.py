"""Whether a token's client still stands: not revoked, and its credentials not replaced.

Access tokens are self-contained JWTs, so revoking a client would otherwise wait for its
tokens to expire (up to `token_lifetime_seconds`). Every request checks the client's row
instead, through a per-process memory of at most `max_age` seconds: a revocation or rotation
committed by any process is seen by every other within that time, and a busy client costs one
primary-key read a second per process, not one per request.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from broker.auth.tokens import AccessClaims, InvalidToken
from broker.db.engine import Database
from broker.db.models import Client

# The longest a revoked client's token keeps working on a process that has just checked it.
MAX_AGE_SECONDS = 1.0


@dataclass(frozen=True)
class ClientStanding:
    live: bool
    credentials_version: int


GONE = ClientStanding(live=False, credentials_version=0)


class ClientStatus:
    def __init__(
        self, max_age: float = MAX_AGE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_age = max_age
        self._clock = clock
        self._seen: dict[str, tuple[float, ClientStanding]] = {}
        self._reading: dict[str, asyncio.Task[ClientStanding]] = {}

    async def check(self, db: Database, claims: AccessClaims) -> None:
        """Raise InvalidToken unless the token's client is live and the token was issued for
        its current credentials."""
        standing = await self._standing(db, claims.client_id)
        if not standing.live:
            raise InvalidToken("the client has been revoked")
        if standing.credentials_version != claims.credentials_version:
            raise InvalidToken("the client's credentials have been replaced since")

    def forget(self, client_id: str) -> None:
        """This process changed the client itself: no need to wait for the memory to age."""
        self._seen.pop(client_id, None)
        self._reading.pop(client_id, None)

    async def _standing(self, db: Database, client_id: str) -> ClientStanding:
        now = self._clock()
        seen = self._seen.get(client_id)
        if seen is not None and now - seen[0] < self._max_age:
            return seen[1]
        # One read per client at a time: the requests that find the memory stale together
        # wait for the same read, rather than each taking a connection of its own for it.
        reading = self._reading.get(client_id)
        if reading is None:
            reading = asyncio.ensure_future(_read(db, client_id))
            self._reading[client_id] = reading
            reading.add_done_callback(lambda done: self._remember(client_id, now, done))
        return await asyncio.shield(reading)

    def _remember(self, client_id: str, at: float, read: "asyncio.Task[ClientStanding]") -> None:
        if self._reading.get(client_id) is not read:
            return  # forgotten while it was read: this answer may predate the change
        del self._reading[client_id]
        if not read.cancelled() and read.exception() is None:
            self._seen[client_id] = (at, read.result())


async def _read(db: Database, client_id: str) -> ClientStanding:
    async with db.unit_of_work() as session:
        row = (
            await session.execute(
                select(Client.revoked_at, Client.credentials_version).where(
                    Client.client_id == client_id
                )
            )
        ).one_or_none()
    if row is None:
        return GONE
    revoked_at, version = row
    return ClientStanding(live=revoked_at is None, credentials_version=version)

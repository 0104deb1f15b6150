"""Each agency's limits on its clients' calls: set by an administrator, or the defaults.

A process reads an agency's limits from the database at most every `max_age` seconds, so a
change reaches every process within that time and costs nothing per call.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append
from broker.db.engine import Database
from broker.db.models import Agency, AgencyRateLimits
from broker.db.upsert import insert_if_absent
from broker.errors import FieldError, InvalidInput
from broker.ratelimits.limiter import Limit
from broker.settings import RateLimitSettings
from schemas.admin import RateLimitsBody, RateLimitsView

PUBLISH, READ = "publish", "read"


@dataclass(frozen=True)
class ClientLimits:
    publish: Limit
    read: Limit


class AgencyLimits:
    def __init__(
        self,
        defaults: RateLimitSettings,
        max_age: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._defaults, self._max_age, self._clock = defaults, max_age, clock
        self._seen: dict[str, tuple[float, ClientLimits]] = {}

    async def of(self, db: Database, agency: str) -> ClientLimits:
        now = self._clock()
        seen = self._seen.get(agency)
        if seen is not None and now - seen[0] < self._max_age:
            return seen[1]
        async with db.unit_of_work() as session:
            limits = self._limits(await session.get(AgencyRateLimits, agency))
        self._seen[agency] = (now, limits)
        return limits

    def forget(self, agency: str) -> None:
        self._seen.pop(agency, None)

    def view(self, agency: str, publish: str | None, read: str | None) -> RateLimitsView:
        return RateLimitsView(
            agency=agency,
            publish=publish,
            read=read,
            effective_publish=publish or self._defaults.publish,
            effective_read=read or self._defaults.read,
        )

    def _limits(self, row: AgencyRateLimits | None) -> ClientLimits:
        publish = (row.publish if row else None) or self._defaults.publish
        read = (row.read if row else None) or self._defaults.read
        return ClientLimits(Limit.of(PUBLISH, publish), Limit.of(READ, read))


async def set_agency_limits(
    session: AsyncSession,
    cache: AgencyLimits,
    actor: Actor,
    at: datetime,
    agency: str,
    body: RateLimitsBody,
) -> RateLimitsView:
    """Replace the agency's limits (unset ones fall back to the defaults); audited."""
    if await session.get(Agency, agency) is None:
        raise InvalidInput(
            "the limits cannot be set", [FieldError(("path", "code"), f"unknown agency {agency}")]
        )
    values = {"agency_code": agency, "publish": body.publish, "read": body.read, "updated_at": at}
    if not await insert_if_absent(session, AgencyRateLimits, values):
        row = await session.get(AgencyRateLimits, agency, populate_existing=True)
        assert row is not None
        row.publish, row.read, row.updated_at = body.publish, body.read, at
    detail = {"agency": agency, "publish": body.publish, "read": body.read}
    append(session, AuditEvent.AGENCY_RATE_LIMITS_SET, actor, at, detail=detail)
    cache.forget(agency)
    return cache.view(agency, body.publish, body.read)


async def agency_limits_view(
    session: AsyncSession, cache: AgencyLimits, agency: str
) -> RateLimitsView:
    row = await session.get(AgencyRateLimits, agency)
    return cache.view(agency, row.publish if row else None, row.read if row else None)

"""RegisterAgency."""

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append
from broker.db.models import Agency
from broker.errors import Conflict
from broker.runtime import Runtime
from schemas.admin import AgencyRegistration


async def register_agency(
    session: AsyncSession, rt: Runtime, actor: Actor, body: AgencyRegistration
) -> Agency:
    if await session.get(Agency, body.code) is not None:
        raise Conflict(f"agency {body.code} is already registered")
    now = rt.clock()
    agency = Agency(code=body.code, name=body.name, kind=body.kind.value, created_at=now)
    session.add(agency)
    append(session, AuditEvent.AGENCY_REGISTERED, actor, now, detail=body.model_dump(mode="json"))
    return agency

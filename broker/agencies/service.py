"""RegisterAgency, and reading the registered agencies."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append
from broker.db.models import Agency
from broker.errors import Conflict, NotFound
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


async def registered_agencies(session: AsyncSession) -> list[Agency]:
    return list((await session.scalars(select(Agency).order_by(Agency.code))).all())


async def agency_named(session: AsyncSession, code: str) -> Agency:
    agency = await session.get(Agency, code)
    if agency is None:
        raise NotFound(f"unknown agency {code}")
    return agency

"""ReplaceCareTeam: who works with the person, and which of them coordinates."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from broker.agencies.repository import registered
from broker.audit.log import Actor, AuditEvent, append
from broker.db.models import CareTeamMember
from broker.errors import FieldError, InvalidInput
from broker.runtime import Runtime
from broker.subjects.repository import register_subject, replace_care_team
from schemas.care_team import CareTeam


async def set_care_team(
    session: AsyncSession, rt: Runtime, actor: Actor, nhs_number: str, team: CareTeam
) -> dict[str, Any]:
    await check_agencies(session, rt, [m.agency for m in team.members], ("body", "members"))
    pseudonym = await register_subject(session, rt, nhs_number)
    now = rt.clock()
    members = [
        CareTeamMember(
            subject_pseudonym=pseudonym,
            agency_code=m.agency,
            role=m.role,
            named_lead=m.named_lead,
            coordinator=m.coordinator,
            updated_at=now,
        )
        for m in team.members
    ]
    await replace_care_team(session, pseudonym, members)
    view = team.model_dump(mode="json")
    append(session, AuditEvent.CARE_TEAM_REPLACED, actor, now, subject=pseudonym, detail=view)
    return view


async def check_agencies(
    session: AsyncSession, rt: Runtime, codes: list[str], where: tuple[str | int, ...]
) -> None:
    known = await registered(session, rt, codes)
    errors = [
        FieldError((*where, index, "agency"), f"unknown agency {code}")
        for index, code in enumerate(codes)
        if code not in known
    ]
    if errors:
        raise InvalidInput("unknown agencies", errors)

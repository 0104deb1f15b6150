"""SetDutyTeam and reading an agency's duty team: who its escalations go to."""

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from broker.addresses import origin_of
from broker.audit.log import Actor, AuditEvent, append
from broker.db.models import Agency, DutyTeam
from broker.db.upsert import insert_if_absent
from broker.errors import FieldError, InvalidInput, NotFound
from broker.runtime import Runtime
from schemas.escalations import DutyTeamBody, DutyTeamView


async def set_duty_team(
    session: AsyncSession, rt: Runtime, actor: Actor, agency: str, body: DutyTeamBody
) -> DutyTeamView:
    """Replace the agency's duty team. An unknown agency is bad input (422), as it is in
    every other body that names one: an administrator mistyped a code, nothing is absent."""
    if await session.get(Agency, agency) is None:
        raise InvalidInput(
            "the duty team cannot be set",
            [FieldError(("path", "code"), f"unknown agency {agency}")],
        )
    values = {
        "agency_code": agency,
        "name": body.name,
        "email": body.email,
        "webhook_url": str(body.webhook_url) if body.webhook_url else None,
        "updated_at": rt.clock(),
    }
    # Insert-or-update that two administrators setting a new team at once cannot break.
    if not await insert_if_absent(session, DutyTeam, values):
        await session.execute(
            update(DutyTeam).where(DutyTeam.agency_code == agency).values(**values)
        )
    team = await session.get(DutyTeam, agency, populate_existing=True)
    assert team is not None
    append(session, AuditEvent.DUTY_TEAM_SET, actor, team.updated_at, detail=_audit_detail(team))
    return duty_team_view(team)


def _audit_detail(team: DutyTeam) -> dict[str, str | None]:
    # A shared organisational mailbox is not personal data, but a webhook URL often carries
    # the receiver's access token in its path or query: only its origin is recorded.
    return {
        "agency": team.agency_code,
        "name": team.name,
        "email": team.email,
        "webhook": origin_of(team.webhook_url) if team.webhook_url else None,
    }


async def duty_team_of(session: AsyncSession, agency: str) -> DutyTeamView:
    team = await session.get(DutyTeam, agency)
    if team is None:
        raise NotFound(f"no duty team for agency {agency}")
    return duty_team_view(team)


def duty_team_view(team: DutyTeam) -> DutyTeamView:
    return DutyTeamView(
        agency=team.agency_code,
        name=team.name,
        email=team.email,
        webhook_url=team.webhook_url,
        updated_at=team.updated_at,
    )

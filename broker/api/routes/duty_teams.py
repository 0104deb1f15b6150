"""Each agency's duty team: set by an administrator, read by the agency itself too."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from broker.agencies.duty_teams import duty_team_of, set_duty_team
from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.errors import NotFound
from schemas.common import AgencyCode
from schemas.escalations import DutyTeamBody, DutyTeamView
from schemas.vocabulary import Scope

router = APIRouter(tags=["duty teams"])
Admin = Annotated[Caller, Depends(require(Scope.ADMIN))]
Reader = Annotated[Caller, Depends(require(Scope.ADMIN, Scope.INBOX_READ))]
AgencyPath = Annotated[AgencyCode, Path(description="the agency's ODS-style code")]


@router.put("/v1/agencies/{code}/duty-team", response_model=DutyTeamView)
async def put_duty_team(
    code: AgencyPath, body: DutyTeamBody, caller: Admin, rt: RuntimeDep, session: SessionDep
) -> DutyTeamView:
    """Set where the agency's escalations are sent: a shared mailbox, and optionally a
    webhook. An unknown agency is a 422."""
    view = await set_duty_team(session, rt, caller.actor, code, body)
    await session.commit()
    return view


@router.get("/v1/agencies/{code}/duty-team", response_model=DutyTeamView)
async def get_duty_team(code: AgencyPath, caller: Reader, session: SessionDep) -> DutyTeamView:
    """An administrator sees any agency's; an agency's own clients see only theirs."""
    if caller.visible_agency not in (None, code):
        raise NotFound(f"no duty team for agency {code}")
    return await duty_team_of(session, code)

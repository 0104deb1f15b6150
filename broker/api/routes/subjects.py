"""A subject's care team and consent records, behind the one rule of who may touch them
(broker.subjects.access)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.subjects.access import Standing, SubjectRecords, require_standing, standing_of
from broker.subjects.consents import consent_records, record_consent
from broker.subjects.teams import set_care_team
from schemas.care_team import CareTeam
from schemas.common import NhsNumber
from schemas.consents import ConsentBody
from schemas.vocabulary import Scope

router = APIRouter(tags=["subjects"])
# `admin` stands in every relation to a person (broker.subjects.access).
ConsentManager = Annotated[Caller, Depends(require(Scope.CONSENT_MANAGE, Scope.ADMIN))]
NhsNumberPath = Annotated[NhsNumber, Path(description="10-digit NHS number")]


async def caller_standing(
    nhs_number: NhsNumberPath, caller: ConsentManager, rt: RuntimeDep, session: SessionDep
) -> Standing:
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    return await standing_of(session, caller.agency, pseudonym, admin=caller.has(Scope.ADMIN))


StandingDep = Annotated[Standing, Depends(caller_standing)]


@router.put("/v1/subjects/{nhs_number}/care-team")
async def put_care_team(
    nhs_number: NhsNumberPath,
    team: CareTeam,
    caller: ConsentManager,
    standing: StandingDep,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Create the subject's care team (the caller's agency must be in it) or, as the current
    coordinator's agency, replace it; exactly one member is the coordinator."""
    require_standing(standing, SubjectRecords.CARE_TEAM, [m.agency for m in team.members])
    view = await set_care_team(session, rt, caller.actor, nhs_number, team)
    await session.commit()
    return view


@router.post("/v1/subjects/{nhs_number}/consents", status_code=201)
async def post_consent(
    nhs_number: NhsNumberPath,
    body: ConsentBody,
    caller: ConsentManager,
    standing: StandingDep,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Record the subject's consent position (care team and crisis-plan partners only);
    history is kept, never overwritten. Another agency's refusal in the same scope stands
    unless this record names it in `supersedes` (409 otherwise)."""
    require_standing(standing, SubjectRecords.CONSENTS)
    view = await record_consent(session, rt, caller.actor, nhs_number, body)
    await session.commit()
    return view


@router.get("/v1/subjects/{nhs_number}/consents")
async def get_consents(
    nhs_number: NhsNumberPath,
    caller: ConsentManager,
    standing: StandingDep,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """The subject's consent history, newest first (care team and crisis-plan partners only);
    each read is audited (`consent.viewed`)."""
    require_standing(standing, SubjectRecords.CONSENTS)
    items = await consent_records(session, rt, caller.actor, nhs_number)
    await session.commit()
    return {"items": items}

"""A subject's care team and consent records."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.subjects.service import consent_records, record_consent, set_care_team
from schemas.care_team import CareTeam
from schemas.common import NhsNumber
from schemas.consents import ConsentBody
from schemas.vocabulary import Scope

router = APIRouter(tags=["subjects"])
ConsentManager = Annotated[Caller, Depends(require(Scope.CONSENT_MANAGE))]
NhsNumberPath = Annotated[NhsNumber, Path(description="10-digit NHS number")]


@router.put("/v1/subjects/{nhs_number}/care-team")
async def put_care_team(
    nhs_number: NhsNumberPath,
    team: CareTeam,
    caller: ConsentManager,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Replace the subject's care team; exactly one member is the coordinator."""
    view = await set_care_team(session, rt, caller.actor, nhs_number, team)
    await session.commit()
    return view


@router.post("/v1/subjects/{nhs_number}/consents", status_code=201)
async def post_consent(
    nhs_number: NhsNumberPath,
    body: ConsentBody,
    caller: ConsentManager,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Record the subject's consent position; history is kept, never overwritten."""
    view = await record_consent(session, rt, caller.actor, nhs_number, body)
    await session.commit()
    return view


@router.get("/v1/subjects/{nhs_number}/consents")
async def get_consents(
    nhs_number: NhsNumberPath, caller: ConsentManager, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The subject's consent history, newest first."""
    return {"items": await consent_records(session, rt, nhs_number)}

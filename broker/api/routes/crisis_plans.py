"""A subject's crisis plans: proposed by one partner agency, confirmed by each of the others."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.crisis_plans.service import (
    confirm_crisis_plan,
    crisis_plan_for,
    crisis_plans_for,
    propose_crisis_plan,
)
from broker.subjects.access import SubjectRecords, require_standing, standing_of
from schemas.common import NhsNumber
from schemas.crisis_plans import CrisisPlanBody, CrisisPlanConfirmation
from schemas.vocabulary import Scope

router = APIRouter(tags=["crisis plans"])
PlanManager = Annotated[Caller, Depends(require(Scope.CONSENT_MANAGE))]
# A partner's system that receives a crisis naming the plan may read the plan it names.
PlanReader = Annotated[Caller, Depends(require(Scope.CONSENT_MANAGE, Scope.INBOX_READ))]
NhsNumberPath = Annotated[NhsNumber, Path(description="10-digit NHS number")]
PLANS = "/v1/subjects/{nhs_number}/crisis-plans"


@router.post(PLANS, status_code=201)
async def post_crisis_plan(
    nhs_number: NhsNumberPath,
    body: CrisisPlanBody,
    caller: PlanManager,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Propose a plan; it is active once every other partner agency has confirmed it. The
    proposer is one of its partners; the person's care team and crisis-plan partners propose
    plans (any agency, for a person nobody works with yet); other agencies get the 404 of an
    unknown person."""
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    standing = await standing_of(session, caller.agency, pseudonym, admin=False)
    require_standing(standing, SubjectRecords.CRISIS_PLAN, [p.agency for p in body.partners])
    view = await propose_crisis_plan(session, rt, caller.actor, nhs_number, body)
    await session.commit()
    return view


@router.post(PLANS + "/{plan_id}/confirmations")
async def post_crisis_plan_confirmation(
    nhs_number: NhsNumberPath,
    plan_id: UUID,
    body: CrisisPlanConfirmation,
    caller: PlanManager,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """The caller's agency confirms the plan; the last confirmation makes it active."""
    view = await confirm_crisis_plan(session, rt, caller.actor, nhs_number, plan_id, body)
    await session.commit()
    return view


@router.get(PLANS)
async def get_crisis_plans(
    nhs_number: NhsNumberPath, caller: PlanReader, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The subject's plans that the caller's agency is a partner of, newest first."""
    items = await crisis_plans_for(session, rt, caller.actor, nhs_number)
    await session.commit()
    return {"items": items}


@router.get(PLANS + "/{plan_id}")
async def get_crisis_plan(
    nhs_number: NhsNumberPath,
    plan_id: UUID,
    caller: PlanReader,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """One plan, for its partner agencies only."""
    plan = await crisis_plan_for(session, rt, caller.actor, nhs_number, plan_id)
    await session.commit()
    return plan

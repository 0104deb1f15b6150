"""Duty teams' escalations: list them, read one, close one with what was done."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.escalations.service import acknowledge_escalation
from broker.escalations.views import DEFAULT_LIMIT, escalation_for, escalation_page
from schemas.escalations import EscalationAck, EscalationPage, EscalationView
from schemas.vocabulary import EscalationStatus, Scope

router = APIRouter(tags=["escalations"])
Reader = Annotated[Caller, Depends(require(Scope.INBOX_READ))]
Acknowledger = Annotated[Caller, Depends(require(Scope.INBOX_ACK))]


@router.get("/v1/escalations", response_model=EscalationPage)
async def get_escalations(
    caller: Reader,
    rt: RuntimeDep,
    session: SessionDep,
    status: EscalationStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> EscalationPage:
    """The caller agency's escalations: open ones first, the most overdue at the top, then
    closed ones, the most recently closed first. No payloads and no NHS numbers."""
    return await escalation_page(session, caller.agency, status, rt.clock(), limit, cursor)


@router.get("/v1/escalations/{escalation_id}", response_model=EscalationView)
async def get_escalation(
    escalation_id: UUID, caller: Reader, rt: RuntimeDep, session: SessionDep
) -> EscalationView:
    return await escalation_for(session, caller.agency, escalation_id, rt.clock())


@router.post("/v1/escalations/{escalation_id}/ack", response_model=EscalationView)
async def ack_escalation(
    escalation_id: UUID,
    ack: EscalationAck,
    caller: Acknowledger,
    rt: RuntimeDep,
    session: SessionDep,
) -> EscalationView:
    """Close an open escalation with its outcome; a second acknowledgement is a 409."""
    await acknowledge_escalation(session, rt, caller.actor, escalation_id, ack)
    await session.commit()
    return await escalation_for(session, caller.agency, escalation_id, rt.clock())

"""The audit trail."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.audit.verify import verify_chain
from broker.messages.views import message_trail
from schemas.vocabulary import Scope

router = APIRouter(tags=["audit"])
Auditor = Annotated[Caller, Depends(require(Scope.AUDIT_READ))]


@router.get("/v1/audit/messages/{message_id}")
async def get_message_trail(
    message_id: UUID, caller: Auditor, session: SessionDep
) -> dict[str, Any]:
    """The ordered audit trail of a message across all its deliveries.

    The sender's agency sees all of it; a recipient agency sees the message-level records and
    its own delivery's, never another recipient's decision.
    """
    records = await message_trail(session, message_id, viewer=caller.agency)
    return {"message_id": str(message_id), "records": records}


@router.get("/v1/audit/verify")
async def verify_audit_chain(
    _caller: Auditor, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The audit chain verified link by link against its signed checkpoints and head."""
    report = await verify_chain(session, rt.keys)
    return report.as_dict()

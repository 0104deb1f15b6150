"""The audit trail."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from broker.api.deps import Caller, SessionDep, require
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

"""Dead letters: pushes whose retries ran out, listed and re-driven; and a delivery pushed
again at its recipient's request."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.deliveries.dead_letters import dead_letters, redrive
from broker.deliveries.push import PENDING
from broker.deliveries.redeliver import redeliver
from schemas.dead_letters import DeadLetterPage, Redriven
from schemas.replays import Redelivering, RedeliverRequest
from schemas.vocabulary import Scope

router = APIRouter(tags=["inbox"])
Reader = Annotated[Caller, Depends(require(Scope.ADMIN, Scope.INBOX_READ))]
Redriver = Annotated[Caller, Depends(require(Scope.ADMIN, Scope.INBOX_ACK))]


@router.get("/v1/dead-letters", response_model=DeadLetterPage)
async def get_dead_letters(caller: Reader, session: SessionDep) -> DeadLetterPage:
    """Deliveries whose webhook pushes ran out of retries, newest first (at most 200): the
    caller agency's own, or every agency's for an administrator. Each is still in the inbox."""
    return DeadLetterPage(items=await dead_letters(session, caller.visible_agency))


@router.post("/v1/dead-letters/{delivery_id}/redrive", response_model=Redriven)
async def post_redrive(
    delivery_id: UUID, caller: Redriver, rt: RuntimeDep, session: SessionDep
) -> Redriven:
    """Push it again now, with a fresh budget of retries; audited. A delivery that is not a
    dead letter is a 409."""
    at = await redrive(session, rt, caller.actor, caller.visible_agency, delivery_id)
    await session.commit()
    rt.wakeups.wake_pushes()
    return Redriven(delivery_id=delivery_id, state=PENDING, next_attempt_at=at)


@router.post("/v1/deliveries/{delivery_id}/redeliver", status_code=202, response_model=Redelivering)
async def post_redeliver(
    delivery_id: UUID,
    caller: Redriver,
    rt: RuntimeDep,
    session: SessionDep,
    body: RedeliverRequest | None = None,
) -> Redelivering:
    """Push one of the agency's deliveries to it again, by its channel as it is now, with a
    fresh budget of retries; audited. Its receipt and acknowledgement stand. A delivery not
    yet available, already being pushed, or to an agency without a working push channel is
    a 409."""
    reason = body.reason if body else None
    answer = await redeliver(session, rt, caller.actor, caller.visible_agency, delivery_id, reason)
    await session.commit()
    rt.wakeups.wake_pushes()
    return answer

"""The timeframe policy: read by any client, replaced by an administrator."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from broker.api.deps import Caller, RuntimeDep, SessionDep, authenticate, require
from broker.timeframes.service import replace_timeframes, timeframes_view
from schemas.timeframes import TimeframesBody
from schemas.vocabulary import Scope

router = APIRouter(tags=["timeframes"])
Admin = Annotated[Caller, Depends(require(Scope.ADMIN))]
# Senders and recipients alike need to know the deadlines their deliveries will carry.
AnyClient = Annotated[Caller, Depends(authenticate)]


@router.get("/v1/timeframes")
async def get_timeframes(caller: AnyClient, session: SessionDep) -> dict[str, Any]:
    """Deliver-within and acknowledge-within per event type, urgency and risk level, and
    the escalation route on breach; the most specific matching row applies."""
    return await timeframes_view(session)


@router.put("/v1/timeframes")
async def put_timeframes(
    body: TimeframesBody, caller: Admin, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Replace the whole policy table. Deliveries already routed keep their deadlines."""
    view = await replace_timeframes(session, rt, caller.actor, body)
    await session.commit()
    return view

"""The recipient's inbox: list, fetch (receipt) and acknowledge."""

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.db.models import Delivery
from broker.deliveries.inbox import (
    InboxEntry,
    acknowledge,
    fetch_delivery,
    inbox_item,
    inbox_status,
    list_inbox,
)
from broker.errors import NotAcceptable
from broker.extensions import DeliveryFormat, DeliveryToRender, NotRenderable, extensions
from broker.runtime import Runtime
from schemas.acks import Acknowledgement
from schemas.instants import Instant
from schemas.responses import DeliveryContent, InboxPage, InboxStatus
from schemas.vocabulary import DeliveryStatus, Scope

router = APIRouter(tags=["inbox"])
Reader = Annotated[Caller, Depends(require(Scope.INBOX_READ))]
Acknowledger = Annotated[Caller, Depends(require(Scope.INBOX_ACK))]
MAX_WAIT_SECONDS = 30


@router.get("/v1/inbox", response_model=InboxPage)
async def get_inbox(
    caller: Reader,
    rt: RuntimeDep,
    session: SessionDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    since: Instant | None = None,
    after_seq: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0,
) -> InboxPage:
    """The caller agency's deliveries, without payloads: urgent ones first (urgency urgent or
    emergency, or any crisis), then routine ones, each newest first. With `since`, only those
    made available after that moment (with its offset). With `after_seq`, only those whose
    `seq` is greater, in `seq` order (the next page: after the last `seq` of this one). With
    `wait` (seconds, at most 30), an empty page is not answered at once: the request waits
    until a delivery is made available to the agency, then answers the page, or answers it
    empty when the wait ends."""

    async def page() -> tuple[list[InboxEntry], str | None]:
        return await list_inbox(session, caller.agency, status, limit, cursor, since, after_seq)

    wait = min(wait, rt.settings.inbox.max_wait_seconds)
    if not wait or not rt.arrivals.may_wait(caller.agency):
        entries, next_cursor = await page()
    else:
        entries, next_cursor = await _when_not_empty(rt, session, caller.agency, wait, page)
    return InboxPage(items=[inbox_item(e) for e in entries], next_cursor=next_cursor)


async def _when_not_empty(
    rt: Runtime,
    session: AsyncSession,
    agency: str,
    wait: float,
    page: Callable[[], Awaitable[tuple[list[InboxEntry], str | None]]],
) -> tuple[list[InboxEntry], str | None]:
    until = time.monotonic() + wait
    with rt.arrivals.watch(agency) as arrivals:
        entries, next_cursor = await page()
        while not entries and time.monotonic() < until:
            await session.close()  # a waiting reader holds no database connection
            # Read again when woken, and once more when the wait ends: a notice lost while
            # the listening connection was replaced costs a wait, never a delivery.
            await arrivals.arrival(until - time.monotonic())
            entries, next_cursor = await page()
    return entries, next_cursor


@router.get("/v1/inbox/status", response_model=InboxStatus)
async def get_inbox_status(caller: Reader, session: SessionDep) -> InboxStatus:
    """The last `seq` given to the caller agency's deliveries, and its oldest delivery not yet
    acknowledged: whether its system has missed anything, in one call."""
    return await inbox_status(session, caller.agency)


@router.get(
    "/v1/inbox/{delivery_id}",
    response_model=DeliveryContent,
    responses={
        200: {"content": {"application/fhir+json": {}}},
        406: {"description": "a format asked for in which this delivery has no form"},
    },
)
async def get_delivery(
    delivery_id: UUID, caller: Reader, rt: RuntimeDep, session: SessionDep, request: Request
) -> Any:
    """The delivery with its content; the first fetch records the receipt. With `Accept:
    application/fhir+json`, as a FHIR R4 message Bundle (docs/fhir.md)."""
    view = await fetch_delivery(session, rt, caller.actor, delivery_id)
    shown_as = extensions().format_accepted(request.headers.get("accept"))
    if shown_as is None:
        await session.commit()
        return view
    rendered = await _rendered(session, rt, shown_as, view)
    await session.commit()  # only once it could be shown in the form asked for
    return JSONResponse(rendered, media_type=shown_as.media_type)


async def _rendered(
    session: AsyncSession, rt: Runtime, shown_as: DeliveryFormat, view: DeliveryContent
) -> dict[str, Any]:
    delivery = await session.get(Delivery, view.delivery_id)
    assert delivery is not None, "fetch_delivery found it"
    to_render = DeliveryToRender(
        content=view.model_dump(mode="json"),
        decision=delivery.decision_detail,
        recipient=delivery.recipient_agency,
        at=rt.clock(),
    )
    try:
        return shown_as.render(to_render)
    except NotRenderable as exc:
        raise NotAcceptable(f"this delivery has no {shown_as.name} form: {exc}") from None


@router.post("/v1/inbox/{delivery_id}/ack")
async def ack_delivery(
    delivery_id: UUID,
    ack: Acknowledgement,
    caller: Acknowledger,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Record the business acknowledgement; a second one is a 409."""
    entry = await acknowledge(session, rt, caller.actor, delivery_id, ack)
    await session.commit()
    delivery = entry.delivery
    return {
        "delivery_id": str(delivery.id),
        "status": delivery.status,
        "outcome": delivery.ack_outcome,
        "reason_code": delivery.ack_reason_code,
        "acknowledged_at": delivery.acknowledged_at.isoformat()
        if delivery.acknowledged_at
        else None,
    }

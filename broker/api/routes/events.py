"""POST /v1/events and GET /v1/events/{message_id}."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends
from sqlalchemy.exc import IntegrityError

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.errors import FieldError, InvalidInput
from broker.messages.submit import Accepted, submit_event
from broker.messages.views import message_status
from broker.subjects.access import persons_known_to
from schemas.events import EventSubmission
from schemas.responses import EventAccepted
from schemas.vocabulary import Scope

router = APIRouter(tags=["events"])
Publisher = Annotated[Caller, Depends(require(Scope.EVENTS_PUBLISH))]


@router.post("/v1/events", status_code=202, response_model=EventAccepted)
async def publish_event(
    event: Annotated[EventSubmission, Body()],
    caller: Publisher,
    rt: RuntimeDep,
    session: SessionDep,
) -> EventAccepted:
    """Accept an event durably (202); the same `id` and body again returns the same message.
    Without `recipients` it goes to the person's care team (and active crisis plan), which only
    an agency among them may address so: any other must name its recipients (422)."""
    if event.recipients is None:
        await _may_address_the_carers(session, rt, caller, event.subject.nhs_number)
    try:
        accepted = await submit_event(session, rt, caller.actor, event)
        await session.commit()
    except IntegrityError:
        # Another request with the same event id committed first: answer as a replay.
        await session.rollback()
        accepted = await submit_event(session, rt, caller.actor, event)
    if not accepted.replayed:
        rt.wakeups.wake(accepted.lane)
        rt.metrics.events_accepted.labels(event.type).inc()
    return _accepted_view(accepted)


def _accepted_view(accepted: Accepted) -> EventAccepted:
    mid = accepted.message_id
    links = {"self": f"/v1/events/{mid}", "audit": f"/v1/audit/messages/{mid}"}
    return EventAccepted(message_id=mid, status=accepted.status, links=links)


@router.get("/v1/events/{message_id}")
async def get_event(
    message_id: UUID, caller: Publisher, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The message's status with one entry per recipient: decision, status and deadlines."""
    return await message_status(session, caller.agency, message_id, rt.clock())


async def _may_address_the_carers(
    session: SessionDep, rt: RuntimeDep, caller: Caller, nhs_number: str
) -> None:
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    if not await persons_known_to(session, caller.agency, {pseudonym}):
        raise InvalidInput(
            "name the recipients",
            [
                FieldError(
                    ("body", "recipients"),
                    "only the person's care team and crisis-plan partners may send to them "
                    "without naming recipients",
                )
            ],
        )

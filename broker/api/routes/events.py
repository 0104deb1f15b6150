"""POST /v1/events, POST /v1/events:batch and GET /v1/events/{message_id}."""

from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.api.problems import error_problem, instance_of, validation_problem
from broker.errors import BrokerError, Conflict, FieldError, InvalidInput
from broker.messages.group_commit import GroupCommit
from broker.messages.replay import replay_message
from broker.messages.submit import Accepted, Outcome, submit_events
from broker.messages.views import message_status
from broker.pipeline.lanes import URGENT_FIRST
from broker.ratelimits.policies import charge_publishing
from schemas.events import EVENT_SUBMISSION, EventBatch, EventSubmission
from schemas.replays import Replayed, ReplayRequest
from schemas.responses import BatchItem, BatchResults, EventAccepted
from schemas.vocabulary import Scope

router = APIRouter(tags=["events"])
Publisher = Annotated[Caller, Depends(require(Scope.EVENTS_PUBLISH))]


@router.post("/v1/events", status_code=202, response_model=EventAccepted)
async def publish_event(
    event: Annotated[EventSubmission, Body()],
    caller: Publisher,
    rt: RuntimeDep,
    request: Request,
) -> EventAccepted:
    """Accept an event durably (202); the same `id` and body again returns the same message.
    Without `recipients` it goes to the person's care team (and active crisis plan), which only
    an agency among them may address so: any other must name its recipients (422)."""
    group_commit: GroupCommit = request.app.state.group_commit
    outcome = await group_commit.submit(caller.actor, event)
    announce_accepted(rt, [outcome], [event])
    if isinstance(outcome, BrokerError):
        raise _located(outcome)
    return _accepted_view(outcome)


@router.post("/v1/events:batch", status_code=207, response_model=BatchResults)
async def publish_events(
    batch: Annotated[EventBatch, Body()],
    caller: Publisher,
    rt: RuntimeDep,
    session: SessionDep,
    request: Request,
) -> BatchResults:
    """Up to 500 events, each validated and answered on its own at its index (207): accepted
    or replayed exactly as POST /v1/events would answer it, or refused with its own problem
    details. The accepted ones are written together, in one transaction. Each event counts
    against the agency's publish rate limit."""
    await charge_publishing(rt, caller.claims, extra=len(batch.events) - 1)
    instance = instance_of(request.scope)
    parsed = [_parsed(raw, index, instance) for index, raw in enumerate(batch.events)]
    valid = [event for event in parsed if not isinstance(event, dict)]
    outcomes = iter(await _submit(session, rt, caller, valid) if valid else [])
    results = [
        _refused(index, item)
        if isinstance(item, dict)
        else _answer(index, next(outcomes), instance)
        for index, item in enumerate(parsed)
    ]
    return BatchResults(
        accepted=sum(r.outcome == "accepted" for r in results),
        replayed=sum(r.outcome == "replayed" for r in results),
        refused=sum(r.outcome == "refused" for r in results),
        results=results,
    )


async def _submit(
    session: SessionDep, rt: RuntimeDep, caller: Caller, events: Sequence[EventSubmission]
) -> list[Outcome]:
    """Submit and commit; once more if another request accepted one of these event ids
    between our look and our commit (the second pass answers it as a replay)."""
    try:
        outcomes = await submit_events(session, rt, caller.actor, events)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        outcomes = await submit_events(session, rt, caller.actor, events)
        await session.commit()
    announce_accepted(rt, outcomes, events)
    return outcomes


def announce_accepted(
    rt: RuntimeDep, outcomes: list[Outcome], events: Sequence[EventSubmission]
) -> None:
    """After the commit: wake the relay of each lane written to, and count what was accepted."""
    for outcome, event in zip(outcomes, events, strict=True):
        if isinstance(outcome, Accepted) and not outcome.replayed:
            rt.wakeups.wake(outcome.lane)
            rt.metrics.events_accepted.labels(event.type).inc()


def _parsed(raw: Any, index: int, instance: str) -> EventSubmission | dict[str, Any]:
    """The event, or the problem details that refuse it."""
    try:
        return EVENT_SUBMISSION.validate_python(raw)
    except ValidationError as exc:
        return validation_problem(exc.errors(), instance, at=("body", "events", index))


def _answer(index: int, outcome: Outcome, instance: str) -> BatchItem:
    if isinstance(outcome, BrokerError):
        return _refused(index, error_problem(outcome, instance, at=("body", "events", index)))
    view = _accepted_view(outcome)
    return BatchItem(
        index=index,
        status=202,
        outcome="replayed" if outcome.replayed else "accepted",
        message_id=view.message_id,
        links=view.links,
    )


def _refused(index: int, problem: dict[str, Any]) -> BatchItem:
    return BatchItem(index=index, status=problem["status"], outcome="refused", problem=problem)


def _located(error: BrokerError) -> BrokerError:
    """The error with its field locations in the request body."""
    if isinstance(error, InvalidInput):
        return InvalidInput(
            error.detail, [FieldError(("body", *e.loc), e.msg) for e in error.errors]
        )
    return error


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


@router.post("/v1/events/{message_id}/replay", status_code=201, response_model=Replayed)
async def replay_event(
    message_id: UUID,
    body: ReplayRequest,
    caller: Publisher,
    rt: RuntimeDep,
    session: SessionDep,
) -> Replayed:
    """Send the message again to each of its recipients, each decided **now** (agreements,
    consents, care team and crisis plans as they stand): a new delivery per recipient, linked
    to the one it replays (`replay_of`); one the decision now denies is withheld, with the
    reason. Only the sender may (another agency's message is a 404); audited with the reason.
    A message not yet routed, or routed to nobody, is a 409. Two replays at once are taken in
    turn: the second replays the first's deliveries."""
    try:
        replayed = await replay_message(session, rt, caller.actor, message_id, body.reason)
        await session.commit()
    except IntegrityError as exc:
        raise Conflict(f"message {message_id} is being replayed already") from exc
    for lane in URGENT_FIRST:
        rt.wakeups.wake(lane)
    return replayed

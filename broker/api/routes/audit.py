"""The audit trail."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query

from broker.api.deps import Caller, RuntimeDep, SessionDep, require
from broker.audit.log import AuditEvent
from broker.audit.search import AuditQuery, decode_cursor, search_records
from broker.audit.trace import governance_trace, note_trace_lookup, subject_trace
from broker.audit.verification import run_verification
from broker.errors import NotFound
from broker.messages.views import audit_view, message_trail, trail_deliveries
from broker.subjects.access import persons_known_to
from schemas.common import AgencyCode, NhsNumber
from schemas.instants import Instant
from schemas.vocabulary import Scope

router = APIRouter(tags=["audit"])
Auditor = Annotated[Caller, Depends(require(Scope.AUDIT_READ))]


@router.get("/v1/audit/messages/{message_id}")
async def get_message_trail(
    message_id: UUID, caller: Auditor, rt: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """The ordered audit trail of a message across all its deliveries.

    The sender's agency sees all of it; a recipient agency sees the message-level records and
    its own delivery's, never another recipient's decision.
    """
    viewer = caller.audit_viewer
    records = await message_trail(session, message_id, viewer=viewer)
    deliveries = await trail_deliveries(session, message_id, viewer, rt.clock())
    return {"message_id": str(message_id), "records": records, "deliveries": deliveries}


@router.get("/v1/audit/subjects/{nhs_number}/trace")
async def get_subject_trace(
    nhs_number: Annotated[NhsNumber, Path(description="10-digit NHS number")],
    caller: Auditor,
    rt: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    """The subject's assurance trace: each message about them and, per recipient, decision,
    delivery, receipt, acknowledgement, breaches and escalations; and, oldest first, the
    governance records about them: consent, care team and crisis plan changes and crisis plan
    reads. An agency sees only the messages it sent or received, the governance records its own
    clients made and those of crisis plans it is a partner of; a subject it has nothing about
    is a 404. Every lookup is itself audited (`audit.subject_traced`)."""
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    viewer = caller.audit_viewer
    messages = await subject_trace(session, pseudonym, viewer, rt.clock())
    governance = await governance_trace(session, pseudonym, viewer)
    note_trace_lookup(session, caller.actor, rt.clock(), pseudonym, (messages, governance))
    await session.commit()
    if not messages and not governance:
        raise NotFound("nothing about this subject")
    return {"subject": pseudonym, "messages": messages, "governance": governance}


@router.get("/v1/audit/records")
async def get_audit_records(
    caller: Auditor,
    rt: RuntimeDep,
    session: SessionDep,
    agency: AgencyCode | None = None,
    event: AuditEvent | None = None,
    subject: Annotated[NhsNumber | None, Query(description="NHS number")] = None,
    recorded_from: Annotated[Instant | None, Query(alias="from")] = None,
    recorded_to: Annotated[Instant | None, Query(alias="to")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Audit records the caller may see, oldest first, a page at a time.

    An agency sees the records of messages it sent or received (of its own deliveries only)
    and those its clients made; an `audit:all` client sees every agency's.
    """
    query = AuditQuery(
        agency=agency,
        event=event,
        subject=rt.pseudonymiser.pseudonym(subject) if subject else None,
        recorded_from=recorded_from,
        recorded_to=recorded_to,
        after_id=decode_cursor(cursor) if cursor is not None else None,
        limit=limit,
    )
    records, next_cursor = await search_records(session, query, caller.audit_viewer)
    people = {r.subject_pseudonym for r in records if r.subject_pseudonym}
    known = await persons_known_to(session, caller.audit_viewer, people)
    items = [audit_view(r, r.subject_pseudonym in known) for r in records]
    return {"items": items, "next_cursor": next_cursor}


@router.get("/v1/audit/verify")
async def verify_audit_chain(caller: Auditor, rt: RuntimeDep) -> dict[str, Any]:
    """The audit chain verified link by link against its signed checkpoints and head; the
    verification and its outcome are recorded (`audit.verified`). Counts and sequence numbers
    measure every agency's activity, so only `admin` and `audit:all` see them."""
    report = await run_verification(rt, caller.actor)
    return report.as_dict() if caller.audit_viewer is None else report.outcome_only()

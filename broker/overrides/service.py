"""OpenOverride (when routing permits against a refusal) and ReviewOverride.

Every permit_override is reviewed after the fact by the IG leads of the sender's and the
recipient's agencies: the override lets a safeguarding alert through at once, and the review
is where the partnership checks that the person's refusal was set aside lawfully.
"""

from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import BROKER, Actor, AuditEvent, append_about_delivery
from broker.crypto.envelope import Sealed, open_sealed, seal
from broker.db.models import Message, Override
from broker.errors import Conflict, NotFound
from broker.overrides.repository import overrides_visible_to
from broker.runtime import Runtime
from consent.model import Decision
from schemas.overrides import OverrideReview, OverrideStatus


def justification_ad(override_id: UUID) -> bytes:
    return b"imb:v1:override-justification:" + str(override_id).encode()


def review_note_ad(override_id: UUID) -> bytes:
    return b"imb:v1:override-review-note:" + str(override_id).encode()


def open_override(
    session: AsyncSession,
    rt: Runtime,
    message: Message,
    delivery_id: UUID,
    recipient: str,
    decision: Decision,
    claim: dict[str, Any],
) -> Override:
    """An open review item for a delivery permitted against the person's refusal."""
    now, override_id = rt.clock(), uuid4()
    justification = seal(
        rt.keys.key_provider, str(claim["justification"]).encode(), justification_ad(override_id)
    )
    item = Override(
        id=override_id,
        delivery_id=delivery_id,
        message_id=message.id,
        sender_agency=message.sender_agency,
        recipient_agency=recipient,
        reason=str(claim["reason"]),
        authorised_by=str(claim["authorised_by"]),
        justification_sealed=justification.to_bytes(),
        agreement_id=UUID(decision.agreement_id) if decision.agreement_id else None,
        agreement_version=decision.agreement_version,
        bases=list(decision.bases),
        status=OverrideStatus.OPEN.value,
        opened_at=now,
    )
    session.add(item)
    append_about_delivery(
        session,
        AuditEvent.OVERRIDE_OPENED,
        BROKER,
        now,
        message,
        delivery_id,
        detail=_audit_detail(item),
    )
    return item


def _audit_detail(item: Override) -> dict[str, Any]:
    return {
        "override_id": str(item.id),
        "sender": item.sender_agency,
        "recipient": item.recipient_agency,
        "reason": item.reason,
        "authorised_by": item.authorised_by,
        "bases": item.bases,
    }


async def list_overrides(
    session: AsyncSession, rt: Runtime, *, agency: str | None, status: OverrideStatus | None
) -> list[dict[str, Any]]:
    """The queue as `agency` sees it (None: every agency's, for administrators)."""
    rows = await overrides_visible_to(session, agency, status.value if status else None)
    return [override_view(rt, item, message) for item, message in rows]


async def review_override(
    session: AsyncSession,
    rt: Runtime,
    actor: Actor,
    override_id: UUID,
    review: OverrideReview,
    *,
    any_agency: bool = False,
) -> dict[str, Any]:
    """`any_agency`: an administrator may review an override between other agencies."""
    item = await session.get(Override, override_id, with_for_update=True)
    if item is None or not (any_agency or _involves(actor, item)):
        raise NotFound(f"no override {override_id}")
    if item.status != OverrideStatus.OPEN:
        raise Conflict(f"override {override_id} has already been reviewed")
    now = rt.clock()
    item.status, item.outcome, item.reviewed_at = OverrideStatus.CLOSED.value, review.outcome, now
    note = seal(rt.keys.key_provider, review.note.encode(), review_note_ad(item.id))
    item.review_note_sealed = note.to_bytes()
    item.reviewed_by = _reviewer(actor, review)
    message = await session.get(Message, item.message_id)
    assert message is not None
    append_about_delivery(
        session,
        AuditEvent.OVERRIDE_REVIEWED,
        actor,
        now,
        message,
        item.delivery_id,
        detail={**_audit_detail(item), "outcome": item.outcome, "reviewed_by": item.reviewed_by},
    )
    return override_view(rt, item, message)


def _involves(actor: Actor, item: Override) -> bool:
    return actor.agency in {item.sender_agency, item.recipient_agency}


def _reviewer(actor: Actor, review: OverrideReview) -> dict[str, Any]:
    person = review.reviewed_by.model_dump() if review.reviewed_by else None
    return {"agency": actor.agency, "client": actor.client, "person": person}


def override_view(rt: Runtime, item: Override, message: Message) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "message_id": str(item.message_id),
        "delivery_id": str(item.delivery_id),
        "event_type": message.type,
        "urgency": message.urgency,
        "purpose": message.purpose,
        "sender": item.sender_agency,
        "recipient": item.recipient_agency,
        "reason": item.reason,
        "authorised_by": item.authorised_by,
        "justification": _opened(rt, item.justification_sealed, justification_ad(item.id)),
        "bases": item.bases,
        "agreement_id": str(item.agreement_id) if item.agreement_id else None,
        "agreement_version": item.agreement_version,
        "status": item.status,
        "opened_at": item.opened_at.isoformat(),
        "outcome": item.outcome,
        "note": _opened(rt, item.review_note_sealed, review_note_ad(item.id)),
        "reviewed_by": item.reviewed_by,
        "reviewed_at": item.reviewed_at.isoformat() if item.reviewed_at else None,
    }


def _opened(rt: Runtime, blob: bytes | None, associated_data: bytes) -> str | None:
    if blob is None:
        return None
    return open_sealed(rt.keys.key_provider, Sealed.from_bytes(blob), associated_data).decode()

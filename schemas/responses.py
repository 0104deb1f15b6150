"""Response bodies that partner systems code against."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field


class EventAccepted(BaseModel):
    message_id: UUID
    status: str
    links: dict[str, str]


class BatchItem(BaseModel):
    """One event's answer in a batch, at the event's index."""

    index: int
    status: int = Field(
        description="202 when accepted or replayed, as POST /v1/events answers; otherwise the "
        "status of the problem that refused this event alone"
    )
    outcome: Literal["accepted", "replayed", "refused"]
    message_id: UUID | None = None
    links: dict[str, str] | None = None
    problem: dict[str, Any] | None = Field(
        default=None, description="RFC 9457 problem details, when refused"
    )


class BatchResults(BaseModel):
    """207 Multi-Status: every event answered on its own, in the order sent. The accepted ones
    were written together, in one transaction."""

    accepted: int
    replayed: int
    refused: int
    results: list[BatchItem]


class InboxItem(BaseModel):
    delivery_id: UUID
    message_id: UUID
    type: str
    sender: str
    purpose: str
    urgency: str
    lane: str = Field(
        default="routine",
        description="urgent (urgency urgent or emergency, or any crisis.occurred) or routine; "
        "the inbox lists urgent deliveries first",
    )
    status: str
    seq: int | None = Field(
        default=None,
        description="the recipient's sequence number: 1, 2, 3, … with no gaps, in the order "
        "deliveries were made available to it (none on those made available before seqs)",
    )
    occurred_at: datetime
    delivered_at: datetime | None
    received_at: datetime | None
    acknowledged_at: datetime | None
    deliver_by: datetime | None
    ack_by: datetime | None
    crisis_plan_id: UUID | None = Field(
        default=None, description="the subject's crisis plan under which this crisis was sent"
    )
    links: dict[str, str]


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: str | None


class OldestUnacknowledged(BaseModel):
    delivery_id: UUID
    seq: int | None
    delivered_at: datetime | None


class InboxStatus(BaseModel):
    last_seq: int = Field(description="the last seq given to a delivery to this agency; 0: none")
    oldest_unacknowledged: OldestUnacknowledged | None


class DeliveryContent(InboxItem):
    subject: dict[str, str | None]
    reason_for_sharing: str
    override: dict[str, Any] | None
    payload: dict[str, Any]
    outcome: str | None
    reason_code: str | None


class TokenResponse(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str

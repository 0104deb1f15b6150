"""Response bodies that partner systems code against."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


class EventAccepted(BaseModel):
    message_id: UUID
    status: str
    links: dict[str, str]


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

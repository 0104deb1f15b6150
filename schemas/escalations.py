"""Escalations and duty teams on the wire (`/v1/escalations`, `/v1/agencies/{code}/duty-team`).

An escalation view carries the missed delivery's metadata and whom to call, never the
clinical payload or the NHS number: duty teams triage from it and read the content in their
own record system.
"""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints, UrlConstraints

from schemas.common import LongText, Person, ShortText, WireModel
from schemas.vocabulary import BreachKind, EscalationOutcome, EscalationStatus, EscalationStep

# One plain mailbox: no display name, list or comment syntax, which would let one value
# name several recipients in an e-mail header.
_MAILBOX_PART = r"[^@\s<>,;:\"()\[\]\\]+"
EmailAddress = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=320,
        pattern=rf"^{_MAILBOX_PART}@{_MAILBOX_PART}\.{_MAILBOX_PART}$",
    ),
]
WebhookUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]


class EscalationAck(WireModel):
    """A duty team closing an escalation: what it did about it, and who."""

    outcome: EscalationOutcome
    note: LongText | None = None
    acknowledged_by: Person


class DutyTeamBody(WireModel):
    name: ShortText
    email: EmailAddress = Field(description="the team's shared mailbox for escalation notices")
    webhook_url: WebhookUrl | None = Field(
        default=None, description="optional: also POSTed a notice (no personal data) per escalation"
    )


class DutyTeamView(BaseModel):
    agency: str
    name: str
    email: str
    webhook_url: str | None
    updated_at: datetime


class TeamContact(BaseModel):
    name: str
    email: str


class SenderContact(BaseModel):
    """Who sent the missed event, and their duty team's mailbox, to call them back."""

    agency: str
    name: str
    duty_team: TeamContact | None


class CoordinatorContact(BaseModel):
    """For a coordinator step: the care-team member of the coordinating agency."""

    agency: str
    role: str
    named_lead: str


class EscalatedDelivery(BaseModel):
    delivery_id: UUID
    message_id: UUID
    event_type: str
    urgency: str
    purpose: str
    recipient_agency: str
    recipient_name: str
    status: str
    deliver_by: datetime | None
    ack_by: datetime | None
    delivered_at: datetime | None
    received_at: datetime | None


class EscalationView(BaseModel):
    id: UUID
    reference: str
    status: EscalationStatus
    route: EscalationStep
    step: int
    breach: BreachKind
    deadline: datetime
    late_by: str = Field(
        description="ISO 8601: how far past the deadline, now or when the escalation closed"
    )
    opened_at: datetime
    closed_at: datetime | None
    outcome: EscalationOutcome | None
    closed_by: Person | None
    notified_at: datetime | None
    delivery: EscalatedDelivery
    sender: SenderContact
    coordinator: CoordinatorContact | None
    links: dict[str, str]


class EscalationPage(BaseModel):
    items: list[EscalationView]
    next_cursor: str | None

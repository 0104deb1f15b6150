"""Escalations and duty teams on the wire (`/v1/escalations`, `/v1/agencies/{code}/duty-team`)."""

from typing import Annotated

from pydantic import AnyHttpUrl, Field, StringConstraints

from schemas.common import LongText, Person, ShortText, WireModel
from schemas.vocabulary import EscalationOutcome

EmailAddress = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=320, pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"
    ),
]


class EscalationAck(WireModel):
    """A duty team closing an escalation: what it did about it, and who."""

    outcome: EscalationOutcome
    note: LongText | None = None
    acknowledged_by: Person


class DutyTeamBody(WireModel):
    name: ShortText
    email: EmailAddress = Field(description="the team's shared mailbox for escalation notices")
    webhook_url: AnyHttpUrl | None = Field(
        default=None, description="optional: also POSTed a notice (no personal data) per escalation"
    )

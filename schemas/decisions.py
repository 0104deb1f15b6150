"""What the consent gate would decide, without sending anything (POST /v1/decisions/preview)."""

from schemas.common import AgencyCode, WireModel
from schemas.events import Override, Subject
from schemas.instants import Instant
from schemas.vocabulary import EventType, Purpose, Urgency


class DecisionPreviewBody(WireModel):
    sender: AgencyCode | None = None  # default: the caller's agency
    recipient: AgencyCode
    subject: Subject
    event_type: EventType
    purpose: Purpose
    urgency: Urgency = Urgency.ROUTINE
    override: Override | None = None
    at: Instant | None = None  # the moment to decide for; default: now

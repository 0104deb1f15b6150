"""What the consent gate would decide, without sending anything (POST /v1/decisions/preview)."""

from pydantic import AwareDatetime, BaseModel

from schemas.common import AgencyCode, WireModel
from schemas.events import CrisisOccurred, EngagementDisengaged, Override, RiskChanged, Subject
from schemas.vocabulary import EventType, Purpose, Urgency

PAYLOADS: dict[EventType, type[BaseModel]] = {
    EventType.RISK_CHANGED: RiskChanged,
    EventType.ENGAGEMENT_DISENGAGED: EngagementDisengaged,
    EventType.CRISIS_OCCURRED: CrisisOccurred,
}


class DecisionPreviewBody(WireModel):
    sender: AgencyCode | None = None  # default: the caller's agency
    recipient: AgencyCode
    subject: Subject
    event_type: EventType
    purpose: Purpose
    urgency: Urgency = Urgency.ROUTINE
    override: Override | None = None
    at: AwareDatetime | None = None  # the moment to decide for; default: now

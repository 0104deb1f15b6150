"""The event envelope and the typed payload of each event type (POST /v1/events)."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, SkipValidation, TypeAdapter, field_validator, model_validator

from schemas.common import AgencyCode, LongText, NhsNumber, ShortText, WireModel
from schemas.instants import CalendarDate, Instant
from schemas.vocabulary import (
    ContactMethod,
    OverrideReason,
    Purpose,
    RiskDomain,
    RiskLevel,
    Urgency,
)

TextList = Annotated[list[LongText], Field(max_length=50)]


class RiskChanged(WireModel):
    previous_level: RiskLevel
    current_level: RiskLevel
    risk_domains: Annotated[list[RiskDomain], Field(min_length=1, max_length=6)]
    rationale: LongText
    early_warning_indicators: TextList = []
    actions_taken: TextList = []
    review_date: CalendarDate | None = None


class ContactAttempt(WireModel):
    at: Instant
    method: ContactMethod
    outcome: ShortText


class EngagementDisengaged(WireModel):
    last_contact_at: Instant
    missed_contacts: Annotated[int, Field(ge=1, le=1000)]
    attempts: Annotated[list[ContactAttempt], Field(max_length=100)] = []
    current_risk_level: RiskLevel
    actions_requested: TextList = []


class EscalationSummary(WireModel):
    what_has_been_done: LongText
    what_has_changed: LongText
    what_is_requested: LongText


class CrisisOccurred(WireModel):
    started_at: Instant
    presentation: LongText
    immediate_risk: bool
    services_involved: Annotated[list[ShortText], Field(max_length=50)] = []
    crisis_plan_id: UUID | None = None
    escalation_summary: EscalationSummary


class Subject(WireModel):
    nhs_number: NhsNumber
    local_id: ShortText | None = None


class Override(WireModel):
    """A significant-risk override of a refusal; reviewed by IG leads (docs/governance.md)."""

    reason: OverrideReason
    authorised_by: ShortText
    justification: LongText


class _Envelope(WireModel):
    id: UUID = Field(description="The sender's identifier of the event: the idempotency key")
    occurred_at: Instant
    subject: Subject
    recipients: Annotated[list[AgencyCode], Field(min_length=1, max_length=50)] | None = None
    reason_for_sharing: LongText
    purpose: Purpose
    urgency: Urgency
    override: Override | None = None

    @model_validator(mode="after")
    def _recipients_are_distinct(self) -> "_Envelope":
        if self.recipients is not None and len(set(self.recipients)) != len(self.recipients):
            raise ValueError("recipients must not repeat an agency")
        return self


class RiskChangedEvent(_Envelope):
    type: Literal["risk.changed"]
    payload: RiskChanged


class EngagementDisengagedEvent(_Envelope):
    type: Literal["engagement.disengaged"]
    payload: EngagementDisengaged


class CrisisOccurredEvent(_Envelope):
    type: Literal["crisis.occurred"]
    payload: CrisisOccurred


PAYLOAD_MODELS: dict[str, type[WireModel]] = {
    "risk.changed": RiskChanged,
    "engagement.disengaged": EngagementDisengaged,
    "crisis.occurred": CrisisOccurred,
}

EventSubmission = Annotated[
    RiskChangedEvent | EngagementDisengagedEvent | CrisisOccurredEvent,
    Field(discriminator="type"),
]
EVENT_SUBMISSION: TypeAdapter[EventSubmission] = TypeAdapter(EventSubmission)

MAX_BATCH = 500


class EventBatch(WireModel):
    """Up to 500 events for POST /v1/events:batch, each as POST /v1/events takes it.

    Each event is validated and answered on its own, so one bad event refuses only itself:
    the items are checked by the handler, not here (the schema still documents them)."""

    events: SkipValidation[
        Annotated[list[EventSubmission], Field(min_length=1, max_length=MAX_BATCH)]
    ]

    @field_validator("events", mode="before")
    @classmethod
    def _one_to_five_hundred(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("events must be a list of events")
        if not 1 <= len(value) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} events, not {len(value)}")
        return value

"""Timeframe policies on the wire: `GET/PUT /v1/timeframes` and an agreement's tighter terms.

Durations are ISO 8601 (`PT15M`, `PT3S`, `P1D`), as strings only: a bare number would leave
the reader guessing at its unit.
"""

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from schemas.common import WireModel
from schemas.vocabulary import EscalationStep, EventType, RiskLevel, Urgency

ANY = "*"
LONGEST = timedelta(days=31)
_ISO_DURATION = re.compile(r"^-?P(?!$)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _iso_8601_text(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str) or not _ISO_DURATION.match(value):
        raise ValueError("must be an ISO 8601 duration such as PT15M, PT3S or P1D")
    return value


def _positive_and_bounded(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    if value > LONGEST:
        raise ValueError("must be at most P31D")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_iso_8601_text),
    AfterValidator(_positive_and_bounded),
    Field(description="ISO 8601 duration, e.g. PT15M", examples=["PT15M"]),
]


class TimeframePolicyBody(WireModel):
    """One row of the policy table: the most specific row matching a delivery applies."""

    event_type: EventType | Literal["*"] = Field(description="an event type, or * for any")
    urgency: Urgency | Literal["*"] = Field(description="the sender's urgency, or * for any")
    risk_level: RiskLevel | None = Field(
        default=None,
        description="the person's risk level it applies to: a risk change's current level, a "
        "disengagement's current risk level, a crisis's very_high (immediate risk) or high",
    )
    deliver_within: Duration
    ack_within: Duration
    escalation: Annotated[list[EscalationStep], Field(min_length=1, max_length=3)]
    escalation_interval: Duration | None = Field(
        default=None,
        description="how long each escalation step waits for an acknowledgement before the "
        "next runs; default: ack_within",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "TimeframePolicyBody":
        if self.ack_within < self.deliver_within:
            raise ValueError("ack_within must not be shorter than deliver_within")
        if len(set(self.escalation)) != len(self.escalation):
            raise ValueError("escalation must not repeat a step")
        return self


class TimeframesBody(WireModel):
    policies: Annotated[list[TimeframePolicyBody], Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _one_row_per_key(self) -> "TimeframesBody":
        keys = [(p.event_type, p.urgency, p.risk_level) for p in self.policies]
        if len(set(keys)) != len(keys):
            raise ValueError("two policies have the same event_type, urgency and risk_level")
        if not any(p.event_type == ANY and p.urgency == ANY for p in self.policies):
            raise ValueError('a catch-all policy (event_type "*", urgency "*") is required')
        return self


class AgreedTimeframe(WireModel):
    """An agreement's tighter deadlines for its parties: never looser than the policy."""

    event_type: EventType | Literal["*"]
    urgency: Urgency | Literal["*"] = "*"
    risk_level: RiskLevel | None = None
    deliver_within: Duration | None = None
    ack_within: Duration | None = None

    @model_validator(mode="after")
    def _something_tightened(self) -> "AgreedTimeframe":
        if self.deliver_within is None and self.ack_within is None:
            raise ValueError("give deliver_within, ack_within or both")
        return self

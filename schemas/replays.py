"""Replaying a message (`POST /v1/events/{message_id}/replay`) and asking for a delivery to be
pushed again (`POST /v1/deliveries/{id}/redeliver`)."""

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from schemas.common import WireModel
from schemas.nhs_number import is_valid_nhs_number

# Ten digits, perhaps in 3-3-4 groups: what an NHS number looks like written down.
_NHS_NUMBER_LIKE = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")


def no_nhs_number(text: str) -> str:
    """Free text kept on the audit trail must not identify the person: IMB keeps people
    pseudonymous there."""
    for found in _NHS_NUMBER_LIKE.findall(text):
        if is_valid_nhs_number(re.sub(r"[ -]", "", found)):
            raise ValueError("must not contain an NHS number")
    return text


class ReplayRequest(WireModel):
    reason: str = Field(
        min_length=3,
        max_length=500,
        description="why it is sent again (kept on the audit trail; no NHS number in it)",
    )

    _no_nhs_number = field_validator("reason")(no_nhs_number)


class Replayed(BaseModel):
    message_id: UUID
    replayed_at: datetime
    reason: str
    recipients: list[dict[str, Any]] = Field(
        description="per recipient, as in GET /v1/events/{message_id}: the new delivery, decided "
        "now, with `replay_of` naming the one it replays; a recipient denied now is `withheld` "
        "with the reason"
    )


class RedeliverRequest(WireModel):
    reason: str | None = Field(
        default=None, max_length=500, description="why (kept on the audit trail)"
    )

    _no_nhs_number = field_validator("reason")(
        lambda text: None if text is None else no_nhs_number(text)
    )


class Redelivering(BaseModel):
    delivery_id: UUID
    channel: str = Field(description="the channel it is pushed by: webhook or kafka")
    next_attempt_at: datetime

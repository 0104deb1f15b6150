"""Dead letters on the wire (`/v1/dead-letters`): pushes whose retries ran out, or that were
withdrawn when the agency's channel was turned off or changed."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class DeadLetter(BaseModel):
    delivery_id: UUID
    message_id: UUID
    type: str
    agency: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    dead_lettered_at: datetime = Field(description="its last attempt, or when it was queued")
    state: str = Field(
        default="dead_lettered",
        description="dead_lettered: its retries ran out; withdrawn: its channel was turned off "
        "(410) or changed before it went. Either can be re-driven.",
    )


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]


class Redriven(BaseModel):
    delivery_id: UUID
    state: str
    next_attempt_at: datetime

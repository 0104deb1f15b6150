"""Dead letters on the wire (`/v1/dead-letters`): webhook pushes whose retries ran out."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class DeadLetter(BaseModel):
    delivery_id: UUID
    message_id: UUID
    type: str
    agency: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    dead_lettered_at: datetime


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]


class Redriven(BaseModel):
    delivery_id: UUID
    state: str
    next_attempt_at: datetime

"""A subject's recorded consent position (POST /v1/subjects/{nhs_number}/consents)."""

from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from schemas.common import AgencyCode, LongText, Person, WireModel
from schemas.instants import Instant
from schemas.vocabulary import ConsentState, EventType, Purpose


class ConsentScopeBody(WireModel):
    recipients: list[AgencyCode] = []
    event_types: list[EventType] = []
    purposes: list[Purpose] = []


class ConsentBody(WireModel):
    state: ConsentState
    scope: ConsentScopeBody = ConsentScopeBody()
    recorded_by: Person
    evidence: LongText | None = None
    valid_from: Instant | None = None
    valid_to: Instant | None = None
    supersedes: Annotated[list[UUID], Field(max_length=20)] = Field(
        default=[],
        description="ids of refusals, withdrawals or objections recorded by other agencies "
        "that this record sets aside because the person has changed their mind; without them "
        "another agency's refusal stands, and recording consent over it is a 409",
    )

    @model_validator(mode="after")
    def _period_is_ordered(self) -> "ConsentBody":
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self

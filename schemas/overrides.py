"""Reviewing a permit_override decision (POST /v1/overrides/{id}/review)."""

from enum import StrEnum

from schemas.common import LongText, Person, WireModel


class OverrideStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReviewOutcome(StrEnum):
    UPHELD = "upheld"  # the override was justified
    NOT_UPHELD = "not_upheld"  # it was not: a matter for the partnership's IG follow-up


class OverrideReview(WireModel):
    outcome: ReviewOutcome
    note: LongText
    reviewed_by: Person | None = None

"""Business acknowledgement of a delivery (POST /v1/inbox/{id}/ack)."""

from pydantic import model_validator

from schemas.common import LongText, Person, WireModel
from schemas.vocabulary import AckOutcome, DeclineReason


class Acknowledgement(WireModel):
    outcome: AckOutcome
    reason_code: DeclineReason | None = None
    note: LongText | None = None
    acknowledged_by: Person

    @model_validator(mode="after")
    def _declined_needs_reason(self) -> "Acknowledgement":
        if self.outcome is AckOutcome.DECLINED and self.reason_code is None:
            raise ValueError("a declined acknowledgement needs a reason_code")
        if self.outcome is not AckOutcome.DECLINED and self.reason_code is not None:
            raise ValueError("reason_code is only for a declined acknowledgement")
        return self

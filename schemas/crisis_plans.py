"""A subject's multi-agency crisis plan (`POST /v1/subjects/{nhs_number}/crisis-plans`).

The plan says who leads and who else responds when the person is in crisis, what signals a
crisis, whom to call in what order, and how the agencies keep each other informed. It is in
force only once every partner agency has confirmed it.
"""

from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from schemas.common import AgencyCode, LongText, Person, ShortText, WireModel
from schemas.timeframes import Duration


class CrisisPlanPartnerBody(WireModel):
    agency: AgencyCode
    role: ShortText = Field(description="what this agency does in a crisis")
    ack_within: Duration | None = Field(
        default=None,
        description="how soon this agency acknowledges a crisis; default: the plan's ack_within",
    )


class EscalationContact(WireModel):
    step: ShortText = Field(description="when this step applies, e.g. 'out of hours'")
    contact: ShortText = Field(description="whom to call: a team, a role, a number")


EscalationRoute = LongText | EscalationContact


class CrisisPlanBody(WireModel):
    partners: Annotated[list[CrisisPlanPartnerBody], Field(min_length=2, max_length=20)] = Field(
        description="every agency that responds, the lead and the proposing agency among them"
    )
    lead_agency: AgencyCode = Field(description="the partner told first and leading the response")
    ack_within: Duration | None = Field(
        default=None,
        description="how soon partners acknowledge a crisis; applies only where shorter than "
        "the timeframe policy",
    )
    triggers: Annotated[list[LongText], Field(min_length=1, max_length=50)]
    escalation_routes: Annotated[list[EscalationRoute], Field(min_length=1, max_length=50)]
    communication_plan: LongText
    proposed_by: Person = Field(description="who agreed the plan for the proposing agency")

    @field_validator("partners")
    @classmethod
    def _each_agency_once(
        cls, partners: list[CrisisPlanPartnerBody]
    ) -> list[CrisisPlanPartnerBody]:
        agencies = [p.agency for p in partners]
        if len(set(agencies)) != len(agencies):
            raise ValueError("an agency appears among the partners once")
        return partners

    @field_validator("lead_agency")
    @classmethod
    def _lead_is_a_partner(cls, lead: str, info: ValidationInfo) -> str:
        partners = info.data.get("partners")
        if partners is not None and lead not in {p.agency for p in partners}:
            raise ValueError("the lead agency must be one of the partners")
        return lead


class CrisisPlanConfirmation(WireModel):
    """A partner agency confirming the plan, by a named person."""

    confirmed_by: Person

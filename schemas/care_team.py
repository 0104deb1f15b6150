"""A subject's care team (PUT /v1/subjects/{nhs_number}/care-team)."""

from typing import Annotated

from pydantic import Field, model_validator

from schemas.common import AgencyCode, ShortText, WireModel


class CareTeamMember(WireModel):
    agency: AgencyCode
    role: ShortText
    named_lead: ShortText
    coordinator: bool = False


class CareTeam(WireModel):
    members: Annotated[list[CareTeamMember], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _one_coordinator_each_agency_once(self) -> "CareTeam":
        if sum(member.coordinator for member in self.members) != 1:
            raise ValueError("a care team has exactly one coordinator")
        agencies = [member.agency for member in self.members]
        if len(set(agencies)) != len(agencies):
            raise ValueError("an agency appears in a care team once")
        return self

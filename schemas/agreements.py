"""Sharing agreements as partners submit them (DESIGN §6, POST /v1/agreements)."""

from datetime import date
from typing import Annotated

from pydantic import AwareDatetime, Field, model_validator

from schemas.common import AgencyCode, ShortText, WireModel
from schemas.vocabulary import (
    Art6Basis,
    Art9Condition,
    ConfidentialityBasis,
    EventType,
    PartyRole,
    Purpose,
    StatutoryGateway,
)

FieldPath = Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z_]+)*$", max_length=200)]


class Party(WireModel):
    agency: AgencyCode
    role: PartyRole


class LawfulBasisBody(WireModel):
    art6: Art6Basis
    art9: Art9Condition
    dpa_sch1_para: Annotated[str, Field(pattern=r"^[0-9]{1,2}$")] | None = None
    confidentiality: ConfidentialityBasis
    statutory_gateways: list[StatutoryGateway] = []

    @model_validator(mode="after")
    def _substantial_public_interest_names_a_paragraph(self) -> "LawfulBasisBody":
        # Art 9(2)(g) is only available through a DPA 2018 Sch 1 Part 2 condition.
        if self.art9 is Art9Condition.SUBSTANTIAL_PUBLIC_INTEREST and self.dpa_sch1_para is None:
            raise ValueError("substantial_public_interest needs a DPA 2018 Sch 1 paragraph")
        return self


class AgreementBody(WireModel):
    title: ShortText
    parties: Annotated[list[Party], Field(min_length=2, max_length=50)]
    event_types: Annotated[list[EventType], Field(min_length=1)]
    purposes: Annotated[list[Purpose], Field(min_length=1)]
    lawful_basis: LawfulBasisBody
    data_items: dict[EventType, list[FieldPath]] | None = None
    effective_from: AwareDatetime
    effective_to: AwareDatetime | None = None
    review_date: date | None = None
    retention_days: Annotated[int, Field(ge=1, le=36500)] | None = None

    @model_validator(mode="after")
    def _coherent(self) -> "AgreementBody":
        agencies = [party.agency for party in self.parties]
        if len(set(agencies)) != len(agencies):
            raise ValueError("an agency is a party to an agreement once")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        return self

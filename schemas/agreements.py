"""Sharing agreements as partners submit them (/v1/agreements): the terms of a
version, a party's approval of it, and the reason for ending it."""

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from schemas.common import AgencyCode, LongText, Person, ShortText, WireModel
from schemas.events import PAYLOAD_MODELS
from schemas.instants import CalendarDate, Instant
from schemas.paths import model_paths, names_a_field
from schemas.timeframes import AgreedTimeframe
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

# UK GDPR Art 6(1)(ea) was inserted by s.70 of the Data (Use and Access) Act 2025, brought
# into force on 5 February 2026 by the Data (Use and Access) Act 2025 (Commencement No. 6 and
# Transitional and Saving Provisions) Regulations 2026 (SI 2026/82), reg. 2(c). Midnight UK
# time, which in February is UTC. No agreement can rely on it for any earlier period.
RECOGNISED_LEGITIMATE_INTEREST_COMMENCES = datetime(2026, 2, 5, tzinfo=UTC)


class Party(WireModel):
    agency: AgencyCode
    role: PartyRole


class LawfulBasisBody(WireModel):
    art6: Art6Basis
    art9: Art9Condition
    dpa_sch1_para: Annotated[str, Field(pattern=r"^[0-9]{1,2}$")] | None = Field(
        default=None, validate_default=True
    )
    confidentiality: ConfidentialityBasis
    statutory_gateways: list[StatutoryGateway] = []

    @field_validator("dpa_sch1_para")
    @classmethod
    def _substantial_public_interest_names_a_paragraph(
        cls, para: str | None, info: ValidationInfo
    ) -> str | None:
        # Art 9(2)(g) is only available through a DPA 2018 Sch 1 Part 2 condition.
        if info.data.get("art9") is Art9Condition.SUBSTANTIAL_PUBLIC_INTEREST and para is None:
            raise ValueError("substantial_public_interest needs a DPA 2018 Sch 1 paragraph")
        return para


class AgreementBody(WireModel):
    title: ShortText
    parties: Annotated[list[Party], Field(min_length=2, max_length=50)]
    event_types: Annotated[list[EventType], Field(min_length=1)]
    purposes: Annotated[list[Purpose], Field(min_length=1)]
    lawful_basis: LawfulBasisBody
    data_items: dict[EventType, list[FieldPath]] | None = None
    effective_from: Instant
    effective_to: Instant | None = None
    review_date: CalendarDate | None = Field(
        default=None,
        description="when the parties will review the agreement: on or after the (UTC) date "
        "of effective_from",
    )
    retention_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    timeframes: Annotated[list[AgreedTimeframe], Field(max_length=50)] | None = Field(
        default=None,
        description="tighter deadlines for deliveries between the parties; never looser "
        "than the timeframe policy (GET /v1/timeframes)",
    )

    @field_validator("parties")
    @classmethod
    def _each_agency_once(cls, parties: list[Party]) -> list[Party]:
        agencies = [party.agency for party in parties]
        if len(set(agencies)) != len(agencies):
            raise ValueError("an agency is a party to an agreement once")
        return parties

    @field_validator("effective_to")
    @classmethod
    def _ends_after_it_starts(
        cls, effective_to: datetime | None, info: ValidationInfo
    ) -> datetime | None:
        effective_from = info.data.get("effective_from")
        if (
            effective_to is not None
            and effective_from is not None
            and effective_to <= effective_from
        ):
            raise ValueError("effective_to must be after effective_from")
        return effective_to

    @field_validator("review_date")
    @classmethod
    def _reviewed_no_earlier_than_it_starts(
        cls, review_date: date | None, info: ValidationInfo
    ) -> date | None:
        # A field validator, not a model validator, so that the error names review_date.
        effective_from = info.data.get("effective_from")
        if review_date is None or effective_from is None:
            return review_date
        starts = effective_from.astimezone(UTC).date()
        if review_date < starts:
            raise ValueError(f"review_date must not be before effective_from ({starts})")
        return review_date

    @field_validator("effective_from")
    @classmethod
    def _recognised_legitimate_interest_only_once_commenced(
        cls, effective_from: datetime, info: ValidationInfo
    ) -> datetime:
        basis = info.data.get("lawful_basis")
        relies_on_it = basis is not None and basis.art6 is Art6Basis.RECOGNISED_LEGITIMATE_INTEREST
        if relies_on_it and effective_from < RECOGNISED_LEGITIMATE_INTEREST_COMMENCES:
            commenced = RECOGNISED_LEGITIMATE_INTEREST_COMMENCES.date().isoformat()
            raise ValueError(
                f"recognised_legitimate_interest (Art 6(1)(ea)) is lawful only from {commenced}"
            )
        return effective_from

    @field_validator("data_items")
    @classmethod
    def _data_items_only_for_covered_event_types(
        cls, data_items: dict[EventType, list[str]] | None, info: ValidationInfo
    ) -> dict[EventType, list[str]] | None:
        # Absent when event_types itself failed; its own error says so.
        covered = set(info.data.get("event_types", data_items or {}))
        uncovered = sorted(set(data_items or {}) - covered)
        if uncovered:
            raise ValueError(
                f"data_items names {', '.join(uncovered)}, which the agreement does not cover"
            )
        unknown = [
            f"{event_type}: {path}"
            for event_type, paths in (data_items or {}).items()
            for path in paths
            if not names_a_field(path, model_paths(PAYLOAD_MODELS[event_type]))
        ]
        if unknown:
            # A misspelt item would silently withhold a field the parties meant to share.
            raise ValueError(f"data_items names fields the payload does not have: {unknown}")
        return data_items

    @field_validator("timeframes")
    @classmethod
    def _timeframes_only_for_covered_event_types(
        cls, timeframes: list[AgreedTimeframe] | None, info: ValidationInfo
    ) -> list[AgreedTimeframe] | None:
        covered = set(info.data.get("event_types", []))
        keys = [(t.event_type, t.urgency, t.risk_level) for t in timeframes or []]
        if len(set(keys)) != len(keys):
            raise ValueError("two timeframes have the same event_type, urgency and risk_level")
        uncovered = sorted({k[0] for k in keys if k[0] != "*" and k[0] not in covered})
        if "event_types" in info.data and uncovered:
            raise ValueError(
                f"timeframes names {', '.join(uncovered)}, which the agreement does not cover"
            )
        return timeframes


class AgreementApproval(WireModel):
    """One party's sign-off of the version awaiting approval, by a named person."""

    approved_by: Person
    note: LongText | None = None


class AgreementEnd(WireModel):
    """Why an agreement is being suspended or terminated; kept with the version it ends."""

    reason: LongText

"""Loading an agreement for a change, and writing a new version of its terms."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from broker.agreements.repository import Parties, lock_agreement, parties_of, versions_of
from broker.agreements.views import agreement_view
from broker.db.models import AgreementParty, AgreementVersion
from broker.errors import NotFound
from consent.vocab import AgreementStatus
from schemas.agreements import AgreementBody

TERMS = {"event_types", "purposes", "lawful_basis", "data_items", "timeframes"}


@dataclass
class Loaded:
    """An agreement's versions (newest first) and their parties, read under its lock."""

    versions: list[AgreementVersion]
    parties: Parties

    @property
    def newest(self) -> AgreementVersion:
        return self.versions[0]

    def parties_to(self, version: AgreementVersion) -> list[AgreementParty]:
        return self.parties[(version.agreement_id, version.version)]

    def names(self, version: AgreementVersion, agency: str | None) -> bool:
        return any(p.agency_code == agency for p in self.parties_to(version))

    def terminated(self) -> bool:
        return any(v.status == AgreementStatus.TERMINATED.value for v in self.versions)

    def pending_draft(self) -> AgreementVersion | None:
        newest = self.newest
        return newest if newest.status == AgreementStatus.DRAFT.value else None


async def load_for_change(
    session: AsyncSession, agreement_id: UUID, visible_to: str | None
) -> Loaded:
    """Lock the agreement and read it; NotFound where it is absent or the agency is party to
    none of its versions (None: anyone may see it)."""
    if await lock_agreement(session, agreement_id) is None:
        raise NotFound(f"no agreement {agreement_id}")
    return await load(session, agreement_id, visible_to)


async def load(session: AsyncSession, agreement_id: UUID, visible_to: str | None) -> Loaded:
    versions = await versions_of(session, agreement_id)
    loaded = Loaded(versions, await parties_of(session, versions))
    if not versions:
        raise NotFound(f"no agreement {agreement_id}")
    if visible_to is not None and not any(loaded.names(v, visible_to) for v in versions):
        # The same answer as for no agreement at all: a non-party learns nothing of it.
        raise NotFound(f"no agreement {agreement_id}")
    return loaded


async def add_version(
    session: AsyncSession, agreement_id: UUID, number: int, body: AgreementBody, now: datetime
) -> AgreementVersion:
    """A draft of the terms, with every party still to approve it."""
    version = AgreementVersion(
        agreement_id=agreement_id,
        version=number,
        status=AgreementStatus.DRAFT.value,
        title=body.title,
        terms=body.model_dump(mode="json", include=TERMS),
        effective_from=body.effective_from,
        effective_to=body.effective_to,
        review_date=body.review_date,
        retention_days=body.retention_days,
        created_at=now,
    )
    session.add(version)
    # No ORM relationship orders these inserts, so the version row must exist first.
    await session.flush()
    session.add_all(
        AgreementParty(
            agreement_id=agreement_id, version=number, agency_code=p.agency, role=p.role.value
        )
        for p in body.parties
    )
    return version


def body_of(version: AgreementVersion, parties: list[AgreementParty]) -> AgreementBody:
    """A version's terms as a body again, to propose them anew."""
    return AgreementBody.model_validate(
        {
            **version.terms,
            "title": version.title,
            "parties": [{"agency": p.agency_code, "role": p.role} for p in parties],
            "effective_from": version.effective_from,
            "effective_to": version.effective_to,
            "review_date": version.review_date,
            "retention_days": version.retention_days,
        }
    )


def version_detail(version: AgreementVersion) -> dict[str, Any]:
    """What the audit trail keeps about a version's terms."""
    return {
        "agreement_id": str(version.agreement_id),
        "version": version.version,
        "title": version.title,
        **version.terms,
        "effective_from": version.effective_from.isoformat(),
        "effective_to": version.effective_to.isoformat() if version.effective_to else None,
    }


async def current_view(session: AsyncSession, agreement_id: UUID, now: datetime) -> dict[str, Any]:
    await session.flush()
    loaded = await load(session, agreement_id, None)
    return agreement_view(loaded.versions, loaded.parties, now)

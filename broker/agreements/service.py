"""CreateAgreement and the views of agreements.

Until approvals exist, a new agreement is active at once (status `active`, version 1); the
tables already carry versions and per-party approval so that the lifecycle can grow in place.
"""

from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from broker.agencies.repository import registered
from broker.agreements.repository import list_versions, parties_of, versions_of
from broker.audit.log import Actor, AuditEvent, append
from broker.db.models import Agreement, AgreementParty, AgreementVersion
from broker.errors import FieldError, InvalidInput, NotFound
from broker.runtime import Runtime
from consent.vocab import AgreementStatus
from schemas.agreements import AgreementBody


async def create_agreement(
    session: AsyncSession, rt: Runtime, actor: Actor, body: AgreementBody, *, any_party: bool
) -> dict[str, Any]:
    """`any_party`: an administrator may record an agreement it is not itself a party to."""
    await _check_parties(session, rt, actor, body, any_party=any_party)
    now, agreement_id = rt.clock(), uuid4()
    session.add(Agreement(id=agreement_id, created_by_agency=actor.agency, created_at=now))
    await session.flush()
    terms = body.model_dump(
        mode="json", include={"event_types", "purposes", "lawful_basis", "data_items"}
    )
    version = AgreementVersion(
        agreement_id=agreement_id,
        version=1,
        status=AgreementStatus.ACTIVE.value,
        title=body.title,
        terms=terms,
        effective_from=body.effective_from,
        effective_to=body.effective_to,
        review_date=body.review_date,
        retention_days=body.retention_days,
        created_at=now,
        activated_at=now,
    )
    session.add(version)
    await session.flush()
    parties = [
        AgreementParty(
            agreement_id=agreement_id, version=1, agency_code=p.agency, role=p.role.value
        )
        for p in body.parties
    ]
    session.add_all(parties)
    detail = {"agreement_id": str(agreement_id), "version": 1, "title": body.title, **terms}
    append(session, AuditEvent.AGREEMENT_CREATED, actor, now, detail=detail)
    return agreement_view(version, parties)


async def _check_parties(
    session: AsyncSession, rt: Runtime, actor: Actor, body: AgreementBody, *, any_party: bool
) -> None:
    codes = [party.agency for party in body.parties]
    known = await registered(session, rt, codes)
    errors = [
        FieldError(("body", "parties", index, "agency"), f"unknown agency {code}")
        for index, code in enumerate(codes)
        if code not in known
    ]
    if not any_party and actor.agency not in codes:
        errors.append(FieldError(("body", "parties"), "the caller's agency must be a party"))
    if errors:
        raise InvalidInput("the agreement names parties it cannot have", errors)


async def list_agreements(session: AsyncSession, party: str | None) -> list[dict[str, Any]]:
    versions = await list_versions(session, party)
    parties = await parties_of(session, versions)
    return [agreement_view(v, parties[(v.agreement_id, v.version)]) for v in versions]


async def get_agreement(
    session: AsyncSession, agreement_id: UUID, visible_to: str | None
) -> dict[str, Any]:
    """The newest version with the history of all versions; None visible_to means anyone."""
    versions = await versions_of(session, agreement_id)
    parties = await parties_of(session, versions)
    if not versions or (
        visible_to is not None
        and all(p.agency_code != visible_to for group in parties.values() for p in group)
    ):
        raise NotFound(f"no agreement {agreement_id}")
    newest = versions[0]
    view = agreement_view(newest, parties[(newest.agreement_id, newest.version)])
    view["versions"] = [
        {"version": v.version, "status": v.status, "created_at": v.created_at.isoformat()}
        for v in versions
    ]
    return view


def agreement_view(version: AgreementVersion, parties: list[AgreementParty]) -> dict[str, Any]:
    return {
        "id": str(version.agreement_id),
        "version": version.version,
        "status": version.status,
        "title": version.title,
        "parties": [
            {
                "agency": p.agency_code,
                "role": p.role,
                "approved_at": p.approved_at.isoformat() if p.approved_at else None,
            }
            for p in parties
        ],
        **version.terms,
        "effective_from": version.effective_from.isoformat(),
        "effective_to": version.effective_to.isoformat() if version.effective_to else None,
        "review_date": version.review_date.isoformat() if version.review_date else None,
        "retention_days": version.retention_days,
        "created_at": version.created_at.isoformat(),
    }

"""Sharing agreements: their versions and parties, and the view the consent engine needs."""

from collections import defaultdict
from collections.abc import Collection
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import consent.model as cm
from broker.db.models import Agency, Agreement, AgreementParty, AgreementVersion
from consent.vocab import AgreementStatus
from schemas.vocabulary import (
    Art6Basis,
    Art9Condition,
    ConfidentialityBasis,
    PartyRole,
    Purpose,
    StatutoryGateway,
)

Parties = dict[tuple[UUID, int], list[AgreementParty]]


async def versions_naming(session: AsyncSession, agency: str) -> list[cm.Agreement]:
    """Every version of every agreement to which the agency is a party."""
    statement = select(AgreementVersion).join(
        AgreementParty,
        (AgreementParty.agreement_id == AgreementVersion.agreement_id)
        & (AgreementParty.version == AgreementVersion.version),
    )
    versions = list(
        (await session.scalars(statement.where(AgreementParty.agency_code == agency))).all()
    )
    parties = await parties_of(session, versions)
    return [to_agreement(v, parties[(v.agreement_id, v.version)]) for v in versions]


async def parties_of(session: AsyncSession, versions: list[AgreementVersion]) -> Parties:
    ids = {v.agreement_id for v in versions}
    grouped: Parties = defaultdict(list)
    if not ids:
        return grouped
    rows = await session.scalars(select(AgreementParty).where(AgreementParty.agreement_id.in_(ids)))
    for party in rows:
        grouped[(party.agreement_id, party.version)].append(party)
    return grouped


async def lock_agreement(session: AsyncSession, agreement_id: UUID) -> Agreement | None:
    """The agreement row, locked so that one lifecycle change at a time reads its versions."""
    return await session.get(Agreement, agreement_id, with_for_update=True)


async def agency_kinds(session: AsyncSession, codes: Collection[str]) -> dict[str, str]:
    """The kind of each registered agency among the codes; unknown codes are absent."""
    rows = await session.execute(select(Agency.code, Agency.kind).where(Agency.code.in_(codes)))
    return dict(rows.tuples().all())


async def agreement_ids(session: AsyncSession, party: str | None) -> list[UUID]:
    """Agreements to which the agency is a party in any version (None: every agreement)."""
    if party is None:
        return list((await session.scalars(select(Agreement.id))).all())
    statement = select(AgreementParty.agreement_id).where(AgreementParty.agency_code == party)
    return list((await session.scalars(statement.distinct())).all())


async def versions_by_agreement(
    session: AsyncSession, ids: Collection[UUID]
) -> dict[UUID, list[AgreementVersion]]:
    """Each agreement's versions, newest first."""
    grouped: dict[UUID, list[AgreementVersion]] = defaultdict(list)
    if not ids:
        return grouped
    statement = (
        select(AgreementVersion)
        .where(AgreementVersion.agreement_id.in_(ids))
        .order_by(AgreementVersion.agreement_id, AgreementVersion.version.desc())
    )
    for version in await session.scalars(statement):
        grouped[version.agreement_id].append(version)
    return grouped


async def versions_of(session: AsyncSession, agreement_id: UUID) -> list[AgreementVersion]:
    """The agreement's versions, newest first."""
    return (await versions_by_agreement(session, [agreement_id])).get(agreement_id, [])


def to_agreement(version: AgreementVersion, parties: list[AgreementParty]) -> cm.Agreement:
    terms = version.terms
    basis = terms["lawful_basis"]
    data_items = terms.get("data_items")
    return cm.Agreement(
        id=str(version.agreement_id),
        version=version.version,
        status=AgreementStatus(version.status),
        parties=tuple(cm.AgreementParty(p.agency_code, PartyRole(p.role)) for p in parties),
        event_types=frozenset(terms["event_types"]),
        purposes=frozenset(Purpose(p) for p in terms["purposes"]),
        lawful_basis=cm.LawfulBasis(
            art6=Art6Basis(basis["art6"]),
            art9=Art9Condition(basis["art9"]),
            confidentiality=ConfidentialityBasis(basis["confidentiality"]),
            dpa_sch1_para=basis.get("dpa_sch1_para"),
            statutory_gateways=tuple(
                StatutoryGateway(g) for g in basis.get("statutory_gateways", [])
            ),
        ),
        effective_from=version.effective_from,
        effective_to=version.effective_to,
        activated_at=version.activated_at,
        ended_at=version.ended_at,
        data_items=None
        if data_items is None
        else {event_type: tuple(paths) for event_type, paths in data_items.items()},
    )

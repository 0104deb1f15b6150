"""Subjects, their care teams and consent records."""

from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

import consent.model as cm
from broker.crypto.envelope import seal
from broker.db.models import CareTeamMember, ConsentRecord, Subject
from broker.db.upsert import insert_all_if_absent
from broker.runtime import Runtime
from schemas.vocabulary import ConsentState, Purpose


def subject_ad(pseudonym: str) -> bytes:
    return b"imb:v1:subject:" + pseudonym.encode()


async def register_subject(session: AsyncSession, rt: Runtime, nhs_number: str) -> str:
    """The subject's pseudonym, recording the subject on first sight."""
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    await register_subjects(session, rt, {pseudonym: nhs_number})
    return pseudonym


async def register_subjects(session: AsyncSession, rt: Runtime, people: Mapping[str, str]) -> None:
    """Record these people (pseudonym: NHS number) on first sight, in one statement each to
    look and to insert. A person is remembered as known only once found committed: an insert
    may yet be rolled back."""
    unseen = [pseudonym for pseudonym in people if pseudonym not in rt.known_subjects]
    if not unseen:
        return
    found = set(
        await session.scalars(select(Subject.pseudonym).where(Subject.pseudonym.in_(unseen)))
    )
    rt.known_subjects.update(found)
    now, keys = rt.clock(), rt.keys.key_provider
    rows = [
        {
            "pseudonym": pseudonym,
            "nhs_number_sealed": seal(
                keys, people[pseudonym].encode(), subject_ad(pseudonym)
            ).to_bytes(),
            "created_at": now,
        }
        for pseudonym in unseen
        if pseudonym not in found
    ]
    await insert_all_if_absent(session, Subject, rows)


async def care_teams_of(session: AsyncSession, pseudonyms: set[str]) -> list[tuple[str, str]]:
    """(subject, agency) for every care-team member of these subjects."""
    statement = select(CareTeamMember.subject_pseudonym, CareTeamMember.agency_code).where(
        CareTeamMember.subject_pseudonym.in_(pseudonyms)
    )
    return [(subject, agency) for subject, agency in (await session.execute(statement)).all()]


async def replace_care_team(
    session: AsyncSession, pseudonym: str, members: list[CareTeamMember]
) -> None:
    await session.execute(
        delete(CareTeamMember).where(CareTeamMember.subject_pseudonym == pseudonym)
    )
    session.add_all(members)


async def consent_histories(session: AsyncSession, pseudonyms: set[str]) -> list[ConsentRecord]:
    """The consent records of these subjects, newest first."""
    statement = (
        select(ConsentRecord)
        .where(ConsentRecord.subject_pseudonym.in_(pseudonyms))
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id)
    )
    return list((await session.scalars(statement)).all())


def to_consent_record(row: ConsentRecord) -> cm.ConsentRecord:
    scope = row.scope
    return cm.ConsentRecord(
        id=str(row.id),
        state=ConsentState(row.state),
        scope=cm.ConsentScope(
            recipients=frozenset(scope.get("recipients", [])),
            event_types=frozenset(scope.get("event_types", [])),
            purposes=frozenset(Purpose(p) for p in scope.get("purposes", [])),
        ),
        recorded_at=row.recorded_at,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        recording_agency=row.recording_agency,
        supersedes=frozenset(row.supersedes or ()),
    )

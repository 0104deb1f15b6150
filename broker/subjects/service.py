"""ReplaceCareTeam, RecordConsent and the consent history."""

from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from broker.agencies.repository import registered
from broker.audit.log import Actor, AuditEvent, append
from broker.crypto.envelope import Sealed, open_sealed, seal
from broker.db.models import CareTeamMember, ConsentRecord
from broker.errors import FieldError, InvalidInput
from broker.runtime import Runtime
from broker.subjects.repository import consent_histories, register_subject, replace_care_team
from schemas.care_team import CareTeam
from schemas.consents import ConsentBody


async def set_care_team(
    session: AsyncSession, rt: Runtime, actor: Actor, nhs_number: str, team: CareTeam
) -> dict[str, Any]:
    await _check_agencies(session, rt, [m.agency for m in team.members], ("body", "members"))
    pseudonym = await register_subject(session, rt, nhs_number)
    now = rt.clock()
    members = [
        CareTeamMember(
            subject_pseudonym=pseudonym,
            agency_code=m.agency,
            role=m.role,
            named_lead=m.named_lead,
            coordinator=m.coordinator,
            updated_at=now,
        )
        for m in team.members
    ]
    await replace_care_team(session, pseudonym, members)
    view = team.model_dump(mode="json")
    append(session, AuditEvent.CARE_TEAM_REPLACED, actor, now, subject=pseudonym, detail=view)
    return view


async def _check_agencies(
    session: AsyncSession, rt: Runtime, codes: list[str], where: tuple[str | int, ...]
) -> None:
    known = await registered(session, rt, codes)
    errors = [
        FieldError((*where, index, "agency"), f"unknown agency {code}")
        for index, code in enumerate(codes)
        if code not in known
    ]
    if errors:
        raise InvalidInput("unknown agencies", errors)


def evidence_ad(record_id: UUID) -> bytes:
    return b"imb:v1:consent-evidence:" + str(record_id).encode()


async def record_consent(
    session: AsyncSession, rt: Runtime, actor: Actor, nhs_number: str, body: ConsentBody
) -> dict[str, Any]:
    assert actor.agency is not None
    assert actor.client is not None
    await _check_agencies(session, rt, body.scope.recipients, ("body", "scope", "recipients"))
    pseudonym = await register_subject(session, rt, nhs_number)
    now, record_id = rt.clock(), uuid4()
    evidence = (
        seal(rt.keys.key_provider, body.evidence.encode(), evidence_ad(record_id)).to_bytes()
        if body.evidence
        else None
    )
    record = ConsentRecord(
        id=record_id,
        subject_pseudonym=pseudonym,
        state=body.state.value,
        scope=body.scope.model_dump(mode="json"),
        recorded_by=body.recorded_by.model_dump(),
        evidence_sealed=evidence,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        recorded_at=now,
        recording_agency=actor.agency,
        recording_client=actor.client,
    )
    session.add(record)
    detail = {"consent_id": str(record_id), "state": record.state, "scope": record.scope}
    append(session, AuditEvent.CONSENT_RECORDED, actor, now, subject=pseudonym, detail=detail)
    return consent_view(rt, record)


async def consent_records(
    session: AsyncSession, rt: Runtime, nhs_number: str
) -> list[dict[str, Any]]:
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    return [consent_view(rt, r) for r in await consent_histories(session, {pseudonym})]


def consent_view(rt: Runtime, record: ConsentRecord) -> dict[str, Any]:
    evidence = (
        open_sealed(
            rt.keys.key_provider, Sealed.from_bytes(record.evidence_sealed), evidence_ad(record.id)
        ).decode()
        if record.evidence_sealed
        else None
    )
    return {
        "id": str(record.id),
        "state": record.state,
        "scope": record.scope,
        "recorded_by": record.recorded_by,
        "evidence": evidence,
        "valid_from": record.valid_from.isoformat() if record.valid_from else None,
        "valid_to": record.valid_to.isoformat() if record.valid_to else None,
        "recorded_at": record.recorded_at.isoformat(),
        "recording_agency": record.recording_agency,
    }

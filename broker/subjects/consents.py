"""RecordConsent and reading a person's consent history (both audited).

One agency's record never silently lifts a refusal another agency recorded (consent.decide,
rule 2): recording a position that permits sharing where another agency's refusal stands in the
same scope is refused (409) unless the record names that refusal in `supersedes` and gives the
evidence that the person changed their mind.
"""

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

import consent.model as cm
from broker.audit.log import Actor, AuditEvent, append
from broker.crypto.envelope import Sealed, open_sealed, seal
from broker.db.models import ConsentRecord
from broker.errors import Conflict, FieldError, InvalidInput
from broker.runtime import Runtime
from broker.subjects.repository import consent_histories, register_subject, to_consent_record
from broker.subjects.teams import check_agencies
from consent.decide import lifted
from consent.vocab import REFUSING_STATES
from schemas.consents import ConsentBody

NOT_A_REFUSAL = "not a refusal, withdrawal or objection recorded for this person"


def evidence_ad(record_id: UUID) -> bytes:
    return b"imb:v1:consent-evidence:" + str(record_id).encode()


async def record_consent(
    session: AsyncSession, rt: Runtime, actor: Actor, nhs_number: str, body: ConsentBody
) -> dict[str, Any]:
    assert actor.agency is not None
    assert actor.client is not None
    await check_agencies(session, rt, body.scope.recipients, ("body", "scope", "recipients"))
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    now, record_id = rt.clock(), uuid4()
    history = [to_consent_record(r) for r in await consent_histories(session, {pseudonym})]
    _check_superseding(body, history, actor.agency, now)
    await register_subject(session, rt, nhs_number)
    record = ConsentRecord(
        id=record_id,
        subject_pseudonym=pseudonym,
        state=body.state.value,
        scope=body.scope.model_dump(mode="json"),
        recorded_by=body.recorded_by.model_dump(),
        evidence_sealed=_sealed_evidence(rt, body, record_id),
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        recorded_at=now,
        recording_agency=actor.agency,
        recording_client=actor.client,
        supersedes=[str(i) for i in body.supersedes] or None,
    )
    session.add(record)
    detail = {
        "consent_id": str(record_id),
        "state": record.state,
        "scope": record.scope,
        "supersedes": record.supersedes or [],
    }
    append(session, AuditEvent.CONSENT_RECORDED, actor, now, subject=pseudonym, detail=detail)
    return consent_view(rt, record)


def _sealed_evidence(rt: Runtime, body: ConsentBody, record_id: UUID) -> bytes | None:
    if not body.evidence:
        return None
    return seal(rt.keys.key_provider, body.evidence.encode(), evidence_ad(record_id)).to_bytes()


def _check_superseding(
    body: ConsentBody, history: list[cm.ConsentRecord], agency: str, now: datetime
) -> None:
    named = {str(i) for i in body.supersedes}
    _check_named(body, named, history)
    if body.state in REFUSING_STATES:
        return
    proposed = cm.ConsentRecord(
        id="proposed",
        state=body.state,
        scope=to_consent_record_scope(body),
        recorded_at=now,
        recording_agency=agency,
        supersedes=frozenset(named),
    )
    standing = [
        r
        for r in history
        if r.state in REFUSING_STATES
        and r.scope == proposed.scope
        and (r.valid_to is None or r.valid_to > now)
        and not lifted(r, [*history, proposed])
    ]
    if standing:
        held = "; ".join(
            f"{r.state.value} recorded by {r.recording_agency} ({r.id})" for r in standing
        )
        raise Conflict(
            f"another agency's record stands in this scope: {held}. If the person has changed "
            "their mind, name it in supersedes and give the evidence"
        )


def _check_named(body: ConsentBody, named: set[str], history: list[cm.ConsentRecord]) -> None:
    refusals = {r.id for r in history if r.state in REFUSING_STATES}
    errors = [
        FieldError(
            ("body", "supersedes", i), "not a refusal, withdrawal or objection of this person"
        )
        for i, record_id in enumerate(body.supersedes)
        if str(record_id) not in refusals
    ]
    if named and body.state in REFUSING_STATES:
        errors.append(
            FieldError(("body", "state"), "only a record that permits sharing supersedes")
        )
    if named and not body.evidence:
        errors.append(FieldError(("body", "evidence"), "setting a refusal aside needs evidence"))
    if errors:
        raise InvalidInput("the consent record cannot set those records aside", errors)


def to_consent_record_scope(body: ConsentBody) -> cm.ConsentScope:
    return cm.ConsentScope(
        recipients=frozenset(body.scope.recipients),
        event_types=frozenset(e.value for e in body.scope.event_types),
        purposes=frozenset(body.scope.purposes),
    )


async def consent_records(
    session: AsyncSession, rt: Runtime, actor: Actor, nhs_number: str
) -> list[dict[str, Any]]:
    """The history, newest first; the read is audited as a payload view is, evidence and all."""
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    rows = await consent_histories(session, {pseudonym})
    detail = {"consent_ids": [str(r.id) for r in rows], "evidence_shown": True}
    append(session, AuditEvent.CONSENT_VIEWED, actor, rt.clock(), subject=pseudonym, detail=detail)
    return [consent_view(rt, r) for r in rows]


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
        "supersedes": record.supersedes or [],
    }

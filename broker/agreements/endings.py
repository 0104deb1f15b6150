"""Ending an agreement: suspension (until a new version is approved) and termination (final).

Ending sets `ended_at` on every version that is in force or still to come into force, so that
routing stops at once; it never clears an instant, so a decision made while an agreement was
suspended stays explainable. Reinstating therefore proposes the suspended terms again as a new
version that every party approves, rather than reopening the suspended one.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from broker.agreements.versions import (
    Loaded,
    add_version,
    body_of,
    current_view,
    load_for_change,
    version_detail,
)
from broker.audit.log import Actor, AuditEvent, append
from broker.db.models import AgreementVersion
from broker.errors import Conflict, Forbidden
from broker.runtime import Runtime
from consent.vocab import AgreementStatus
from schemas.agreements import AgreementEnd


async def suspend_agreement(
    session: AsyncSession,
    rt: Runtime,
    actor: Actor,
    agreement_id: UUID,
    end: AgreementEnd,
    *,
    any_party: bool,
) -> dict[str, Any]:
    loaded = await load_for_change(session, agreement_id, None if any_party else actor.agency)
    if loaded.terminated():
        raise Conflict(f"agreement {agreement_id} is terminated")
    now = rt.clock()
    ending = _live(loaded, now)
    if not ending:
        raise Conflict(f"agreement {agreement_id} has no version in force or approved")
    _check_party(loaded, ending, actor, any_party=any_party)
    _end(session, actor, ending, AgreementStatus.SUSPENDED, end.reason, now)
    return await current_view(session, agreement_id, now)


async def terminate_agreement(
    session: AsyncSession,
    rt: Runtime,
    actor: Actor,
    agreement_id: UUID,
    end: AgreementEnd,
    *,
    any_party: bool,
) -> dict[str, Any]:
    """Final: the versions in force or approved, and any draft awaiting approval, end now; a
    suspended agreement's newest version is marked terminated, keeping when it stopped."""
    loaded = await load_for_change(session, agreement_id, None if any_party else actor.agency)
    if loaded.terminated():
        raise Conflict(f"agreement {agreement_id} is already terminated")
    now = rt.clock()
    draft = loaded.pending_draft()
    ending = _live(loaded, now) + ([draft] if draft is not None else [])
    if not ending and loaded.newest.status == AgreementStatus.SUSPENDED.value:
        ending = [loaded.newest]
    if not ending:
        raise Conflict(f"agreement {agreement_id} has no version to terminate")
    _check_party(loaded, ending, actor, any_party=any_party)
    _end(session, actor, ending, AgreementStatus.TERMINATED, end.reason, now)
    return await current_view(session, agreement_id, now)


async def reinstate_agreement(
    session: AsyncSession, rt: Runtime, actor: Actor, agreement_id: UUID, *, any_party: bool
) -> dict[str, Any]:
    """Propose the suspended version's terms again as a new draft; once every party has
    approved it, it is in force from that moment (the suspension stays on record)."""
    loaded = await load_for_change(session, agreement_id, None if any_party else actor.agency)
    suspended = loaded.newest
    if suspended.status != AgreementStatus.SUSPENDED.value:
        raise Conflict(f"agreement {agreement_id} is not suspended")
    _check_party(loaded, [suspended], actor, any_party=any_party)
    now, number = rt.clock(), suspended.version + 1
    body = body_of(suspended, loaded.parties_to(suspended))
    version = await add_version(session, agreement_id, number, body, now)
    detail = {**version_detail(version), "reinstates": suspended.version}
    append(session, AuditEvent.AGREEMENT_VERSION_CREATED, actor, now, detail=detail)
    return await current_view(session, agreement_id, now)


def _live(loaded: Loaded, now: datetime) -> list[AgreementVersion]:
    """Versions approved by every party that are in force now or could be later."""
    return [
        v
        for v in loaded.versions
        if v.activated_at is not None
        and v.status not in _ENDED_BY_A_PARTY
        and (v.ended_at is None or v.ended_at > now)
    ]


_ENDED_BY_A_PARTY = {AgreementStatus.SUSPENDED.value, AgreementStatus.TERMINATED.value}


def _check_party(
    loaded: Loaded, ending: list[AgreementVersion], actor: Actor, *, any_party: bool
) -> None:
    if not any_party and not any(loaded.names(v, actor.agency) for v in ending):
        raise Forbidden(f"{actor.agency} is not a party to the version this would change")


_AUDIT = {
    AgreementStatus.SUSPENDED: AuditEvent.AGREEMENT_SUSPENDED,
    AgreementStatus.TERMINATED: AuditEvent.AGREEMENT_TERMINATED,
}


def _end(
    session: AsyncSession,
    actor: Actor,
    versions: list[AgreementVersion],
    status: AgreementStatus,
    reason: str,
    now: datetime,
) -> None:
    for version in versions:
        version.status, version.end_reason = status.value, reason
        if version.ended_at is None or version.ended_at > now:
            version.ended_at = now
    detail = {
        "agreement_id": str(versions[0].agreement_id),
        "versions": sorted(v.version for v in versions),
        "reason": reason,
        "ended_at": now.isoformat(),
    }
    append(session, _AUDIT[status], actor, now, detail=detail)

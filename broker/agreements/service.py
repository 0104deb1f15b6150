"""The sharing-agreement lifecycle and its views.

A version is a draft until every party has approved it; the last approval activates it
(`activated_at`), and it is in force from then, within its effective period, until it is
suspended, terminated or superseded (`ended_at`). The consent engine reads only those instants,
so a decision can be explained for any moment. A new version of the terms is a new draft; the
version in force stays in force until the new one is. Ending an agreement never reopens an
earlier instant: a suspended agreement is reinstated by a new version every party approves.
"""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from broker.agreements.endings import reinstate_agreement, suspend_agreement, terminate_agreement
from broker.agreements.repository import (
    Parties,
    agency_kinds,
    agreement_ids,
    parties_of,
    versions_by_agreement,
)
from broker.agreements.versions import (
    Loaded,
    add_version,
    current_view,
    load,
    load_for_change,
    version_detail,
)
from broker.agreements.views import agreement_view, displayed_status
from broker.audit.log import Actor, AuditEvent, append
from broker.db.models import Agreement, AgreementParty, AgreementVersion
from broker.errors import Conflict, FieldError, Forbidden, InvalidInput
from broker.runtime import Runtime
from broker.timeframes.policy import iso_duration, loosened_by, select_policy
from broker.timeframes.repository import current_policies
from consent.vocab import AgreementStatus
from schemas.agreements import AgreementApproval, AgreementBody
from schemas.vocabulary import AgencyKind, Art6Basis

__all__ = [
    "approve_agreement",
    "create_agreement",
    "due_for_review",
    "get_agreement",
    "list_agreements",
    "reinstate_agreement",
    "revise_agreement",
    "suspend_agreement",
    "terminate_agreement",
]

# Art 6(1) after point (f): points (ea) and (f) do not apply to processing by public
# authorities in the performance of their tasks, which is all these agencies share for.
PUBLIC_AUTHORITIES = {AgencyKind.NHS_TRUST.value, AgencyKind.LOCAL_AUTHORITY.value}
NOT_FOR_PUBLIC_AUTHORITIES = {
    Art6Basis.LEGITIMATE_INTERESTS,
    Art6Basis.RECOGNISED_LEGITIMATE_INTEREST,
}
IN_FORCE_OR_APPROVED = {AgreementStatus.ACTIVE, AgreementStatus.APPROVED}


async def create_agreement(
    session: AsyncSession, rt: Runtime, actor: Actor, body: AgreementBody, *, any_party: bool
) -> dict[str, Any]:
    """Version 1 as a draft. `any_party`: an administrator may record an agreement its own
    agency is not a party to."""
    await _check_parties(session, actor, body, any_party=any_party)
    await _check_timeframes(session, body)
    now, agreement_id = rt.clock(), uuid4()
    session.add(Agreement(id=agreement_id, created_by_agency=actor.agency, created_at=now))
    await session.flush()
    version = await add_version(session, agreement_id, 1, body, now)
    append(session, AuditEvent.AGREEMENT_CREATED, actor, now, detail=version_detail(version))
    return await current_view(session, agreement_id, now)


async def revise_agreement(
    session: AsyncSession,
    rt: Runtime,
    actor: Actor,
    agreement_id: UUID,
    body: AgreementBody,
    *,
    any_party: bool,
) -> dict[str, Any]:
    """The next version as a draft, needing every party's approval afresh. A draft still
    awaiting approval is withdrawn (stored as superseded, never having been in force)."""
    loaded = await load_for_change(session, agreement_id, None if any_party else actor.agency)
    if loaded.terminated():
        raise Conflict(f"agreement {agreement_id} is terminated; it cannot be revised")
    await _check_parties(session, actor, body, any_party=any_party)
    await _check_timeframes(session, body)
    now, number = rt.clock(), loaded.newest.version + 1
    pending = loaded.pending_draft()
    if pending is not None:
        _withdraw(session, actor, pending, number, now)
    version = await add_version(session, agreement_id, number, body, now)
    detail = version_detail(version)
    append(session, AuditEvent.AGREEMENT_VERSION_CREATED, actor, now, detail=detail)
    return await current_view(session, agreement_id, now)


def _withdraw(
    session: AsyncSession, actor: Actor, draft: AgreementVersion, by: int, now: datetime
) -> None:
    reason = f"withdrawn: replaced by version {by} before every party approved"
    _supersede(session, actor, draft, by, now, reason, now)


def _supersede(
    session: AsyncSession,
    actor: Actor,
    version: AgreementVersion,
    by: int,
    ends_at: datetime,
    reason: str,
    now: datetime,
) -> None:
    """Mark the version superseded from `ends_at`, audited with whether it was ever in force."""
    version.status, version.ended_at, version.end_reason = (
        AgreementStatus.SUPERSEDED.value,
        ends_at,
        reason,
    )
    detail = {
        "agreement_id": str(version.agreement_id),
        "version": version.version,
        "by_version": by,
        "ended_at": ends_at.isoformat(),
        "had_been_in_force": version.activated_at is not None,
    }
    append(session, AuditEvent.AGREEMENT_SUPERSEDED, actor, now, detail=detail)


async def approve_agreement(
    session: AsyncSession,
    rt: Runtime,
    actor: Actor,
    agreement_id: UUID,
    approval: AgreementApproval,
) -> dict[str, Any]:
    """The actor's agency signs off the version awaiting approval; the last party's sign-off
    activates it and hands over from the version in force."""
    agency = actor.agency
    if agency is None:
        raise Forbidden("an approval is given on behalf of a party agency")
    loaded = await load_for_change(session, agreement_id, agency)
    draft = loaded.pending_draft()
    if draft is None:
        raise Conflict(f"agreement {agreement_id} has no version awaiting approval")
    party = next((p for p in loaded.parties_to(draft) if p.agency_code == agency), None)
    if party is None:
        raise Forbidden(f"{agency} is not a party to version {draft.version}")
    if party.approved_at is not None:
        raise Conflict(f"{agency} has already approved version {draft.version}")
    now = rt.clock()
    _record_approval(session, actor, party, approval, now)
    if all(p.approved_at is not None for p in loaded.parties_to(draft)):
        _activate(session, actor, loaded, draft, now)
    return await current_view(session, agreement_id, now)


def _record_approval(
    session: AsyncSession,
    actor: Actor,
    party: AgreementParty,
    approval: AgreementApproval,
    now: datetime,
) -> None:
    party.approved_at = now
    party.approved_by_client = actor.client
    party.approved_by = approval.approved_by.model_dump(mode="json")
    detail = {
        "agreement_id": str(party.agreement_id),
        "version": party.version,
        "agency": party.agency_code,
        "approved_by": party.approved_by,
        "note": approval.note,
    }
    append(session, AuditEvent.AGREEMENT_APPROVED, actor, now, detail=detail)


def _activate(
    session: AsyncSession, actor: Actor, loaded: Loaded, draft: AgreementVersion, now: datetime
) -> None:
    draft.activated_at = now
    waiting = draft.effective_from > now
    draft.status = (AgreementStatus.APPROVED if waiting else AgreementStatus.ACTIVE).value
    detail = {**version_detail(draft), "activated_at": now.isoformat(), "status": draft.status}
    append(session, AuditEvent.AGREEMENT_ACTIVATED, actor, now, detail=detail)
    # The old terms stay in force until the new ones are, so sharing never lapses between.
    handover = max(now, draft.effective_from)
    for older in loaded.versions[1:]:
        if older.activated_at is None or older.status not in _HANDING_OVER:
            continue
        if older.ended_at is not None and older.ended_at <= handover:
            continue
        reason = f"superseded by version {draft.version}"
        _supersede(session, actor, older, draft.version, handover, reason, now)


_HANDING_OVER = {
    AgreementStatus.APPROVED.value,
    AgreementStatus.ACTIVE.value,
    AgreementStatus.SUPERSEDED.value,
}


async def _check_parties(
    session: AsyncSession, actor: Actor, body: AgreementBody, *, any_party: bool
) -> None:
    codes = [party.agency for party in body.parties]
    kinds = await agency_kinds(session, codes)
    errors = [
        FieldError(("body", "parties", index, "agency"), f"unknown agency {code}")
        for index, code in enumerate(codes)
        if code not in kinds
    ]
    if not any_party and actor.agency not in codes:
        errors.append(FieldError(("body", "parties"), "the caller's agency must be a party"))
    art6 = body.lawful_basis.art6
    public = sorted(code for code in codes if kinds.get(code) in PUBLIC_AUTHORITIES)
    if art6 in NOT_FOR_PUBLIC_AUTHORITIES and public:
        why = f"{art6.value} is not available to public authorities for their tasks"
        errors.append(FieldError(("body", "lawful_basis", "art6"), f"{why} ({', '.join(public)})"))
    if errors:
        raise InvalidInput("the agreement cannot be recorded as proposed", errors)


async def _check_timeframes(session: AsyncSession, body: AgreementBody) -> None:
    """An agreement may tighten the partnership's deadlines, never loosen them."""
    policies = await current_policies(session)
    errors = []
    for index, row in enumerate(body.timeframes or []):
        key = (row.event_type, row.urgency, row.risk_level, row.deliver_within, row.ack_within)
        policy = select_policy(policies, row.event_type, row.urgency, row.risk_level).timeframe
        for name in loosened_by(key, policies):
            allowed = iso_duration(getattr(policy, name))
            errors.append(
                FieldError(
                    ("body", "timeframes", index, name),
                    f"longer than the timeframe policy's {allowed}: an agreement may only "
                    "shorten a deadline",
                )
            )
    if errors:
        raise InvalidInput("the agreement would loosen a timeframe", errors)


async def list_agreements(
    session: AsyncSession, rt: Runtime, *, party: str | None, status: str | None
) -> list[dict[str, Any]]:
    """Agreements to which `party` is a party in any version (None: all), newest first, each
    as its newest version; `status` keeps those with a version in that status now."""
    views = await _views(session, rt.clock(), party)
    return [v for v in views if status is None or any(x["status"] == status for x in v["versions"])]


async def get_agreement(
    session: AsyncSession, rt: Runtime, agreement_id: UUID, visible_to: str | None
) -> dict[str, Any]:
    """The newest version with the history of all versions; None visible_to means anyone."""
    loaded = await load(session, agreement_id, visible_to)
    return agreement_view(loaded.versions, loaded.parties, rt.clock())


async def due_for_review(
    session: AsyncSession, rt: Runtime, *, within_days: int, visible_to: str | None
) -> list[dict[str, Any]]:
    """Agreements whose version in force (or approved) has a review date within the days,
    or past; soonest first, each with `review` naming that version and its date."""
    now = rt.clock()
    horizon = (now + timedelta(days=within_days)).date()
    grouped, parties = await _versions_and_parties(session, visible_to)
    due: list[dict[str, Any]] = []
    for versions in grouped.values():
        governing = next(
            (v for v in versions if displayed_status(v, now) in IN_FORCE_OR_APPROVED), None
        )
        if governing is None or governing.review_date is None:
            continue
        if governing.review_date <= horizon:
            view = agreement_view(versions, parties, now)
            view["review"] = {
                "version": governing.version,
                "review_date": governing.review_date.isoformat(),
                "overdue": governing.review_date < now.date(),
            }
            due.append(view)
    return sorted(due, key=lambda v: (v["review"]["review_date"], v["id"]))


async def _versions_and_parties(
    session: AsyncSession, party: str | None
) -> tuple[dict[UUID, list[AgreementVersion]], Parties]:
    """Every version of the agreements `party` is party to (None: all), and their parties."""
    grouped = await versions_by_agreement(session, await agreement_ids(session, party))
    parties = await parties_of(session, [v for vs in grouped.values() for v in vs])
    return grouped, parties


async def _views(session: AsyncSession, now: datetime, party: str | None) -> list[dict[str, Any]]:
    grouped, parties = await _versions_and_parties(session, party)
    views = [agreement_view(versions, parties, now) for versions in grouped.values()]
    return sorted(views, key=lambda v: (v["versions"][-1]["created_at"], v["id"]), reverse=True)

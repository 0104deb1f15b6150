"""What a reader sees of an agreement: its newest version, every version's history, and a
status worked out from the stored one and the clock, so that a read never states a stale one."""

from datetime import date, datetime
from typing import Any

from broker.agreements.repository import Parties, to_agreement
from broker.db.models import AgreementParty, AgreementVersion
from consent.vocab import AgreementStatus

# Stored when a party ends the version; nothing about the clock can change them.
_FINAL = {AgreementStatus.DRAFT, AgreementStatus.SUSPENDED, AgreementStatus.TERMINATED}


def displayed_status(version: AgreementVersion, now: datetime) -> AgreementStatus:
    """`approved` becomes `active` once its effective period begins and either becomes
    `expired` once it ends; a superseded version is shown as it stands until it hands over."""
    stored = AgreementStatus(version.status)
    if stored in _FINAL:
        return stored
    handed_over = version.ended_at is not None and version.ended_at <= now
    if stored is AgreementStatus.SUPERSEDED and (version.activated_at is None or handed_over):
        return stored
    if version.effective_to is not None and version.effective_to <= now:
        return AgreementStatus.EXPIRED
    if version.effective_from > now:
        return AgreementStatus.APPROVED
    return AgreementStatus.ACTIVE


def pending_approvals(version: AgreementVersion, parties: list[AgreementParty]) -> list[str]:
    """The parties still to approve the version, if it is a draft awaiting approval."""
    if version.status != AgreementStatus.DRAFT.value:
        return []
    return sorted(p.agency_code for p in parties if p.approved_at is None)


def agreement_view(
    versions: list[AgreementVersion], parties: Parties, now: datetime
) -> dict[str, Any]:
    """The newest version's terms, with the history of every version (newest first)."""
    newest = versions[0]
    newest_parties = parties[(newest.agreement_id, newest.version)]
    in_force = [
        v.version
        for v in versions
        if to_agreement(v, parties[(v.agreement_id, v.version)]).in_force_at(now)
    ]
    return {
        "id": str(newest.agreement_id),
        "title": newest.title,
        **version_view(newest, newest_parties, now),
        **newest.terms,
        "review_date": _day(newest.review_date),
        "retention_days": newest.retention_days,
        "in_force_version": in_force[0] if in_force else None,
        "pending_approvals": pending_approvals(newest, newest_parties),
        "versions": [version_view(v, parties[(v.agreement_id, v.version)], now) for v in versions],
    }


def version_view(
    version: AgreementVersion, parties: list[AgreementParty], now: datetime
) -> dict[str, Any]:
    return {
        "version": version.version,
        "status": displayed_status(version, now).value,
        "parties": [_party_view(p) for p in sorted(parties, key=lambda p: p.agency_code)],
        "effective_from": _instant(version.effective_from),
        "effective_to": _instant(version.effective_to),
        "created_at": _instant(version.created_at),
        "activated_at": _instant(version.activated_at),
        "ended_at": _instant(version.ended_at),
        "end_reason": version.end_reason,
    }


def _party_view(party: AgreementParty) -> dict[str, Any]:
    return {
        "agency": party.agency_code,
        "role": party.role,
        "approved_at": _instant(party.approved_at),
        "approved_by": party.approved_by,
        "approved_by_client": party.approved_by_client,
    }


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None

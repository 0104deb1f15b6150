"""Reading what the agreement lifecycle wrote, as an auditor would: audit records and counts."""

from typing import Any

from sqlalchemy import func, select

from broker.db.models import AgreementParty, AgreementVersion, AuditRecord
from broker.runtime import Runtime


async def audit_details(runtime: Runtime, event: str) -> list[dict[str, Any]]:
    """The detail of every audit record of this event, oldest first, with its actor."""
    async with runtime.db.unit_of_work() as session:
        statement = select(AuditRecord).where(AuditRecord.event == event)
        records = (await session.scalars(statement.order_by(AuditRecord.id))).all()
        return [
            {**r.detail, "actor_agency": r.actor_agency, "actor_client": r.actor_client}
            for r in records
        ]


async def snapshot(runtime: Runtime) -> tuple[list[tuple[Any, ...]], int]:
    """Every version's and party's lifecycle columns, and the audit record count: what a
    refused request must leave exactly as it found."""
    async with runtime.db.unit_of_work() as session:
        versions = (await session.scalars(select(AgreementVersion))).all()
        parties = (await session.scalars(select(AgreementParty))).all()
        audit = (await session.execute(select(func.count()).select_from(AuditRecord))).scalar()
        rows = [
            (v.agreement_id, v.version, v.status, v.activated_at, v.ended_at, v.end_reason)
            for v in versions
        ] + [(p.agreement_id, p.version, p.agency_code, p.approved_at, None, None) for p in parties]
    return sorted(rows, key=repr), int(audit or 0)

"""Verifying the audit chain on request, and remembering that it was done.

`run_verification(rt, actor)` walks the whole chain (`broker.audit.verify.verify_chain`) and
appends `audit.verified` with the outcome, so a regulator can see from the trail itself when
the chain was last checked, by whom, and what was found; `log_verification_outcome` tells the
operator's log too, wherever the verification ran (the chainer, the API, the audit page or
`imb audit verify`). `last_verification(session)` reads the latest such record back for the
audit page.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import Actor, AuditEvent, append
from broker.audit.verify import Problem, VerifyReport, verify_chain
from broker.db.models import AuditRecord
from broker.logs import get_logger
from broker.runtime import Runtime

log = get_logger(__name__)
__all__ = [
    "Verification",
    "last_verification",
    "log_verification_outcome",
    "record_verification",
    "run_verification",
    "verification_detail",
]


@dataclass(frozen=True)
class Verification:
    """A past verification as its `audit.verified` record tells it."""

    at: datetime
    agency: str | None
    client: str | None
    ok: bool
    records_checked: int
    first_bad: Problem | None


def verification_detail(report: VerifyReport) -> dict[str, Any]:
    """What the `audit.verified` record keeps of a report: enough to say intact or where it
    broke, without the report's transient parts (records not yet chained)."""
    last, bad = report.last_checkpoint, report.first_bad
    return {
        "ok": report.ok,
        "records_checked": report.records_checked,
        "checkpoints_checked": report.checkpoints_checked,
        "last_checkpoint": {"seq": last.seq, "at": last.at.isoformat()} if last else None,
        "first_bad": (
            {"seq": bad.seq, "record_id": bad.record_id, "problem": bad.problem} if bad else None
        ),
    }


async def run_verification(rt: Runtime, actor: Actor) -> VerifyReport:
    """The chain verified in a session of its own, and the outcome recorded and committed.

    Its own session because verification streams the whole log and expunges what it read:
    the caller's session stays as it was. A broken chain is recorded too: that is the finding
    an auditor most needs on the trail.
    """
    async with rt.db.unit_of_work() as session:
        report = await verify_chain(session, rt.keys)
        record_verification(session, actor, rt.clock(), report)
        await session.commit()
    log_verification_outcome(report)
    return report


def log_verification_outcome(report: VerifyReport) -> None:
    """`audit.verified`, or `audit.verification_failed` at error level so that an alert on
    errors hears of a broken chain; call it once the outcome is committed."""
    checked = {"records_checked": report.records_checked}
    if report.ok:
        log.info("audit.verified", **checked)
        return
    bad = report.first_bad
    where = {"first_bad_seq": bad.seq, "problem": bad.problem} if bad else {}
    log.error("audit.verification_failed", **checked, **where)


def record_verification(
    session: AsyncSession, actor: Actor, at: datetime, report: VerifyReport
) -> None:
    """Append `audit.verified` for a finished verification; the caller commits."""
    append(session, AuditEvent.AUDIT_VERIFIED, actor, at, detail=verification_detail(report))


async def last_verification(session: AsyncSession) -> Verification | None:
    """The latest `audit.verified` record, or None when the chain was never verified."""
    record = await session.scalar(
        select(AuditRecord)
        .where(AuditRecord.event == AuditEvent.AUDIT_VERIFIED.value)
        .order_by(AuditRecord.id.desc())
        .limit(1)
    )
    if record is None:
        return None
    detail = record.detail
    bad = detail.get("first_bad")
    return Verification(
        at=record.recorded_at,
        agency=record.actor_agency,
        client=record.actor_client,
        ok=bool(detail.get("ok")),
        records_checked=int(detail.get("records_checked") or 0),
        first_bad=Problem(bad.get("seq"), bad.get("record_id"), str(bad.get("problem")))
        if isinstance(bad, dict)
        else None,
    )

"""Pruning audit records past their retention period, only at a signed checkpoint.

The cut is the latest checkpoint all of whose records were recorded before the cut-off date:
records and their links up to that checkpoint's seq are deleted together, the checkpoint is
kept, and it is what vouches for the previous hash of the earliest link left (see
`broker.audit.verify`). A record not covered by a checkpoint is never removed. The prune is
itself recorded (`audit.pruned`, with the seq range and the vouching checkpoint's hash).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.chain import lock_head
from broker.audit.log import BROKER, Actor, AuditEvent, append
from broker.db.models import AuditChainLink, AuditCheckpoint, AuditRecord


class PruneRefused(Exception):
    """The cut-off is inside the retention period."""


@dataclass(frozen=True)
class Pruned:
    from_seq: int | None
    through_seq: int | None
    records: int


async def prune_before(
    session: AsyncSession,
    before: datetime,
    now: datetime,
    retention_days: int,
    actor: Actor = BROKER,
) -> Pruned:
    latest_allowed = now - timedelta(days=retention_days)
    if before > latest_allowed:
        raise PruneRefused(
            f"records are kept {retention_days} days: the cut-off must be on or before "
            f"{latest_allowed.date().isoformat()}"
        )
    await lock_head(session)  # no chainer links while the start of the chain moves
    first = await session.scalar(select(func.min(AuditChainLink.seq)))
    first_kept = await session.scalar(
        select(func.min(AuditChainLink.seq))
        .join(AuditRecord, AuditRecord.id == AuditChainLink.record_id)
        .where(AuditRecord.recorded_at >= before)
    )
    covering = select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    if first_kept is not None:
        covering = covering.where(AuditCheckpoint.seq < first_kept)
    checkpoint = await session.scalar(covering)
    if first is None or checkpoint is None or checkpoint.seq < first:
        return Pruned(None, None, 0)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL imb.audit_prune = 'on'"))
    covered = select(AuditChainLink.record_id).where(AuditChainLink.seq <= checkpoint.seq)
    removed = await session.execute(delete(AuditRecord).where(AuditRecord.id.in_(covered)))
    await session.execute(delete(AuditChainLink).where(AuditChainLink.seq <= checkpoint.seq))
    count = int(getattr(removed, "rowcount", 0) or 0)
    append(
        session,
        AuditEvent.AUDIT_PRUNED,
        actor,
        now,
        detail={
            "before": before.isoformat(),
            "from_seq": first,
            "through_seq": checkpoint.seq,
            "checkpoint_hash": checkpoint.hash,
            "records": count,
        },
    )
    return Pruned(first, checkpoint.seq, count)

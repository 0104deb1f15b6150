"""The audit hash chain: pure encoding and hashing, and the chainer's one pass.

Writers insert audit records as they always did; the chainer links committed records
afterwards (asynchronous sequencing, as Certificate Transparency logs do), so no writer
waits for the chain. A link's hash is SHA-256 over the canonical encoding of every column
of its record together with the previous link's hash; the first link's previous hash is
`GENESIS`. Links live in their own insert-only table, so the audit table is never updated.

Ids are handed out at insert and committed in any order, so a record can become visible
after records with higher ids were chained. Each pass therefore looks back a window of ids
below the highest one chained (`recent_floor`), which costs the same however long the log
grows; a periodic full sweep links any record that committed later still.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import AuditChainHead, AuditChainLink, AuditRecord
from broker.settings import AuditSettings

GENESIS = "0" * 64
HEAD_ID = 1
LATE_WINDOW = AuditSettings().late_window  # ids; see `recent_floor`


def canonical(value: dict[str, Any]) -> bytes:
    """Sorted-key compact JSON; times as UTC ISO 8601 and UUIDs as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain).encode()


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no canonical encoding")


def record_fields(record: AuditRecord) -> dict[str, Any]:
    return {column.key: getattr(record, column.key) for column in AuditRecord.__table__.columns}


# Every column of a record, labelled by its attribute name: a row of these hashes exactly as
# `record_fields` of the same record does.
_RECORD_COLUMNS = [column.label(column.key) for column in AuditRecord.__table__.columns]


def link_hash(record: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical({"prev": prev_hash, "record": record})).hexdigest()


@dataclass(frozen=True)
class Chained:
    linked: int
    head_seq: int
    more_waiting: bool


async def lock_head(session: AsyncSession) -> AuditChainHead:
    """The chain head, locked until the transaction ends: one chainer at a time."""
    head = await session.scalar(
        select(AuditChainHead).where(AuditChainHead.id == HEAD_ID).with_for_update()
    )
    if head is None:
        head = AuditChainHead(id=HEAD_ID, seq=0, hash=GENESIS)
        session.add(head)
    return head


def unchained() -> Any:
    return ~exists().where(AuditChainLink.record_id == AuditRecord.id)


async def recent_floor(session: AsyncSession, window: int) -> int:
    """The id below which a pass need not look: `window` ids under the highest one chained."""
    highest = await session.scalar(select(func.max(AuditChainLink.record_id)))
    return max((highest or 0) - window, 0)


async def link_batch(
    session: AsyncSession, head: AuditChainHead, limit: int, above: int = 0
) -> Chained:
    """Link up to `limit` committed records with ids over `above` not yet chained, in id
    order, and move the head.

    Plain rows in and one multi-row insert out, not ORM objects: the chainer shares the
    broker's processes, and every CPU cycle it spends per record is taken from routing.
    """
    rows = (
        await session.execute(
            select(*_RECORD_COLUMNS)
            .where(AuditRecord.id > above, unchained())
            .order_by(AuditRecord.id)
            .limit(limit)
        )
    ).all()
    seq, prev = head.seq, head.hash
    links = []
    for row in rows:
        seq += 1
        digest = link_hash(row._asdict(), prev)
        links.append({"seq": seq, "record_id": row.id, "prev_hash": prev, "hash": digest})
        prev = digest
    if links:
        await session.execute(insert(AuditChainLink), links)
    head.seq, head.hash = seq, prev
    return Chained(linked=len(rows), head_seq=seq, more_waiting=len(rows) == limit)

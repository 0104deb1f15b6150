"""Per-recipient sequence numbers: every delivery made available to an agency gets the next
`seq` (1, 2, 3, … with no gaps) in the dispatcher's transaction, so an agency's system that
sees a gap, or a heartbeat naming a seq it has not seen, knows to catch up from its inbox.

The counter is one row per agency, advanced once per batch and per agency as the
transaction's last write: two dispatchers giving seqs to one agency wait for each other only
for the other's commit, and a transaction that rolls back gives its seqs back.
"""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import AgencySequence, Delivery
from broker.db.upsert import insert_if_absent


async def number(session: AsyncSession, deliveries: Sequence[tuple[UUID, str]]) -> None:
    """Give each (delivery, recipient), in the order listed, the recipient's next seq."""
    by_agency: dict[str, list[UUID]] = {}
    for delivery_id, recipient in deliveries:
        by_agency.setdefault(recipient, []).append(delivery_id)
    numbered: list[dict[str, object]] = []
    for agency in sorted(by_agency):  # one lock order for every dispatcher: no deadlock
        ids = by_agency[agency]
        first = await _advance(session, agency, len(ids))
        numbered += [{"b_id": d, "b_seq": first + i} for i, d in enumerate(ids)]
    if numbered:
        table = Delivery.__table__
        assert isinstance(table, Table)
        statement = (
            update(table).where(table.c.id == bindparam("b_id")).values(seq=bindparam("b_seq"))
        )
        await (await session.connection()).execute(statement, numbered)


async def last_seq(session: AsyncSession, agency: str) -> int:
    found = await session.scalar(
        select(AgencySequence.last_seq).where(AgencySequence.agency_code == agency)
    )
    return int(found or 0)


async def _advance(session: AsyncSession, agency: str, count: int) -> int:
    """Move the agency's counter on by `count`; the first of the seqs it gave."""
    await insert_if_absent(session, AgencySequence, {"agency_code": agency, "last_seq": 0})
    last = await session.scalar(
        update(AgencySequence)
        .where(AgencySequence.agency_code == agency)
        .values(last_seq=AgencySequence.last_seq + count)
        .returning(AgencySequence.last_seq)
    )
    assert last is not None
    return int(last) - count + 1

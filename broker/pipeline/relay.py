"""The outbox relay: publishes committed outbox entries to Kafka, in order, then marks them.

One relay per lane, each reading only its lane's entries, so an urgent entry is never behind
a routine batch. A crash between publishing and marking publishes the entries again on
restart: consumers are idempotent, so that duplicates nothing in effect.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from aiokafka import AIOKafkaProducer
from sqlalchemy import Row, Select, Update, delete, select, update

from broker.db.engine import is_sqlite
from broker.db.models import OutboxEntry
from broker.pipeline.lanes import Lane
from broker.runtime import Runtime

log = logging.getLogger(__name__)
PURGE_AFTER = timedelta(minutes=10)
PURGE_EVERY = 200  # batches


@dataclass(frozen=True)
class _Pending:
    id: int
    topic: str
    key: str
    value: bytes


class OutboxRelay:
    def __init__(self, rt: Runtime, kafka: AIOKafkaProducer, lane: Lane = Lane.ROUTINE) -> None:
        self.rt = rt
        self.kafka = kafka
        self.lane = lane
        self._batches = 0

    async def run(self, stop: asyncio.Event) -> None:
        idle = self.rt.settings.workers.relay_idle_seconds
        while not stop.is_set():
            if self.lane is Lane.ROUTINE:
                await self.rt.urgent_first.routine_turn()
            if await self.publish_batch() == 0:
                await self.rt.wakeups.wait(self.lane, idle)
            self._batches += 1
            if self.lane is Lane.ROUTINE and self._batches % PURGE_EVERY == 0:
                await self.purge_published()

    async def publish_batch(self) -> int:
        if self._hold_lock_while_publishing:
            return await self._publish_under_lock()
        entries = await self._unpublished()
        if entries:
            await self._publish(entries)
            await self._mark_published([entry.id for entry in entries])
        return len(entries)

    @property
    def _hold_lock_while_publishing(self) -> bool:
        # On PostgreSQL, row locks (SKIP LOCKED) let several relays share the outbox without
        # publishing an entry twice. SQLite has one writer: holding its lock across a Kafka
        # round trip would stall every request, and there is only one relay to coordinate.
        return not is_sqlite(self.rt.db.url)

    async def _publish_under_lock(self) -> int:
        async with self.rt.db.unit_of_work() as session:
            entries = _pending((await session.execute(self._next_batch())).all())
            if entries:
                await self._publish(entries)
                await session.execute(self._mark([entry.id for entry in entries]))
                await session.commit()
        return len(entries)

    async def _unpublished(self) -> list[_Pending]:
        async with self.rt.db.unit_of_work() as session:
            return _pending((await session.execute(self._next_batch())).all())

    async def _mark_published(self, ids: list[int]) -> None:
        async with self.rt.db.unit_of_work() as session:
            await session.execute(self._mark(ids))
            await session.commit()

    def _next_batch(self) -> Select[tuple[int, str, str, bytes]]:
        # Columns, not ORM objects: the relay only reads them, and loading objects cost more
        # than the query.
        return (
            select(OutboxEntry.id, OutboxEntry.topic, OutboxEntry.key, OutboxEntry.value)
            .where(OutboxEntry.published_at.is_(None), OutboxEntry.lane == self.lane.value)
            .order_by(OutboxEntry.id)
            .limit(self.rt.settings.workers.relay_batch_size)
            .with_for_update(skip_locked=True)
        )

    def _mark(self, ids: list[int]) -> Update:
        return (
            update(OutboxEntry)
            .where(OutboxEntry.id.in_(ids))
            .values(published_at=self.rt.clock())
            .execution_options(synchronize_session=False)
        )

    async def _publish(self, entries: list[_Pending]) -> None:
        pending = [
            await self.kafka.send(entry.topic, entry.value, key=entry.key.encode())
            for entry in entries
        ]
        await asyncio.gather(*pending)
        for entry in entries:
            self.rt.metrics.outbox_published.labels(entry.topic).inc()

    async def purge_published(self) -> None:
        cutoff = self.rt.clock() - PURGE_AFTER
        async with self.rt.db.unit_of_work() as session:
            await session.execute(delete(OutboxEntry).where(OutboxEntry.published_at < cutoff))
            await session.commit()


def _pending(rows: Sequence[Row[tuple[int, str, str, bytes]]]) -> list[_Pending]:
    return [_Pending(*row) for row in rows]

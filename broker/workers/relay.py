"""The outbox relay: publishes committed outbox entries to Kafka, in order, then marks them.

A crash between publishing and marking publishes the entries again on restart: consumers
are idempotent, so that duplicates nothing in effect.
"""

import asyncio
import logging
from datetime import timedelta

from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, select, update

from broker.db.models import OutboxEntry
from broker.runtime import Runtime

log = logging.getLogger(__name__)
PURGE_AFTER = timedelta(minutes=10)
PURGE_EVERY = 200  # batches


class OutboxRelay:
    def __init__(self, rt: Runtime, kafka: AIOKafkaProducer) -> None:
        self.rt = rt
        self.kafka = kafka
        self._batches = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if await self.publish_batch() == 0:
                await self._wait_for_work(stop)
            self._batches += 1
            if self._batches % PURGE_EVERY == 0:
                await self.purge_published()

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        ready = self.rt.outbox_ready
        try:
            await asyncio.wait_for(ready.wait(), self.rt.settings.workers.relay_idle_seconds)
        except TimeoutError:
            return
        ready.clear()

    async def publish_batch(self) -> int:
        async with self.rt.db.unit_of_work() as session:
            statement = (
                select(OutboxEntry)
                .where(OutboxEntry.published_at.is_(None))
                .order_by(OutboxEntry.id)
                .limit(self.rt.settings.workers.relay_batch_size)
                .with_for_update(skip_locked=True)  # several relays share the work on PostgreSQL
            )
            entries = list((await session.scalars(statement)).all())
            if not entries:
                return 0
            await self._publish(entries)
            ids = [entry.id for entry in entries]
            await session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id.in_(ids))
                .values(published_at=self.rt.clock())
            )
            await session.commit()
        return len(entries)

    async def _publish(self, entries: list[OutboxEntry]) -> None:
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

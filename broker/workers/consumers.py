"""A consumer-group loop: a batch of records, one database transaction, then the offsets.

Offsets are committed only after the database commit, so a crash or a rebalance replays a
batch rather than losing it; the handlers are idempotent, so a replay changes nothing.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import CommitFailedError
from sqlalchemy.ext.asyncio import AsyncSession

from broker.outbox import UnreadableRecord
from broker.runtime import Runtime

log = logging.getLogger(__name__)
RecordHandler = Callable[[AsyncSession, Runtime, ConsumerRecord[bytes, bytes]], Awaitable[None]]


async def consume(
    rt: Runtime, kafka: AIOKafkaConsumer, handle: RecordHandler, stop: asyncio.Event
) -> None:
    batch_size = rt.settings.workers.consumer_batch_size
    while not stop.is_set():
        fetched = await kafka.getmany(timeout_ms=200, max_records=batch_size)
        records = [record for partition in fetched.values() for record in partition]
        if not records:
            continue
        await _handle_batch(rt, handle, records)
        rt.outbox_ready.set()
        try:
            await kafka.commit()
        except CommitFailedError:
            log.warning("offset commit failed after a rebalance; the batch will be replayed")


async def _handle_batch(
    rt: Runtime, handle: RecordHandler, records: list[ConsumerRecord[bytes, bytes]]
) -> None:
    async with rt.db.unit_of_work() as session:
        for record in records:
            try:
                await handle(session, rt, record)
            except UnreadableRecord as exc:
                # A record no version of us can read will never become readable: skip it.
                log.error(
                    "skipping unreadable record %s/%s@%s: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    exc,
                )
        await session.commit()

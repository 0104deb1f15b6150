"""A consumer-group loop: a batch of records, one database transaction, then the offsets.

Offsets are committed only after the database commit, so a crash or a rebalance replays a
batch rather than losing it; the handlers are idempotent, so a replay changes nothing.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias
from uuid import UUID

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import CommitFailedError
from sqlalchemy.ext.asyncio import AsyncSession

from broker.deliveries import arrivals, push
from broker.pipeline.lanes import Lane
from broker.pipeline.outbox import UnreadableRecord, decode_record, record_id
from broker.runtime import Runtime
from broker.settings import KafkaSettings

log = logging.getLogger(__name__)
Record: TypeAlias = ConsumerRecord[bytes, bytes]


@dataclass(frozen=True)
class Stage:
    """What a consumer group does: which records it reads, and what it does with their ids."""

    record_kind: str
    id_field: str
    apply: Callable[[AsyncSession, Runtime, list[UUID]], Awaitable[None]]
    # The lane's topic it reads and the lane's consumer group it reads in.
    topic: Callable[[KafkaSettings, Lane], str]
    group: Callable[[KafkaSettings, Lane], str]

    def ids_in(self, records: list[Record]) -> list[UUID]:
        ids: dict[UUID, None] = {}
        for record in records:
            try:
                ids[record_id(decode_record(record.value, self.record_kind), self.id_field)] = None
            except UnreadableRecord as exc:
                # A record no version of us can read will never become readable: skip it.
                log.error(
                    "skipping unreadable record %s/%s@%s: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    exc,
                )
        return list(ids)


COMMIT_TIMEOUT_SECONDS = 30.0


class CommitStuck(RuntimeError):
    """The broker would not take this batch's offsets: the consumer starts again."""


async def consume(
    rt: Runtime, kafka: AIOKafkaConsumer, stage: Stage, lane: Lane, stop: asyncio.Event
) -> None:
    batch_size = rt.settings.workers.consumer_batch_size
    while not stop.is_set():
        fetched = await kafka.getmany(timeout_ms=200, max_records=batch_size)
        records = [record for partition in fetched.values() for record in partition]
        if not records:
            continue
        await apply_in_lane(rt, stage, lane, stage.ids_in(records))
        await commit_offsets(kafka)


async def commit_offsets(kafka: AIOKafkaConsumer) -> None:
    """Commit what was applied; after a rebalance the batch is replayed instead. aiokafka
    retries a commit its broker will not take for as long as it is refused (a broker restarted
    without the topic never takes it): bounded, the loop fails with CommitStuck and is started
    afresh, with the broker as it is now."""
    try:
        async with asyncio.timeout(COMMIT_TIMEOUT_SECONDS):
            await kafka.commit()
    except CommitFailedError:
        log.warning("offset commit failed after a rebalance; the batch will be replayed")
    except TimeoutError:
        raise CommitStuck(f"no offset commit within {COMMIT_TIMEOUT_SECONDS:.0f} s") from None


async def apply_in_lane(rt: Runtime, stage: Stage, lane: Lane, ids: list[UUID]) -> None:
    """Urgent work at once, ahead of routine work; routine work a slice at a time, each slice
    waiting while urgent work is under way in this process."""
    if lane is Lane.URGENT:
        async with rt.urgent_first.urgent():
            await _apply(rt, stage, ids)
    else:
        size = rt.settings.workers.routine_slice_size
        for start in range(0, len(ids), size):
            await rt.urgent_first.routine_turn()
            await _apply(rt, stage, ids[start : start + size])
    rt.wakeups.wake(lane)


async def _apply(rt: Runtime, stage: Stage, ids: list[UUID]) -> None:
    if not ids:
        return
    async with rt.db.unit_of_work() as session:
        # The stages read in bulk first and then only write, so flushing before every
        # read would only cost time.
        session.autoflush = False
        await stage.apply(session, rt, ids)
        await session.commit()
    rt.arrivals.tell(arrivals.told_after_commit(session))
    if push.queued_after_commit(session):
        rt.wakeups.wake_pushes()

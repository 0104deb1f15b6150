"""Re-announce unfinished work after the Kafka broker lost its records.

The embedded development broker keeps records in memory only, so after a restart anything
accepted but not yet routed, or routed but not yet dispatched, is put back in the outbox.
A broker that loses records while IMB runs (restarted empty, a topic deleted and made again)
is caught by the relay's sweep instead: work published long ago and still unfinished is
announced again (`requeue_stalled`). The stages are idempotent, so announcing something twice
is harmless.

What is still unfinished after being announced again (a stage keeps failing on it, or a stage
is far behind) is announced again only after twice as long each time, up to MAX_BACKOFF, and
is left out of the sweeps in between: it seldom takes a sweep's SWEEP_LIMIT from work that
is newly lost, and does not add to a backlog every sweep.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from broker.crypto.envelope import Sealed, delivery_ad, message_ad, open_sealed, seal
from broker.db.models import Delivery, Message, OutboxEntry
from broker.messages.submit import ACCEPTED
from broker.pipeline.lanes import Lane
from broker.pipeline.outbox import delivery_record, enqueue, event_record
from broker.runtime import Runtime
from schemas.vocabulary import DeliveryStatus

log = logging.getLogger(__name__)
SWEEP_LIMIT = 1000
MAX_BACKOFF = timedelta(hours=1)
# Announced again this often, a message or delivery is named in the log: a stage keeps
# failing on it, and somebody should look.
NAMED_FROM = 3


async def requeue_unfinished(rt: Runtime) -> int:
    async with rt.db.unit_of_work() as session:
        count = await _requeue_messages(session, rt) + await _requeue_deliveries(session, rt)
        await session.commit()
    return count


async def requeue_stalled(rt: Runtime, older_than: timedelta) -> int:
    """Announce again what was accepted or decided longer than `older_than` ago and is still
    unfinished, though the relay has published everything of its lane that old: its records
    were lost after they reached Kafka. A lane whose relay is itself that far behind has lost
    nothing yet (the outbox still holds it), so nothing of it is announced. At most
    SWEEP_LIMIT of each a sweep, so that one sweep is one short transaction."""
    cutoff = rt.clock() - older_than
    async with rt.db.unit_of_work() as session:
        lanes = [lane for lane in Lane if lane not in await _lanes_behind(session, cutoff)]
        if not lanes:
            return 0
        sweep = _Sweep(cutoff, lanes, older_than)
        count = await _requeue_messages(session, rt, sweep)
        count += await _requeue_deliveries(session, rt, sweep)
        await session.commit()
    # Only once it is so: a sweep rolled back announced nothing.
    for what, row_id, times in sweep.still_failing:
        log.warning(
            "%s %s announced again %d times and still unfinished: a stage keeps failing on it",
            what,
            row_id,
            times,
        )
    return count


def wait_before_next(older_than: timedelta, times: int) -> timedelta:
    """How long after its `times`-th announcement again a row waits for the next: twice as
    long each time, up to MAX_BACKOFF (or `older_than`, if that is longer). The exponent stops
    growing where the cap is reached, so that a row stuck for days cannot overflow it."""
    cap = max(MAX_BACKOFF, older_than)
    doublings = min(times, (cap // older_than).bit_length())
    return min(older_than * (1 << doublings), cap)


@dataclass(frozen=True)
class _Sweep:
    """What one sweep takes: work older than `cutoff` in `lanes`, not backing off."""

    cutoff: datetime
    lanes: list[Lane]
    older_than: timedelta
    # (what, id, times) of each row announced again NAMED_FROM times or more, to log.
    still_failing: list[tuple[str, UUID, int]] = field(default_factory=list)

    def takes(
        self,
        model: type[Message] | type[Delivery],
        since: InstrumentedAttribute[datetime],
        now: datetime,
    ) -> ColumnElement[bool]:
        """The rows of `model` this sweep is for: `since` (when each was first published)
        before the cutoff, in its lanes, and not backing off."""
        return and_(
            since < self.cutoff,
            model.lane.in_([lane.value for lane in self.lanes]),
            or_(model.announce_again_after.is_(None), model.announce_again_after <= now),
        )

    def backed_off(self, row: Message | Delivery, now: datetime, what: str) -> None:
        """Record that `row` was announced again, and when it may be next."""
        row.times_announced_again += 1
        times = row.times_announced_again
        row.announce_again_after = now + wait_before_next(self.older_than, times)
        if times >= NAMED_FROM:
            self.still_failing.append((what, row.id, times))


async def run_stall_recovery(rt: Runtime, stop: asyncio.Event) -> None:
    """The relay's sweep for work whose Kafka records were lost."""
    older_than = timedelta(seconds=rt.settings.workers.reannounce_after_seconds)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), older_than.total_seconds() / 2)
        if stop.is_set():
            return
        requeued = await requeue_stalled(rt, older_than)
        if requeued:
            log.warning(
                "re-announced %d messages and deliveries still unfinished %.0f s after they "
                "were published: a Kafka broker lost their records, or a stage keeps failing "
                "on them",
                requeued,
                older_than.total_seconds(),
            )


async def _lanes_behind(session: AsyncSession, cutoff: datetime) -> set[Lane]:
    oldest = await session.execute(
        select(OutboxEntry.lane, func.min(OutboxEntry.created_at))
        .where(OutboxEntry.published_at.is_(None))
        .group_by(OutboxEntry.lane)
    )
    return {Lane(lane) for lane, created in oldest.all() if created < cutoff}


async def _requeue_messages(session: AsyncSession, rt: Runtime, sweep: _Sweep | None = None) -> int:
    statement = (
        select(Message)
        .where(Message.status == ACCEPTED)
        .order_by(Message.received_at, Message.id)  # each person's in the order accepted
    )
    now = rt.clock()
    if sweep is not None:
        statement = statement.where(sweep.takes(Message, Message.received_at, now))
        statement = statement.limit(SWEEP_LIMIT)
    messages = (await session.scalars(statement)).all()
    for message in messages:
        record = event_record(message, Sealed.from_bytes(message.content_sealed))
        lane = Lane(message.lane)
        topic = rt.settings.kafka.events_topic(lane)
        enqueue(session, lane, topic, message.subject_pseudonym, record, now)
        if sweep is not None:
            sweep.backed_off(message, now, "message")
    return len(messages)


async def _requeue_deliveries(
    session: AsyncSession, rt: Runtime, sweep: _Sweep | None = None
) -> int:
    statement = (
        select(Delivery, Message)
        .join(Message, Message.id == Delivery.message_id)
        .where(Delivery.status == DeliveryStatus.PENDING.value)
        .order_by(Delivery.created_at, Delivery.id)
    )
    now, keys = rt.clock(), rt.keys.key_provider
    if sweep is not None:
        statement = statement.where(sweep.takes(Delivery, Delivery.created_at, now))
        statement = statement.limit(SWEEP_LIMIT)
    rows = (await session.execute(statement)).all()
    for delivery, message in rows:
        content = open_sealed(
            keys, Sealed.from_bytes(message.content_sealed), message_ad(message.id)
        )
        sealed = seal(keys, content, delivery_ad(message.id, delivery.recipient_agency))
        record = delivery_record(delivery.id, delivery.recipient_agency, message, sealed)
        lane = Lane(delivery.lane)
        topic = rt.settings.kafka.deliveries_topic(lane)
        enqueue(session, lane, topic, delivery.recipient_agency, record, now)
        if sweep is not None:
            sweep.backed_off(delivery, now, "delivery")
    return len(rows)

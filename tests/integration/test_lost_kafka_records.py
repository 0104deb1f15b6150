"""A Kafka broker that loses records IMB already published (restarted empty, as the fault
campaign's R2 does) must not lose the events they carried: the relay's sweep announces again
what is still unfinished long after it was published."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from broker.db.models import AuditRecord, Delivery, Message, OutboxEntry
from broker.pipeline import recovery
from broker.pipeline.recovery import requeue_stalled
from broker.settings import Settings, WorkerSettings
from broker.workers.supervisor import Worker
from tests.captured_logs import captured_logs
from tests.pipelines import running_workers
from tests.world import COUNCIL, HOUSING, NHS_NUMBER, TRUST, World, eventually


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    settings.workers = WorkerSettings(relay_idle_seconds=0.05, reannounce_after_seconds=1)
    return settings


async def _published_and_lost(world: World) -> None:
    """What a relay does before the broker loses the records: marks them published."""
    async with world.rt.db.unit_of_work() as session:
        await session.execute(update(OutboxEntry).values(published_at=world.rt.clock()))
        await session.commit()


async def _count(world: World, statement: object) -> int:
    async with world.rt.db.unit_of_work() as session:
        return int((await session.execute(statement)).scalar_one())  # type: ignore[call-overload]


async def test_an_event_whose_record_was_lost_is_announced_again_and_delivered_once(
    world: World,
) -> None:
    accepted = await world.publish(TRUST, recipients=[COUNCIL, HOUSING])
    assert accepted.status_code == 202
    await _published_and_lost(world)

    async with running_workers(world.rt, list(Worker)):
        items = await eventually(
            lambda: world.inbox(COUNCIL), lambda found: len(found) == 1, timeout=30
        )
        await eventually(lambda: world.inbox(HOUSING), lambda found: len(found) == 1)

    message_id = accepted.json()["message_id"]
    assert items[0]["message_id"] == message_id
    deliveries = select(func.count()).select_from(Delivery)
    delivered = (
        select(func.count())
        .select_from(AuditRecord)
        .where(AuditRecord.event == "delivery.delivered")
    )
    assert await _count(world, deliveries) == 2
    assert await _count(world, delivered) == 2, "announced twice, delivered once each"
    routed = select(Message.status)
    async with world.rt.db.unit_of_work() as session:
        assert (await session.execute(routed)).scalar_one() == "routed"


async def test_nothing_is_announced_again_while_the_relay_is_still_behind(world: World) -> None:
    await world.publish(TRUST, recipients=[COUNCIL])
    later = world.rt.clock() + timedelta(seconds=5)
    world.rt.clock = lambda: later  # type: ignore[method-assign]

    # The outbox still holds the record: it is late, not lost.
    assert await requeue_stalled(world.rt, timedelta(seconds=1)) == 0
    await _published_and_lost(world)
    assert await requeue_stalled(world.rt, timedelta(seconds=1)) == 1


async def test_a_routine_backlog_does_not_hold_back_the_urgent_lanes_recovery(
    world: World,
) -> None:
    await world.publish(TRUST, recipients=[COUNCIL], urgency="routine")
    await world.publish(TRUST, recipients=[COUNCIL], urgency="urgent")
    async with world.rt.db.unit_of_work() as session:  # only the urgent record went, and was lost
        lost = update(OutboxEntry).where(OutboxEntry.lane == "urgent")
        await session.execute(lost.values(published_at=world.rt.clock()))
        await session.commit()
    later = world.rt.clock() + timedelta(seconds=5)
    world.rt.clock = lambda: later  # type: ignore[method-assign]

    assert await requeue_stalled(world.rt, timedelta(seconds=1)) == 1


def _at(world: World, instant: datetime) -> None:
    world.rt.clock = lambda: instant  # type: ignore[method-assign]


async def _times_announced_again(world: World) -> dict[str, int]:
    async with world.rt.db.unit_of_work() as session:
        rows = await session.execute(select(Message.id, Message.times_announced_again))
        return {str(message_id): times for message_id, times in rows.all()}


async def test_work_still_unfinished_is_announced_again_after_twice_as_long_each_time(
    world: World,
) -> None:
    """A message a stage keeps failing on (here: nothing consumes it) is not announced again
    every sweep for ever: 1 s after it was published, then 2 s after that, then 4 s."""
    message_id = (await world.publish(TRUST, recipients=[COUNCIL])).json()["message_id"]
    start = world.rt.clock()
    announced_at = []
    with captured_logs() as out:
        for offset in [s / 10 for s in range(20, 120, 2)]:  # a sweep every 0.2 s from 2 s on
            await _published_and_lost(world)
            _at(world, start + timedelta(seconds=offset))
            if await requeue_stalled(world.rt, timedelta(seconds=1)):
                announced_at.append(offset)

    assert announced_at == [2.0, 4.0, 8.0], "each wait twice the one before"
    assert (await _times_announced_again(world))[message_id] == 3
    # The third time, the log names it for somebody to look at; never the person.
    logged = out.getvalue()
    assert f"message {message_id} announced again 3 times" in logged
    assert "announced again 2 times" not in logged
    assert NHS_NUMBER not in logged


async def test_work_backing_off_leaves_a_sweep_to_newly_lost_work(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for one a sweep, a message already announced again and still failing does
    not take the place of one newly lost."""
    monkeypatch.setattr(recovery, "SWEEP_LIMIT", 1)
    first = (await world.publish(TRUST, recipients=[COUNCIL])).json()["message_id"]
    start = world.rt.clock()
    await _published_and_lost(world)
    _at(world, start + timedelta(seconds=5))
    assert await requeue_stalled(world.rt, timedelta(seconds=1)) == 1  # the first, once

    second = (await world.publish(TRUST, recipients=[COUNCIL])).json()["message_id"]
    await _published_and_lost(world)
    _at(world, start + timedelta(seconds=6.5))  # the first waits until 7 s
    assert await requeue_stalled(world.rt, timedelta(seconds=1)) == 1

    assert await _times_announced_again(world) == {first: 1, second: 1}


async def test_a_delivery_whose_record_was_lost_backs_off_too(world: World) -> None:
    await world.publish(TRUST, recipients=[COUNCIL])
    # Routed, but no dispatcher ever takes the delivery: as if its record was lost.
    async with running_workers(world.rt, [Worker.RELAY, Worker.ROUTER]):
        await eventually(lambda: _pending_deliveries(world), lambda pending: pending == 1)
    await _published_and_lost(world)
    start = world.rt.clock()

    _at(world, start + timedelta(seconds=5))
    first = await requeue_stalled(world.rt, timedelta(seconds=1))
    await _published_and_lost(world)
    _at(world, start + timedelta(seconds=6))  # its next may not come before 7 s
    second = await requeue_stalled(world.rt, timedelta(seconds=1))

    assert (first, second) == (1, 0)
    backoff = select(Delivery.times_announced_again, Delivery.announce_again_after)
    async with world.rt.db.unit_of_work() as session:
        times, after = (await session.execute(backoff)).one()
    assert (times, after) == (1, start + timedelta(seconds=7))


async def _pending_deliveries(world: World) -> int:
    pending = select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
    return await _count(world, pending)

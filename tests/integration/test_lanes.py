"""Urgent traffic in its own lane: its own topics, first in the inbox, and never ahead of an
earlier event about the same person."""

import time
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from broker.audit.log import Actor
from broker.db.models import AuditRecord, Delivery
from broker.pipeline import stages
from broker.pipeline.consume import apply_in_lane
from broker.pipeline.lanes import Lane
from broker.pipeline.outbox import decode_record
from broker.settings import Settings
from broker.workers.supervisor import Worker
from tests.backlog import queue_routine_backlog
from tests.pipelines import running_workers
from tests.topics import records_on
from tests.world import COUNCIL, OTHER_NHS_NUMBER, TRUST, World, crisis_event, eventually


async def _published(world: World, **overrides: Any) -> str:
    response = await world.publish(recipients=[COUNCIL], **overrides)
    assert response.status_code == 202, response.text
    message_id: str = response.json()["message_id"]
    return message_id


async def _message_ids_on(settings: Settings, topic: str) -> set[str]:
    assert settings.kafka_bootstrap_servers
    records = await records_on(settings.kafka_bootstrap_servers, topic)
    return {str(decode_record_any(r.value)["message_id"]) for r in records}


def decode_record_any(value: bytes | None) -> dict[str, Any]:
    try:
        return decode_record(value, "event")
    except ValueError:
        return decode_record(value, "delivery")


@pytest.mark.usefixtures("pipeline")
async def test_urgent_events_and_their_deliveries_travel_on_the_urgent_topics(
    world: World, settings: Settings
) -> None:
    routine = await _published(world, urgency="routine")
    urgent = await _published(world, urgency="urgent")
    crisis = await world.post(
        "RX4", "/v1/events", crisis_event(urgency="routine", recipients=[COUNCIL])
    )
    crisis_id = crisis.json()["message_id"]
    await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 3)
    kafka = settings.kafka

    urgent_events = await _message_ids_on(settings, kafka.events_topic(Lane.URGENT))
    urgent_deliveries = await _message_ids_on(settings, kafka.deliveries_topic(Lane.URGENT))
    routine_events = await _message_ids_on(settings, kafka.events_topic(Lane.ROUTINE))
    routine_deliveries = await _message_ids_on(settings, kafka.deliveries_topic(Lane.ROUTINE))

    assert urgent_events == urgent_deliveries == {urgent, crisis_id}
    assert routine_events == routine_deliveries == {routine}


@pytest.mark.usefixtures("pipeline")
async def test_the_inbox_lists_urgent_deliveries_first_then_the_newest_across_pages(
    world: World,
) -> None:
    published = []
    for urgency in ("routine", "urgent", "routine", "emergency", "routine"):
        published.append((urgency, await _published(world, urgency=urgency)))
    await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 5)

    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await world.get(COUNCIL, "/v1/inbox", **params)).json()
        pages.append([(i["lane"], i["message_id"]) for i in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    newest_first = list(reversed(published))
    urgent = [("urgent", m) for u, m in newest_first if u != "routine"]
    routine = [("routine", m) for u, m in newest_first if u == "routine"]
    assert [item for page in pages for item in page] == urgent + routine
    assert [len(page) for page in pages] == [2, 2, 1]


async def test_a_persons_earlier_routine_event_is_decided_before_their_urgent_one(
    world: World,
) -> None:
    """The urgent lane routes the person's earlier routine event first; the routine lane, when
    it comes to that event, finds it done and decides nothing twice."""
    routine = await _published(world, urgency="routine")
    someone_else = await _published(
        world, urgency="routine", subject={"nhs_number": OTHER_NHS_NUMBER}
    )
    urgent = await _published(world, urgency="emergency")

    await apply_in_lane(world.rt, stages.ROUTER, Lane.URGENT, [UUID(urgent)])
    decided_by_the_urgent_lane = await _decided(world)
    await apply_in_lane(world.rt, stages.ROUTER, Lane.ROUTINE, [UUID(routine), UUID(someone_else)])

    assert decided_by_the_urgent_lane == [routine, urgent]
    assert await _decided(world) == [routine, urgent, someone_else]
    async with world.rt.db.unit_of_work() as session:
        lanes = dict((await session.execute(select(Delivery.message_id, Delivery.lane))).all())
    assert {str(m): lane for m, lane in lanes.items()} == {
        routine: "routine",
        urgent: "urgent",
        someone_else: "routine",
    }


async def _decided(world: World) -> list[str]:
    """Message ids in the order their recipients were decided."""
    async with world.rt.db.unit_of_work() as session:
        statement = (
            select(AuditRecord.message_id)
            .where(AuditRecord.event == "delivery.decided")
            .order_by(AuditRecord.id)
        )
        return [str(m) for m in (await session.scalars(statement)).all()]


BACKLOG = 20_000


@pytest.mark.acceptance
async def test_a_crisis_published_behind_a_routine_backlog_arrives_before_it_drains(
    world: World,
) -> None:
    """20,000 routine events for the council are queued and draining; a crisis published last
    is in the council's inbox while most of the backlog is still waiting."""
    sender = Actor(TRUST, world.credentials[TRUST][0])
    await queue_routine_backlog(world.rt, sender, COUNCIL, BACKLOG, people=2_000)

    async with running_workers(world.rt, list(Worker)):
        await eventually(lambda: _delivered(world, "routine"), lambda n: n > 0, timeout=60)
        published = time.monotonic()
        crisis = await world.post(TRUST, "/v1/events", crisis_event(recipients=[COUNCIL]))
        assert crisis.status_code == 202, crisis.text
        await eventually(lambda: _delivered(world, "urgent"), lambda n: n == 1, timeout=60)
        took = time.monotonic() - published
        routine_delivered = await _delivered(world, "routine")

    print(
        f"crisis in the inbox {took:.2f} s after publishing, with {routine_delivered} of "
        f"{BACKLOG} routine deliveries made"
    )
    assert routine_delivered < BACKLOG / 2


async def _delivered(world: World, lane: str) -> int:
    async with world.rt.db.unit_of_work() as session:
        statement = (
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.lane == lane, Delivery.status == "delivered")
        )
        return int((await session.execute(statement)).scalar_one())

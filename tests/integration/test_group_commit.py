"""Single publishes that arrive together are written in one transaction (group commit), and
each is answered exactly as it would have been alone."""

import asyncio
import uuid

import pytest
from sqlalchemy import func, select, text

from broker.db.engine import is_sqlite
from broker.db.models import Message, OutboxEntry
from tests.world import COUNCIL, HOUSING, TRUST, World, risk_event


async def test_concurrent_publishes_share_transactions_and_each_is_answered(
    world: World,
) -> None:
    events = [risk_event(recipients=[COUNCIL]) for _ in range(40)]

    responses = await asyncio.gather(*(world.post(TRUST, "/v1/events", e) for e in events))

    assert [r.status_code for r in responses] == [202] * 40
    message_ids = {r.json()["message_id"] for r in responses}
    async with world.rt.db.unit_of_work() as session:
        stored = await session.scalars(
            select(Message.id).where(
                Message.sender_event_id.in_([uuid.UUID(e["id"]) for e in events])
            )
        )
        assert {str(m) for m in stored} == message_ids
        outbox = await session.scalar(select(func.count()).select_from(OutboxEntry))
        assert outbox == 40
    if is_sqlite(world.rt.db.url):
        pytest.skip("which transaction wrote a row is PostgreSQL's to tell (xmin)")
    async with world.rt.db.engine.connect() as connection:
        writers = await connection.execute(
            text("SELECT count(DISTINCT xmin::text) FROM messages WHERE sender_agency = :a"),
            {"a": TRUST},
        )
        assert writers.scalar_one() < 20


async def test_in_one_group_each_event_meets_its_own_fate(world: World) -> None:
    first = risk_event(recipients=[COUNCIL])
    same_again = dict(first)
    changed = {**first, "reason_for_sharing": "A different reason under the same id."}
    unknown = risk_event(recipients=["NOPE1"])
    others = [risk_event(recipients=[HOUSING]) for _ in range(10)]

    sent = [first, same_again, changed, unknown, *others]
    responses = await asyncio.gather(*(world.post(TRUST, "/v1/events", e) for e in sent))

    statuses = [r.status_code for r in responses]
    assert statuses[0] == statuses[1] == 202
    assert responses[0].json()["message_id"] == responses[1].json()["message_id"]
    assert statuses[2] == 409  # the same id with another body, as alone
    assert statuses[3] == 422
    assert responses[3].json()["errors"][0]["loc"] == ["body", "recipients", 0]
    assert statuses[4:] == [202] * 10
    async with world.rt.db.unit_of_work() as session:
        written = await session.scalar(
            select(func.count()).select_from(Message).where(Message.sender_agency == TRUST)
        )
    assert written == 11  # the first once, and the ten others

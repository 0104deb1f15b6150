"""POST /v1/events:batch: each event answered on its own at its index, the accepted ones written
together, and idempotency per event exactly as for single events."""

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from adapters.imb_client import AsyncImbClient
from broker.api.app import create_app
from broker.db.engine import is_sqlite
from broker.db.models import AuditRecord, Message, OutboxEntry
from tests.estate import snapshot
from tests.world import COUNCIL, GP, HOUSING, TRUST, World, crisis_event, risk_event

BATCH = "/v1/events:batch"


async def _batch(world: World, events: list[Any], who: str = TRUST) -> dict[str, Any]:
    response = await world.post(who, BATCH, {"events": events})
    assert response.status_code == 207, response.text
    body: dict[str, Any] = response.json()
    return body


async def _count(world: World, model: Any, *where: Any) -> int:
    async with world.rt.db.unit_of_work() as session:
        statement = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(statement)).scalar_one())


async def test_each_event_is_answered_at_its_index_and_only_the_good_ones_are_written(
    world: World,
) -> None:
    earlier = risk_event(recipients=[COUNCIL])
    first = await world.post(TRUST, "/v1/events", earlier)
    twice = risk_event(recipients=[HOUSING], urgency="routine")
    bad_level = risk_event(recipients=[COUNCIL])
    bad_level["payload"]["current_level"] = "catastrophic"
    events = [
        risk_event(recipients=[COUNCIL, HOUSING]),
        bad_level,
        risk_event(recipients=["NOPE1"]),
        earlier,
        {**earlier, "reason_for_sharing": "Another body under the same id."},
        twice,
        twice,
        crisis_event(recipients=[COUNCIL]),
        "not an event",
    ]
    messages_before = await _count(world, Message)

    body = await _batch(world, events)

    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(events)))
    assert [(r["outcome"], r["status"]) for r in results] == [
        ("accepted", 202),
        ("refused", 422),
        ("refused", 422),
        ("replayed", 202),
        ("refused", 409),
        ("accepted", 202),
        ("replayed", 202),
        ("accepted", 202),
        ("refused", 422),
    ]
    assert (body["accepted"], body["replayed"], body["refused"]) == (3, 2, 4)
    assert results[3]["message_id"] == first.json()["message_id"]
    assert results[6]["message_id"] == results[5]["message_id"]
    assert results[0]["links"]["self"] == f"/v1/events/{results[0]['message_id']}"
    level_error = results[1]["problem"]["errors"][0]
    assert level_error["loc"] == ["body", "events", 1, "payload", "current_level"]
    assert results[1]["problem"]["instance"] == BATCH
    assert results[2]["problem"]["errors"] == [
        {"loc": ["body", "events", 2, "recipients", 0], "msg": "unknown agency NOPE1"}
    ]
    assert results[4]["problem"]["type"] == "urn:imb:problem:conflict"
    assert results[8]["problem"]["errors"][0]["loc"][:3] == ["body", "events", 8]
    assert await _count(world, Message) == messages_before + 3
    assert await _count(world, AuditRecord, AuditRecord.event == "event.received") == 4
    new_ids = {uuid.UUID(results[i]["message_id"]) for i in (0, 5, 7)}
    async with world.rt.db.unit_of_work() as session:
        lanes = dict(
            (await session.execute(select(Message.id, Message.lane).where(Message.id.in_(new_ids))))
            .tuples()
            .all()
        )
    assert sorted(lanes.values()) == ["routine", "urgent", "urgent"]


async def test_the_accepted_events_are_written_in_one_transaction(world: World) -> None:
    body = await _batch(world, [risk_event(recipients=[COUNCIL]) for _ in range(20)])

    assert body["accepted"] == 20
    if is_sqlite(world.rt.db.url):
        pytest.skip("which transaction wrote a row is PostgreSQL's to tell (xmin)")
    async with world.rt.db.engine.connect() as connection:
        writers = await connection.execute(
            text("SELECT count(DISTINCT xmin::text) FROM messages WHERE sender_agency = :a"),
            {"a": TRUST},
        )
        assert writers.scalar_one() == 1


async def test_a_batch_sent_again_is_replayed_whole(world: World) -> None:
    events = [risk_event(recipients=[COUNCIL]) for _ in range(5)]
    first = await _batch(world, events)
    outbox = await _count(world, OutboxEntry)

    again = await _batch(world, events)

    assert again["replayed"] == 5
    assert [r["message_id"] for r in again["results"]] == [
        r["message_id"] for r in first["results"]
    ]
    assert await _count(world, OutboxEntry) == outbox


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"events": []}, 422),
        ({"events": [risk_event(recipients=[COUNCIL])] * 501}, 422),
        ({"events": "many"}, 422),
        ({}, 422),
        ([risk_event(recipients=[COUNCIL])], 422),
    ],
    ids=["empty", "over-500", "not-a-list", "no-events", "a-bare-list"],
)
async def test_a_batch_that_is_not_one_is_refused_whole_and_writes_nothing(
    world: World, body: Any, status: int
) -> None:
    before = await snapshot(world)

    response = await world.post(TRUST, BATCH, body)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await snapshot(world) == before


async def test_a_batch_may_be_larger_than_an_event_but_not_without_limit(world: World) -> None:
    larger_than_one_event_may_be = [risk_event(recipients=[COUNCIL]) for _ in range(500)]
    accepted = await _batch(world, larger_than_one_event_may_be)
    before = await snapshot(world)
    padded = b'{"events": [' + b" " * world.rt.settings.max_batch_body_bytes + b"]}"

    response = await world.api.post(
        BATCH, content=padded, headers={**world.auth(TRUST), "content-type": "application/json"}
    )

    assert (
        len(json.dumps({"events": larger_than_one_event_may_be})) > world.rt.settings.max_body_bytes
    )
    assert accepted["accepted"] == 500
    assert response.status_code == 413, response.text
    assert await snapshot(world) == before


async def test_every_event_of_a_batch_counts_against_the_publish_limit(world: World) -> None:
    limited = await world.put("admin", f"/v1/agencies/{GP}/rate-limits", {"publish": "10/minute"})
    assert limited.status_code == 200, limited.text
    await world.agree([GP, COUNCIL])
    before = await snapshot(world)

    over = await world.post(GP, BATCH, {"events": [risk_event(recipients=[COUNCIL])] * 11})
    assert over.status_code == 429, over.text
    assert "Retry-After" in over.headers
    assert await snapshot(world) == before

    within = await _batch(world, [risk_event(recipients=[COUNCIL]) for _ in range(9)], who=GP)
    assert within["accepted"] == 9
    one_more = await world.post(GP, "/v1/events", risk_event(recipients=[COUNCIL]))
    assert one_more.status_code == 429


async def test_the_python_client_publishes_any_number_in_batches_of_500(world: World) -> None:
    events = [risk_event(recipients=[COUNCIL], urgency="routine") for _ in range(650)]
    events[620]["urgency"] = "whenever"
    transport = httpx.ASGITransport(app=create_app(world.rt))
    credentials = world.credentials[TRUST]
    async with AsyncImbClient("http://imb.test", *credentials, transport=transport) as imb:
        results = await imb.publish_many(events)

    assert [r.index for r in results] == list(range(650))
    assert [i for i, r in enumerate(results) if r.outcome != "accepted"] == [620]
    assert results[620].problem
    assert results[620].problem["errors"][0]["loc"] == ["body", "events", 120, "urgency"]
    assert await _count(world, Message, Message.sender_agency == TRUST) == 649

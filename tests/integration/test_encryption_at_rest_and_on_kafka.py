"""Nothing in the database or on Kafka holds the payload or the NHS number in clear."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from broker.db.models import Base
from broker.runtime import Runtime
from broker.settings import Settings
from tests.world import COUNCIL, NHS_NUMBER, World, eventually, risk_event

RATIONALE = "Distinctive rationale text 7f3a: stopped medication after bereavement."
pytestmark = pytest.mark.usefixtures("pipeline")


async def _dump_database(runtime: Runtime) -> bytes:
    chunks: list[bytes] = []
    async with runtime.db.unit_of_work() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(text(f'SELECT * FROM "{table.name}"'))).all():
                chunks.extend(
                    value if isinstance(value, bytes) else str(value).encode() for value in row
                )
    return b"\n".join(chunks)


async def _dump_topic(settings: Settings, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"inspect-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=3000)
        return [(r.key or b"") + b"\n" + (r.value or b"") for b in batches.values() for r in b]
    finally:
        await consumer.stop()


async def test_payload_and_nhs_number_never_stored_or_sent_in_clear(
    world: World, runtime: Runtime, settings: Settings
) -> None:
    event = risk_event(recipients=[COUNCIL])
    event["payload"]["rationale"] = RATIONALE
    assert (await world.post("RX4", "/v1/events", event)).status_code == 202
    await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 1)

    database = await _dump_database(runtime)
    records = await _dump_topic(settings, settings.kafka.events_topic) + await _dump_topic(
        settings, settings.kafka.deliveries_topic
    )

    assert len(records) >= 2
    for blob in [database, *records]:
        assert NHS_NUMBER.encode() not in blob
        assert b"7f3a" not in blob
        assert b"bereavement" not in blob
    delivery_id = (await world.inbox(COUNCIL))[0]["delivery_id"]
    fetched = await world.get(COUNCIL, f"/v1/inbox/{delivery_id}")
    assert fetched.json()["payload"]["rationale"] == RATIONALE

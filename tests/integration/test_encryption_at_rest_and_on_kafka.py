"""Nothing in the database or on Kafka holds the payload or the NHS number in clear."""

import pytest
from sqlalchemy import text

from broker.db.models import Base
from broker.runtime import Runtime
from broker.settings import Settings
from tests.topics import records_on
from tests.world import COUNCIL, NHS_NUMBER, World, eventually, risk_event

# Its marker has letters no hex digest or UUID holds, so it cannot turn up in one by chance.
RATIONALE = "Distinctive rationale text zqkv: stopped medication after bereavement."
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


async def test_payload_and_nhs_number_never_stored_or_sent_in_clear(
    world: World, runtime: Runtime, settings: Settings
) -> None:
    event = risk_event(recipients=[COUNCIL])
    event["payload"]["rationale"] = RATIONALE
    assert (await world.post("RX4", "/v1/events", event)).status_code == 202
    await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 1)

    database = await _dump_database(runtime)
    assert settings.kafka_bootstrap_servers
    records = [
        (record.key or b"") + b"\n" + (record.value or b"")
        for topic in settings.kafka.pipeline_topics()
        for record in await records_on(settings.kafka_bootstrap_servers, topic)
    ]

    assert len(records) >= 2
    for blob in [database, *records]:
        assert NHS_NUMBER.encode() not in blob
        assert b"zqkv" not in blob
        assert b"bereavement" not in blob
    delivery_id = (await world.inbox(COUNCIL))[0]["delivery_id"]
    fetched = await world.get(COUNCIL, f"/v1/inbox/{delivery_id}")
    assert fetched.json()["payload"]["rationale"] == RATIONALE

"""An agency whose channel is `kafka` gets each delivery as a record on its own topic: the
same CloudEvent a webhook carries, keyed by the subject's pseudonym, its content sealed to the
agency's X25519 key so that only that agency's private key opens it."""

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select

from adapters.imb_client.agency_topic import (
    AgencyTopicReader,
    Heartbeat,
    OpenedDelivery,
    Unreadable,
    open_record,
    read_record,
)
from broker.db.models import AuditRecord, WebhookPush
from broker.deliveries.agency_topics import record_key
from broker.settings import DeliverySettings, Settings
from schemas.sealed_records import (
    SEALING,
    SealedRecordUnreadable,
    encoded_public_key,
    seal_for_agency,
)
from tests.world import COUNCIL, HOUSING, NHS_NUMBER, TRUST, World, eventually

pytestmark = pytest.mark.usefixtures("pipeline")
HEARTBEAT = b"uk.imb.heartbeat.v1"
# A group's first member waits half its session timeout to be assigned (tests/kafka_fixture.py):
# the settings the tests' own workers use, rather than Kafka's 10 s default.
QUICK_GROUP = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500}


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """Heartbeats every 0.3 s, so that a test hears some."""
    settings.delivery = DeliverySettings(heartbeat_seconds=0.3, poll_seconds=0.05)
    return settings


@pytest.fixture
def council_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


async def _kafka_channel(world: World, agency: str, key: X25519PrivateKey) -> str:
    body = {"kind": "kafka", "public_key": encoded_public_key(key.public_key())}
    answer = await world.put("admin", f"/v1/agencies/{agency}/channel", body)
    assert answer.status_code == 200, answer.text
    topic: str = answer.json()["topic"]
    return topic


@pytest.fixture
async def records(world: World) -> AsyncIterator[list[ConsumerRecord]]:
    """Everything produced to COUNCIL's topic, read from the start by a consumer of our own."""
    topic = world.rt.settings.kafka.agency_topic(COUNCIL)
    read: list[ConsumerRecord] = []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=world.rt.settings.kafka_bootstrap_servers,
        group_id=f"reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        metadata_max_age_ms=200,
        **QUICK_GROUP,
    )
    consumer.subscribe(pattern=f"^{topic.replace('.', '[.]')}$")
    await consumer.start()

    async def keep_reading() -> None:
        async for record in consumer:
            read.append(record)

    reading = asyncio.create_task(keep_reading())
    try:
        yield read
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await consumer.stop()


async def test_a_delivery_is_a_sealed_cloudevent_on_the_agencys_own_topic(
    world: World, council_key: X25519PrivateKey, records: list[ConsumerRecord]
) -> None:
    topic = await _kafka_channel(world, COUNCIL, council_key)
    answer = await world.publish(TRUST, recipients=[COUNCIL, HOUSING])
    message_id = answer.json()["message_id"]

    [record] = await eventually(lambda: _settled(records), lambda got: len(got) >= 1)
    opened = open_record(record.value, council_key, COUNCIL, dict(record.headers))
    [item] = await world.inbox(COUNCIL)

    assert topic == record.topic == world.rt.settings.kafka.agency_topic(COUNCIL)
    assert opened.delivery_id == item["delivery_id"]
    assert opened.type == "uk.imb.risk.changed.v1"
    assert opened.seq == item["seq"] == 1
    assert opened.content["message_id"] == message_id
    assert opened.content["subject"]["nhs_number"] == NHS_NUMBER
    assert opened.content["payload"], "the content the inbox fetch would show"
    # Whoever reads the topic without the key learns no one's NHS number or the content.
    assert NHS_NUMBER.encode() not in record.value + (record.key or b"")
    assert b"reason_for_sharing" not in record.value
    pseudonym = await _pseudonym_of(world, message_id)
    assert record.key == record_key(COUNCIL, pseudonym).encode()
    assert pseudonym.encode() not in record.value + record.key, "not linkable across topics"
    assert item["status"] == "delivered", "Kafka cannot say a record was read: no receipt yet"
    assert await _push_state(world, opened.delivery_id) == "produced"


async def test_a_record_opens_only_with_the_agencys_own_private_key(
    world: World, council_key: X25519PrivateKey, records: list[ConsumerRecord]
) -> None:
    await _kafka_channel(world, COUNCIL, council_key)
    await world.publish(TRUST, recipients=[COUNCIL])
    [record] = await eventually(lambda: _settled(records), lambda got: len(got) >= 1)
    headers = dict(record.headers)

    with pytest.raises(SealedRecordUnreadable):
        open_record(record.value, X25519PrivateKey.generate(), COUNCIL, headers)
    with pytest.raises(SealedRecordUnreadable):  # sealed for COUNCIL, claimed for HOUSING
        open_record(record.value, council_key, HOUSING, headers)
    tampered = record.value.replace(b'"id": "', b'"id": "0', 1)
    with pytest.raises(SealedRecordUnreadable):  # moved to another delivery id
        open_record(tampered, council_key, COUNCIL, headers)


async def test_the_sdk_reader_yields_opened_deliveries_and_the_ack_is_the_receipt(
    world: World, council_key: X25519PrivateKey
) -> None:
    topic = await _kafka_channel(world, COUNCIL, council_key)
    await world.publish(TRUST, recipients=[COUNCIL])
    reader = _council_reader(world, council_key, topic)
    async with reader:
        delivery = await asyncio.wait_for(_first_delivery(reader), 30)
        await reader.commit()
    answer = await world.post(
        COUNCIL,
        f"/v1/inbox/{delivery.delivery_id}/ack",
        {"outcome": "actioned", "acknowledged_by": {"name": "B. Jones", "role": "social worker"}},
    )

    assert answer.status_code == 200, answer.text
    assert delivery.content["subject"]["nhs_number"] == NHS_NUMBER
    received = await _audited(world, "delivery.received")
    assert len(received) == 1, "the acknowledgement is the receipt, recorded once"


async def test_changing_to_the_inbox_withdraws_records_not_yet_produced(
    world: World, council_key: X25519PrivateKey, records: list[ConsumerRecord]
) -> None:
    await _kafka_channel(world, COUNCIL, council_key)
    await world.put("admin", f"/v1/agencies/{COUNCIL}/channel", {"kind": "inbox"})
    await world.publish(TRUST, recipients=[COUNCIL])

    [item] = await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 1)
    await asyncio.sleep(0.5)
    assert await _settled(records) == [], "no delivery goes to the topic once it is the inbox"
    assert await _push_state(world, item["delivery_id"]) is None


async def test_a_kafka_agency_hears_the_last_seq_in_heartbeats_on_its_topic(
    world: World, council_key: X25519PrivateKey, records: list[ConsumerRecord]
) -> None:
    await _kafka_channel(world, COUNCIL, council_key)
    await world.publish(TRUST, recipients=[COUNCIL])

    read = await eventually(
        lambda: _read(records, council_key),
        lambda found: any(isinstance(r, Heartbeat) and r.last_seq == 1 for r in found),
    )

    assert any(isinstance(r, OpenedDelivery) and r.seq == 1 for r in read)
    beats = [r for r in records if HEARTBEAT in r.value]
    assert all(NHS_NUMBER.encode() not in beat.value for beat in beats)


async def _read(
    records: list[ConsumerRecord], key: X25519PrivateKey
) -> list[OpenedDelivery | Heartbeat]:
    return [read_record(r.value, key, COUNCIL, dict(r.headers)) for r in list(records)]


async def test_a_record_that_does_not_open_is_handed_on_and_the_reader_goes_on(
    world: World, council_key: X25519PrivateKey
) -> None:
    """Junk on the topic, and a record forged by someone holding the agency's public key (its
    envelope names one delivery, its sealed content another): neither stops the reader."""
    topic = await _kafka_channel(world, COUNCIL, council_key)
    public = encoded_public_key(council_key.public_key())
    forged_id, claimed_id = uuid.uuid4(), uuid.uuid4()
    content = json.dumps({"delivery_id": str(forged_id), "seq": 1}).encode()
    forged = {
        "specversion": "1.0",
        "id": str(claimed_id),
        "source": "urn:imb:broker",
        "type": "uk.imb.risk.changed.v1",
        "datacontenttype": "application/octet-stream",
        "imbseq": 1,
        "imbsealing": SEALING,
        "data_base64": base64.b64encode(
            seal_for_agency(public, COUNCIL, claimed_id, content)
        ).decode(),
    }
    producer = AIOKafkaProducer(bootstrap_servers=world.rt.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"not a cloudevent")
        await producer.send_and_wait(topic, json.dumps(forged).encode())
    finally:
        await producer.stop()
    await world.publish(TRUST, recipients=[COUNCIL])
    reader = _council_reader(world, council_key, topic)
    seen: list[object] = []

    async def all_three() -> None:
        async for record in reader:
            if not isinstance(record, Heartbeat):
                seen.append(record)
            if len(seen) == 3:
                return

    async with reader:
        await asyncio.wait_for(all_three(), 30)

    unreadable = [r for r in seen if isinstance(r, Unreadable)]
    assert len(unreadable) == 2, seen
    assert any("disagree" in record.why for record in unreadable), "the forgery is caught"
    assert any(isinstance(r, OpenedDelivery) for r in seen), "and the reader went on"


def _council_reader(world: World, key: X25519PrivateKey, topic: str) -> AgencyTopicReader:
    """The council's record system reading its topic, from the start, as a group of its own."""
    return AgencyTopicReader(
        world.rt.settings.kafka_bootstrap_servers or "",
        COUNCIL,
        key,
        topic=topic,
        group_id=f"council-epr-{uuid.uuid4().hex[:8]}",
        metadata_max_age_ms=200,
        **QUICK_GROUP,
    )


async def _first_delivery(reader: AgencyTopicReader) -> OpenedDelivery:
    async for record in reader:
        if isinstance(record, OpenedDelivery):
            return record
    raise AssertionError("the topic ended")


async def _settled(records: list[ConsumerRecord]) -> list[ConsumerRecord]:
    """The deliveries read so far, heartbeats aside."""
    return [record for record in records if HEARTBEAT not in record.value]


async def _pseudonym_of(world: World, message_id: str) -> str:
    from broker.db.models import Message

    async with world.rt.db.unit_of_work() as session:
        message = await session.get(Message, uuid.UUID(message_id))
        assert message is not None
        return message.subject_pseudonym


async def _push_state(world: World, delivery_id: str) -> str | None:
    async with world.rt.db.unit_of_work() as session:
        return await session.scalar(
            select(WebhookPush.state).where(WebhookPush.delivery_id == uuid.UUID(delivery_id))
        )


async def _audited(world: World, event: str) -> list[AuditRecord]:
    async with world.rt.db.unit_of_work() as session:
        return list(await session.scalars(select(AuditRecord).where(AuditRecord.event == event)))

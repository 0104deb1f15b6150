"""Reading what the pipeline put on a Kafka topic, as anyone with read access to it could."""

import uuid

from aiokafka import AIOKafkaConsumer, ConsumerRecord


async def records_on(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on the topic so far (read until a fetch comes back empty)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"inspect-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        records: list[ConsumerRecord[bytes, bytes]] = []
        while batches := await consumer.getmany(timeout_ms=3000):
            records.extend(record for batch in batches.values() for record in batch)
        return records
    finally:
        await consumer.stop()

"""Kafka producer and consumer construction for the workers.

No idempotent producer and no transactions: the stages are idempotent instead (README, How it
works), so the same code runs on Apache Kafka and on the Kafka-protocol broker used in development.
"""

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from broker.settings import KafkaSettings


def producer(bootstrap_servers: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=False,
        linger_ms=2,
        request_timeout_ms=30000,
        client_id="imb",
    )


log = logging.getLogger(__name__)


class AnnouncedAssignment(ConsumerRebalanceListener):  # type: ignore[misc]
    """Logs the partitions this process reads after each rebalance: with several processes in
    a group, the operator sees how the work is shared (and that a process has some)."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        read = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned))
        log.info("group %s: this process reads %s", self.group_id, read or "no partitions")


def consumer(
    bootstrap_servers: str, topic: str, group_id: str, settings: KafkaSettings
) -> AIOKafkaConsumer:
    kafka = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,  # offsets are committed only after the database commit
        auto_offset_reset="earliest",
        client_id=f"imb-{group_id}",
        max_poll_interval_ms=300000,
        # Alerts are small and urgent: a fetch waits at most this long for more to arrive.
        fetch_max_wait_ms=50,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
    )
    kafka.subscribe([topic], listener=AnnouncedAssignment(group_id))
    return kafka


async def kafka_reachable(client: AIOKafkaProducer) -> bool:
    async with asyncio.timeout(2.0):
        metadata = await client.client.fetch_all_metadata()
    return bool(metadata.brokers())

"""Topics IMB creates carry the durability the deployment asks for (min.insync.replicas)."""

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from pydantic import ValidationError

from broker.kafka.topics import ensure_topics
from broker.settings import KafkaSettings


async def topic_config(bootstrap: str, topic: str, key: str) -> str | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
    finally:
        await admin.close()
    (resource,) = response.resources
    values = {entry[0]: entry[1] for entry in resource[4]}
    return values.get(key)


async def test_created_topics_require_the_configured_in_sync_replicas(
    kafka_bootstrap: str,
) -> None:
    kafka = KafkaSettings(
        topic_prefix=f"durable-{uuid.uuid4().hex[:8]}.", replication_factor=3, min_insync_replicas=2
    )
    topic = kafka.agency_topic("RX4")

    await ensure_topics(
        kafka_bootstrap, {topic: 2}, kafka.replication_factor, configs=kafka.topic_configs()
    )

    assert await topic_config(kafka_bootstrap, topic, "min.insync.replicas") == "2"


def test_more_in_sync_replicas_than_copies_is_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="min_insync_replicas \\(2\\) exceeds"):
        KafkaSettings(replication_factor=1, min_insync_replicas=2)


def test_without_the_setting_topics_keep_the_cluster_default() -> None:
    assert KafkaSettings(replication_factor=3).topic_configs() == {}

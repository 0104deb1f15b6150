"""Creating the broker's topics with their partition counts, tolerating races.

Production creates its topics ahead of time (replication 3, auto-create off: see deploy/); this
creates whichever are still missing, so that development, tests and a first run just work.
"""

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from broker.kafka import KafkaUnreachable, TopicCreationFailed

log = logging.getLogger(__name__)

_RETRY_SECONDS = 0.25
# Apache Kafka's own rule (Topic.validate): the embedded broker accepts anything, so we check
# here, or a name that works in development would first fail in production.
_LEGAL_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
_CREATE_TIMEOUT_MS = 30000


async def ensure_topics(
    bootstrap_servers: str,
    topics: Mapping[str, int],
    replication_factor: int = 1,
    *,
    configs: Mapping[str, str] | None = None,
    connect_timeout: float = 30.0,
) -> None:
    """Create each missing topic with its partition count and topic-level `configs` (such as
    min.insync.replicas); existing topics are left as they are.

    A broker still starting (e.g. beside us in compose) is retried for `connect_timeout`
    seconds. A topic that another process creates at the same moment counts as created.
    """
    _refuse_invalid(topics, replication_factor)
    admin = await _connected_admin(bootstrap_servers, connect_timeout)
    try:
        existing = await _partition_counts(admin, list(topics))
        missing = {name: count for name, count in topics.items() if name not in existing}
        if missing:
            await _create(admin, missing, replication_factor, configs or {})
        _warn_of_fewer_partitions(existing, topics)
    finally:
        await admin.close()


def _refuse_invalid(topics: Mapping[str, int], replication_factor: int) -> None:
    invalid = [
        f"{name!r}: {count} partitions"
        for name, count in topics.items()
        if not _LEGAL_TOPIC_NAME.fullmatch(name) or name in (".", "..") or count < 1
    ]
    if replication_factor < 1:
        invalid.append(f"replication factor {replication_factor}")
    if invalid:
        raise TopicCreationFailed("invalid Kafka topic request: " + "; ".join(invalid))


async def _connected_admin(bootstrap_servers: str, connect_timeout: float) -> AIOKafkaAdminClient:
    try:
        async with asyncio.timeout(connect_timeout):
            return await _admin_once_reachable(bootstrap_servers)
    except TimeoutError as exc:
        raise KafkaUnreachable(
            f"no Kafka broker answered at {bootstrap_servers} within {connect_timeout}s"
        ) from exc


async def _admin_once_reachable(bootstrap_servers: str) -> AIOKafkaAdminClient:
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="imb-admin")
        try:
            await admin.start()
            return admin
        except KafkaConnectionError:
            await admin.close()
        except BaseException:
            await admin.close()
            raise
        await asyncio.sleep(_RETRY_SECONDS)


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """The partition count of each named topic that exists and is ready."""
    described: list[dict[str, Any]] = await admin.describe_topics(names)
    return {
        topic["topic"]: len(topic["partitions"]) for topic in described if topic["error_code"] == 0
    }


async def _create(
    admin: AIOKafkaAdminClient,
    missing: Mapping[str, int],
    replication_factor: int,
    configs: Mapping[str, str],
) -> None:
    new_topics = [
        NewTopic(
            name,
            num_partitions=count,
            replication_factor=replication_factor,
            topic_configs=dict(configs),
        )
        for name, count in missing.items()
    ]
    # aiokafka reports per-topic refusals in the response instead of raising them.
    response = await admin.create_topics(new_topics, timeout_ms=_CREATE_TIMEOUT_MS)
    refusals = [
        f"{topic}: error {code} {message or ''}".rstrip()
        for topic, code, message in _with_messages(response.topic_errors)
        if code not in (0, TopicAlreadyExistsError.errno)
    ]
    if refusals:
        raise TopicCreationFailed("Kafka refused to create topics: " + "; ".join(refusals))
    log.info("created Kafka topics %s", ", ".join(sorted(missing)))


def _with_messages(topic_errors: list[tuple[Any, ...]]) -> list[tuple[str, int, str | None]]:
    """CreateTopics v0 answers (topic, code); later versions add a message."""
    return [(entry[0], entry[1], entry[2] if len(entry) > 2 else None) for entry in topic_errors]


def _warn_of_fewer_partitions(existing: Mapping[str, int], wanted: Mapping[str, int]) -> None:
    # Fewer partitions than configured caps how far consumer groups can spread; it does not
    # break ordering (records are keyed), so an operator is told rather than the start refused.
    for name, count in existing.items():
        if count < wanted[name]:
            log.warning(
                "Kafka topic %s has %d partitions, fewer than the %d configured",
                name,
                count,
                wanted[name],
            )

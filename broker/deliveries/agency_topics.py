"""Producing deliveries to `kafka` agencies' own topics, `imb.agency.{code}.v1`.

Each record is the CloudEvent a webhook would carry, keyed by the subject's pseudonym (one
person's records stay in order), with the content sealed to the agency's registered X25519
key (`schemas.sealed_records`): read access to the topic shows the envelope only. Pushes are
queued, claimed and retried exactly as webhook pushes are (`broker.deliveries.push`); a
record the broker has taken is `produced`. Kafka cannot say when a record is read, so the
transport receipt stays the agency's first inbox fetch or its acknowledgement.
"""

import asyncio
import hashlib
import json
import logging
import time
from datetime import datetime
from uuid import UUID

from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings.kafka import KafkaMessage, to_structured_event
from cloudevents.core.v1.event import CloudEvent

from broker.db.models import DeliveryChannel
from broker.deliveries.formats import PushedData
from broker.deliveries.inbox import Disclosure, InboxEntry, shown_content
from broker.deliveries.push import (
    TOPIC_NOT_READY,
    Answer,
    built_for,
    in_channel_format,
    keep_pushing,
    ms_since,
    record_answers,
    still_goes_by,
)
from broker.kafka.topics import ensure_topics
from broker.pipeline import transport
from broker.runtime import Runtime
from schemas.channels import ChannelKind
from schemas.sealed_records import SEALED_CONTENT_TYPE, SEALING, seal_for_agency

log = logging.getLogger(__name__)


async def run_agency_producer(rt: Runtime, bootstrap: str, stop: asyncio.Event) -> None:
    kafka = transport.producer(bootstrap)
    await kafka.start()
    topics = AgencyTopics(rt, bootstrap)
    try:
        await keep_pushing(
            rt, ChannelKind.KAFKA, stop, lambda due: produce_batch(rt, kafka, topics, due)
        )
    finally:
        await kafka.stop()


class AgencyTopics:
    """Creates an agency's topic the first time this process produces to it."""

    def __init__(self, rt: Runtime, bootstrap: str) -> None:
        self._rt = rt
        self._bootstrap = bootstrap
        self._ready: set[str] = set()

    async def ready(self, topic: str) -> None:
        if topic in self._ready:
            return
        kafka = self._rt.settings.kafka
        await ensure_topics(
            self._bootstrap,
            {topic: kafka.partitions},
            kafka.replication_factor,
            configs=kafka.topic_configs(),
        )
        self._ready.add(topic)


async def produce_batch(
    rt: Runtime, kafka: AIOKafkaProducer, topics: AgencyTopics, due: list[UUID]
) -> None:
    """As webhook pushes go (`push_batch`): records built in one transaction, produced
    together, the outcomes recorded in one more."""
    records, outcomes = await built_for(rt, due, _sealed_record)
    produced = await asyncio.gather(
        *(produce(rt, kafka, topics, topic, message) for topic, message, _ in records.values())
    )
    for (delivery_id, (_, _, disclosure)), answer in zip(records.items(), produced, strict=True):
        outcomes[delivery_id] = (answer, disclosure)
    await record_answers(rt, outcomes)


async def produce(
    rt: Runtime, kafka: AIOKafkaProducer, topics: AgencyTopics, topic: str, message: KafkaMessage
) -> Answer:
    began = time.perf_counter()
    try:
        await topics.ready(topic)
    except Exception as exc:  # nothing was sent: no disclosure to record
        log.warning("the topic %s is not ready: %s", topic, type(exc).__name__)
        return Answer(None, TOPIC_NOT_READY, ms_since(began))
    try:
        async with asyncio.timeout(rt.settings.delivery.push_timeout_seconds):
            await kafka.send_and_wait(
                topic, message.value, key=_bytes(message.key), headers=_kafka_headers(message)
            )
    except Exception as exc:  # one record's trouble is never another's
        log.warning("producing to %s failed: %s", topic, type(exc).__name__)
        return Answer(None, type(exc).__name__, ms_since(began))
    return Answer(None, None, ms_since(began), produced=True)


def _sealed_record(
    rt: Runtime, channel: DeliveryChannel | None, entry: InboxEntry, nhs_number: str
) -> tuple[str, KafkaMessage, Disclosure] | None:
    if not still_goes_by(channel, ChannelKind.KAFKA):
        return None
    assert channel is not None
    assert channel.public_key is not None
    content, disclosure = shown_content(rt, entry, nhs_number)
    now = rt.clock()
    pushed = in_channel_format(channel, entry, content, now)
    plain = json.dumps(pushed.data, separators=(",", ":")).encode()
    agency = channel.agency_code
    sealed = seal_for_agency(channel.public_key, agency, entry.delivery.id, plain)
    event = _cloud_event(rt, entry, pushed, sealed, now)
    return rt.settings.kafka.agency_topic(agency), to_structured_event(event), disclosure


def _cloud_event(
    rt: Runtime, entry: InboxEntry, pushed: PushedData, sealed: bytes, at: datetime
) -> CloudEvent:
    delivery = entry.delivery
    attributes: dict[str, object] = {
        "id": str(delivery.id),
        "source": rt.settings.delivery.source,
        "type": f"uk.imb.{entry.message.type}.v1",
        "time": delivery.delivered_at or at,
        "datacontenttype": SEALED_CONTENT_TYPE,
        # In the clear, so a consumer sees a gap (and whose key opens it) without opening.
        "imbseq": delivery.seq,
        "imbrecipient": delivery.recipient_agency,
        "imbsealing": SEALING,
        # `datacontenttype` is the sealed bytes' type: what they open to is said here.
        "imbcontenttype": pushed.media_type,
        "partitionkey": record_key(delivery.recipient_agency, entry.message.subject_pseudonym),
    }
    if delivery.seq is None:  # made available before seqs were given
        del attributes["imbseq"]
    return CloudEvent(attributes=attributes, data=sealed)


def record_key(agency: str, pseudonym: str) -> str:
    """The record key: one person's records stay in order on one partition, but the key
    differs from one agency's topic to another's, so that whoever reads several topics cannot
    link a person across them (the pseudonym itself is the same for every agency)."""
    return hashlib.sha256(f"imb:v1:agency-record-key:{agency}:{pseudonym}".encode()).hexdigest()


def _kafka_headers(message: KafkaMessage) -> list[tuple[str, bytes]]:
    return [(name, _bytes(value) or b"") for name, value in message.headers.items()]


def _bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value

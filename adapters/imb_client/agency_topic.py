"""Reading an agency's own Kafka topic (`kafka` channel): each record a CloudEvent whose
content is sealed to the agency's X25519 key, opened here with its private key.

    reader = AgencyTopicReader(bootstrap, "LA001", private_key, topic="imb.agency.LA001.v1",
                               group_id="la001-epr")
    async with reader:
        async for record in reader:
            if not isinstance(record, OpenedDelivery):  # a heartbeat, or a record that did
                continue  # not open: either way, catch up from the inbox after_seq
            record_in_epr(record.content)  # what GET /v1/inbox/{id} returns
            await imb.acknowledge(record.delivery_id, {...})  # the receipt IMB sees
            await reader.commit()

`content` is what the channel's `format` says, and `content_type` names it: IMB's JSON
(`application/json`), or for `fhir` a FHIR R4 message Bundle (`application/fhir+json`). A
delivery with no form in the channel's format (a non-delivery report) comes as IMB's JSON.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured_event
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from schemas.sealed_records import SEALING, SealedRecordUnreadable, open_for_agency

__all__ = [
    "AgencyTopicReader",
    "Heartbeat",
    "OpenedDelivery",
    "SealedRecordUnreadable",
    "Unreadable",
    "open_record",
    "read_record",
]
HEARTBEAT = "uk.imb.heartbeat.v1"
IMB_JSON = "application/json"
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class OpenedDelivery:
    delivery_id: str
    type: str  # uk.imb.risk.changed.v1, …
    seq: int | None
    content: dict[str, Any]  # as GET /v1/inbox/{id} returns it, or a FHIR message Bundle
    content_type: str = IMB_JSON  # application/fhir+json: `content` is a FHIR message Bundle

    @property
    def is_fhir(self) -> bool:
        return self.content_type == FHIR_JSON


@dataclass(frozen=True)
class Unreadable:
    """A record that did not open (not sealed to this key, altered, or not IMB's): the reader
    goes on past it. Commit it, and read the delivery from the inbox (`after_seq`) instead."""

    partition: int
    offset: int
    why: str


@dataclass(frozen=True)
class Heartbeat:
    """The last seq IMB gave the agency: a reader that has not seen it catches up from the
    inbox (`iter_after_seq`)."""

    agency: str
    last_seq: int


def read_record(
    value: bytes,
    private_key: X25519PrivateKey,
    agency: str,
    headers: dict[str, bytes] | None = None,
) -> OpenedDelivery | Heartbeat:
    """A record of the agency's topic: a delivery, opened, or a heartbeat."""
    event = _event(value, headers)
    if event.get_type() == HEARTBEAT:
        data = event.get_data()
        last = data.get("last_seq", 0) if isinstance(data, dict) else 0
        return Heartbeat(agency=agency, last_seq=int(last))
    return open_record(value, private_key, agency, headers)


def _event(value: bytes, headers: dict[str, bytes] | None) -> BaseCloudEvent:
    message = KafkaMessage(
        headers={"content-type": b"application/cloudevents+json", **(headers or {})},
        key=None,
        value=value,
    )
    return from_structured_event(message)


def open_record(
    value: bytes,
    private_key: X25519PrivateKey,
    agency: str,
    headers: dict[str, bytes] | None = None,
) -> OpenedDelivery:
    """Open one record's value (a structured CloudEvent). Raises SealedRecordUnreadable when it
    was not sealed to this key for this agency, or was altered."""
    attributes = _event(value, headers).get_attributes()
    if attributes.get("imbsealing") != SEALING:
        raise SealedRecordUnreadable(f"not sealed as {SEALING}: {attributes.get('imbsealing')}")
    sealed = _event(value, headers).get_data()
    if not isinstance(sealed, bytes):
        raise SealedRecordUnreadable("the record carries no sealed data")
    delivery_id = str(attributes["id"])
    content = json.loads(open_for_agency(private_key, agency, delivery_id, sealed))
    seq = attributes.get("imbseq")
    seq = int(seq) if seq is not None else None
    content_type = str(attributes.get("imbcontenttype") or IMB_JSON)
    agrees = _AGREES.get(content_type)
    if agrees is None:
        raise SealedRecordUnreadable(f"record {delivery_id}: unknown content {content_type}")
    # The envelope is in the clear: what counts is what was sealed, and they must agree.
    if not isinstance(content, dict) or not agrees(content, delivery_id, seq):
        raise SealedRecordUnreadable(f"record {delivery_id}: its envelope and content disagree")
    return OpenedDelivery(delivery_id, str(attributes["type"]), seq, content, content_type)


def _imb_json_agrees(content: dict[str, Any], delivery_id: str, seq: int | None) -> bool:
    return content.get("delivery_id") == delivery_id and content.get("seq") == seq


def _fhir_message_agrees(content: dict[str, Any], delivery_id: str, seq: int | None) -> bool:
    """A FHIR message names its delivery in its MessageHeader, the first entry; it has no
    place for the seq, which the envelope alone carries."""
    entries = content.get("entry")
    first = entries[0] if isinstance(entries, list) and entries else None
    header = first.get("resource") if isinstance(first, dict) else None
    return (
        content.get("resourceType") == "Bundle"
        and isinstance(header, dict)
        and header.get("resourceType") == "MessageHeader"
        and header.get("id") == delivery_id
    )


_AGREES: dict[str, Callable[[dict[str, Any], str, int | None], bool]] = {
    IMB_JSON: _imb_json_agrees,
    FHIR_JSON: _fhir_message_agrees,
}


class AgencyTopicReader:
    """A consumer of the agency's topic that yields opened deliveries. Offsets are committed
    only when asked (`commit`), after the EPR has recorded what it read: a crash re-reads, and
    a delivery id seen twice is the same delivery."""

    def __init__(
        self,
        bootstrap_servers: str,
        agency: str,
        private_key: X25519PrivateKey,
        *,
        topic: str,
        group_id: str,
        **consumer_options: Any,
    ) -> None:
        self.agency = agency
        self._key = private_key
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **consumer_options,
        )

    async def __aenter__(self) -> "AgencyTopicReader":
        await self._consumer.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._consumer.stop()

    def __aiter__(self) -> "AgencyTopicReader":
        return self

    async def __anext__(self) -> OpenedDelivery | Heartbeat | Unreadable:
        record = await self._consumer.getone()
        try:
            return read_record(record.value, self._key, self.agency, dict(record.headers))
        except (SealedRecordUnreadable, ValueError, KeyError, TypeError) as exc:
            # One bad record must not stop the reader for good: it is handed on, to be
            # committed past and caught up from the inbox.
            return Unreadable(record.partition, record.offset, str(exc)[:200])

    async def commit(self) -> None:
        await self._consumer.commit()

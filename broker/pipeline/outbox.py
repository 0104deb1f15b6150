"""The transactional outbox: Kafka records written with the state they announce (README, How
it works).

Record values are versioned JSON envelopes; the clinical content is sealed, with associated
data binding it to its message (events) or to its message and recipient (deliveries).
"""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from broker.crypto.envelope import Sealed
from broker.db.models import Message, OutboxEntry
from broker.pipeline.lanes import Lane

RECORD_VERSION = 1


def event_record(message: Message, content: Sealed) -> bytes:
    return _encode(
        {
            "kind": "event",
            "message_id": str(message.id),
            "type": message.type,
            "sender": message.sender_agency,
            "subject": message.subject_pseudonym,
            "occurred_at": message.occurred_at.isoformat(),
            "urgency": message.urgency,
            "content": content.to_json(),
        }
    )


def delivery_record(delivery_id: UUID, recipient: str, message: Message, content: Sealed) -> bytes:
    return _encode(
        {
            "kind": "delivery",
            "delivery_id": str(delivery_id),
            "message_id": str(message.id),
            "recipient": recipient,
            "type": message.type,
            "urgency": message.urgency,
            "content": content.to_json(),
        }
    )


def _encode(fields: dict[str, Any]) -> bytes:
    return json.dumps({"v": RECORD_VERSION, **fields}, separators=(",", ":")).encode()


class UnreadableRecord(ValueError):
    pass


def decode_record(value: bytes | None, kind: str) -> dict[str, Any]:
    try:
        record = json.loads(value or b"")
    except ValueError as exc:
        raise UnreadableRecord("record is not JSON") from exc
    if not isinstance(record, dict) or record.get("v") != RECORD_VERSION:
        raise UnreadableRecord("record has an unknown version")
    if record.get("kind") != kind:
        raise UnreadableRecord(f"record is not a {kind}")
    return record


def record_id(record: dict[str, Any], name: str) -> UUID:
    try:
        return UUID(str(record[name]))
    except (KeyError, ValueError) as exc:
        raise UnreadableRecord(f"record has no valid {name}") from exc


def enqueue(
    session: AsyncSession, lane: Lane, topic: str, key: str, value: bytes, at: datetime
) -> None:
    session.add(OutboxEntry(**entry(lane, topic, key, value, at)))


def entry(lane: Lane, topic: str, key: str, value: bytes, at: datetime) -> dict[str, Any]:
    """An outbox entry's row, for `enqueue` or for a hot path's bulk insert
    (broker.db.bulk)."""
    return {"topic": topic, "key": key, "value": value, "created_at": at, "lane": lane.value}

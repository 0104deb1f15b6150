"""The router and dispatcher record handlers."""

import logging

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from broker.deliveries.dispatch import make_available
from broker.outbox import decode_record, record_id
from broker.routing import route_message
from broker.runtime import Runtime

log = logging.getLogger(__name__)


async def route_record(
    session: AsyncSession, rt: Runtime, record: ConsumerRecord[bytes, bytes]
) -> None:
    message_id = record_id(decode_record(record.value, "event"), "message_id")
    routed = await route_message(session, rt, message_id)
    if routed is not None:
        log.debug(
            "routed %s: %d permitted, %d withheld", message_id, routed.permitted, routed.withheld
        )


async def dispatch_record(
    session: AsyncSession, rt: Runtime, record: ConsumerRecord[bytes, bytes]
) -> None:
    delivery_id = record_id(decode_record(record.value, "delivery"), "delivery_id")
    await make_available(session, rt, delivery_id)

"""Heartbeats: every `heartbeat_seconds`, each agency with a working push channel hears the
last `seq` given to it, as a CloudEvent `uk.imb.heartbeat.v1`: signed and POSTed to a
webhook, or a record on a `kafka` agency's own topic (in the clear: it carries no content).
A system that has not seen that seq, or hears no heartbeat, knows to catch up from its inbox
(`GET /v1/inbox?after_seq=`). A heartbeat is not retried: the next one says the same, later.
"""

import asyncio
import json
import logging
from datetime import datetime

import httpx
from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings.kafka import to_structured_event
from cloudevents.core.v1.event import CloudEvent
from sqlalchemy import select

from broker.db.models import DeliveryChannel
from broker.deliveries import sequence
from broker.deliveries.agency_topics import AgencyTopics, produce
from broker.deliveries.push import PUSHED_BY, Request, cloud_event, post, signed_headers
from broker.pipeline import transport
from broker.runtime import Runtime
from schemas.channels import ChannelKind

log = logging.getLogger(__name__)
HEARTBEAT_TYPE = "uk.imb.heartbeat.v1"


async def run_heartbeats(rt: Runtime, bootstrap: str, stop: asyncio.Event) -> None:
    settings = rt.settings.delivery
    kafka = transport.producer(bootstrap)
    await kafka.start()
    try:
        async with httpx.AsyncClient(
            timeout=settings.push_timeout_seconds, follow_redirects=False, trust_env=False
        ) as http:
            # The first after one interval, as every one after it: a process (re)starting
            # does not send a round of its own on top of the others'.
            topics = AgencyTopics(rt, bootstrap)
            while True:
                try:
                    await asyncio.wait_for(stop.wait(), settings.heartbeat_seconds)
                    return
                except TimeoutError:
                    await send_heartbeats(rt, http, kafka, topics)
    finally:
        await kafka.stop()


async def send_heartbeats(
    rt: Runtime, http: httpx.AsyncClient, kafka: AIOKafkaProducer, topics: AgencyTopics
) -> None:
    now = rt.clock()
    async with rt.db.unit_of_work() as session:
        channels = list(
            await session.scalars(
                select(DeliveryChannel).where(
                    DeliveryChannel.kind.in_(PUSHED_BY), DeliveryChannel.enabled.is_(True)
                )
            )
        )
        last = {c.agency_code: await sequence.last_seq(session, c.agency_code) for c in channels}
        webhooks = [
            _signed(rt, c, _heartbeat(rt, c.agency_code, last[c.agency_code], now), now)
            for c in channels
            if c.kind == ChannelKind.WEBHOOK
        ]
        on_topics = [c.agency_code for c in channels if c.kind == ChannelKind.KAFKA]
    await asyncio.gather(
        _post_all(rt, http, webhooks),
        *(_produce(rt, kafka, topics, agency, last[agency], now) for agency in on_topics),
    )


def _signed(rt: Runtime, channel: DeliveryChannel, body: bytes, at: datetime) -> Request:
    assert channel.url is not None
    webhook_id = json.loads(body)["id"]
    return Request(channel.url, signed_headers(rt, channel, webhook_id, body, at), body)


async def _post_all(rt: Runtime, http: httpx.AsyncClient, requests: list[Request]) -> None:
    within = rt.settings.delivery.push_timeout_seconds
    answers = await asyncio.gather(*(post(http, request, within) for request in requests))
    for request, answer in zip(requests, answers, strict=True):
        if not answer.received:
            log.info(
                "heartbeat %s: the receiver answered %s",
                request.headers["webhook-id"],
                answer.status_code or answer.error,
            )


async def _produce(
    rt: Runtime,
    kafka: AIOKafkaProducer,
    topics: AgencyTopics,
    agency: str,
    last_seq: int,
    at: datetime,
) -> None:
    event = CloudEvent(
        attributes={
            "id": _heartbeat_id(agency, at),
            "source": rt.settings.delivery.source,
            "type": HEARTBEAT_TYPE,
            "time": at,
            "datacontenttype": "application/json",
            "imbrecipient": agency,
        },
        data={"agency": agency, "last_seq": last_seq},
    )
    topic = rt.settings.kafka.agency_topic(agency)
    answer = await produce(rt, kafka, topics, topic, to_structured_event(event))
    if not answer.produced:  # the next heartbeat says the same
        log.info("heartbeat to %s's topic: %s", agency, answer.error)


def _heartbeat(rt: Runtime, agency: str, last_seq: int, at: datetime) -> bytes:
    data: dict[str, object] = {"agency": agency, "last_seq": last_seq}
    return cloud_event(rt, _heartbeat_id(agency, at), HEARTBEAT_TYPE, at, data)


def _heartbeat_id(agency: str, at: datetime) -> str:
    return f"heartbeat-{agency}-{int(at.timestamp())}"

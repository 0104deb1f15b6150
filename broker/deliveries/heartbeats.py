"""Heartbeats: every `heartbeat_seconds`, each agency whose channel is a working webhook is
sent a signed CloudEvent `uk.imb.heartbeat.v1` naming the last `seq` given to it. A system
that has not seen that seq, or hears no heartbeat, knows to catch up from its inbox
(`GET /v1/inbox?after_seq=`). A heartbeat is not retried: the next one says the same, later.
"""

import asyncio
import json
import logging
from datetime import datetime

import httpx
from sqlalchemy import select

from broker.db.models import DeliveryChannel
from broker.deliveries import sequence
from broker.deliveries.push import Request, cloud_event, post, signed_headers
from broker.runtime import Runtime
from schemas.channels import ChannelKind

log = logging.getLogger(__name__)
HEARTBEAT_TYPE = "uk.imb.heartbeat.v1"


async def run_heartbeats(rt: Runtime, stop: asyncio.Event) -> None:
    settings = rt.settings.delivery
    async with httpx.AsyncClient(
        timeout=settings.push_timeout_seconds, follow_redirects=False, trust_env=False
    ) as http:
        # The first after one interval, as every one after it: a process (re)starting does not
        # send a round of its own on top of the others'.
        while True:
            try:
                await asyncio.wait_for(stop.wait(), settings.heartbeat_seconds)
                return
            except TimeoutError:
                await send_heartbeats(rt, http)


async def send_heartbeats(rt: Runtime, http: httpx.AsyncClient) -> None:
    requests = await _heartbeats(rt)
    within = rt.settings.delivery.push_timeout_seconds
    answers = await asyncio.gather(*(post(http, request, within) for request in requests))
    for request, answer in zip(requests, answers, strict=True):
        if not answer.received:
            log.info(
                "heartbeat %s: the receiver answered %s",
                request.headers["webhook-id"],
                answer.status_code or answer.error,
            )


async def _heartbeats(rt: Runtime) -> list[Request]:
    now = rt.clock()
    requests = []
    async with rt.db.unit_of_work() as session:
        channels = await session.scalars(
            select(DeliveryChannel).where(
                DeliveryChannel.kind == ChannelKind.WEBHOOK.value,
                DeliveryChannel.enabled.is_(True),
            )
        )
        for channel in channels:
            assert channel.url is not None
            last = await sequence.last_seq(session, channel.agency_code)
            body = _heartbeat(rt, channel.agency_code, last, now)
            webhook_id = json.loads(body)["id"]
            requests.append(
                Request(channel.url, signed_headers(rt, channel, webhook_id, body, now), body)
            )
    return requests


def _heartbeat(rt: Runtime, agency: str, last_seq: int, at: datetime) -> bytes:
    event_id = f"heartbeat-{agency}-{int(at.timestamp())}"
    return cloud_event(rt, event_id, HEARTBEAT_TYPE, at, {"agency": agency, "last_seq": last_seq})

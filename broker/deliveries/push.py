"""Pushing deliveries to agencies' webhooks: a signed CloudEvent per delivery, retried until
the receiver answers 2xx (the transport receipt) or the retries run out (dead-lettered).

The dispatcher queues a push in the same transaction that makes a delivery available to an
agency whose channel is a webhook (`queue_pushes`). The pusher (`run_pusher`, in the
dispatcher worker) claims due pushes by leasing them, POSTs each outside any transaction, and
records the attempt. A crash between the POST and the record repeats the POST: the receiver
sees the same `webhook-id` again and records it once. The inbox keeps every delivery
whatever happens here.
"""

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import httpx
from cloudevents.core.bindings.http import to_structured_event
from cloudevents.core.v1.event import CloudEvent
from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from broker.agencies.channels import signing_secrets
from broker.audit.log import BROKER, AuditEvent, append, append_about_delivery
from broker.db.bulk import RowsToInsert
from broker.db.models import Delivery, DeliveryChannel, WebhookAttempt, WebhookPush
from broker.deliveries.formats import IMB_JSON, PushedData, pushed_data
from broker.deliveries.inbox import (
    Disclosure,
    InboxEntry,
    entries_of,
    nhs_number_of,
    record_receipt,
    record_view,
    shown_content,
)
from broker.logs import after_commit, get_logger
from broker.pipeline.lanes import Lane
from broker.runtime import Runtime
from schemas.channels import ChannelKind
from schemas.responses import DeliveryContent

log = logging.getLogger(__name__)
state_log = get_logger(__name__)
PENDING, RECEIVED, DEAD_LETTERED, WITHDRAWN = "pending", "received", "dead_lettered", "withdrawn"
PRODUCED = "produced"  # on the agency's own topic: Kafka cannot say when it is read
PUSHED_BY = (ChannelKind.WEBHOOK.value, ChannelKind.KAFKA.value)
CLAIM_AT_ONCE = 20
BATCHES_IN_FLIGHT = 4
# A claimed push is taken again only this long after its POST's deadline: long enough for a
# busy database to record the attempt, so that only a crashed attempt is ever repeated.
LEASE_MARGIN_SECONDS = 30
# Failures after which the body cannot have reached anybody: no disclosure to record.
TOPIC_NOT_READY = "TopicNotReady"  # an agency's topic could not be created
NEVER_SENT = {
    "ConnectError",
    "ConnectTimeout",
    "InvalidURL",
    "UnsupportedProtocol",
    "KafkaConnectionError",
    TOPIC_NOT_READY,
    None,
}
QUEUED_AFTER_COMMIT = "imb_pushes_queued"


async def queue_pushes(
    session: AsyncSession, at: datetime, deliveries: list[tuple[UUID, str]]
) -> None:
    """Queue a push for each (delivery, recipient) whose recipient has a working webhook or
    Kafka channel."""
    recipients = {recipient for _, recipient in deliveries}
    pushed_by = await session.execute(
        select(DeliveryChannel.agency_code, DeliveryChannel.kind).where(
            DeliveryChannel.agency_code.in_(recipients),
            DeliveryChannel.kind.in_(PUSHED_BY),
            DeliveryChannel.enabled.is_(True),
        )
    )
    channels = dict(pushed_by.tuples().all())  # .all(): a Result has keys(), a list not
    pushes = RowsToInsert(WebhookPush)
    queued = 0
    for delivery_id, recipient in deliveries:
        if recipient in channels:
            queued += 1
            pushes.add(
                WebhookPush,
                {
                    "delivery_id": delivery_id,
                    "agency_code": recipient,
                    "channel": channels[recipient],
                    "state": PENDING,
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                },
            )
    if queued:
        await pushes.insert(session)
        session.info[QUEUED_AFTER_COMMIT] = True


def queue_again(
    session: AsyncSession,
    push: WebhookPush | None,
    delivery_id: UUID,
    agency: str,
    channel: str,
    at: datetime,
) -> None:
    """Push it again from `at` by `channel`, with a fresh budget of retries (a redrive, or the
    recipient asking for it again)."""
    if push is None:
        push = WebhookPush(delivery_id=delivery_id, agency_code=agency)
        session.add(push)
    push.channel, push.state, push.attempts = channel, PENDING, 0
    push.next_attempt_at, push.created_at = at, at
    session.info[QUEUED_AFTER_COMMIT] = True


def queued_after_commit(session: AsyncSession) -> bool:
    """Whether a committed transaction queued pushes, so that this process's pusher looks now."""
    return bool(session.info.pop(QUEUED_AFTER_COMMIT, False))


async def run_pusher(rt: Runtime, stop: asyncio.Event) -> None:
    settings = rt.settings.delivery
    async with httpx.AsyncClient(
        timeout=settings.push_timeout_seconds, follow_redirects=False, trust_env=False
    ) as http:
        await keep_pushing(rt, ChannelKind.WEBHOOK, stop, lambda due: push_batch(rt, http, due))


async def keep_pushing(
    rt: Runtime,
    channel: ChannelKind,
    stop: asyncio.Event,
    push: Callable[[list[UUID]], Coroutine[Any, Any, None]],
) -> None:
    """Claim due pushes and push them, a few batches at a time: a receiver that is slow to
    answer holds up its own batch, not every agency's pushes behind it."""
    in_flight: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            if len(in_flight) >= BATCHES_IN_FLIGHT:
                await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                continue
            due = await claim_due(rt, channel)
            if due:
                batch = asyncio.create_task(push(due))
                in_flight.add(batch)
                batch.add_done_callback(in_flight.discard)
            else:
                await rt.wakeups.wait_for_pushes(channel, rt.settings.delivery.poll_seconds)
    finally:
        await asyncio.gather(*in_flight, return_exceptions=True)


async def claim_due(rt: Runtime, channel: ChannelKind) -> list[UUID]:
    """Lease the pushes that are due: each is moved past its POST's timeout, so another pusher
    (or this one after a crash) takes it only if this attempt never records its result."""
    now = rt.clock()
    lease = timedelta(seconds=rt.settings.delivery.push_timeout_seconds + LEASE_MARGIN_SECONDS)
    async with rt.db.unit_of_work() as session:
        due = list(
            await session.scalars(
                select(WebhookPush.delivery_id)
                .join(Delivery, Delivery.id == WebhookPush.delivery_id)
                .where(
                    WebhookPush.state == PENDING,
                    WebhookPush.channel == channel.value,
                    WebhookPush.next_attempt_at <= now,
                )
                # The urgent lane first here too: a crisis is not pushed behind a backlog.
                .order_by(case((Delivery.lane == Lane.URGENT.value, 0), else_=1))
                .order_by(WebhookPush.next_attempt_at)
                .limit(CLAIM_AT_ONCE)
                .with_for_update(of=WebhookPush, skip_locked=True)
            )
        )
        if due:
            await session.execute(
                update(WebhookPush)
                .where(WebhookPush.delivery_id.in_(due))
                .values(next_attempt_at=now + lease)
            )
            await session.commit()
    return due


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    body: bytes
    disclosure: Disclosure | None = None  # what it shows of a delivery (none: a heartbeat)


@dataclass(frozen=True)
class Answer:
    """How an attempt went: a webhook's status code, or that the Kafka broker took the record
    (`produced`), or the kind of error."""

    status_code: int | None
    error: str | None
    latency_ms: float
    produced: bool = False

    @property
    def received(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def may_have_been_read(self) -> bool:
        """Whether the body may have reached the receiver: anything but a failure to
        connect (or to build the request)."""
        return self.produced or self.status_code is not None or self.error not in NEVER_SENT


async def push_batch(rt: Runtime, http: httpx.AsyncClient, due: list[UUID]) -> None:
    """Push the claimed deliveries: their requests built in one transaction, POSTed together
    outside any, their answers recorded in one more. A few queries for the batch rather than
    several per push, so that pushing never crowds out the pipeline."""
    requests, outcomes = await built_for(rt, due, _signed_request)
    within = rt.settings.delivery.push_timeout_seconds
    posted = await asyncio.gather(*(post(http, request, within) for request in requests.values()))
    for (delivery_id, request), answer in zip(requests.items(), posted, strict=True):
        outcomes[delivery_id] = (answer, request.disclosure)
    await record_answers(rt, outcomes)


Built = TypeVar("Built")
Outcomes = dict[UUID, tuple["Answer", Disclosure | None]]


async def built_for(
    rt: Runtime,
    due: list[UUID],
    build: Callable[[Runtime, DeliveryChannel | None, InboxEntry, str], Built | None],
) -> tuple[dict[UUID, Built], Outcomes]:
    """What to send for each due push (None from `build`: its channel has changed since, so
    it is withdrawn), and already an outcome for each whose building failed: one push's
    trouble is never another's. Nothing here is audited: a disclosure is recorded when the
    receiver has it."""
    built: dict[UUID, Built] = {}
    failed: Outcomes = {}
    gone: list[UUID] = []
    async with rt.db.unit_of_work() as session:
        entries = await entries_of(session, due, lock=False)
        nhs_numbers: dict[str, str] = {}
        for delivery_id, entry in entries.items():
            try:
                pseudonym = entry.message.subject_pseudonym
                if pseudonym not in nhs_numbers:
                    nhs_numbers[pseudonym] = await nhs_number_of(session, rt, pseudonym)
                channel = await session.get(DeliveryChannel, entry.delivery.recipient_agency)
                made = build(rt, channel, entry, nhs_numbers[pseudonym])
            except Exception as exc:
                log.exception("building the push of delivery %s failed", delivery_id)
                failed[delivery_id] = (Answer(None, type(exc).__name__, 0.0), None)
                continue
            if made is None:
                gone.append(delivery_id)
            else:
                built[delivery_id] = made
    if gone:
        async with rt.db.unit_of_work() as session:
            await withdraw(session, gone)
            await session.commit()
    return built, failed


async def record_answers(rt: Runtime, outcomes: Outcomes) -> None:
    """Every attempt and what follows from it, in one transaction. If it fails nothing is
    recorded: the leases run out and the pushes are tried again (the same webhook-ids)."""
    if not outcomes:
        return
    ids = sorted(outcomes)  # one lock order for every pusher
    try:
        async with rt.db.unit_of_work() as session:
            pushes = await session.scalars(
                select(WebhookPush)
                .where(WebhookPush.delivery_id.in_(ids))
                .order_by(WebhookPush.delivery_id)
                .with_for_update()
            )
            entries = await entries_of(session, ids, lock=True)
            for push in pushes:
                answer, disclosure = outcomes[push.delivery_id]
                await _record(session, rt, push, entries[push.delivery_id], answer, disclosure)
            await session.commit()
    except Exception:
        log.exception("recording %d pushes failed", len(outcomes))


def _signed_request(
    rt: Runtime, channel: DeliveryChannel | None, entry: InboxEntry, nhs_number: str
) -> Request | None:
    if not still_goes_by(channel, ChannelKind.WEBHOOK):
        return None
    assert channel is not None
    assert channel.url is not None
    content, disclosure = shown_content(rt, entry, nhs_number)
    now = rt.clock()
    body = _cloud_event(rt, entry, in_channel_format(channel, entry, content, now), now)
    headers = signed_headers(rt, channel, str(entry.delivery.id), body, now)
    return Request(channel.url, headers, body, disclosure)


def in_channel_format(
    channel: DeliveryChannel, entry: InboxEntry, content: DeliveryContent, at: datetime
) -> PushedData:
    """The pushed content in the channel's format, from what the push has loaded already."""
    delivery = entry.delivery
    dumped = content.model_dump(mode="json")
    return pushed_data(
        channel.format, dumped, delivery.decision_detail, delivery.recipient_agency, at
    )


def signed_headers(
    rt: Runtime, channel: DeliveryChannel, webhook_id: str, body: bytes, at: datetime
) -> dict[str, str]:
    """Standard Webhooks headers: one signature per secret in use (two during a rotation)."""
    signatures = " ".join(
        Webhook(secret).sign(webhook_id, at, body.decode())
        for secret in signing_secrets(rt, channel, at)
    )
    return {
        "content-type": "application/cloudevents+json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def _cloud_event(rt: Runtime, entry: InboxEntry, pushed: PushedData, at: datetime) -> bytes:
    delivery = entry.delivery
    event_type = f"uk.imb.{entry.message.type}.v1"
    # In the envelope as on an agency's topic: a FHIR message has no place for the seq.
    seq = {"imbseq": delivery.seq} if delivery.seq is not None else {}
    delivered_at = delivery.delivered_at or at
    return cloud_event(
        rt, str(delivery.id), event_type, delivered_at, pushed.data, pushed.media_type, seq
    )


def cloud_event(
    rt: Runtime,
    event_id: str,
    event_type: str,
    at: datetime,
    data: dict[str, Any],
    media_type: str = IMB_JSON,
    extensions: Mapping[str, object] | None = None,
) -> bytes:
    """A CloudEvents 1.0 event in structured JSON, as every push and heartbeat is sent."""
    event = CloudEvent(
        attributes={
            "id": event_id,
            "source": rt.settings.delivery.source,
            "type": event_type,
            "time": at,
            "datacontenttype": media_type,
            **(extensions or {}),
        },
        data=data,
    )
    return to_structured_event(event).body


async def post(http: httpx.AsyncClient, request: Request, within: float) -> Answer:
    """POST and take the status only: the whole exchange within `within` seconds however the
    receiver trickles, and its answer's body never read."""
    began = time.perf_counter()
    try:
        async with asyncio.timeout(within):
            async with http.stream(
                "POST", request.url, content=request.body, headers=request.headers
            ) as response:
                status = response.status_code
    except Exception as exc:
        # The kind of failure only: an error's text can carry the URL and its token.
        return Answer(None, type(exc).__name__, ms_since(began))
    return Answer(status, None, ms_since(began))


def ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 1)


async def _record(
    session: AsyncSession,
    rt: Runtime,
    push: WebhookPush,
    entry: InboxEntry,
    answer: Answer,
    disclosure: Disclosure | None,
) -> None:
    now = rt.clock()
    # Recorded whatever the push's state: an attempt that outlived its lease happened too.
    push.attempts += 1
    session.add(
        WebhookAttempt(
            delivery_id=push.delivery_id,
            attempt=push.attempts,
            at=now,
            status_code=answer.status_code,
            error=answer.error,
            latency_ms=answer.latency_ms,
        )
    )
    if disclosure is not None and answer.may_have_been_read:
        record_view(session, rt, BROKER, entry, disclosure.present, disclosure.obligations)
    if push.state != PENDING:
        pass  # already received, dead-lettered or withdrawn: the attempt is only recorded
    elif answer.received:
        push.state = RECEIVED
        record_receipt(session, rt, BROKER, entry, channel=ChannelKind.WEBHOOK.value)
        _log_push(session, "delivery.received", push, entry)
    elif answer.produced:
        push.state = PRODUCED  # received when the agency fetches or acknowledges it
        _log_push(session, "delivery.produced", push, entry)
    elif answer.status_code == 410:
        await _receiver_gone(session, rt, push, now)
    elif _out_of_retries(rt, push, now):
        push.state = DEAD_LETTERED
        append_about_delivery(
            session,
            AuditEvent.DELIVERY_DEAD_LETTERED,
            BROKER,
            now,
            entry.message,
            push.delivery_id,
            detail={"recipient": push.agency_code, "attempts": push.attempts},
        )
        _log_push(session, "delivery.dead_lettered", push, entry)
    else:
        push.next_attempt_at = now + _backoff(rt, push.attempts)


def _log_push(session: AsyncSession, what: str, push: WebhookPush, entry: InboxEntry) -> None:
    after_commit(
        session,
        state_log,
        what,
        message_id=str(entry.message.id),
        delivery_id=str(push.delivery_id),
        recipient=push.agency_code,
        channel=push.channel,
        attempts=push.attempts,
    )


async def _receiver_gone(
    session: AsyncSession, rt: Runtime, push: WebhookPush, now: datetime
) -> None:
    """410 Gone: the receiver says it will never take deliveries again. The channel is turned
    off (the agency sets it again to turn it on). Its other queued pushes are withdrawn as
    their turn comes, each in its own transaction, so two 410s never wait on each other; a
    withdrawn push can be re-driven like a dead letter."""
    await session.execute(
        update(DeliveryChannel)
        .where(DeliveryChannel.agency_code == push.agency_code)
        .values(
            enabled=False,
            disabled_reason="the receiver answered 410 Gone",
            disabled_at=now,
            duty_notice_due_at=now,  # the notifier tells the agency's duty team
            duty_notice_attempts=0,
            updated_at=now,
        )
    )
    push.state = WITHDRAWN
    append(
        session,
        AuditEvent.CHANNEL_DISABLED,
        BROKER,
        now,
        detail={"agency": push.agency_code, "reason": "410 Gone"},
    )


def still_goes_by(channel: DeliveryChannel | None, kind: ChannelKind) -> bool:
    """Whether a push queued for `kind` still goes: the agency may have changed its channel,
    or a 410 turned it off, since it was queued."""
    return channel is not None and channel.kind == kind and channel.enabled


async def withdraw(session: AsyncSession, delivery_ids: list[UUID]) -> None:
    await session.execute(
        update(WebhookPush)
        .where(WebhookPush.delivery_id.in_(delivery_ids), WebhookPush.state == PENDING)
        .values(state=WITHDRAWN)
    )


def _out_of_retries(rt: Runtime, push: WebhookPush, now: datetime) -> bool:
    settings = rt.settings.delivery
    too_long = (now - push.created_at).total_seconds() >= settings.give_up_after_seconds
    return push.attempts >= settings.max_attempts or too_long


def _backoff(rt: Runtime, attempts: int) -> timedelta:
    """Capped exponential backoff with jitter, so receivers coming back are not stampeded."""
    settings = rt.settings.delivery
    ceiling = min(settings.retry_max_seconds, settings.retry_first_seconds * 2 ** (attempts - 1))
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # noqa: S311 (not a secret)

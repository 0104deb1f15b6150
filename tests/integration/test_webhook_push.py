"""Deliveries pushed to an agency's webhook, a real HTTP receiver on loopback standing in for
its record system: signed (Standard Webhooks), a CloudEvents 1.0 envelope, the 2xx answer the
transport receipt, failures retried with the same `webhook-id`, dead-lettered when the
retries run out, and a 410 turning the channel off."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from broker.db.models import AuditRecord, WebhookAttempt
from tests.receivers import Receiver, receiving
from tests.world import COUNCIL, HOUSING, NHS_NUMBER, TRUST, World, eventually

pytestmark = pytest.mark.usefixtures("pipeline")


@pytest.fixture
async def receiver(world: World) -> AsyncIterator[Receiver]:
    async with receiving(Receiver()) as serving:
        yield serving


async def _webhook_for_council(world: World, url: str) -> str:
    answer = await world.put(
        "admin", f"/v1/agencies/{COUNCIL}/channel", {"kind": "webhook", "url": url}
    )
    assert answer.status_code == 200, answer.text
    secret: str = answer.json()["secret"]
    return secret


async def _published(world: World, recipients: list[str]) -> str:
    answer = await world.publish(TRUST, recipients=recipients)
    assert answer.status_code == 202, answer.text
    message_id: str = answer.json()["message_id"]
    return message_id


async def _audited(world: World, event: str) -> list[dict[str, Any]]:
    async with world.rt.db.unit_of_work() as session:
        rows = await session.scalars(select(AuditRecord).where(AuditRecord.event == event))
        return [dict(r.detail or {}) for r in rows]


async def _attempts(world: World) -> list[int | None]:
    async with world.rt.db.unit_of_work() as session:
        rows = await session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id))
        return [r.status_code for r in rows]


async def test_a_delivery_is_pushed_signed_as_a_cloudevent_and_the_2xx_is_its_receipt(
    world: World, receiver: Receiver
) -> None:
    secret = await _webhook_for_council(world, receiver.url)
    message_id = await _published(world, [COUNCIL, HOUSING])

    [pushed] = await receiver.until(1)
    event = Webhook(secret).verify(pushed.body.decode(), pushed.headers)
    [item] = await eventually(
        lambda: world.inbox(COUNCIL), lambda items: items and items[0]["status"] == "received"
    )

    assert pushed.headers["content-type"] == "application/cloudevents+json"
    assert pushed.headers["webhook-id"] == item["delivery_id"] == event["id"]
    assert event["specversion"] == "1.0"
    assert event["type"] == "uk.imb.risk.changed.v1"
    assert event["datacontenttype"] == "application/json"
    assert event["data"]["message_id"] == message_id
    assert event["data"]["subject"]["nhs_number"] == NHS_NUMBER
    assert event["data"]["payload"], "the content the inbox fetch would show"
    assert await _audited(world, "delivery.received") == [
        {"recipient": COUNCIL, "channel": "webhook"}
    ]
    assert await _attempts(world) == [200]
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 1, "only the webhook agency is pushed to, and once"


async def test_a_tampered_body_or_a_stale_timestamp_fails_verification(
    world: World, receiver: Receiver
) -> None:
    secret = await _webhook_for_council(world, receiver.url)
    await _published(world, [COUNCIL])
    [pushed] = await receiver.until(1)
    verifier = Webhook(secret)

    tampered = json.loads(pushed.body)
    tampered["data"]["reason_for_sharing"] += " (altered on the way)"
    with pytest.raises(WebhookVerificationError):
        verifier.verify(json.dumps(tampered), pushed.headers)
    stale = datetime.now(UTC) - timedelta(minutes=10)
    old = {**pushed.headers, "webhook-timestamp": str(int(stale.timestamp()))}
    with pytest.raises(WebhookVerificationError):
        verifier.verify(pushed.body.decode(), old)


@pytest.mark.usefixtures("fast_retries")
async def test_a_failing_receiver_is_retried_with_the_same_webhook_id_until_it_answers(
    world: World, receiver: Receiver
) -> None:
    receiver.script = [500, 503]
    await _webhook_for_council(world, receiver.url)
    await _published(world, [COUNCIL])

    pushes = await receiver.until(3)
    await eventually(lambda: _attempts(world), lambda attempts: len(attempts) == 3)

    assert len({p.headers["webhook-id"] for p in pushes}) == 1
    assert await _attempts(world) == [500, 503, 200]
    assert len(await _audited(world, "delivery.received")) == 1
    # Each attempt handed the content to the receiver: each is a disclosure on the trail.
    assert len(await _audited(world, "payload.viewed")) == 3


@pytest.mark.usefixtures("fast_retries")
async def test_a_receiver_down_past_the_retries_dead_letters_the_push_and_the_inbox_keeps_it(
    world: World, receiver: Receiver
) -> None:
    receiver.script = [500] * 20  # down for good, however many attempts are made
    await _webhook_for_council(world, receiver.url)
    message_id = await _published(world, [COUNCIL])

    [dead] = await eventually(
        lambda: _audited(world, "delivery.dead_lettered"), lambda found: len(found) == 1, 120
    )

    assert dead == {"recipient": COUNCIL, "attempts": 3}
    assert await _attempts(world) == [500, 500, 500]
    [item] = await world.inbox(COUNCIL)
    assert item["message_id"] == message_id and item["status"] == "delivered"
    [letter] = (await world.get(COUNCIL, "/v1/dead-letters")).json()["items"]
    assert letter["delivery_id"] == item["delivery_id"]
    assert (letter["attempts"], letter["last_status_code"]) == (3, 500)
    assert (await world.get("admin", "/v1/dead-letters")).json()["items"] == [letter]
    assert (await world.get(HOUSING, "/v1/dead-letters")).json()["items"] == []


@pytest.mark.usefixtures("fast_retries")
async def test_a_dead_letter_redriven_is_pushed_again_once_the_receiver_is_back(
    world: World, receiver: Receiver
) -> None:
    receiver.script = [500] * 20  # down for good, however many attempts are made
    await _webhook_for_council(world, receiver.url)
    await _published(world, [COUNCIL])
    await eventually(lambda: _audited(world, "delivery.dead_lettered"), lambda found: found, 120)
    receiver.script.clear()  # back up
    [item] = await world.inbox(COUNCIL)
    redrive = f"/v1/dead-letters/{item['delivery_id']}/redrive"

    hostile = await world.post(HOUSING, redrive, {})
    again = await world.post(COUNCIL, redrive, {})
    await eventually(lambda: world.inbox(COUNCIL), lambda items: items[0]["status"] == "received")
    twice = await world.post(COUNCIL, redrive, {})

    assert hostile.status_code == 404, hostile.text
    assert again.status_code == 200, again.text
    assert await _attempts(world) == [500, 500, 500, 200]
    assert await _audited(world, "delivery.redriven") == [{"recipient": COUNCIL}]
    assert twice.status_code == 409, twice.text
    assert (await world.get(COUNCIL, "/v1/dead-letters")).json()["items"] == []


@pytest.mark.parametrize(
    ("delivery_id", "status"),
    [("0d1c1a0e-1f0e-4c6a-9d8e-5b0c5a9a0001", 404), ("not-an-id", 422)],
)
async def test_redriving_what_is_no_dead_letter_is_refused(
    world: World, delivery_id: str, status: int
) -> None:
    answer = await world.post(COUNCIL, f"/v1/dead-letters/{delivery_id}/redrive", {})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.usefixtures("fast_retries")
async def test_a_receiver_nobody_answers_at_is_retried_and_dead_lettered_without_disclosure(
    world: World,
) -> None:
    async with receiving(Receiver()) as gone:
        url = gone.url  # a loopback port nothing listens on once the block ends
    await _webhook_for_council(world, url)
    await _published(world, [COUNCIL])

    await eventually(
        lambda: _audited(world, "delivery.dead_lettered"), lambda found: len(found) == 1, 120
    )

    async with world.rt.db.unit_of_work() as session:
        attempts = [(a.status_code, a.error) for a in await session.scalars(select(WebhookAttempt))]
    assert attempts == [(None, "ConnectError")] * 3
    assert await _audited(world, "payload.viewed") == [], "nothing reached anybody"


async def test_410_gone_turns_the_channel_off(world: World, receiver: Receiver) -> None:
    receiver.script = [410]
    await _webhook_for_council(world, receiver.url)
    await _published(world, [COUNCIL])

    await eventually(lambda: _audited(world, "channel.disabled"), lambda found: len(found) == 1)
    channel = (await world.get("admin", f"/v1/agencies/{COUNCIL}/channel")).json()
    await _published(world, [COUNCIL])
    await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 2)
    await asyncio.sleep(0.5)

    assert channel["enabled"] is False
    assert "410" in channel["disabled_reason"]
    assert len(receiver.received) == 1, "nothing is pushed to a receiver that said Gone"
    listed = (await world.get(COUNCIL, "/v1/dead-letters")).json()["items"]
    assert [item["state"] for item in listed] == ["withdrawn"], "the push the 410 answered"

    await _webhook_for_council(world, receiver.url)  # the agency turns it back on
    gone = (await world.inbox(COUNCIL))[-1]["delivery_id"]
    redriven = await world.post(COUNCIL, f"/v1/dead-letters/{gone}/redrive", {})
    assert redriven.status_code == 200, redriven.text
    assert (await receiver.until(2))[-1].headers["webhook-id"] == gone


async def test_a_slow_receiver_does_not_hold_up_another_agencys_pushes(
    world: World, receiver: Receiver
) -> None:
    receiver.answer_after = 3.0  # the council's record system takes its time
    await _webhook_for_council(world, receiver.url)
    async with receiving(Receiver()) as housing:
        body = {"kind": "webhook", "url": housing.url}
        answer = await world.put("admin", f"/v1/agencies/{HOUSING}/channel", body)
        assert answer.status_code == 200, answer.text
        await _published(world, [COUNCIL])
        await receiver.until(1)  # the council's push is in flight, and will be for a while
        await _published(world, [HOUSING])
        [housing_push] = await housing.until(1)
        await eventually(lambda: _answered(receiver), bool)

    assert housing_push.at < receiver.answered_at[0], "while the council's was still out"


async def _answered(receiver: Receiver) -> list[float]:
    return receiver.answered_at

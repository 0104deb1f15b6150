"""Sequence numbers and heartbeats: every delivery made available to an agency gets the next
`seq` with no gaps, the inbox lists after a seq and says the last one and the oldest not
acknowledged, and a webhook agency hears the last seq in a heartbeat."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from broker.settings import DeliverySettings, Settings
from tests.receivers import Receiver, receiving
from tests.world import COUNCIL, HOUSING, TRUST, World, eventually, risk_event

pytestmark = pytest.mark.usefixtures("pipeline")
HEARTBEAT = "uk.imb.heartbeat.v1"
ACK = {"outcome": "accepted", "acknowledged_by": {"name": "B. Jones", "role": "duty worker"}}


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """Heartbeats a few times a second, so that a test hears several. (Naming `database_url`
    keeps the tests parametrized over both databases.)"""
    settings.delivery = DeliverySettings(heartbeat_seconds=0.3, poll_seconds=0.05)
    return settings


async def _seqs(world: World, agency: str, **params: object) -> list[int]:
    answer = await world.get(agency, "/v1/inbox", limit=500, **params)
    assert answer.status_code == 200, answer.text
    return [item["seq"] for item in answer.json()["items"]]


async def _publish_all(world: World, count: int) -> list[str]:
    events = [risk_event(recipients=[COUNCIL, HOUSING]) for _ in range(count)]
    answer = await world.post(TRUST, "/v1/events:batch", {"events": events})
    assert answer.status_code == 207, answer.text
    return [result["message_id"] for result in answer.json()["results"]]


async def test_each_agency_numbers_its_deliveries_from_one_with_no_gaps(world: World) -> None:
    await _publish_all(world, 30)
    for agency in (COUNCIL, HOUSING):
        await eventually(lambda a=agency: _seqs(world, a), lambda seqs: len(seqs) == 30)

    assert sorted(await _seqs(world, COUNCIL)) == list(range(1, 31))
    assert sorted(await _seqs(world, HOUSING)) == list(range(1, 31))


async def test_after_seq_lists_what_came_later_in_seq_order(world: World) -> None:
    sent = []
    for _ in range(3):  # one at a time, so that each is made available in publish order
        answer = await world.publish(TRUST, recipients=[COUNCIL])
        sent.append(answer.json()["message_id"])
        await eventually(lambda: _seqs(world, COUNCIL), lambda seqs: len(seqs) == len(sent))

    page = (await world.get(COUNCIL, "/v1/inbox", after_seq=1)).json()["items"]

    assert [(i["seq"], i["message_id"]) for i in page] == [(2, sent[1]), (3, sent[2])]
    one = (await world.get(COUNCIL, "/v1/inbox", after_seq=1, limit=1)).json()
    assert [i["seq"] for i in one["items"]] == [2]
    assert one["next_cursor"] is None, "by seq, the next page is after_seq=2"
    assert (await world.get(COUNCIL, "/v1/inbox", after_seq=3)).json()["items"] == []


async def test_inbox_status_names_the_last_seq_and_the_oldest_unacknowledged(
    world: World,
) -> None:
    empty = (await world.get(COUNCIL, "/v1/inbox/status")).json()
    for _ in range(2):
        await world.publish(TRUST, recipients=[COUNCIL])
        await asyncio.sleep(0.3)
    listed = await eventually(lambda: world.inbox(COUNCIL), lambda i: len(i) == 2)
    first, second = sorted(listed, key=lambda item: item["seq"])
    before = (await world.get(COUNCIL, "/v1/inbox/status")).json()
    acked = await world.post(COUNCIL, f"/v1/inbox/{first['delivery_id']}/ack", ACK)
    after = (await world.get(COUNCIL, "/v1/inbox/status")).json()

    assert empty == {"last_seq": 0, "oldest_unacknowledged": None}
    assert before["last_seq"] == 2
    assert before["oldest_unacknowledged"]["delivery_id"] == first["delivery_id"]
    assert acked.status_code == 200, acked.text
    assert after["oldest_unacknowledged"]["seq"] == second["seq"] == 2
    assert (await world.get(HOUSING, "/v1/inbox/status")).json()["last_seq"] == 0


@pytest.mark.parametrize("after_seq", ["-1", "one", "1.5"])
async def test_a_bad_after_seq_is_refused(world: World, after_seq: str) -> None:
    answer = await world.get(COUNCIL, "/v1/inbox", after_seq=after_seq)
    assert answer.status_code == 422, answer.text
    assert "after_seq" in answer.text


@pytest.fixture
async def receiver(world: World) -> AsyncIterator[Receiver]:
    async with receiving(Receiver()) as serving:
        yield serving


async def test_a_webhook_agency_hears_the_last_seq_in_signed_heartbeats(
    world: World, receiver: Receiver
) -> None:
    channel = {"kind": "webhook", "url": receiver.url}
    secret = (await world.put("admin", f"/v1/agencies/{COUNCIL}/channel", channel)).json()
    verifier = Webhook(secret["secret"])

    async def events(of_type: str) -> list[dict[str, Any]]:
        found = [verifier.verify(r.body.decode(), r.headers) for r in receiver.received]
        return [event for event in found if event["type"] == of_type]

    beats = await eventually(lambda: events(HEARTBEAT), lambda found: len(found) >= 2)
    await world.publish(TRUST, recipients=[COUNCIL])
    later = await eventually(
        lambda: events(HEARTBEAT), lambda found: found[-1]["data"]["last_seq"] == 1
    )
    # A heartbeat may name seq 1 before the push of that delivery has arrived: that is the
    # gap a receiver catches up on from the inbox.
    [pushed] = await eventually(
        lambda: events("uk.imb.risk.changed.v1"), lambda found: len(found) == 1
    )

    assert beats[0]["data"] == {"agency": COUNCIL, "last_seq": 0}
    assert later[-1]["data"] == {"agency": COUNCIL, "last_seq": 1}
    assert pushed["data"]["seq"] == 1

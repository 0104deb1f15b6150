"""Replay with a fresh decision: the sender sends a message again and each recipient is decided
now, on the consents and agreements as they stand; a recipient asks for a delivery to be
pushed to it again. Both audited; another agency's message or delivery does not exist."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select, text

from broker.db.engine import is_sqlite
from broker.db.models import AuditRecord, Delivery
from tests.receivers import Receiver, receiving
from tests.world import COUNCIL, HOUSING, NHS_NUMBER, TRUST, World, eventually

REASON = {"reason": "the council restored its record system from last night's backup"}
REFUSAL = {
    "state": "refused",
    "scope": {"recipients": [HOUSING]},
    "recorded_by": {"name": "A. Patel", "role": "care coordinator"},
    "evidence": "Said at review they do not want housing told about their health.",
}


async def _delivered(world: World, recipients: list[str]) -> tuple[str, dict[str, Any]]:
    message_id = (await world.publish(TRUST, recipients=recipients)).json()["message_id"]
    status = await eventually(
        lambda: _status(world, message_id),
        lambda body: (
            len(body["recipients"]) == len(recipients)
            and all(r["status"] in ("delivered", "received") for r in body["recipients"])
        ),
    )
    return message_id, {r["agency"]: r for r in status["recipients"]}


async def _status(world: World, message_id: str) -> dict[str, Any]:
    answer = await world.get(TRUST, f"/v1/events/{message_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _audited(world: World, event: str) -> list[tuple[str | None, dict[str, Any]]]:
    """(the acting agency, the detail) of each audit record of `event`."""
    async with world.rt.db.unit_of_work() as session:
        rows = await session.scalars(select(AuditRecord).where(AuditRecord.event == event))
        return [(row.actor_agency, dict(row.detail or {})) for row in rows]


async def _deliveries(world: World) -> int:
    async with world.rt.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(Delivery)) or 0)


@pytest.mark.usefixtures("pipeline")
async def test_a_replay_decides_each_recipient_now_and_delivers_a_linked_new_delivery(
    world: World,
) -> None:
    message_id, first = await _delivered(world, [COUNCIL, HOUSING])

    answer = await world.post(TRUST, f"/v1/events/{message_id}/replay", REASON)
    assert answer.status_code == 201, answer.text
    replayed = {r["agency"]: r for r in answer.json()["recipients"]}
    council = await eventually(
        lambda: world.inbox(COUNCIL), lambda items: len(items) == 2 and items[0]["seq"]
    )

    for agency in (COUNCIL, HOUSING):
        assert replayed[agency]["replay_of"] == first[agency]["delivery_id"]
        assert replayed[agency]["decision"] == "permit"
        assert replayed[agency]["delivery_id"] != first[agency]["delivery_id"]
    by_id = {item["delivery_id"]: item for item in council}
    assert by_id[replayed[COUNCIL]["delivery_id"]]["seq"] == 2, "the next in the agency's seq"
    replays = await _audited(world, "event.replayed")
    assert replays == [(TRUST, {"reason": REASON["reason"]})] * 2, "one per new delivery"
    status = await _status(world, message_id)
    assert len(status["recipients"]) == 4, "the sender sees the first deliveries and the replay"


@pytest.mark.usefixtures("pipeline")
async def test_a_refusal_recorded_in_between_withholds_the_replay_and_the_sender_sees_why(
    world: World,
) -> None:
    message_id, _ = await _delivered(world, [COUNCIL, HOUSING])
    refused = await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", REFUSAL)
    assert refused.status_code == 201, refused.text

    answer = await world.post(TRUST, f"/v1/events/{message_id}/replay", REASON)
    assert answer.status_code == 201, answer.text
    replayed = {r["agency"]: r for r in answer.json()["recipients"]}
    await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 2)
    await asyncio.sleep(0.5)

    assert replayed[HOUSING]["status"] == "withheld"
    assert replayed[HOUSING]["reason"] == "consent_refused"
    trail = (await world.get(COUNCIL, f"/v1/audit/messages/{message_id}")).text
    assert HOUSING not in trail, "the council learns nothing of housing from the replay"
    assert replayed[HOUSING]["delivery_id"] not in trail
    assert replayed[COUNCIL]["status"] == "pending"
    assert len(await world.inbox(HOUSING)) == 1, "housing keeps the first; gets no replay"


@pytest.mark.usefixtures("pipeline")
async def test_a_replay_of_a_replay_replays_the_latest(world: World) -> None:
    message_id, first = await _delivered(world, [COUNCIL])
    once = await world.post(TRUST, f"/v1/events/{message_id}/replay", REASON)
    twice = await world.post(TRUST, f"/v1/events/{message_id}/replay", REASON)

    assert once.status_code == twice.status_code == 201, twice.text
    [first_replay] = once.json()["recipients"]
    [second_replay] = twice.json()["recipients"]
    assert first_replay["replay_of"] == first[COUNCIL]["delivery_id"]
    assert second_replay["replay_of"] == first_replay["delivery_id"]


@pytest.mark.usefixtures("pipeline")
async def test_another_agency_cannot_replay_a_message_or_learn_it_exists(world: World) -> None:
    message_id, _ = await _delivered(world, [COUNCIL])
    before = await _deliveries(world)

    theirs = await world.post(COUNCIL, f"/v1/events/{message_id}/replay", REASON)
    unknown = await world.post(
        COUNCIL, "/v1/events/0d1c1a0e-1f0e-4c6a-9d8e-5b0c5a9a0001/replay", REASON
    )

    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"].replace(message_id, "X") == unknown.json()["detail"].replace(
        "0d1c1a0e-1f0e-4c6a-9d8e-5b0c5a9a0001", "X"
    )
    assert await _deliveries(world) == before
    assert await _audited(world, "event.replayed") == []


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": f"patient {NHS_NUMBER} asked"}, "NHS number"),
        ({"reason": "restored", "extra": 1}, "extra"),
    ],
)
async def test_a_replay_without_a_fit_reason_is_refused_and_writes_nothing(
    world: World, body: dict[str, Any], names: str
) -> None:
    message_id = (await world.publish(TRUST, recipients=[COUNCIL])).json()["message_id"]

    answer = await world.post(TRUST, f"/v1/events/{message_id}/replay", body)

    assert answer.status_code == 422, answer.text
    assert names in answer.text
    assert await _audited(world, "event.replayed") == []


async def test_a_message_not_yet_routed_has_nothing_to_replay(world: World) -> None:
    message_id = (await world.publish(TRUST, recipients=[COUNCIL])).json()["message_id"]

    answer = await world.post(TRUST, f"/v1/events/{message_id}/replay", REASON)

    assert answer.status_code == 409, answer.text
    assert await _deliveries(world) == 0


@pytest.mark.usefixtures("pipeline")
async def test_the_recipient_has_a_delivery_pushed_again_with_the_same_webhook_id(
    world: World,
) -> None:
    async with receiving(Receiver()) as receiver:
        answer = await world.put(
            "admin", f"/v1/agencies/{COUNCIL}/channel", {"kind": "webhook", "url": receiver.url}
        )
        assert answer.status_code == 200, answer.text
        await _delivered(world, [COUNCIL])
        [pushed] = await receiver.until(1)
        delivery_id = pushed.headers["webhook-id"]
        await eventually(lambda: world.inbox(COUNCIL), lambda i: i[0]["status"] == "received")

        asked = await world.post(
            COUNCIL, f"/v1/deliveries/{delivery_id}/redeliver", {"reason": "lost in a restore"}
        )
        assert asked.status_code == 202, asked.text
        [_, again] = await receiver.until(2)

    assert again.headers["webhook-id"] == delivery_id
    assert asked.json()["channel"] == "webhook"
    [(actor, _)] = await _audited(world, "delivery.redelivery_asked")
    assert actor == COUNCIL
    assert len(await world.inbox(COUNCIL)) == 1, "the same delivery, not a new one"
    assert len(await _audited(world, "delivery.received")) == 1, "its receipt stands"


@pytest.mark.usefixtures("pipeline")
async def test_redelivery_is_only_for_the_recipient_and_only_by_a_push_channel(
    world: World,
) -> None:
    _, first = await _delivered(world, [COUNCIL])
    delivery_id = first[COUNCIL]["delivery_id"]

    by_another = await world.post(HOUSING, f"/v1/deliveries/{delivery_id}/redeliver", {})
    by_sender = await world.post(TRUST, f"/v1/deliveries/{delivery_id}/redeliver", {})
    without_channel = await world.post(COUNCIL, f"/v1/deliveries/{delivery_id}/redeliver", {})

    assert by_another.status_code == by_sender.status_code == 404
    assert without_channel.status_code == 409
    assert "inbox" in without_channel.json()["detail"]
    assert await _audited(world, "delivery.redelivery_asked") == []


@pytest.mark.usefixtures("pipeline")
async def test_a_replay_waits_for_a_dispatcher_holding_a_delivery_rather_than_deadlocking(
    world: World,
) -> None:
    """A dispatcher holds a delivery of the message and then checks a foreign key to the
    message (FOR KEY SHARE), while a replay holds the message and waits for that delivery.
    Each waits for the other unless the replay's lock on the message leaves key checks be."""
    if is_sqlite(world.rt.db.url):
        pytest.skip("row locks are PostgreSQL's")
    message_id, first = await _delivered(world, [COUNCIL])
    async with world.rt.db.engine.connect() as dispatcher:
        await dispatcher.begin()
        hold = "UPDATE deliveries SET status = status WHERE id = :id"
        await dispatcher.execute(text(hold), {"id": first[COUNCIL]["delivery_id"]})
        replaying = asyncio.create_task(
            world.post(TRUST, f"/v1/events/{message_id}/replay", REASON)
        )
        await asyncio.sleep(0.5)  # the replay now holds the message and waits for the delivery
        await dispatcher.execute(text("SET LOCAL lock_timeout = '5s'"))
        check = "SELECT 1 FROM messages WHERE id = :id FOR KEY SHARE"
        await dispatcher.execute(text(check), {"id": message_id})
        await dispatcher.commit()
        replayed = await replaying

    assert replayed.status_code == 201, replayed.text

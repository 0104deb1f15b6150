"""The backbone end to end in one process: API → outbox → Kafka → router → Kafka → inbox."""

from typing import Any

import pytest
from sqlalchemy import func, select, update

from broker.db.models import AuditRecord, Delivery, OutboxEntry
from broker.runtime import Runtime
from tests.world import COUNCIL, GP, HOUSING, NHS_NUMBER, TRUST, World, eventually

pytestmark = pytest.mark.usefixtures("pipeline")


async def _status(world: World, message_id: str) -> dict[str, Any]:
    response = await world.get(TRUST, f"/v1/events/{message_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _settled(status: dict[str, Any]) -> bool:
    recipients = status["recipients"]
    return bool(recipients) and all(r["status"] in {"delivered", "withheld"} for r in recipients)


async def test_event_reaches_every_care_team_member_but_the_sender(world: World) -> None:
    accepted = await world.publish()
    assert accepted.status_code == 202, accepted.text
    message_id = accepted.json()["message_id"]

    status = await eventually(lambda: _status(world, message_id), _settled)

    assert [r["agency"] for r in status["recipients"]] == [HOUSING, COUNCIL]
    assert {r["status"] for r in status["recipients"]} == {"delivered"}
    assert all(r["decision"] == "permit" for r in status["recipients"])
    assert "art6:public_task" in status["recipients"][0]["bases"]
    assert [i["message_id"] for i in await world.inbox(COUNCIL)] == [message_id]
    assert [i["message_id"] for i in await world.inbox(HOUSING)] == [message_id]
    assert await world.inbox(GP) == []
    assert await world.inbox(TRUST) == []


async def test_recipient_fetch_records_receipt_and_ack_records_outcome(world: World) -> None:
    message_id = (await world.publish()).json()["message_id"]
    await eventually(lambda: _status(world, message_id), _settled)
    delivery_id = (await world.inbox(COUNCIL))[0]["delivery_id"]

    fetched = await world.get(COUNCIL, f"/v1/inbox/{delivery_id}")
    acked = await world.post(
        COUNCIL,
        f"/v1/inbox/{delivery_id}/ack",
        {
            "outcome": "actioned",
            "note": "Visit booked",
            "acknowledged_by": {"name": "B. Jones", "role": "social worker"},
        },
    )

    assert fetched.status_code == 200
    content = fetched.json()
    assert content["subject"] == {"nhs_number": NHS_NUMBER, "local_id": "MRN-1001"}
    assert content["payload"]["current_level"] == "high"
    assert content["status"] == "received"
    assert acked.status_code == 200
    assert acked.json()["outcome"] == "actioned"
    council = next(
        r for r in (await _status(world, message_id))["recipients"] if r["agency"] == COUNCIL
    )
    assert council["status"] == "acknowledged"
    assert council["received_at"] is not None and council["acknowledged_at"] is not None


async def test_audit_trail_follows_the_message_from_receipt_to_acknowledgement(
    world: World,
) -> None:
    message_id = (await world.publish(recipients=[COUNCIL])).json()["message_id"]
    await eventually(lambda: _status(world, message_id), _settled)
    delivery_id = (await world.inbox(COUNCIL))[0]["delivery_id"]
    await world.get(COUNCIL, f"/v1/inbox/{delivery_id}")
    await world.post(
        COUNCIL,
        f"/v1/inbox/{delivery_id}/ack",
        {"outcome": "accepted", "acknowledged_by": {"name": "B. Jones", "role": "social worker"}},
    )

    trail = (await world.get(TRUST, f"/v1/audit/messages/{message_id}")).json()["records"]

    assert [r["event"] for r in trail] == [
        "event.received",
        "delivery.decided",
        "delivery.delivered",
        "delivery.received",
        "payload.viewed",
        "delivery.acknowledged",
    ]
    assert trail[0]["actor"]["agency"] == TRUST
    assert trail[0]["payload_digest"].startswith("hmac-sha256:")
    assert trail[3]["actor"]["agency"] == COUNCIL
    assert trail[4]["payload_digest"] == trail[0]["payload_digest"]
    assert trail[5]["detail"]["outcome"] == "accepted"
    assert all("payload" not in r["detail"] for r in trail)


async def test_recipient_outside_every_agreement_is_withheld_with_reason(world: World) -> None:
    message_id = (await world.publish(recipients=[GP, COUNCIL])).json()["message_id"]

    status = await eventually(lambda: _status(world, message_id), _settled)

    by_agency = {r["agency"]: r for r in status["recipients"]}
    assert by_agency[GP]["status"] == "withheld"
    assert by_agency[GP]["decision"] == "deny"
    assert by_agency[GP]["reason"] == "no_agreement"
    assert by_agency[COUNCIL]["status"] == "delivered"
    assert await world.inbox(GP) == []


async def test_refused_consent_withholds_only_the_refused_recipient(world: World) -> None:
    refusal = {
        "state": "refused",
        "scope": {"recipients": [HOUSING]},
        "recorded_by": {"name": "A. Patel", "role": "care coordinator"},
        "evidence": "Said at review they do not want housing told about their health.",
    }
    assert (
        await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", refusal)
    ).status_code == 201

    message_id = (await world.publish()).json()["message_id"]
    status = await eventually(lambda: _status(world, message_id), _settled)

    by_agency = {r["agency"]: r for r in status["recipients"]}
    assert by_agency[HOUSING]["status"] == "withheld"
    assert by_agency[HOUSING]["reason"] == "consent_refused"
    assert by_agency[COUNCIL]["status"] == "delivered"
    assert await world.inbox(HOUSING) == []


async def test_agreement_not_covering_the_purpose_withholds(world: World) -> None:
    await world.agree([TRUST, GP], purposes=["safeguarding"])

    message_id = (await world.publish(recipients=[GP])).json()["message_id"]
    status = await eventually(lambda: _status(world, message_id), _settled)

    assert status["recipients"][0]["reason"] == "purpose_not_covered"


async def test_replayed_kafka_records_change_nothing(world: World, runtime: Runtime) -> None:
    message_id = (await world.publish()).json()["message_id"]
    await eventually(lambda: _status(world, message_id), _settled)
    before = await _counts(runtime)

    async with runtime.db.unit_of_work() as session:
        await session.execute(update(OutboxEntry).values(published_at=None))
        await session.commit()
    runtime.wakeups.wake_all()
    await eventually(_unpublished(runtime), lambda n: n == 0)
    await eventually(lambda: _counts(runtime), lambda c: c == before, timeout=3.0)

    assert await _counts(runtime) == before
    assert len(await world.inbox(COUNCIL)) == 1


def _unpublished(runtime: Runtime) -> Any:
    async def count() -> int:
        async with runtime.db.unit_of_work() as session:
            statement = (
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.published_at.is_(None))
            )
            return int((await session.execute(statement)).scalar_one())

    return count


async def _counts(runtime: Runtime) -> tuple[int, int]:
    async with runtime.db.unit_of_work() as session:
        deliveries = (
            await session.execute(select(func.count()).select_from(Delivery))
        ).scalar_one()
        audit = (await session.execute(select(func.count()).select_from(AuditRecord))).scalar_one()
    return int(deliveries), int(audit)

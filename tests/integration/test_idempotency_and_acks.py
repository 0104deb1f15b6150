"""Same event twice, same id with another body, and acknowledgement rules."""

from typing import Any

import pytest
from sqlalchemy import func, select

from broker.db.models import AuditRecord, Message
from broker.runtime import Runtime
from tests.world import COUNCIL, HOUSING, TRUST, World, eventually, risk_event

ACK = {"outcome": "accepted", "acknowledged_by": {"name": "B. Jones", "role": "social worker"}}


async def _count(runtime: Runtime, model: Any) -> int:
    async with runtime.db.unit_of_work() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_same_event_twice_is_the_same_message(world: World, runtime: Runtime) -> None:
    event = risk_event()
    first = await world.post(TRUST, "/v1/events", event)
    second = await world.post(TRUST, "/v1/events", event)

    assert first.status_code == second.status_code == 202
    assert first.json()["message_id"] == second.json()["message_id"]
    assert await _count(runtime, Message) == 1


async def test_same_id_with_another_body_is_409_and_writes_nothing(
    world: World, runtime: Runtime
) -> None:
    event = risk_event()
    await world.post(TRUST, "/v1/events", event)
    audit_before = await _count(runtime, AuditRecord)

    changed = {**event, "reason_for_sharing": "Something else entirely."}
    response = await world.post(TRUST, "/v1/events", changed)

    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await _count(runtime, Message) == 1
    assert await _count(runtime, AuditRecord) == audit_before


async def test_another_agency_may_reuse_an_event_id(world: World, runtime: Runtime) -> None:
    event = risk_event(recipients=[HOUSING])
    first = await world.post(TRUST, "/v1/events", event)
    second = await world.post(COUNCIL, "/v1/events", event)

    assert first.status_code == second.status_code == 202
    assert first.json()["message_id"] != second.json()["message_id"]


@pytest.mark.usefixtures("pipeline")
async def test_second_acknowledgement_is_409_and_keeps_the_first(
    world: World, runtime: Runtime
) -> None:
    await world.publish(recipients=[COUNCIL])
    items = await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 1)
    path = f"/v1/inbox/{items[0]['delivery_id']}/ack"
    assert (await world.post(COUNCIL, path, ACK)).status_code == 200
    audit_before = await _count(runtime, AuditRecord)

    again = await world.post(COUNCIL, path, {**ACK, "outcome": "actioned"})

    assert again.status_code == 409
    assert await _count(runtime, AuditRecord) == audit_before
    fetched = (await world.get(COUNCIL, items[0]["links"]["self"])).json()
    assert fetched["outcome"] == "accepted"


@pytest.mark.usefixtures("pipeline")
async def test_declined_ack_keeps_its_reason_code(world: World) -> None:
    await world.publish(recipients=[COUNCIL])
    items = await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 1)
    declined = {**ACK, "outcome": "declined", "reason_code": "not_known_to_service"}

    response = await world.post(COUNCIL, f"/v1/inbox/{items[0]['delivery_id']}/ack", declined)

    assert response.status_code == 200
    assert response.json()["reason_code"] == "not_known_to_service"


@pytest.mark.usefixtures("pipeline")
async def test_another_agencys_delivery_and_message_are_404(world: World) -> None:
    message_id = (await world.publish(recipients=[COUNCIL])).json()["message_id"]
    items = await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 1)
    delivery_id = items[0]["delivery_id"]

    assert (await world.get(HOUSING, f"/v1/inbox/{delivery_id}")).status_code == 404
    assert (await world.post(HOUSING, f"/v1/inbox/{delivery_id}/ack", ACK)).status_code == 404
    assert (await world.get(HOUSING, f"/v1/events/{message_id}")).status_code == 404
    assert (await world.get(COUNCIL, f"/v1/events/{message_id}")).status_code == 404
    assert (await world.get(HOUSING, f"/v1/audit/messages/{message_id}")).status_code == 404

"""Non-delivery reports: a routine event left unacknowledged comes back to its sender's inbox
as a report naming the recipient and the deadline, and never any clinical data."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from broker.audit.log import AuditEvent
from broker.runtime import Runtime
from tests.integration.deadlines import (
    ACK,
    SECOND,
    audit_of,
    delivered,
    escalations_of,
    instant,
    pass_at,
    pipeline_without_monitor,
)
from tests.world import COUNCIL, NHS_NUMBER, TRUST, World, risk_event


@pytest.fixture
async def delivering(runtime: Runtime) -> AsyncIterator[None]:
    async with pipeline_without_monitor(runtime):
        yield


def _routine_event() -> dict[str, Any]:
    """The default policy: risk.changed to a level below high is routine, reported to its sender."""
    event = risk_event(recipients=[COUNCIL], urgency="routine")
    event["payload"] |= {"previous_level": "low", "current_level": "medium"}
    return event


async def _reports(world: World) -> list[dict[str, Any]]:
    return [i for i in await world.inbox(TRUST) if i["type"] == "report.unacknowledged"]


@pytest.mark.usefixtures("delivering")
async def test_unacknowledged_routine_event_is_reported_to_the_sender(world: World) -> None:
    event = _routine_event()
    message_id, recipients = await delivered(world, event)
    council = recipients[COUNCIL]
    breached_at = instant(council["ack_by"]) + SECOND
    await pass_at(world.rt, breached_at)

    (item,) = await _reports(world)
    fetched = await world.get(TRUST, item["links"]["self"])
    acked = await world.post(TRUST, item["links"]["ack"], ACK)

    assert (item["sender"], item["status"], item["deliver_by"], item["ack_by"]) == (
        TRUST,
        "delivered",
        None,
        None,
    )
    # Numbered as any delivery made available: the sender's first, so its system sees it.
    assert item["seq"] == 1
    [by_seq] = (await world.get(TRUST, "/v1/inbox", after_seq=0)).json()["items"]
    assert by_seq["delivery_id"] == item["delivery_id"]
    assert fetched.status_code == 200, fetched.text
    report = fetched.json()
    assert report["payload"] == {
        "original_message_id": message_id,
        "original_event_id": event["id"],
        "event_type": "risk.changed",
        "urgency": "routine",
        "recipient": COUNCIL,
        "recipient_name": "Riverside Adult Social Care",
        "breach": "acknowledgement",
        "deliver_by": council["deliver_by"],
        "ack_by": council["ack_by"],
        "status_at_breach": "delivered",
    }
    assert report["subject"] == {"nhs_number": NHS_NUMBER, "local_id": None}
    assert report["reason_for_sharing"].startswith("Non-delivery report: LA001 did not")
    assert (report["status"], acked.status_code) == ("received", 200)
    (audited,) = await audit_of(world.rt, AuditEvent.REPORT_UNACKNOWLEDGED, message_id)
    assert audited.detail["report_delivery_id"] == item["delivery_id"]
    assert await escalations_of(world.rt, message_id) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.usefixtures("delivering")
async def test_a_breach_is_reported_once_and_reports_never_breach(world: World) -> None:
    message_id, recipients = await delivered(world, _routine_event())
    breached_at = instant(recipients[COUNCIL]["ack_by"]) + SECOND

    await pass_at(world.rt, breached_at)
    await pass_at(world.rt, breached_at + timedelta(days=30))

    (report,) = await _reports(world)
    assert report["status"] == "delivered"
    assert len(await audit_of(world.rt, AuditEvent.REPORT_UNACKNOWLEDGED, message_id)) == 1
    assert await audit_of(world.rt, AuditEvent.DELIVERY_BREACHED, report["message_id"]) == []

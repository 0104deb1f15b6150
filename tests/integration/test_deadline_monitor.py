"""The deadline monitor: each breach found once, chased along the delivery's escalation route,
and the chase ended by the recipient's acknowledgement.

Time is moved by setting the runtime's clock and running one pass of the monitor; one test runs
the real worker loop against policies of a few seconds instead.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from broker.audit.log import AuditEvent
from broker.runtime import Runtime, build_runtime
from broker.timeframes.policy import Policy, Timeframe
from broker.timeframes.repository import replace_policies
from schemas.timeframes import ANY
from schemas.vocabulary import EscalationStep
from tests.integration.deadlines import (
    ACK,
    SECOND,
    audit_of,
    delivered,
    deliveries_of,
    dispatched_here,
    escalations_of,
    instant,
    pass_at,
    pipeline_without_monitor,
    routed_here,
)
from tests.world import COUNCIL, HOUSING, TRUST, World, crisis_event, eventually, risk_event

# The default policy: acknowledge a crisis within 15 minutes.
CRISIS_INTERVAL = timedelta(minutes=15)


@pytest.fixture
async def delivering(runtime: Runtime) -> AsyncIterator[None]:
    async with pipeline_without_monitor(runtime):
        yield


@pytest.mark.usefixtures("delivering")
async def test_missed_acknowledgement_expires_the_delivery_and_escalates_to_its_duty_team(
    world: World,
) -> None:
    message_id, recipients = await delivered(world, risk_event(recipients=[COUNCIL]))
    ack_by = instant(recipients[COUNCIL]["ack_by"])

    first = await pass_at(world.rt, ack_by + SECOND)
    second = await pass_at(world.rt, ack_by + 2 * SECOND)

    (council,) = (await world.get(TRUST, f"/v1/events/{message_id}")).json()["recipients"]
    (breach,) = await audit_of(world.rt, AuditEvent.DELIVERY_BREACHED, message_id)
    (escalation,) = await escalations_of(world.rt, message_id)
    assert (first.ack_breaches, second.ack_breaches) == (1, 0)
    assert (council["status"], council["breached"]) == ("expired", True)
    assert breach.detail == {
        "recipient": COUNCIL,
        "breach": "acknowledgement",
        "deadline": ack_by.isoformat(),
        "detected_at": (ack_by + SECOND).isoformat(),
        "late_seconds": 1.0,
        "event_type": "risk.changed",
        "urgency": "urgent",
        "status": "expired",
    }
    assert (escalation.agency_code, escalation.route, escalation.step, escalation.status) == (
        COUNCIL,
        "duty_team",
        0,
        "open",
    )
    metrics = world.rt.metrics.render().decode()
    assert 'imb_deadline_breaches_total{event_type="risk.changed",kind="acknowledgement"} 1.0' in (
        metrics
    )
    assert 'imb_escalations_opened_total{route="duty_team"} 1.0' in metrics


@pytest.mark.usefixtures("delivering")
async def test_crisis_goes_to_the_coordinator_after_the_interval_unless_acknowledged(
    world: World,
) -> None:
    event = crisis_event(recipients=[COUNCIL, HOUSING])
    message_id, recipients = await delivered(world, event)
    breached_at = instant(recipients[COUNCIL]["ack_by"]) + SECOND
    await pass_at(world.rt, breached_at)
    housing_id = recipients[HOUSING]["delivery_id"]

    fetched = await world.get(HOUSING, f"/v1/inbox/{housing_id}")
    acked = await world.post(HOUSING, f"/v1/inbox/{housing_id}/ack", ACK)
    await pass_at(world.rt, breached_at + CRISIS_INTERVAL + SECOND)

    assert (fetched.status_code, fetched.json()["status"]) == (200, "expired")
    assert fetched.json()["received_at"] is not None
    assert acked.status_code == 200, acked.text
    escalations = await escalations_of(world.rt, message_id)
    assert [(e.step, e.route, e.agency_code, e.status) for e in escalations] == [
        (0, "duty_team", HOUSING, "resolved"),
        (0, "duty_team", COUNCIL, "open"),
        (1, "coordinator", TRUST, "open"),
    ]
    (resolved,) = await audit_of(world.rt, AuditEvent.ESCALATION_RESOLVED, message_id)
    assert resolved.detail["reason"] == "delivery_acknowledged"
    assert str(resolved.delivery_id) == housing_id


async def test_a_new_monitor_finds_a_breach_the_first_never_saw(world: World) -> None:
    message_id = await routed_here(world, TRUST, crisis_event(recipients=[COUNCIL]))
    pending = (await deliveries_of(world.rt, message_id))[COUNCIL]
    assert pending.deliver_by is not None and pending.ack_by is not None
    restarted = build_runtime(world.rt.settings)
    try:
        late = await pass_at(restarted, pending.deliver_by + SECOND)
        await dispatched_here(restarted, [message_id])
        unacknowledged = await pass_at(restarted, pending.ack_by + SECOND)
    finally:
        await restarted.close()

    council = (await deliveries_of(world.rt, message_id))[COUNCIL]
    breaches = await audit_of(world.rt, AuditEvent.DELIVERY_BREACHED, message_id)
    escalations = await escalations_of(world.rt, message_id)
    assert (late.delivery_breaches, unacknowledged.ack_breaches) == (1, 1)
    assert [(b.detail["breach"], b.detail["status"]) for b in breaches] == [
        ("delivery", "pending"),
        ("acknowledgement", "expired"),
    ]
    assert council.delivered_at is not None, "a late delivery is still delivered"
    assert council.status == "expired"
    # The route started at the first breach; the second does not start it again.
    assert [(e.step, e.breach) for e in escalations] == [(0, "delivery")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_coordinator_step_is_skipped_when_the_coordinator_is_the_recipient(
    world: World,
) -> None:
    message_id = await routed_here(world, COUNCIL, crisis_event(recipients=[TRUST]))
    await dispatched_here(world.rt, [message_id])
    trust = (await deliveries_of(world.rt, message_id))[TRUST]
    assert trust.ack_by is not None
    breached_at = trust.ack_by + SECOND

    await pass_at(world.rt, breached_at)
    await pass_at(world.rt, breached_at + CRISIS_INTERVAL + SECOND)

    escalations = await escalations_of(world.rt, message_id)
    (skipped,) = await audit_of(world.rt, AuditEvent.ESCALATION_SKIPPED, message_id)
    assert [(e.route, e.agency_code) for e in escalations] == [("duty_team", TRUST)]
    assert skipped.detail == {
        "step": 1,
        "route": "coordinator",
        "recipient": TRUST,
        "reason": "coordinator_is_recipient",
    }
    assert (await deliveries_of(world.rt, message_id))[TRUST].next_escalation_at is None


async def test_two_monitors_at_once_escalate_each_breach_once(world: World) -> None:
    events = [crisis_event(recipients=[COUNCIL, HOUSING]) for _ in range(4)]
    message_ids = [await routed_here(world, TRUST, event) for event in events]
    await dispatched_here(world.rt, message_ids)
    deliveries = [d for m in message_ids for d in (await deliveries_of(world.rt, m)).values()]
    breached_at = max(d.ack_by for d in deliveries if d.ack_by is not None) + SECOND
    other = build_runtime(world.rt.settings)
    monitors = (world.rt, other)
    try:
        first = await asyncio.gather(*(pass_at(rt, breached_at) for rt in monitors))
        later = breached_at + CRISIS_INTERVAL + SECOND
        second = await asyncio.gather(*(pass_at(rt, later) for rt in monitors))
    finally:
        await other.close()

    breaches = [
        r.delivery_id
        for m in message_ids
        for r in await audit_of(world.rt, AuditEvent.DELIVERY_BREACHED, m)
    ]
    escalations = await escalations_of(world.rt, *message_ids)
    assert sum(c.ack_breaches for c in first) == len(deliveries) == 8
    assert sorted(map(str, breaches)) == sorted(str(d.id) for d in deliveries)
    assert sum(c.steps_run for c in (*first, *second)) == 16
    assert Counter((e.delivery_id, e.step) for e in escalations) == {
        (d.id, step): 1 for d in deliveries for step in (0, 1)
    }
    assert {e.agency_code for e in escalations if e.step == 1} == {TRUST}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.usefixtures("pipeline")
async def test_running_monitor_detects_a_breach_within_five_seconds(world: World) -> None:
    seconds = timedelta(seconds=3)
    short = Policy(ANY, ANY, None, Timeframe(seconds, seconds, (EscalationStep.DUTY_TEAM,)))
    async with world.rt.db.unit_of_work() as session:
        await replace_policies(session, [short], world.rt.clock())
        await session.commit()
    accepted = await world.publish(recipients=[COUNCIL])
    message_id = accepted.json()["message_id"]

    async def ack_breaches() -> list[dict[str, object]]:
        records = await audit_of(world.rt, AuditEvent.DELIVERY_BREACHED, message_id)
        return [r.detail for r in records if r.detail["breach"] == "acknowledgement"]

    (breach,) = await eventually(ack_breaches, bool, timeout=20)

    late = instant(str(breach["detected_at"])) - instant(str(breach["deadline"]))
    assert timedelta(0) < late <= timedelta(seconds=5)

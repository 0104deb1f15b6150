"""What an operator's dashboard reads at /metrics about deliveries, acknowledgements and
escalations, whichever process did the work."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from prometheus_client.parser import text_string_to_metric_families

from broker.db.models import Delivery, Message
from broker.escalations.service import open_escalation
from schemas.vocabulary import BreachKind, EscalationStep
from tests.integration.deadlines import deliveries_of, dispatched_here, routed_here
from tests.world import COUNCIL, HOUSING, TRUST, World, risk_event

ACK = {"outcome": "accepted", "acknowledged_by": {"name": "D. Okafor", "role": "Social worker"}}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _routed_and_available(world: World, at: datetime) -> dict[str, UUID]:
    world.rt.clock = lambda: at
    message_id = await routed_here(world, TRUST, risk_event())
    await dispatched_here(world.rt, [message_id])
    return {agency: d.id for agency, d in (await deliveries_of(world.rt, message_id)).items()}


async def test_metrics_show_deliveries_by_status_ack_latency_and_open_escalations(
    world: World,
) -> None:
    routed_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    deliveries = await _routed_and_available(world, routed_at)
    world.rt.clock = lambda: routed_at + timedelta(minutes=3)
    acked = await world.post(COUNCIL, f"/v1/inbox/{deliveries[COUNCIL]}/ack", ACK)
    async with world.rt.db.unit_of_work() as session:
        housing = await session.get(Delivery, deliveries[HOUSING])
        assert housing is not None
        message = await session.get(Message, housing.message_id)
        assert message is not None and housing.ack_by is not None
        open_escalation(
            session,
            world.rt,
            message,
            housing,
            step=0,
            route=EscalationStep.DUTY_TEAM,
            agency=HOUSING,
            breach=BreachKind.ACKNOWLEDGEMENT,
            deadline=housing.ack_by,
        )
        await session.commit()

    samples = _samples(await world.scrape_metrics())

    assert acked.status_code == 200, acked.text
    assert samples[("imb_deliveries", (("status", "acknowledged"),))] == 1
    assert samples[("imb_deliveries", (("status", "delivered"),))] == 1
    assert samples[("imb_deliveries", (("status", "failed"),))] == 0
    latency = "imb_acknowledgement_seconds_bucket"
    assert samples[(latency, (("event_type", "risk.changed"), ("le", "60.0")))] == 0
    assert samples[(latency, (("event_type", "risk.changed"), ("le", "300.0")))] == 1
    assert samples[("imb_escalations_open", (("agency", HOUSING),))] == 1

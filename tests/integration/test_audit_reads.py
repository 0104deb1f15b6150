"""Every read of a payload is on the trail: who saw which fields, and what was withheld."""

from sqlalchemy import select

from broker.db.models import AuditRecord, Message
from tests.integration.deadlines import dispatched_here, routed_here
from tests.integration.test_crisis_plans import PLANS, plan_body
from tests.world import COUNCIL, GP, HOUSING, TRUST, World, risk_event

GP_SEES = {"risk.changed": ["current_level", "previous_level", "risk_domains"]}


async def test_each_fetch_records_who_saw_which_fields(world: World) -> None:
    await world.agree([TRUST, GP], data_items=GP_SEES)
    message_id = await routed_here(world, TRUST, risk_event(recipients=[GP, COUNCIL]))
    await dispatched_here(world.rt, [message_id])
    gp_delivery = (await world.inbox(GP))[0]["delivery_id"]
    council_delivery = (await world.inbox(COUNCIL))[0]["delivery_id"]

    for _ in range(2):
        assert (await world.get(GP, f"/v1/inbox/{gp_delivery}")).status_code == 200
    assert (await world.get(COUNCIL, f"/v1/inbox/{council_delivery}")).status_code == 200

    async with world.rt.db.unit_of_work() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        records = (
            await session.scalars(
                select(AuditRecord)
                .where(AuditRecord.message_id == message_id)
                .order_by(AuditRecord.id)
            )
        ).all()
        viewed = [r for r in records if r.event == "payload.viewed"]
        received = [r for r in records if r.event == "delivery.received"]
        assert [(r.actor_agency, str(r.delivery_id)) for r in viewed] == [
            (GP, gp_delivery),
            (GP, gp_delivery),
            (COUNCIL, council_delivery),
        ]
        assert len(received) == 2  # the receipt only on the first fetch
        gp_view = viewed[0]
        assert gp_view.actor_client is not None
        assert gp_view.subject_pseudonym == message.subject_pseudonym
        assert gp_view.payload_digest == message.payload_digest
        assert gp_view.detail["recipient"] == GP
        assert gp_view.detail["fields"] == [
            "current_level",
            "previous_level",
            "risk_domains",
        ]
        assert gp_view.detail["redacted"] == [
            "actions_taken",
            "early_warning_indicators",
            "rationale",
            "review_date",
        ]
        council_view = viewed[2]
        assert council_view.detail["redacted"] == []
        assert "rationale" in council_view.detail["fields"]


async def test_a_fetch_of_someone_elses_delivery_records_nothing(world: World) -> None:
    message_id = await routed_here(world, TRUST, risk_event(recipients=[COUNCIL]))
    await dispatched_here(world.rt, [message_id])
    delivery_id = (await world.inbox(COUNCIL))[0]["delivery_id"]

    response = await world.get(GP, f"/v1/inbox/{delivery_id}")

    assert response.status_code == 404
    async with world.rt.db.unit_of_work() as session:
        events = (
            await session.scalars(
                select(AuditRecord.event).where(AuditRecord.message_id == message_id)
            )
        ).all()
    assert "payload.viewed" not in events


async def test_reading_a_crisis_plan_records_who_saw_its_content(world: World) -> None:
    created = await world.post(COUNCIL, PLANS, plan_body(partners=plan_body()["partners"][:2]))
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]

    one = await world.get(TRUST, f"{PLANS}/{plan_id}")
    listed = await world.get(COUNCIL, PLANS)
    refused = await world.get(HOUSING, f"{PLANS}/{plan_id}")

    assert (one.status_code, listed.status_code, refused.status_code) == (200, 200, 404)
    async with world.rt.db.unit_of_work() as session:
        viewed = (
            await session.scalars(
                select(AuditRecord)
                .where(AuditRecord.event == "payload.viewed")
                .order_by(AuditRecord.id)
            )
        ).all()
        assert [(r.actor_agency, r.detail["crisis_plan_id"]) for r in viewed] == [
            (TRUST, plan_id),
            (COUNCIL, plan_id),
        ]
        assert all(r.actor_client and r.subject_pseudonym for r in viewed)
        assert viewed[0].payload_digest == viewed[1].payload_digest
        assert viewed[0].detail["fields"] == [
            "communication_plan",
            "escalation_routes",
            "escalation_routes.contact",
            "escalation_routes.step",
            "triggers",
        ]
        assert "railway" not in str(viewed[0].detail)

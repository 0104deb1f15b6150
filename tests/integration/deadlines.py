"""Helpers for the deadline tests: deliveries made ready to breach, and what a breach left."""

from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select

from broker.db.models import AuditRecord, Delivery, Escalation
from broker.deadlines.monitor import Checked, check_deadlines
from broker.pipeline.dispatch import make_available
from broker.pipeline.route import route_messages
from broker.runtime import Runtime
from broker.workers.supervisor import Worker
from tests.pipelines import running_workers
from tests.world import TRUST, World, eventually

SECOND = timedelta(seconds=1)
ACK = {"outcome": "actioned", "acknowledged_by": {"name": "B. Jones", "role": "social worker"}}


def pipeline_without_monitor(rt: Runtime) -> AbstractAsyncContextManager[None]:
    """Relay, router and dispatcher, but no background monitor: each pass is the test's own."""
    return running_workers(rt, [worker for worker in Worker if worker.needs_kafka])


async def delivered(world: World, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Publish through the pipeline; the message id and the sender's view of each recipient."""
    accepted = await world.post(TRUST, "/v1/events", event)
    assert accepted.status_code == 202, accepted.text
    message_id = accepted.json()["message_id"]

    async def status() -> dict[str, Any]:
        body: dict[str, Any] = (await world.get(TRUST, f"/v1/events/{message_id}")).json()
        return body

    def all_delivered(body: dict[str, Any]) -> bool:
        recipients = body["recipients"]
        return bool(recipients) and all(r["status"] == "delivered" for r in recipients)

    body = await eventually(status, all_delivered)
    return message_id, {r["agency"]: r for r in body["recipients"]}


async def routed_here(world: World, sender: str, event: dict[str, Any]) -> UUID:
    """Accepted and routed in this process, without Kafka: its deliveries wait, pending."""
    accepted = await world.post(sender, "/v1/events", event)
    assert accepted.status_code == 202, accepted.text
    message_id = UUID(accepted.json()["message_id"])
    async with world.rt.db.unit_of_work() as session:
        await route_messages(session, world.rt, [message_id])
        await session.commit()
    return message_id


async def dispatched_here(rt: Runtime, message_ids: list[UUID]) -> None:
    async with rt.db.unit_of_work() as session:
        ids = await session.scalars(select(Delivery.id).where(Delivery.message_id.in_(message_ids)))
        await make_available(session, rt, list(ids))
        await session.commit()


async def deliveries_of(rt: Runtime, message_id: UUID | str) -> dict[str, Delivery]:
    async with rt.db.unit_of_work() as session:
        wanted = select(Delivery).where(Delivery.message_id == UUID(str(message_id)))
        rows = {d.recipient_agency: d for d in await session.scalars(wanted)}
        session.expunge_all()  # kept as read: the unit of work's rollback would expire them
        return rows


async def pass_at(rt: Runtime, moment: datetime) -> Checked:
    """One pass of the monitor with the runtime's clock at `moment`."""
    rt.clock = lambda: moment
    return await check_deadlines(rt)


async def audit_of(rt: Runtime, event: str, message_id: UUID | str) -> list[AuditRecord]:
    async with rt.db.unit_of_work() as session:
        statement = (
            select(AuditRecord)
            .where(AuditRecord.event == event, AuditRecord.message_id == UUID(str(message_id)))
            .order_by(AuditRecord.id)
        )
        records = list((await session.scalars(statement)).all())
        session.expunge_all()
        return records


async def escalations_of(rt: Runtime, *message_ids: UUID | str) -> list[Escalation]:
    async with rt.db.unit_of_work() as session:
        statement = (
            select(Escalation)
            .where(Escalation.message_id.in_([UUID(str(m)) for m in message_ids]))
            .order_by(Escalation.step, Escalation.agency_code, Escalation.delivery_id)
        )
        escalations = list((await session.scalars(statement)).all())
        session.expunge_all()
        return escalations


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)

"""The state gauges of /metrics, read from the database (the system of record)."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.models import Delivery, Escalation
from broker.metrics import Metrics
from schemas.vocabulary import DeliveryStatus, EscalationStatus


async def refresh_state_gauges(session: AsyncSession, metrics: Metrics) -> None:
    by_status = dict(
        (await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)))
        .tuples()
        .all()
    )
    for status in DeliveryStatus:
        metrics.deliveries.labels(status.value).set(by_status.get(status.value, 0))
    open_by_agency = (
        await session.execute(
            select(Escalation.agency_code, func.count())
            .where(Escalation.status == EscalationStatus.OPEN.value)
            .group_by(Escalation.agency_code)
        )
    ).tuples()
    # Agencies whose queue emptied must read 0, not keep their last count.
    metrics.escalations_open.clear()
    for agency, count in open_by_agency:
        metrics.escalations_open.labels(agency).set(count)

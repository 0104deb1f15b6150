"""Running the pipeline for the demo: the workers `imb serve` runs, until the demo's events are
routed and delivered and the deadline monitor has escalated the one left unacknowledged.

The escalation happens in real time. The partnership's timeframe policy is tightened for one
row (an emergency risk change to very high) to seconds while that one event is routed, then
put back as it was: the delivery keeps the short deadline it was given, like any delivery
routed before a policy change, and nothing else is affected. Both changes are audited.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from broker.audit.log import Actor
from broker.escalations.views import escalations_for
from broker.messages.views import message_status
from broker.runtime import Runtime
from broker.serve import kafka_for, prepare
from broker.timeframes.service import replace_timeframes, timeframes_view
from broker.workers.supervisor import Worker, start_workers, stop_workers
from schemas.escalations import EscalationView
from schemas.timeframes import TimeframesBody
from schemas.vocabulary import DeliveryStatus, EscalationStatus

WAIT_SECONDS = 45.0
POLL_SECONDS = 0.1
T = TypeVar("T")
SHORT_DEADLINE_ROW = {
    "event_type": "risk.changed",
    "urgency": "emergency",
    "risk_level": "very_high",
    "deliver_within": "PT2S",
    "ack_within": "PT3S",
    "escalation": ["duty_team", "coordinator"],
    "escalation_interval": "PT1H",
}


class PipelineStalled(RuntimeError):
    pass


@asynccontextmanager
async def running_pipeline(rt: Runtime) -> AsyncIterator[None]:
    """Every worker, against the configured Kafka or an embedded one for the demo's life."""
    async with kafka_for(rt.settings) as bootstrap:
        await prepare(rt, bootstrap)
        stop = asyncio.Event()
        tasks = start_workers(rt, bootstrap, list(Worker), stop)
        try:
            yield
        finally:
            await stop_workers(tasks, stop)


async def until(what: str, look: Callable[[], Awaitable[T | None]]) -> T:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if (found := await look()) is not None:
            return found
        await asyncio.sleep(POLL_SECONDS)
    raise PipelineStalled(f"{what} did not happen within {WAIT_SECONDS:.0f} s")


async def routed(rt: Runtime, sender: str, message_id: Any) -> dict[str, Any]:
    """The sender's view of the message once every recipient's delivery is decided and, where
    permitted, made available in the recipient's inbox."""

    async def look() -> dict[str, Any] | None:
        async with rt.db.unit_of_work() as session:
            status = await message_status(session, sender, message_id, rt.clock())
        recipients = status["recipients"]
        settled = all(r["status"] != DeliveryStatus.PENDING for r in recipients)
        return status if status["routed_at"] and recipients and settled else None

    return await until(f"routing of message {message_id}", look)


@asynccontextmanager
async def short_deadline_policy(rt: Runtime, actor: Actor) -> AsyncIterator[None]:
    """The policy with SHORT_DEADLINE_ROW in place of its row of that key, for the block."""
    async with rt.db.unit_of_work() as session:
        view = await timeframes_view(session)
    before = TimeframesBody.model_validate({"policies": view["policies"]})
    key = ("risk.changed", "emergency", "very_high")
    rows = [
        row.model_dump(mode="json")
        for row in before.policies
        if (row.event_type, row.urgency, row.risk_level) != key
    ]
    await _replace(
        rt, actor, TimeframesBody.model_validate({"policies": [SHORT_DEADLINE_ROW, *rows]})
    )
    try:
        yield
    finally:
        await _replace(rt, actor, before)


async def _replace(rt: Runtime, actor: Actor, body: TimeframesBody) -> None:
    async with rt.db.unit_of_work() as session:
        await replace_timeframes(session, rt, actor, body)
        await session.commit()


async def escalated(rt: Runtime, agency: str, delivery_id: str) -> EscalationView:
    """The duty team's open escalation of the delivery, once the deadline monitor opens it."""

    async def look() -> EscalationView | None:
        async with rt.db.unit_of_work() as session:
            views = await escalations_for(session, agency, EscalationStatus.OPEN, rt.clock())
        return next((v for v in views if str(v.delivery.delivery_id) == delivery_id), None)

    return await until(f"escalation of delivery {delivery_id}", look)

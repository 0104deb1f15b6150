"""EscalateBreach: run a breached delivery's escalation route, one step at a time.

Step 0 runs when the delivery first breaches; each later step when the one before has waited
its interval and the delivery is still unacknowledged (acknowledging it clears the schedule).
A step that has nobody to go to is recorded and the route goes straight on to the next.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import BROKER, AuditEvent, append_about_delivery
from broker.db.models import Delivery, Message
from broker.deadlines.repository import claim_step, coordinator_of
from broker.deadlines.route import Breach, Route, progress_of
from broker.escalations.service import open_escalation
from broker.logs import after_commit, get_logger
from broker.reports.non_delivery import report_non_delivery
from broker.runtime import Runtime
from schemas.vocabulary import EscalationStep

log = get_logger(__name__)


def route_started(delivery: Delivery) -> bool:
    return delivery.escalation_step > 0


async def run_next_step(
    session: AsyncSession,
    rt: Runtime,
    delivery: Delivery,
    message: Message,
    breach: Breach,
    now: datetime,
) -> int:
    """Claim and run the route's next step, and any skipped after it; how many ran."""
    route = Route.of(delivery.timeframe)
    ran = 0
    while (step := route.step(delivery.escalation_step)) is not None:
        index = delivery.escalation_step
        if not await claim_step(session, delivery, index, route.next_due(index + 1, now)):
            break
        ran += 1
        if await _run(session, rt, delivery, message, breach, index, step):
            break
    if route.step(delivery.escalation_step) is None and delivery.next_escalation_at is not None:
        delivery.next_escalation_at = None  # nothing left to run: out of the due-steps scan
    return ran


async def _run(
    session: AsyncSession,
    rt: Runtime,
    delivery: Delivery,
    message: Message,
    breach: Breach,
    index: int,
    step: EscalationStep,
) -> bool:
    """One step; False when it had nobody to go to."""
    agency: str | None = None
    if step is EscalationStep.SENDER_REPORT:
        progress = progress_of(delivery)
        await report_non_delivery(session, rt, message, delivery, breach.kind, progress)
    else:
        agency, nobody_because = await _duty_agency(session, delivery, message, step)
        if agency is None:
            _record_skipped(session, rt, delivery, message, (index, step), nobody_because)
            return False
        open_escalation(
            session,
            rt,
            message,
            delivery,
            step=index,
            route=step,
            agency=agency,
            breach=breach.kind,
            deadline=breach.deadline,
        )
    rt.metrics.escalations_opened.labels(step.value).inc()
    after_commit(
        session,
        log,
        "delivery.escalated",
        message_id=str(message.id),
        delivery_id=str(delivery.id),
        recipient=delivery.recipient_agency,
        step=index,
        route=step.value,
        to_agency=message.sender_agency if step is EscalationStep.SENDER_REPORT else agency,
    )
    return True


async def _duty_agency(
    session: AsyncSession, delivery: Delivery, message: Message, step: EscalationStep
) -> tuple[str | None, str]:
    """Whose duty team the step goes to, or why it goes to nobody."""
    if step is EscalationStep.DUTY_TEAM:
        return delivery.recipient_agency, ""
    coordinator = await coordinator_of(session, message.subject_pseudonym)
    if coordinator is None:
        return None, "no_coordinator"
    if coordinator == delivery.recipient_agency:
        # Its duty team is the recipient's own, which the route's duty_team step is for.
        return None, "coordinator_is_recipient"
    return coordinator, ""


def _record_skipped(
    session: AsyncSession,
    rt: Runtime,
    delivery: Delivery,
    message: Message,
    step: tuple[int, EscalationStep],
    reason: str,
) -> None:
    index, route = step
    append_about_delivery(
        session,
        AuditEvent.ESCALATION_SKIPPED,
        BROKER,
        rt.clock(),
        message,
        delivery.id,
        detail={
            "step": index,
            "route": route.value,
            "recipient": delivery.recipient_agency,
            "reason": reason,
        },
    )

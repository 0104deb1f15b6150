"""NotifyEscalations: e-mail (and webhook) each open escalation to its agency's duty team.

One pass claims each due escalation in a short transaction of its own, sends outside any
transaction (a mail server's round trip must not hold a database lock), then records the
outcome and its audit record. A failed channel is retried with a growing pause, up to
`settings.smtp.max_attempts`; a channel that took the notice is not sent it again.
"""

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import BROKER, AuditEvent, append
from broker.db.models import Agency, DutyTeam, Escalation, Message
from broker.escalations.repository import escalation_row
from broker.escalations.views import late_by
from broker.notify.channels import WEBHOOK_TIMEOUT_SECONDS, ChannelFailed, post_webhook, send_email
from broker.notify.notice import Notice, retry_after
from broker.notify.repository import (
    NO_DUTY_TEAM,
    Due,
    claim,
    due_for_notice,
    mark_no_duty_team,
)
from broker.runtime import Runtime

log = logging.getLogger(__name__)
BATCH = 50
EMAIL, WEBHOOK = "email", "webhook"


@dataclass(frozen=True)
class Attempt:
    """One claimed escalation, with the notice and where it still has to go."""

    escalation_id: UUID
    subject: str  # the pseudonym, for the audit record
    number: int
    notice: Notice
    email_to: str | None
    webhook_url: str | None


async def notify_due(rt: Runtime) -> int:
    """One pass over the escalations due a notice; how many it looked at."""
    smtp = rt.settings.smtp
    async with rt.db.unit_of_work() as session:
        due = await due_for_notice(
            session,
            rt.clock(),
            max_attempts=smtp.max_attempts,
            email=smtp.host is not None,
            limit=BATCH,
        )
    for item in due:
        if item.has_duty_team:
            attempt = await _claim(rt, item)
            if attempt is not None:
                await _record(rt, attempt, await _send(rt, attempt))
        else:
            await _report_no_duty_team(rt, item)
    return len(due)


def lease(rt: Runtime) -> timedelta:
    """Longer than any send can take, since each channel is cut off at its budget."""
    return timedelta(seconds=_email_budget(rt) + 2 * WEBHOOK_TIMEOUT_SECONDS + 30)


def _email_budget(rt: Runtime) -> float:
    # The SMTP timeout is per step (connect, STARTTLS, login, the message); a whole send
    # gets four of them.
    return 4 * rt.settings.smtp.timeout_seconds


async def _claim(rt: Runtime, due: Due) -> Attempt | None:
    async with rt.db.unit_of_work() as session:
        now = rt.clock()
        if not await claim(session, due, now + lease(rt)):
            return None
        row = await escalation_row(session, due.id)
        assert row is not None
        escalation, delivery, message = row
        team = await session.get(DutyTeam, escalation.agency_code)
        recipient = await session.get(Agency, delivery.recipient_agency)
        assert team is not None
        assert recipient is not None
        await session.commit()
    done = set(escalation.notified_via or ())
    notice = _notice(rt, escalation, message, recipient, now)
    email = rt.settings.smtp.host is not None and EMAIL not in done
    webhook = team.webhook_url if WEBHOOK not in done else None
    return Attempt(
        escalation_id=escalation.id,
        subject=message.subject_pseudonym,
        number=due.attempts + 1,
        notice=notice,
        email_to=team.email if email else None,
        webhook_url=webhook,
    )


def _notice(
    rt: Runtime, escalation: Escalation, message: Message, recipient: Agency, now: datetime
) -> Notice:
    return Notice(
        escalation_id=escalation.id,
        reference=escalation.reference,
        event_type=message.type,
        urgency=message.urgency,
        recipient_agency=recipient.code,
        recipient_name=recipient.name,
        breach=escalation.breach,
        route=escalation.route,
        deadline=escalation.deadline,
        late_by=late_by(escalation.deadline, now),
        console_url=f"{rt.settings.public_base_url.rstrip('/')}/duty",
    )


class Notifiable(Protocol):
    """A notice a duty team is sent: by e-mail, and to its webhook."""

    def email(self, sender: str, to: str, sent_at: datetime) -> EmailMessage: ...

    def webhook_body(self) -> dict[str, Any]: ...


async def _send(rt: Runtime, attempt: Attempt) -> dict[str, str | None]:
    return await send_notice(rt, attempt.notice, attempt.email_to, attempt.webhook_url)


async def send_notice(
    rt: Runtime, notice: Notifiable, email_to: str | None, webhook_url: str | None
) -> dict[str, str | None]:
    """Each channel still owed the notice → None if it took it, else why not."""
    outcome: dict[str, str | None] = {}
    if email_to is not None:
        smtp = rt.settings.smtp
        message = notice.email(smtp.from_address, email_to, rt.clock())
        outcome[EMAIL] = await _try(send_email(smtp, message, email_to), _email_budget(rt))
    if webhook_url is not None:
        budget = 2 * WEBHOOK_TIMEOUT_SECONDS
        outcome[WEBHOOK] = await _try(post_webhook(webhook_url, notice.webhook_body()), budget)
    return outcome


async def _try(sending: Coroutine[Any, Any, None], budget: float) -> str | None:
    try:
        async with asyncio.timeout(budget):
            await sending
    except ChannelFailed as exc:
        return str(exc)[:200]
    except TimeoutError:
        return "timed out"
    except Exception as exc:
        # One channel's unforeseen failure is that notice's failure, retried like any other,
        # not the end of the notifier for every other duty team.
        log.exception("duty team notice: unexpected failure")
        return type(exc).__name__
    return None


async def _record(rt: Runtime, attempt: Attempt, outcome: dict[str, str | None]) -> None:
    sent = [channel for channel, error in outcome.items() if error is None]
    failed = {channel: error for channel, error in outcome.items() if error is not None}
    async with rt.db.unit_of_work() as session:
        now = rt.clock()
        item = await session.get(Escalation, attempt.escalation_id, with_for_update=True)
        assert item is not None
        item.notified_via = sorted({*(item.notified_via or ()), *sent})
        if failed:
            item.notify_error = "; ".join(f"{c}: {e}" for c, e in failed.items())[:500]
            item.next_notify_at = now + retry_after(attempt.number)
        else:
            item.notified_at, item.notify_error, item.next_notify_at = now, None, None
        detail = {**_detail(item), "attempt": attempt.number}
        if sent:
            to = {"email": attempt.email_to} if EMAIL in sent else {}
            notified = {**detail, "channels": sent, **to}
            _audit(session, AuditEvent.ESCALATION_NOTIFIED, item, attempt.subject, now, notified)
        if failed:
            retrying = attempt.number < rt.settings.smtp.max_attempts
            failure = {**detail, "errors": failed, "will_retry": retrying}
            _audit(
                session, AuditEvent.ESCALATION_NOTIFY_FAILED, item, attempt.subject, now, failure
            )
            log.warning("escalation %s: notice failed (%s)", item.reference, item.notify_error)
        await session.commit()


async def _report_no_duty_team(rt: Runtime, due: Due) -> None:
    """Once per escalation: its agency has nowhere to send a notice to."""
    async with rt.db.unit_of_work() as session:
        if not await mark_no_duty_team(session, due):
            return
        row = await escalation_row(session, due.id)
        assert row is not None
        item, _, message = row
        detail = {**_detail(item), "reason": NO_DUTY_TEAM, "will_retry": False}
        now = rt.clock()
        failed = AuditEvent.ESCALATION_NOTIFY_FAILED
        _audit(session, failed, item, message.subject_pseudonym, now, detail)
        await session.commit()
    log.warning("escalation %s: agency %s has no duty team", item.reference, item.agency_code)


def _detail(item: Escalation) -> dict[str, Any]:
    return {"escalation_id": str(item.id), "reference": item.reference, "agency": item.agency_code}


def _audit(
    session: AsyncSession,
    event: AuditEvent,
    item: Escalation,
    subject: str,
    at: datetime,
    detail: dict[str, Any],
) -> None:
    append(
        session,
        event,
        BROKER,
        at,
        message_id=item.message_id,
        delivery_id=item.delivery_id,
        subject=subject,
        detail=detail,
    )

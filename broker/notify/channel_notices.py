"""Telling an agency's duty team that IMB turned its delivery channel off (its receiver
answered 410 Gone): by e-mail and the duty team's webhook, as escalations are, and on the duty
console until the channel is set again.

Claimed by moving `duty_notice_due_at` past the send's lease, as escalation notices are, so
that two notifiers never send the same notice and a crashed one's is sent again; sent as they
are (`send_notice`), and retried after each failure with their backoff, up to
`smtp.max_attempts`. Like every notice, no personal information.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from textwrap import fill
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.log import BROKER, AuditEvent, append
from broker.db.models import Agency, DeliveryChannel, DutyTeam
from broker.notify.notice import machine_email, retry_after
from broker.notify.service import lease, send_notice
from broker.runtime import Runtime

log = logging.getLogger(__name__)
BATCH = 20


@dataclass(frozen=True)
class ChannelNotice:
    agency: str
    agency_name: str
    kind: str
    reason: str
    disabled_at: datetime
    console_url: str

    @property
    def subject_line(self) -> str:
        return f"IMB: deliveries to {self.agency_name} are no longer pushed ({self.reason})"

    def email(self, sender: str, to: str, sent_at: datetime) -> EmailMessage:
        return machine_email(sender, to, self.subject_line, self.email_text(), sent_at)

    def email_text(self) -> str:
        summary = (
            f"IMB turned off the {self.kind} channel of {self.agency_name} ({self.agency}) at"
            f" {self.disabled_at.isoformat()}: {self.reason}. Nothing more is pushed to your"
            " record system until the channel is set again; every delivery is still in the"
            " agency's inbox, and deadlines still run, so read the inbox meanwhile."
        )
        return (
            f"{fill(summary, 72)}\n\n"
            "To resume, set the channel again (PUT /v1/agencies/{code}/channel, or"
            " imb agency channel), then re-drive what was withdrawn (GET /v1/dead-letters).\n\n"
            f"Duty console:\n{self.console_url}\n"
        )

    def webhook_body(self) -> dict[str, Any]:
        return {
            "type": "channel.disabled",
            "agency": self.agency,
            "kind": self.kind,
            "reason": self.reason,
            "disabled_at": self.disabled_at.isoformat(),
            "console_url": self.console_url,
        }


@dataclass(frozen=True)
class Claimed:
    notice: ChannelNotice
    attempt: int
    email_to: str | None
    webhook_url: str | None


async def tell_duty_teams(rt: Runtime) -> int:
    """One pass: each channel whose duty team is due a notice; how many it looked at."""
    async with rt.db.unit_of_work() as session:
        due = list(
            await session.scalars(
                select(DeliveryChannel.agency_code)
                .where(DeliveryChannel.duty_notice_due_at <= rt.clock())
                .limit(BATCH)
            )
        )
    for agency in due:
        claimed = await _claim(rt, agency)
        if claimed is not None:
            sent = await send_notice(rt, claimed.notice, claimed.email_to, claimed.webhook_url)
            await _record(rt, claimed, sent)
    return len(due)


async def _claim(rt: Runtime, agency: str) -> Claimed | None:
    async with rt.db.unit_of_work() as session:
        now = rt.clock()
        channel = await session.get(DeliveryChannel, agency, with_for_update=True)
        if (
            channel is None
            or channel.duty_notice_due_at is None
            or channel.duty_notice_due_at > now
        ):
            return None  # another notifier has it, or the channel was set again
        team = await session.get(DutyTeam, agency)
        named = await session.get(Agency, agency)
        email = team.email if team is not None and rt.settings.smtp.host is not None else None
        webhook = team.webhook_url if team is not None else None
        if email is None and webhook is None:
            # Nowhere to send it: the duty console still shows it.
            channel.duty_notice_due_at = None
            _audit(session, AuditEvent.CHANNEL_NOTIFY_FAILED, agency, now, {"reason": "nowhere"})
            await session.commit()
            return None
        channel.duty_notice_due_at = now + lease(rt)
        channel.duty_notice_attempts += 1
        notice = ChannelNotice(
            agency=agency,
            agency_name=named.name if named is not None else agency,
            kind=channel.kind,
            reason=channel.disabled_reason or "turned off",
            disabled_at=channel.disabled_at or now,
            console_url=f"{rt.settings.public_base_url.rstrip('/')}/duty",
        )
        claimed = Claimed(notice, channel.duty_notice_attempts, email, webhook)
        await session.commit()
    return claimed


async def _record(rt: Runtime, claimed: Claimed, outcome: dict[str, str | None]) -> None:
    sent = sorted(channel for channel, error in outcome.items() if error is None)
    failed = {channel: error for channel, error in outcome.items() if error is not None}
    async with rt.db.unit_of_work() as session:
        now = rt.clock()
        agency = claimed.notice.agency
        retrying = bool(failed) and claimed.attempt < rt.settings.smtp.max_attempts
        await session.execute(
            update(DeliveryChannel)
            .where(DeliveryChannel.agency_code == agency, DeliveryChannel.enabled.is_(False))
            .values(duty_notice_due_at=now + retry_after(claimed.attempt) if retrying else None)
        )
        if sent:
            _audit(session, AuditEvent.CHANNEL_DUTY_TEAM_TOLD, agency, now, {"channels": sent})
        if failed:
            detail = {"errors": failed, "attempt": claimed.attempt, "will_retry": retrying}
            _audit(session, AuditEvent.CHANNEL_NOTIFY_FAILED, agency, now, detail)
            log.warning("channel notice to %s's duty team failed: %s", agency, failed)
        await session.commit()


def _audit(
    session: AsyncSession, event: AuditEvent, agency: str, at: datetime, detail: dict[str, Any]
) -> None:
    append(session, event, BROKER, at, detail={"agency": agency, **detail})

"""What an escalation notice says, by e-mail and by webhook. Pure: no I/O.

Only what identifies the escalation and how urgent it is: its reference, the event type and
urgency, the recipient agency, which deadline was missed and by how much, and where to act.
Never the NHS number, the payload or the reason for sharing: an e-mail leaves the broker's
control, and a shared mailbox is read by people who may not be entitled to the content.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from textwrap import fill
from typing import Any
from uuid import UUID

from broker.timeframes.policy import iso_duration
from broker.timeframes.spoken import spoken
from schemas.vocabulary import BreachKind, EscalationStep

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
_MISSED = {BreachKind.DELIVERY.value: "delivered", BreachKind.ACKNOWLEDGEMENT.value: "acknowledged"}


@dataclass(frozen=True)
class Notice:
    escalation_id: UUID
    reference: str
    event_type: str
    urgency: str
    recipient_agency: str
    recipient_name: str
    breach: str
    route: str
    deadline: datetime
    late_by: timedelta
    console_url: str

    @property
    def subject_line(self) -> str:
        return (
            f"IMB escalation {self.reference}: {self.urgency} {self.event_type}"
            f" not {_MISSED[self.breach]}, {spoken(self.late_by)} late"
        )

    def email(self, sender: str, to: str, sent_at: datetime) -> EmailMessage:
        return machine_email(sender, to, self.subject_line, self.email_text(), sent_at)

    def email_text(self) -> str:
        coordinator = self.route == EscalationStep.COORDINATOR.value
        to_whom = "to your agency as the care coordinator" if coordinator else "to your duty team"
        summary = (
            f"A {self.event_type} event ({self.urgency}) sent to {self.recipient_name} was not"
            f" {_MISSED[self.breach]} by its deadline, and has been escalated {to_whom}."
        )
        footer = (
            "This notice holds no personal or clinical information; the event itself is in"
            " the recipient agency's record system."
        )
        return (
            f"{fill(summary, 72)}\n\n"
            f"Reference:         {self.reference}\n"
            f"Event type:        {self.event_type}\n"
            f"Urgency:           {self.urgency}\n"
            f"Recipient agency:  {self.recipient_agency} ({self.recipient_name})\n"
            f"Missed deadline:   {self.breach}, {self.deadline.isoformat()}\n"
            f"Late by:           {spoken(self.late_by)} ({iso_duration(self.late_by)})"
            " when this notice was sent\n\n"
            f"See it and record what you did in the duty console:\n{self.console_url}\n\n"
            f"{fill(footer, 72)}\n"
        )

    def webhook_body(self) -> dict[str, Any]:
        return {
            "type": "escalation.opened",
            "escalation_id": str(self.escalation_id),
            "reference": self.reference,
            "event_type": self.event_type,
            "urgency": self.urgency,
            "recipient_agency": self.recipient_agency,
            "recipient_name": self.recipient_name,
            "breach": self.breach,
            "route": self.route,
            "deadline": self.deadline.isoformat(),
            "late_by": iso_duration(self.late_by),
            "console_url": self.console_url,
        }


def machine_email(sender: str, to: str, subject: str, text: str, sent_at: datetime) -> EmailMessage:
    """A notice by e-mail, as IMB sends every one."""
    message = EmailMessage()
    message["From"], message["To"] = sender, to
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "imb")
    # RFC 3834: out-of-office replies must not answer a machine's notice.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    return message


def retry_after(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failure: 1, 2, 4, 8 … minutes, at most an hour, so that
    a mail server's short outage is ridden out without hammering it."""
    doublings = min(max(attempts - 1, 0), 6)
    return min(FIRST_RETRY * (1 << doublings), LONGEST_RETRY)

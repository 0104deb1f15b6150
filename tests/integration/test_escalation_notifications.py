"""Escalations e-mailed (and posted to a webhook) to duty teams, with nothing personal in them.

A real SMTP server (aiosmtpd) and a real HTTP receiver listen on loopback; the notifier's
passes are run by the tests, with the runtime's clock moved where a retry must wait.
"""

import asyncio
import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from broker.db.models import AuditRecord
from broker.notify.service import notify_due
from broker.settings import SmtpSettings
from tests.integration.escalation_records import (
    LOCAL_ID,
    RATIONALE,
    REASON,
    Opened,
    escalate,
    routed,
    stop_the_clock,
)
from tests.world import COUNCIL, HOUSING, NHS_NUMBER, World, eventually

DUTY_MAILBOX = "ooh.duty@riverside.gov.uk"
CONSOLE = "https://imb.riverside.example/duty"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Mailbox:
    """An aiosmtpd handler that keeps every message it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[list[dict[str, Any]], str]]:
    received: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield received, f"http://127.0.0.1:{server.server_port}/hooks/imb?token=s3cret"
    server.shutdown()
    server.server_close()


def mail_to(world: World, port: int) -> None:
    world.rt.settings.smtp = SmtpSettings(
        host="127.0.0.1", port=port, security="none", from_address="imb@riverside.example"
    )
    world.rt.settings.public_base_url = "https://imb.riverside.example/"


async def council_escalation(world: World, **team: Any) -> Opened:
    body = {"name": "Adult social care out-of-hours team", "email": DUTY_MAILBOX, **team}
    assert (await world.put("admin", f"/v1/agencies/{COUNCIL}/duty-team", body)).is_success
    message_id = await routed(world, [COUNCIL, HOUSING])
    stop_the_clock(world)
    return await escalate(world, message_id, COUNCIL, late=timedelta(minutes=12))


async def audited(world: World, event: str) -> list[dict[str, Any]]:
    statement = select(AuditRecord.detail).where(AuditRecord.event == event)
    async with world.rt.db.unit_of_work() as session:
        return list((await session.scalars(statement.order_by(AuditRecord.id))).all())


def assert_nothing_personal(text: str) -> None:
    for secret in (NHS_NUMBER, RATIONALE, REASON, LOCAL_ID, "A. Patel", "B. Jones"):
        assert secret not in text


async def test_escalation_is_emailed_once_to_the_duty_team_without_personal_data(
    world: World, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    item = await council_escalation(world)
    mail_to(world, port)

    # Two notifiers at once: the duty team still gets one e-mail.
    await asyncio.gather(notify_due(world.rt), notify_due(world.rt))
    await notify_due(world.rt)

    ((recipients, raw),) = mailbox.received
    assert recipients == [DUTY_MAILBOX]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = message.get_body()
    assert text is not None
    body = text.get_content()
    assert item.reference in message["Subject"]
    assert "risk.changed" in body and "urgent" in body
    assert "12 min" in body and "PT12M" in body
    assert CONSOLE in body
    assert_nothing_personal(raw.decode() + body)
    (notified,) = await audited(world, "escalation.notified")
    assert (notified["reference"], notified["channels"]) == (item.reference, ["email"])
    view = (await world.get(COUNCIL, f"/v1/escalations/{item.id}")).json()
    assert view["notified_at"] is not None


@sqlite_only
async def test_a_failed_email_is_retried_after_a_pause(
    world: World, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    item = await council_escalation(world)
    mail_to(world, free_port())  # nothing listens there

    await notify_due(world.rt)
    mail_to(world, port)
    await notify_due(world.rt)  # too soon: the retry waits
    nothing_yet = list(mailbox.received)
    failed_at = world.rt.clock()
    world.rt.clock = lambda: failed_at + timedelta(minutes=1)
    await notify_due(world.rt)

    assert nothing_yet == []
    assert len(mailbox.received) == 1
    (failure,) = await audited(world, "escalation.notify_failed")
    assert (failure["reference"], failure["attempt"], failure["will_retry"]) == (
        item.reference,
        1,
        True,
    )
    assert "email" in failure["errors"]
    (notified,) = await audited(world, "escalation.notified")
    assert notified["attempt"] == 2


@sqlite_only
async def test_webhook_gets_the_notice_even_without_email_configured(
    world: World, webhook_receiver: tuple[list[dict[str, Any]], str]
) -> None:
    received, url = webhook_receiver
    item = await council_escalation(world, webhook_url=url)

    await notify_due(world.rt)

    (notice,) = received
    assert notice["reference"] == item.reference
    assert (notice["event_type"], notice["urgency"], notice["late_by"]) == (
        "risk.changed",
        "urgent",
        "PT12M",
    )
    assert notice["recipient_agency"] == COUNCIL
    assert_nothing_personal(json.dumps(notice))
    (notified,) = await audited(world, "escalation.notified")
    assert notified["channels"] == ["webhook"]
    assert "s3cret" not in json.dumps(notified)


@sqlite_only
async def test_an_agency_without_a_duty_team_is_reported_once(
    world: World, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    message_id = await routed(world, [HOUSING])
    stop_the_clock(world)
    item = await escalate(world, message_id, HOUSING, late=timedelta(minutes=2))

    await notify_due(world.rt)  # no mail server set up: nothing to say yet
    quiet = await audited(world, "escalation.notify_failed")
    mail_to(world, port)
    await notify_due(world.rt)
    await notify_due(world.rt)

    assert quiet == []
    (failure,) = await audited(world, "escalation.notify_failed")
    assert (failure["reference"], failure["reason"]) == (item.reference, "no duty team")
    assert mailbox.received == []


@sqlite_only
@pytest.mark.usefixtures("pipeline")
async def test_the_notifier_worker_emails_a_new_escalation(
    world: World, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    mail_to(world, port)

    item = await council_escalation(world)

    await eventually(lambda: asyncio.sleep(0, mailbox.received), bool)
    ((_, raw),) = mailbox.received
    assert item.reference in raw.decode()

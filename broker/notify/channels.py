"""The two ways a notice goes out: SMTP to the duty team's mailbox, and an HTTP POST to its
webhook. Each failure becomes a ChannelFailed whose text is safe to store and log."""

from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from broker.settings import SmtpSettings

WEBHOOK_TIMEOUT_SECONDS = 10.0


class ChannelFailed(Exception):
    """The channel did not take the notice. The text names no secret and no webhook URL."""


async def send_email(smtp: SmtpSettings, message: EmailMessage, to: str) -> None:
    assert smtp.host is not None
    password = smtp.password.get_secret_value() if smtp.password else None
    try:
        await aiosmtplib.send(
            message,
            sender=smtp.from_address,
            # Given explicitly, so no header can add a recipient.
            recipients=[to],
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=password,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",
            timeout=smtp.timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise ChannelFailed(f"{type(exc).__name__}: {exc}") from exc


async def post_webhook(url: str, body: dict[str, Any]) -> None:
    try:
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
            response = await client.post(url, json=body, headers={"User-Agent": "imb-notifier"})
    except httpx.HTTPError as exc:
        # Not str(exc): it can quote the URL, and webhook URLs often carry an access token.
        raise ChannelFailed(type(exc).__name__) from exc
    if not response.is_success:
        raise ChannelFailed(f"HTTP {response.status_code}")

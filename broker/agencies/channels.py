"""SetChannel, RotateChannelSecret and reading an agency's delivery channel.

Who may: an administrator for any agency; an agency's own `channels:manage` client for its
own. Everyone else is told the channel does not exist (404), as for any other agency's record.
"""

import base64
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from broker.addresses import is_loopback, is_never_a_receiver, origin_of
from broker.audit.log import Actor, AuditEvent, append
from broker.crypto.envelope import Sealed, open_sealed, seal
from broker.db.models import Agency, DeliveryChannel
from broker.db.upsert import insert_if_absent
from broker.deliveries.formats import refuse_unknown_format
from broker.errors import FieldError, InvalidInput, NotFound
from broker.runtime import Runtime
from schemas.channels import IMB_FORMAT, ChannelBody, ChannelKind, ChannelView

# Standard Webhooks: the secret's bytes, base64, after this prefix.
SECRET_PREFIX = "whsec_"  # noqa: S105 (a format, not a secret)
SECRET_BYTES = 32
# After a rotation the old secret signs too, so a receiver can switch at its own pace.
OLD_SECRET_VALID_FOR = timedelta(hours=24)
MAX_URL = 2000  # the column's width


def may_see_channel(visible_agency: str | None, agency: str) -> None:
    """The one rule for every channel operation: an administrator (who sees every agency,
    `visible_agency` None) or the agency itself; anyone else finds nothing."""
    if visible_agency not in (None, agency):
        raise NotFound(f"no delivery channel for agency {agency}")


async def set_channel(
    session: AsyncSession, rt: Runtime, actor: Actor, agency: str, body: ChannelBody
) -> ChannelView:
    """Replace the agency's channel. A webhook gets a signing secret the first time, shown in
    this answer only; a webhook that already has one keeps it (rotate it on its own)."""
    if await session.get(Agency, agency) is None:
        raise InvalidInput(
            "the delivery channel cannot be set",
            [FieldError(("path", "code"), f"unknown agency {agency}")],
        )
    _refuse_unsafe_url(body)
    refuse_unknown_format(body.format or IMB_FORMAT)
    now = rt.clock()
    current = await session.get(DeliveryChannel, agency)
    new_secret = None
    values: dict[str, object] = {
        "kind": body.kind.value,
        "url": str(body.url) if body.url else None,
        "public_key": body.public_key,
        "format": body.format or IMB_FORMAT,
        "enabled": True,
        "disabled_reason": None,
        "disabled_at": None,
        "duty_notice_due_at": None,
        "updated_at": now,
    }
    if body.kind is ChannelKind.WEBHOOK and (current is None or current.secret_sealed is None):
        new_secret = _new_secret()
        values["secret_sealed"] = _sealed(rt, agency, new_secret)
    elif body.kind is not ChannelKind.WEBHOOK:
        values |= {"secret_sealed": None, "previous_secret_sealed": None}
        values |= {"previous_secret_until": None}
    # Insert-or-update that two administrators setting a channel at once cannot break.
    if not await insert_if_absent(session, DeliveryChannel, {"agency_code": agency, **values}):
        await session.execute(
            update(DeliveryChannel).where(DeliveryChannel.agency_code == agency).values(**values)
        )
    channel = await session.get(DeliveryChannel, agency, populate_existing=True)
    assert channel is not None
    append(session, AuditEvent.CHANNEL_SET, actor, now, detail=_audit_detail(rt, channel))
    return channel_view(rt, channel, new_secret)


async def rotate_secret(
    session: AsyncSession, rt: Runtime, actor: Actor, agency: str
) -> ChannelView:
    """A new signing secret, shown once; the old one keeps signing for 24 hours beside it."""
    channel = await session.get(DeliveryChannel, agency, with_for_update=True)
    if channel is None or channel.kind != ChannelKind.WEBHOOK or channel.secret_sealed is None:
        raise NotFound(f"agency {agency} has no webhook channel whose secret could be rotated")
    now = rt.clock()
    new_secret = _new_secret()
    channel.previous_secret_sealed = channel.secret_sealed
    channel.previous_secret_until = now + OLD_SECRET_VALID_FOR
    channel.secret_sealed = _sealed(rt, agency, new_secret)
    channel.updated_at = now
    append(session, AuditEvent.CHANNEL_SECRET_ROTATED, actor, now, detail={"agency": agency})
    return channel_view(rt, channel, new_secret)


async def channel_of(session: AsyncSession, rt: Runtime, agency: str) -> ChannelView:
    channel = await session.get(DeliveryChannel, agency)
    if channel is None:
        if await session.get(Agency, agency) is None:
            raise NotFound(f"no delivery channel for agency {agency}")
        return ChannelView(
            agency=agency,
            kind=ChannelKind.INBOX,
            url=None,
            topic=None,
            format=None,
            public_key=None,
            enabled=True,
            disabled_reason=None,
            previous_secret_valid_until=None,
            updated_at=None,
        )
    return channel_view(rt, channel, None)


def signing_secrets(rt: Runtime, channel: DeliveryChannel, at: datetime) -> list[str]:
    """The secrets a webhook is signed with at `at`: the current one, and the old one while a
    rotation's overlap lasts."""
    found = []
    if channel.secret_sealed is not None:
        found.append(_opened(rt, channel.agency_code, channel.secret_sealed))
    until = channel.previous_secret_until
    if channel.previous_secret_sealed is not None and until is not None and at < until:
        found.append(_opened(rt, channel.agency_code, channel.previous_secret_sealed))
    return found


def channel_view(rt: Runtime, channel: DeliveryChannel, secret: str | None) -> ChannelView:
    kind = ChannelKind(channel.kind)
    until = channel.previous_secret_until
    return ChannelView(
        agency=channel.agency_code,
        kind=kind,
        url=channel.url,
        topic=rt.settings.kafka.agency_topic(channel.agency_code)
        if kind is ChannelKind.KAFKA
        else None,
        format=None if kind is ChannelKind.INBOX else channel.format,
        public_key=channel.public_key,
        enabled=channel.enabled,
        disabled_reason=channel.disabled_reason,
        secret=secret,
        previous_secret_valid_until=until if until and until > rt.clock() else None,
        updated_at=channel.updated_at,
    )


def _refuse_unsafe_url(body: ChannelBody) -> None:
    url = body.url
    if url is None:
        return
    if url.username or url.password:
        problem = "a webhook URL must not carry a user or password"
    elif url.scheme != "https" and not is_loopback(url.host or ""):
        problem = "a webhook URL must be https:// (http:// only to a loopback address)"
    elif is_never_a_receiver(url.host or ""):
        problem = "a webhook URL must not name a link-local, multicast or reserved address"
    elif len(str(url)) > MAX_URL:
        problem = f"a webhook URL is at most {MAX_URL} characters, written out in full"
    else:
        return
    raise InvalidInput("the delivery channel cannot be set", [FieldError(("body", "url"), problem)])


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _secret_ad(agency: str) -> bytes:
    return b"imb:v1:channel-secret:" + agency.encode()


def _sealed(rt: Runtime, agency: str, secret: str) -> bytes:
    return seal(rt.keys.key_provider, secret.encode(), _secret_ad(agency)).to_bytes()


def _opened(rt: Runtime, agency: str, sealed: bytes) -> str:
    plain = open_sealed(rt.keys.key_provider, Sealed.from_bytes(sealed), _secret_ad(agency))
    return plain.decode()


def _audit_detail(rt: Runtime, channel: DeliveryChannel) -> dict[str, str | None]:
    # A webhook URL often carries the receiver's access token in its path or query: only its
    # origin is recorded. Never the secret.
    return {
        "agency": channel.agency_code,
        "kind": channel.kind,
        "webhook": origin_of(channel.url) if channel.url else None,
        "topic": rt.settings.kafka.agency_topic(channel.agency_code)
        if channel.kind == ChannelKind.KAFKA
        else None,
        "format": None if channel.kind == ChannelKind.INBOX else channel.format,
    }

"""Verifying a pushed delivery on the EPR side: Standard Webhooks signature and timestamp,
then the CloudEvent inside.

    delivery = verify_webhook(request.headers, await request.body(), secret)
    record(delivery.delivery_id, delivery.data)  # once per delivery_id: retries repeat it
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

__all__ = ["PushedEvent", "WebhookVerificationError", "verify_webhook"]

HEARTBEAT = "uk.imb.heartbeat.v1"


@dataclass(frozen=True)
class PushedEvent:
    id: str  # the delivery id (a heartbeat's own id for a heartbeat); the webhook-id
    type: str  # uk.imb.risk.changed.v1, …, or uk.imb.heartbeat.v1
    time: str
    data: dict[str, Any]  # a delivery: what GET /v1/inbox/{id} returns; a heartbeat: last_seq

    @property
    def is_heartbeat(self) -> bool:
        return self.type == HEARTBEAT

    @property
    def seq(self) -> int | None:
        value = self.data.get("last_seq" if self.is_heartbeat else "seq")
        return int(value) if value is not None else None


def verify_webhook(
    headers: Mapping[str, str], body: bytes | str, secrets: str | list[str]
) -> PushedEvent:
    """The event, if signed with one of `secrets` (`whsec_…`; give both during a rotation)
    within the last five minutes; otherwise WebhookVerificationError. Never trust a byte of
    the body before this."""
    text = body.decode() if isinstance(body, bytes) else body
    plain = {name.lower(): value for name, value in headers.items()}
    failure: WebhookVerificationError | None = None
    for secret in [secrets] if isinstance(secrets, str) else secrets:
        try:
            event = Webhook(secret).verify(text, plain)
        except WebhookVerificationError as exc:
            failure = exc
            continue
        return PushedEvent(
            id=str(event["id"]),
            type=str(event["type"]),
            time=str(event.get("time", "")),
            data=dict(event.get("data") or {}),
        )
    raise failure or WebhookVerificationError("no secret given")

"""Verifying a pushed delivery on the EPR side: Standard Webhooks signature and timestamp,
then the CloudEvent inside.

    delivery = verify_webhook(request.headers, await request.body(), secret)
    record(delivery.id, delivery.data)  # once per delivery id: retries repeat it

`data` is what the channel's `format` says, and `datacontenttype` names it: IMB's JSON
(`application/json`), or for `fhir` a FHIR R4 message Bundle (`application/fhir+json`). A
delivery with no form in the channel's format (a non-delivery report) comes as IMB's JSON.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

__all__ = ["PushedEvent", "WebhookVerificationError", "verify_webhook"]

HEARTBEAT = "uk.imb.heartbeat.v1"
IMB_JSON = "application/json"
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class PushedEvent:
    id: str  # the delivery id (a heartbeat's own id for a heartbeat); the webhook-id
    type: str  # uk.imb.risk.changed.v1, …, or uk.imb.heartbeat.v1
    time: str
    data: dict[str, Any]  # a delivery: what GET /v1/inbox/{id} returns; a heartbeat: last_seq
    datacontenttype: str = IMB_JSON  # application/fhir+json: `data` is a FHIR message Bundle
    imbseq: int | None = None  # a delivery's seq, as its envelope carries it in any format

    @property
    def is_heartbeat(self) -> bool:
        return self.type == HEARTBEAT

    @property
    def is_fhir(self) -> bool:
        return self.datacontenttype == FHIR_JSON

    @property
    def seq(self) -> int | None:
        if self.imbseq is not None and not self.is_heartbeat:
            return self.imbseq
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
        return _pushed_event(event)
    raise failure or WebhookVerificationError("no secret given")


def _pushed_event(event: dict[str, Any]) -> PushedEvent:
    seq = event.get("imbseq")
    return PushedEvent(
        id=str(event["id"]),
        type=str(event["type"]),
        time=str(event.get("time", "")),
        data=dict(event.get("data") or {}),
        datacontenttype=str(event.get("datacontenttype") or IMB_JSON),
        imbseq=int(seq) if seq is not None else None,
    )

"""The Python client for EPR integrators: `docs/integration.md` shows it in use.

- `AsyncImbClient` and `ImbClient`: every v1 call (`calls`), the OAuth2 token fetched and
  renewed, 429 and `Retry-After` honoured, idempotent calls retried with backoff;
- `verify_webhook`: a pushed delivery's signature checked, its CloudEvent returned;
- `AgencyTopicReader` and `open_record`: the agency's own Kafka topic, records opened with its
  private key.
"""

from adapters.imb_client import calls
from adapters.imb_client.agency_topic import (
    AgencyTopicReader,
    Heartbeat,
    OpenedDelivery,
    SealedRecordUnreadable,
    Unreadable,
    open_record,
    read_record,
)
from adapters.imb_client.asynchronous import AsyncImbClient
from adapters.imb_client.policy import ImbError, Retries
from adapters.imb_client.synchronous import ImbClient
from adapters.imb_client.webhooks import PushedEvent, WebhookVerificationError, verify_webhook
from schemas.sealed_records import encoded_public_key

__all__ = [
    "AgencyTopicReader",
    "AsyncImbClient",
    "Heartbeat",
    "ImbClient",
    "ImbError",
    "OpenedDelivery",
    "PushedEvent",
    "Retries",
    "SealedRecordUnreadable",
    "Unreadable",
    "WebhookVerificationError",
    "calls",
    "encoded_public_key",
    "open_record",
    "read_record",
    "verify_webhook",
]

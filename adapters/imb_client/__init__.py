"""The Python client for EPR integrators (see docs/integration.md)."""

from adapters.imb_client.agency_topic import (
    AgencyTopicReader,
    OpenedDelivery,
    SealedRecordUnreadable,
    open_record,
)
from schemas.sealed_records import encoded_public_key

__all__ = [
    "AgencyTopicReader",
    "OpenedDelivery",
    "SealedRecordUnreadable",
    "encoded_public_key",
    "open_record",
]

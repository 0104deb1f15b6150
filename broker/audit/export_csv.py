"""One audit record as a CSV row, safe to open in a spreadsheet."""

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

from broker.audit.records_stream import Records
from broker.db.models import AuditRecord

HEADER = (
    "id",
    "recorded_at",
    "event",
    "actor_agency",
    "actor_client",
    "message_id",
    "delivery_id",
    "subject_pseudonym",
    "payload_digest",
    "detail",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet would run as a formula is prefixed with ' (CSV injection)."""
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


def csv_row(record: AuditRecord) -> list[str]:
    values: list[Any] = [
        record.id,
        record.recorded_at.isoformat(),
        record.event,
        record.actor_agency,
        record.actor_client,
        record.message_id,
        record.delivery_id,
        record.subject_pseudonym,
        record.payload_digest,
        json.dumps(record.detail, separators=(",", ":"), sort_keys=True),
    ]
    return [spreadsheet_safe("" if v is None else str(v)) for v in values]


async def csv_lines(records: Records) -> AsyncIterator[str]:
    """The header, then each record's row as it is read: the export streams."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    async for record, _purpose in records:
        writer.writerow(csv_row(record))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()

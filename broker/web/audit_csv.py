"""The audit page's spreadsheet downloads: the timeliness report and the audit export as CSV.

The same writers as the API (`/v1/reports/timeliness`, `/v1/audit/export`), reached with the
person's browser session instead of a bearer token. An export is audited as the API's is.
"""

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response, StreamingResponse

from broker.audit import records_stream
from broker.audit.export_csv import HEADER, csv_row
from broker.audit.log import Actor, AuditEvent, append
from broker.reports.timeliness import CSV_COLUMNS, TimelinessRow, csv_cells
from broker.runtime import Runtime

__all__ = ["export_csv", "timeliness_csv"]


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def timeliness_csv(rows: list[TimelinessRow], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_cells(row) for row in rows)
    return Response(out.getvalue(), media_type="text/csv", headers=_attachment(filename))


async def export_csv(
    session: AsyncSession,
    rt: Runtime,
    actor: Actor,
    start: datetime,
    end: datetime,
    agency: str | None,
    filename: str,
) -> Response:
    """The records recorded in [start, end) that `agency` may see (None: every agency's), as
    the API's CSV. `audit.exported` is committed before the first byte leaves, with the API
    export's detail: an export cut off half-way was still an export."""
    append(
        session,
        AuditEvent.AUDIT_EXPORTED,
        actor,
        rt.clock(),
        detail={
            "format": "csv",
            "from": start.isoformat(),
            "to": end.isoformat(),
            "agencies": "all" if agency is None else agency,
        },
    )
    await session.commit()
    records = records_stream.records_between(rt.db, start, end, agency)
    return StreamingResponse(_rows(records), media_type="text/csv", headers=_attachment(filename))


async def _rows(records: records_stream.Records) -> AsyncIterator[str]:
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

"""The audit page's spreadsheet downloads: the timeliness report and the audit export as CSV.

The same writers as the API (`/v1/reports/timeliness`, `/v1/audit/export`), reached with the
person's browser session instead of a bearer token. An export is audited as the API's is.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response, StreamingResponse

from broker.audit import records_stream
from broker.audit.export_csv import csv_lines
from broker.audit.log import Actor
from broker.reports.timeliness import TimelinessRow, csv_text
from broker.runtime import Runtime

__all__ = ["export_csv", "timeliness_csv"]


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def timeliness_csv(rows: list[TimelinessRow], filename: str) -> Response:
    return Response(csv_text(rows), media_type="text/csv", headers=_attachment(filename))


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
    records_stream.note_export(session, actor, rt.clock(), ("csv", start, end), agency)
    await session.commit()
    records = records_stream.records_between(rt.db, start, end, agency)
    return StreamingResponse(
        csv_lines(records), media_type="text/csv", headers=_attachment(filename)
    )

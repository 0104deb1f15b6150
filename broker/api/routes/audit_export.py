"""Exporting the audit trail for a time range, as FHIR AuditEvents or CSV, streamed."""

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from broker.api.deps import Caller, RuntimeDep, require
from broker.audit import records_stream
from broker.audit.export_csv import csv_lines
from broker.audit.export_fhir import audit_event
from broker.errors import FieldError, InvalidInput
from broker.runtime import Runtime
from schemas.instants import Instant
from schemas.vocabulary import Scope

router = APIRouter(tags=["audit"])
Auditor = Annotated[Caller, Depends(require(Scope.AUDIT_READ))]


@router.get(
    "/v1/audit/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/fhir+ndjson": {}, "text/csv": {}},
            "description": "One FHIR R4 AuditEvent per line, or one CSV row per record",
        }
    },
)
async def export_audit(
    caller: Auditor,
    rt: RuntimeDep,
    format: Literal["fhir", "csv"],
    start: Annotated[Instant, Query(alias="from")],
    end: Annotated[Instant, Query(alias="to")],
) -> StreamingResponse:
    """The audit records recorded in [from, to), oldest first.

    An agency's client exports the records of messages its agency sent or received, and its
    own acts that concern no message; an admin or auditor client exports everything. FHIR is
    NDJSON (`application/fhir+ndjson`, as in FHIR Bulk Data): each line stands alone, so a
    month of records streams without one enclosing document.
    """
    if end <= start:
        raise InvalidInput(
            "the period ends before it starts",
            [FieldError(("query", "to"), "must be after 'from'")],
        )
    viewer = caller.audit_viewer
    await _record_export(rt, caller, format, start, end, viewer)
    records = records_stream.records_between(rt.db, start, end, viewer)
    if format == "csv":
        return StreamingResponse(
            csv_lines(records),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    return StreamingResponse(_ndjson(records), media_type="application/fhir+ndjson")


async def _record_export(
    rt: Runtime, caller: Caller, format: str, start: datetime, end: datetime, viewer: str | None
) -> None:
    async with rt.db.unit_of_work() as session:
        records_stream.note_export(session, caller.actor, rt.clock(), (format, start, end), viewer)
        await session.commit()


async def _ndjson(records: records_stream.Records) -> AsyncIterator[str]:
    async for record, purpose in records:
        yield json.dumps(audit_event(record, purpose), separators=(",", ":")) + "\n"

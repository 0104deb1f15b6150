"""Reports over deliveries: the timeliness report, as JSON or CSV for spreadsheets."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from broker.api.deps import Caller, SessionDep, require
from broker.reports.timeliness import csv_text, timeliness
from schemas.instants import Instant
from schemas.vocabulary import Scope

router = APIRouter(tags=["reports"])
Auditor = Annotated[Caller, Depends(require(Scope.AUDIT_READ))]


@router.get(
    "/v1/reports/timeliness",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
async def get_timeliness(
    caller: Auditor,
    session: SessionDep,
    start: Annotated[Instant, Query(alias="from")],
    end: Annotated[Instant, Query(alias="to")],
    agency: Annotated[str | None, Query(max_length=16)] = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Per recipient agency and event type, over deliveries decided in [from, to): counts,
    withheld and declined by reason, median and 90th percentile times to receipt and to
    acknowledgement, and deadline breaches with their rate among permitted deliveries.

    An agency's client sees the deliveries its agency received or sent; an administrator
    sees every agency's. `agency` narrows the report to one recipient agency.
    """
    everything = caller.audit_viewer is None
    rows = await timeliness(session, caller.agency, everything, start, end, agency)
    if format == "csv":
        return Response(
            csv_text(rows),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="timeliness.csv"'},
        )
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "rows": [row.as_dict() for row in rows],
    }

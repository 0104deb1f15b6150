"""/audit: the auditor's page: the timeliness report with a chart, the audit chain's status,
a search over audit records and a message's trail.

An auditor sees what an agency client of their agency sees (the deliveries it sent or
received, the trail of its own messages); an administrator sees every agency's.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from broker.api.deps import SessionDep
from broker.audit.log import AuditEvent
from broker.audit.search import AuditQuery, search_records
from broker.audit.verify import chain_status
from broker.errors import FieldError, InvalidInput
from broker.messages.views import message_trail
from broker.reports.timeliness import TimelinessRow, timeliness
from broker.users.roles import UserRole
from broker.web.deps import AuditorDep
from broker.web.pages import WebRoute
from broker.web.templates import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
DEFAULT_DAYS = 7
SEARCH_LIMIT = 100
BAR_WIDTH = 300  # the chart's widest bar, a breach rate of 100 %
BAR_HEIGHT = 20


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    width: int
    rate: str


def chart(rows: list[TimelinessRow]) -> list[Bar]:
    """One horizontal bar per agency and event type: its breach rate."""
    return [
        Bar(
            label=f"{row.agency} · {row.event_type}",
            y=index * (BAR_HEIGHT + 8),
            width=round(BAR_WIDTH * (row.breach_rate or 0)),
            rate="none" if row.breach_rate is None else f"{row.breach_rate:.0%}",
        )
        for index, row in enumerate(rows)
    ]


def _event(value: str) -> AuditEvent | None:
    """The searched event; the form's "any event" is empty."""
    if not value:
        return None
    try:
        return AuditEvent(value)
    except ValueError:
        raise InvalidInput(
            "The search was not run", [FieldError(("query", "event"), f"unknown event {value}")]
        ) from None


@router.get("/audit")
async def audit_page(
    person: AuditorDep,
    session: SessionDep,
    start: date | None = None,
    end: date | None = None,
    message: UUID | None = None,
    event: str = "",
    search: bool = False,
) -> Response:
    last = end or datetime.now(UTC).date()
    first = start or last - timedelta(days=DEFAULT_DAYS)
    everything = person.role == UserRole.ADMIN
    agency = person.user.agency_code
    rows = await timeliness(
        session,
        agency,
        everything,
        datetime.combine(first, time(), UTC),
        datetime.combine(last + timedelta(days=1), time(), UTC),
    )
    found, wanted = None, _event(event)
    if search:
        query = AuditQuery(
            event=wanted,
            recorded_from=datetime.combine(first, time(), UTC),
            recorded_to=datetime.combine(last + timedelta(days=1), time(), UTC),
            limit=SEARCH_LIMIT,
        )
        found, _ = await search_records(session, query, None if everything else agency)
    trail = None
    if message is not None:
        trail = await message_trail(session, message, viewer=None if everything else agency)
    bars = chart(rows)
    return render(
        "audit.html",
        title="Audit",
        person=person,
        start=first,
        end=last,
        rows=[row.as_dict() for row in rows],
        bars=bars,
        chart_height=len(bars) * (BAR_HEIGHT + 8),
        bar_height=BAR_HEIGHT,
        bar_width=BAR_WIDTH,
        message=message,
        trail=trail,
        events=list(AuditEvent),
        event=wanted,
        found=found,
        chain=await chain_status(session),
    )

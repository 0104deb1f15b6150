"""/audit: the auditor's page: the timeliness report with a chart, the audit chain's status and
its last verification (and a button to verify it now), a search over audit records a page at a
time, a subject's assurance trace, a message's trail, and CSV downloads of the report and of
the trail.

An auditor sees what an agency client of their agency sees (the deliveries it sent or
received, the trail of its own messages); an administrator sees every agency's.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from broker.api.deps import RuntimeDep, SessionDep
from broker.audit.log import AuditEvent
from broker.audit.search import AuditQuery, decode_cursor, search_records
from broker.audit.trace import governance_trace, note_trace_lookup, subject_trace
from broker.audit.verification import Verification, last_verification, run_verification
from broker.audit.verify import chain_status
from broker.errors import FieldError, Forbidden, InvalidInput
from broker.messages.views import message_trail
from broker.reports.timeliness import TimelinessRow, timeliness
from broker.users.roles import UserRole
from broker.users.service import SignedIn
from broker.web import page_times, timeliness_chart
from broker.web.audit_csv import export_csv, timeliness_csv
from broker.web.deps import AuditorDep, FormDep
from broker.web.pages import WebRoute
from broker.web.templates import render
from schemas.common import AgencyCode, NhsNumber
from schemas.instants import EARLIEST, LATEST, RANGE_TEXT

router = APIRouter(route_class=WebRoute, include_in_schema=False)
DEFAULT_DAYS = 7
SEARCH_LIMIT = 100
NOT_SEARCHED = "Not searched: an NHS number is 10 digits with a valid check digit"
_NHS_NUMBER: TypeAdapter[str] = TypeAdapter(NhsNumber)
_AGENCY: TypeAdapter[str] = TypeAdapter(AgencyCode)
_DURATION: TypeAdapter[timedelta] = TypeAdapter(timedelta)
# A recorded timeframe ('PT15M', 'P3D') reads in words on the page, as every duration does.
ISO_DURATION = re.compile(r"P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


@dataclass(frozen=True)
class Period:
    """The days the page covers, both inclusive."""

    first: date
    last: date

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def end_at(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)


def period(start: date | None, end: date | None) -> Period:
    for name, day in (("start", start), ("end", end)):
        if day is not None and not EARLIEST.date() <= day < LATEST.date():
            raise InvalidInput(
                "The period is out of range", [FieldError(("query", name), f"must be {RANGE_TEXT}")]
            )
    last = end or datetime.now(UTC).date()
    first = start or last - timedelta(days=DEFAULT_DAYS)
    if first > last:
        raise InvalidInput(
            "The period ends before it starts", [FieldError(("query", "end"), "before 'from'")]
        )
    return Period(first, last)


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


async def _timeliness_of(
    session: AsyncSession, person: SignedIn, when: Period
) -> list[TimelinessRow]:
    """The report the person may see: their agency's, or every agency's for an administrator."""
    admin = person.role == UserRole.ADMIN
    return await timeliness(session, person.user.agency_code, admin, when.start_at, when.end_at)


def _viewer(person: SignedIn) -> str | None:
    """Whose part of the trail the person sees: an administrator every agency's (None)."""
    return None if person.role == UserRole.ADMIN else person.user.agency_code


def _searched_agency(person: SignedIn, value: str) -> str | None:
    """The agency filter: any agency for an administrator; an auditor's is always their own,
    so naming another is refused rather than quietly widened or ignored."""
    if not value:
        return None
    try:
        agency = _AGENCY.validate_python(value)
    except ValidationError:
        raise InvalidInput(
            "The search was not run", [FieldError(("query", "agency"), "not an agency code")]
        ) from None
    viewer = _viewer(person)
    if viewer is not None and agency != viewer:
        raise Forbidden("An auditor searches the records of their own agency only.")
    return agency if viewer is None else None


def _verifier(found: Verification, person: SignedIn) -> str:
    """Who verified: named to an administrator and within the verifier's agency only."""
    if found.agency is None and found.client is None:
        return "the broker's scheduled check"
    viewer = _viewer(person)
    if viewer is not None and found.agency != viewer:
        return "someone at another agency"
    name = (found.client or "the broker").removeprefix("user:")
    return f"{name} ({found.agency})" if found.agency else name


def _verified_flash(found: Verification | None, everything: bool) -> str | None:
    """The outcome; counts and sequence numbers measure every agency's activity, so only an
    administrator sees them."""
    if found is None:
        return None
    if found.ok:
        counted = f": {found.records_checked} records checked" if everything else ""
        return f"Audit chain intact{counted}"
    bad = found.first_bad
    if bad is None:
        return "Audit chain broken at an unknown place"
    return (
        f"Audit chain broken at seq {bad.seq}: {bad.problem}"
        if everything
        else (f"Audit chain broken: {bad.problem}")
    )


@dataclass(frozen=True)
class Search:
    """A record search as the page's form and its next-page link carry it."""

    event: AuditEvent | None
    agency: str | None
    cursor: str | None

    def next_link(self, when: Period, cursor: str) -> str:
        fields = {"start": when.first, "end": when.last, "search": "true", "cursor": cursor}
        fields |= {"event": self.event.value} if self.event else {}
        fields |= {"agency": self.agency} if self.agency else {}
        return "/audit?" + urlencode(fields)


async def _search_results(
    session: AsyncSession, person: SignedIn, when: Period, search: Search
) -> dict[str, Any]:
    query = AuditQuery(
        agency=search.agency,
        event=search.event,
        recorded_from=when.start_at,
        recorded_to=when.end_at,
        after_id=decode_cursor(search.cursor) if search.cursor else None,
        limit=SEARCH_LIMIT,
    )
    found, cursor = await search_records(session, query, _viewer(person))
    return {"found": found, "next_page": search.next_link(when, cursor) if cursor else None}


async def _page(
    session: AsyncSession,
    person: SignedIn,
    when: Period,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    """The page with whatever the request asked for (`context`) filled in."""
    rows = await _timeliness_of(session, person, when)
    verified = await last_verification(session)
    for absent in (
        "event",
        "agency",
        "message",
        "found",
        "next_page",
        "trail",
        "subject",
        "governance",
    ):
        context.setdefault(absent, None)
    return render(
        "audit.html",
        status=status,
        title="Audit",
        person=person,
        admin=person.role == UserRole.ADMIN,
        start=when.first,
        end=when.last,
        rows=[row.as_dict() for row in rows],
        chart=timeliness_chart.chart(rows),
        chart_summary=timeliness_chart.summary(rows),
        events=list(AuditEvent),
        chain=await chain_status(session),
        verified=verified,
        verifier=_verifier(verified, person) if verified else None,
        everything=_viewer(person) is None,
        downloads=urlencode({"start": when.first, "end": when.last}),
        **context,
    )


@router.get("/audit")
async def audit_page(
    person: AuditorDep,
    session: SessionDep,
    start: date | None = None,
    end: date | None = None,
    message: UUID | None = None,
    event: str = "",
    agency: str = "",
    cursor: str = "",
    search: bool = False,
    verified: bool = False,
) -> Response:
    when = period(start, end)
    asked = Search(_event(event), _searched_agency(person, agency), cursor or None)
    context: dict[str, Any] = {"event": asked.event, "agency": asked.agency, "message": message}
    if search:
        context |= await _search_results(session, person, when, asked)
    if message is not None:
        context["trail"] = await message_trail(session, message, viewer=_viewer(person))
    if verified:
        found = await last_verification(session)
        # A broken chain is an alarm, not a confirmation: it shows as an error.
        flash = _verified_flash(found, everything=_viewer(person) is None)
        context["flash" if found is None or found.ok else "alarm"] = flash
    return await _page(session, person, when, **context)


@router.post("/audit/verify")
async def verify_now(
    person: AuditorDep, form: FormDep, rt: RuntimeDep, session: SessionDep
) -> Response:
    """The whole chain verified and the outcome recorded; back to the page, which says it."""
    actor = person.actor
    # The verification runs in a unit of work of its own; the sign-in check's session only
    # read, and gives its connection back first (SQLite has just the one).
    await session.close()
    await run_verification(rt, actor)
    return RedirectResponse("/audit?verified=true", status_code=303)


@router.post("/audit/subject")
async def subject_search(
    person: AuditorDep, form: FormDep, rt: RuntimeDep, session: SessionDep
) -> Response:
    """A subject's assurance trace. Posted, not a link, so the NHS number stays out of
    addresses, browser history and access logs; the page shows it only in its own field."""
    when = period(_date(form.get("start")), _date(form.get("end")))
    typed = form.get("nhs_number")
    try:
        nhs_number = _NHS_NUMBER.validate_python(typed)
    except ValidationError:
        return await _page(
            session, person, when, status=422, subject_error=NOT_SEARCHED, nhs_number=typed
        )
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    viewer = _viewer(person)
    trace = await subject_trace(session, pseudonym, viewer, rt.clock())
    governance = [
        {**entry, "summary": summary(entry["detail"])}
        for entry in await governance_trace(session, pseudonym, viewer)
    ]
    note_trace_lookup(session, person.actor, rt.clock(), pseudonym, (trace, governance))
    await session.commit()
    return await _page(
        session, person, when, subject=trace, governance=governance, nhs_number=typed
    )


def summary(detail: Any) -> str:
    """A governance record's shown detail on one line: 'state: given; scope: purposes: care'."""
    if isinstance(detail, dict):
        return "; ".join(
            f"{key.replace('_', ' ')}: {summary(value)}" for key, value in detail.items()
        )
    if isinstance(detail, list):
        return ", ".join(summary(item) for item in detail) or "none"
    if isinstance(detail, str) and ISO_DURATION.fullmatch(detail):
        return page_times.duration(_DURATION.validate_python(detail))
    return "none" if detail is None else str(detail)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise InvalidInput(
            "The search was not run", [FieldError(("form", "period"), f"not a date: {value}")]
        ) from None


@router.get("/audit/timeliness.csv")
async def timeliness_download(
    person: AuditorDep, session: SessionDep, start: date | None = None, end: date | None = None
) -> Response:
    when = period(start, end)
    rows = await _timeliness_of(session, person, when)
    return timeliness_csv(rows, f"timeliness-{when.first}-{when.last}.csv")


@router.get("/audit/export.csv")
async def export_download(
    person: AuditorDep,
    rt: RuntimeDep,
    session: SessionDep,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    """The trail of the period as the API's CSV; an auditor's holds only their agency's part."""
    when = period(start, end)
    return await export_csv(
        session,
        rt,
        person.actor,
        when.start_at,
        when.end_at,
        _viewer(person),
        f"audit-{when.first}-{when.last}.csv",
    )

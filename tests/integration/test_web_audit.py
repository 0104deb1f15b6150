"""The audit page: an auditor reads their agency's timeliness report, with its chart, and
traces a message; verifies the audit chain and sees it intact or where it broke; traces a
subject; pages through the records; downloads the report and the trail as CSV; other
agencies' messages and other roles stay out."""

import csv
import html
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from broker.audit.export_csv import HEADER
from broker.audit.log import BROKER, AuditEvent
from broker.audit.verification import run_verification
from broker.audit.verify import chain_status
from broker.audit.worker import chain_pending
from broker.db.models import AuditRecord
from broker.reports.timeliness import CSV_COLUMNS
from broker.runtime import Runtime
from broker.web.audit import SEARCH_LIMIT
from tests.integration.audit_records import chained as chained_records
from tests.integration.audit_records import record_of, tamper, write_records
from tests.integration.deadlines import deliveries_of, dispatched_here, routed_here
from tests.web import add_person, post_form, sign_in, visible_text, web_client
from tests.world import (
    COUNCIL,
    GP,
    HOUSING,
    NHS_NUMBER,
    OTHER_NHS_NUMBER,
    TRUST,
    World,
    risk_event,
)

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
COUNCIL_AUDITOR, GP_AUDITOR, HOUSING_DUTY = "auditor.council", "auditor.gp", "duty.housing"


@pytest.fixture
async def browser(world: World, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    await add_person(runtime, COUNCIL_AUDITOR, COUNCIL, role="auditor")
    await add_person(runtime, GP_AUDITOR, GP, role="auditor")
    await add_person(runtime, HOUSING_DUTY, HOUSING, role="duty")
    async with web_client(runtime) as client:
        yield client


async def _sent(world: World) -> UUID:
    real_clock = world.rt.clock
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    world.rt.clock = lambda: at
    message_id = await routed_here(world, TRUST, risk_event())
    await dispatched_here(world.rt, [message_id])
    world.rt.clock = real_clock
    return message_id


@sqlite_only
async def test_an_auditor_sees_the_report_chart_and_a_message_trace(
    world: World, browser: httpx.AsyncClient
) -> None:
    message_id = await _sent(world)

    signed_in = await sign_in(browser, COUNCIL_AUDITOR)
    page = await browser.get("/audit")
    found = await browser.get("/audit", params={"search": "true", "event": "delivery.delivered"})
    trace = await browser.get("/audit", params={"message": str(message_id)})
    bad_search = await browser.get("/audit", params={"search": "true", "event": "nope"})

    assert signed_in.headers["location"] == "/audit"
    assert page.status_code == 200
    assert "<svg" in page.text and "<script" not in page.text and "style=" not in page.text
    text = visible_text(page)
    assert f"{COUNCIL} risk.changed 1" in text  # one delivery to the council
    assert HOUSING not in text  # the council neither sent nor received housing's delivery
    # How many records the whole chain holds measures every agency's activity: not shown.
    assert "records chained" not in text and "Last signed checkpoint" in text
    assert "/audit?start=" in found.text and str(message_id) in visible_text(found)
    assert trace.status_code == 200
    assert bad_search.status_code == 422 and "unknown event nope" in visible_text(bad_search)
    assert "delivery.delivered" in visible_text(trace)


@sqlite_only
async def test_other_agencies_messages_and_other_roles_stay_out(
    world: World, browser: httpx.AsyncClient
) -> None:
    message_id = await _sent(world)

    await sign_in(browser, GP_AUDITOR)
    gp_report = await browser.get("/audit")
    gp_trace = await browser.get("/audit", params={"message": str(message_id)})
    browser.cookies.clear()
    await sign_in(browser, HOUSING_DUTY)
    duty = await browser.get("/audit")

    assert "No deliveries were decided in this range." in visible_text(gp_report)
    assert gp_trace.status_code == 404
    assert duty.status_code == 403


# The rest runs on both databases: verification, the subject trace, paging and the downloads.

ADMIN = "admin.audit"


async def _as(browser: httpx.AsyncClient, runtime: Runtime, username: str) -> None:
    if username == ADMIN:
        await add_person(runtime, ADMIN, COUNCIL, role="admin")
    browser.cookies.clear()
    await sign_in(browser, username)


async def _chained_count(rt: Runtime) -> int:
    await chain_pending(rt)
    async with rt.db.unit_of_work() as session:
        return (await chain_status(session)).head_seq


async def _records_of(rt: Runtime, event: AuditEvent) -> list[AuditRecord]:
    async with rt.db.unit_of_work() as session:
        wanted = select(AuditRecord).where(AuditRecord.event == event.value)
        found = list(await session.scalars(wanted.order_by(AuditRecord.id)))
        session.expunge_all()
        return found


def _table(page: httpx.Response, table_id: str) -> str:
    """The visible text of one table of the page, or '' when the page has none."""
    found = re.search(rf'<table id="{table_id}">.*?</table>', page.text, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split()) if found else ""


async def test_verify_now_records_the_verification_and_the_page_says_intact(
    world: World, browser: httpx.AsyncClient
) -> None:
    await _sent(world)
    chained = await _chained_count(world.rt)
    await sign_in(browser, COUNCIL_AUDITOR)
    before = visible_text(await browser.get("/audit"))

    verified = await post_form(browser, "/audit/verify", {}, token_from="/audit")
    after = await browser.get(verified.headers["location"])

    assert "Last verification: never verified." in before
    assert verified.status_code == 303 and verified.headers["location"].startswith("/audit")
    text = visible_text(after)
    assert "Audit chain intact" in text and "records checked" not in text
    assert f"by auditor.council ({COUNCIL}): intact." in text
    await _as(browser, world.rt, ADMIN)
    admin_view = visible_text(await browser.get("/audit"))
    assert f"by auditor.council ({COUNCIL}): intact, {chained} records checked" in admin_view
    assert "records chained" in admin_view
    [record] = await _records_of(world.rt, AuditEvent.AUDIT_VERIFIED)
    assert record.actor_client == f"user:{COUNCIL_AUDITOR}"
    assert record.detail["ok"] is True and record.detail["records_checked"] == chained
    assert record.detail["first_bad"] is None


async def test_verify_now_after_tampering_shows_the_chain_broken_at_the_changed_record(
    world: World, browser: httpx.AsyncClient
) -> None:
    await chained_records(world.rt, 5)
    await chain_pending(world.rt)  # whatever the world's set-up recorded is chained too
    changed = await record_of(world.rt, 3)
    await tamper(world.rt, f"UPDATE audit_records SET actor_client = 'x' WHERE id = {changed}")
    await sign_in(browser, COUNCIL_AUDITOR)

    verified = await post_form(browser, "/audit/verify", {}, token_from="/audit")
    page = await browser.get(verified.headers["location"])
    await _as(browser, world.rt, GP_AUDITOR)
    other_agency = visible_text(await browser.get("/audit"))

    text = visible_text(page)
    assert "Audit chain broken: record does not match its link" in text
    assert "intact" not in text and "seq 3" not in text
    assert "broken (record does not match its link)" in other_agency
    await _as(browser, world.rt, ADMIN)
    assert "broken at seq 3 (record does not match its link)" in visible_text(
        await browser.get("/audit")
    )
    assert "someone at another agency" in other_agency and COUNCIL_AUDITOR not in other_agency
    [record] = await _records_of(world.rt, AuditEvent.AUDIT_VERIFIED)
    assert record.detail["ok"] is False
    assert record.detail["first_bad"] == {
        "seq": 3,
        "record_id": changed,
        "problem": "record does not match its link",
    }


async def test_the_brokers_scheduled_verification_is_named_as_such(
    world: World, browser: httpx.AsyncClient
) -> None:
    await chained_records(world.rt, 2)
    report = await run_verification(world.rt, BROKER)
    await sign_in(browser, COUNCIL_AUDITOR)

    text = visible_text(await browser.get("/audit"))

    assert "by the broker's scheduled check: intact." in text
    await _as(browser, world.rt, ADMIN)
    admin_view = visible_text(await browser.get("/audit"))
    assert (
        f"by the broker's scheduled check: intact, {report.records_checked} records" in admin_view
    )


async def test_verify_now_is_refused_without_the_form_token_or_to_other_roles(
    world: World, browser: httpx.AsyncClient
) -> None:
    await sign_in(browser, COUNCIL_AUDITOR)
    tokenless = await browser.post("/audit/verify", data={})
    await _as(browser, world.rt, HOUSING_DUTY)
    duty = await post_form(browser, "/audit/verify", {}, token_from="/duty")

    assert tokenless.status_code == 403
    assert "The form has expired" in visible_text(tokenless)
    assert duty.status_code == 403
    assert await _records_of(world.rt, AuditEvent.AUDIT_VERIFIED) == []


async def test_a_subject_search_shows_the_trace_without_printing_the_nhs_number(
    world: World, browser: httpx.AsyncClient
) -> None:
    message_id = await _sent(world)
    await sign_in(browser, COUNCIL_AUDITOR)

    page = await post_form(
        browser, "/audit/subject", {"nhs_number": NHS_NUMBER}, token_from="/audit"
    )
    stranger = await post_form(
        browser, "/audit/subject", {"nhs_number": OTHER_NHS_NUMBER}, token_from="/audit"
    )
    await _as(browser, world.rt, ADMIN)
    everything = await post_form(
        browser, "/audit/subject", {"nhs_number": NHS_NUMBER}, token_from="/audit"
    )

    assert page.status_code == 200
    # The trust set the care team: an administrator sees that, the council's auditor does not.
    assert "care_team.replaced" in _table(everything, "governance")
    assert f"agency: {COUNCIL}; coordinator:" in _table(everything, "governance")
    assert _table(page, "governance") == ""
    assert HOUSING in _table(everything, "subject")
    trace = _table(page, "subject")
    assert str(message_id) in trace and f"from {TRUST}" in trace
    assert COUNCIL in trace and "permit" in trace
    assert HOUSING not in trace  # the council sees its own delivery of the message only
    assert page.text.count(NHS_NUMBER) == 1 and f'value="{NHS_NUMBER}"' in page.text
    assert _table(stranger, "subject") == ""
    assert "No messages about this person" in visible_text(stranger)
    # Every lookup, found or not, is on the trail: who looked up whom.
    looked_up = await _records_of(world.rt, AuditEvent.SUBJECT_TRACED)
    pseudonym = world.rt.pseudonymiser.pseudonym
    assert [(r.actor_client, r.subject_pseudonym) for r in looked_up] == [
        (f"user:{COUNCIL_AUDITOR}", pseudonym(NHS_NUMBER)),
        (f"user:{COUNCIL_AUDITOR}", pseudonym(OTHER_NHS_NUMBER)),
        (f"user:{ADMIN}", pseudonym(NHS_NUMBER)),
    ]
    assert NHS_NUMBER not in str([r.detail for r in looked_up])


async def test_a_bad_nhs_number_is_refused_with_a_message_and_no_trace(
    world: World, browser: httpx.AsyncClient
) -> None:
    await _sent(world)
    await sign_in(browser, COUNCIL_AUDITOR)
    wrong_check_digit = NHS_NUMBER[:9] + str((int(NHS_NUMBER[9]) + 1) % 10)

    page = await post_form(
        browser, "/audit/subject", {"nhs_number": wrong_check_digit}, token_from="/audit"
    )
    letters = await post_form(
        browser, "/audit/subject", {"nhs_number": "94347x5919"}, token_from="/audit"
    )

    for refused in (page, letters):
        assert refused.status_code == 422
        assert "an NHS number is 10 digits with a valid check digit" in visible_text(refused)
        assert _table(refused, "subject") == ""


async def test_search_results_page_by_the_cursor_and_filter_by_agency(
    world: World, browser: httpx.AsyncClient
) -> None:
    await write_records(world.rt, SEARCH_LIMIT + 5)
    message_id = await _sent(world)
    await _as(browser, world.rt, ADMIN)

    first = await browser.get("/audit", params={"search": "true", "event": "event.received"})
    link = re.search(r'href="([^"]+)" rel="next">Next page', first.text)
    assert link is not None
    second = await browser.get(html.unescape(link.group(1)))
    by_agency = await browser.get(
        "/audit", params={"search": "true", "event": "event.received", "agency": COUNCIL}
    )
    await _as(browser, world.rt, GP_AUDITOR)
    other_agency = await browser.get("/audit", params={"search": "true", "agency": COUNCIL})

    first_ids, second_ids = _record_rows(first), _record_rows(second)
    assert len(first_ids) == SEARCH_LIMIT and len(second_ids) == 6  # 105 written, 1 sent
    assert "Next page" not in second.text
    assert str(message_id) in _table(second, "records")
    assert _table(by_agency, "records").count("event.received") == 1
    assert str(message_id) in _table(by_agency, "records")
    assert other_agency.status_code == 403


def _record_rows(page: httpx.Response) -> list[str]:
    return re.findall(
        r"<tr><td>", page.text.split('<table id="records">', 1)[-1].split("</table>")[0]
    )


def _csv(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


async def test_the_downloads_are_csv_attachments_and_an_auditor_gets_only_their_agency(
    world: World, browser: httpx.AsyncClient
) -> None:
    message_id = await _sent(world)
    housing_delivery = (await deliveries_of(world.rt, message_id))[HOUSING].id
    await sign_in(browser, COUNCIL_AUDITOR)

    report = await browser.get("/audit/timeliness.csv")
    council = await browser.get("/audit/export.csv")
    await _as(browser, world.rt, ADMIN)
    everything = await browser.get("/audit/export.csv")

    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    assert report.headers["content-disposition"].startswith("attachment;")
    header, *rows = _csv(report)
    assert header == list(CSV_COLUMNS) and [r[:2] for r in rows] == [[COUNCIL, "risk.changed"]]
    assert council.headers["content-disposition"].startswith("attachment;")
    council_header, *council_rows = _csv(council)
    assert council_header == list(HEADER)
    assert str(message_id) in council.text and str(housing_delivery) not in council.text
    assert all(row[3] in {"", TRUST, COUNCIL} for row in council_rows)
    assert str(housing_delivery) in everything.text
    exported = await _records_of(world.rt, AuditEvent.AUDIT_EXPORTED)
    assert [(e.actor_client, e.detail["format"], e.detail["agencies"]) for e in exported] == [
        (f"user:{COUNCIL_AUDITOR}", "csv", COUNCIL),
        (f"user:{ADMIN}", "csv", "all"),
    ]
    assert "audit.exported" in council.text  # recorded before the first byte left

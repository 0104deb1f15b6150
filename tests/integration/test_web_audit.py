"""The audit page: an auditor reads their agency's timeliness report, with its chart, and
traces a message; other agencies' messages and other roles stay out."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest

from broker.runtime import Runtime
from tests.integration.deadlines import dispatched_here, routed_here
from tests.web import add_person, sign_in, visible_text, web_client
from tests.world import COUNCIL, GP, HOUSING, TRUST, World, risk_event

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
    assert "records chained" in text and "Last signed checkpoint" in text
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

"""Inputs that once answered 500 now get a clear problem and write nothing; an error nobody
foresaw answers a problem too, counted, and logged without the data it was about."""

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from broker.api.app import create_app
from broker.db.models import (
    Agreement,
    AuditRecord,
    ConsentRecord,
    Delivery,
    Message,
    OutboxEntry,
    Subject,
)
from broker.runtime import Runtime
from tests.captured_logs import captured_logs
from tests.world import NHS_NUMBER, TRUST, World, agreement_body, risk_event

# What these check is decided in Python, not by the database: once, on SQLite.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

EARLIEST_EXTREME = "0001-01-01T00:00:00+14:00"
LATEST_EXTREME = "9999-12-31T23:59:59-14:00"
RECORDER = {"name": "A. Patel", "role": "care coordinator"}
COUNTED = (Message, Delivery, AuditRecord, OutboxEntry, ConsentRecord, Agreement, Subject)


async def _rows(runtime: Runtime) -> dict[str, int]:
    async with runtime.db.unit_of_work() as session:
        return {
            model.__tablename__: int(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )
            for model in COUNTED
        }


@pytest.fixture
async def unchanged(world: World, runtime: Runtime) -> AsyncIterator[None]:
    before = await _rows(runtime)
    yield
    assert await _rows(runtime) == before


def _refused(response: httpx.Response, loc: list[Any]) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert loc in [error["loc"] for error in response.json()["errors"]], response.text


@SQLITE_ONLY
@pytest.mark.usefixtures("unchanged")
async def test_audit_search_from_a_time_without_a_zone_is_refused(world: World) -> None:
    response = await world.get(TRUST, "/v1/audit/records", **{"from": "2026-11-01T10:00:00"})
    _refused(response, ["query", "from"])


@SQLITE_ONLY
@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("instant", [EARLIEST_EXTREME, LATEST_EXTREME, "1899-12-31T23:00:00Z"])
async def test_an_event_at_the_edge_of_the_calendar_is_refused(world: World, instant: str) -> None:
    _refused(await world.publish(occurred_at=instant), ["body", "occurred_at"])


@SQLITE_ONLY
@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("field", ["valid_from", "valid_to"])
@pytest.mark.parametrize("instant", [EARLIEST_EXTREME, LATEST_EXTREME])
async def test_a_consent_period_at_the_edge_of_the_calendar_is_refused(
    world: World, field: str, instant: str
) -> None:
    body = {"state": "refused", "recorded_by": RECORDER, field: instant}
    response = await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", body)
    _refused(response, ["body", field])


@SQLITE_ONLY
@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("field", ["effective_from", "effective_to"])
@pytest.mark.parametrize("instant", [EARLIEST_EXTREME, LATEST_EXTREME])
async def test_an_agreement_period_at_the_edge_of_the_calendar_is_refused(
    world: World, field: str, instant: str
) -> None:
    body = agreement_body([TRUST, "LA001"], **{field: instant})
    _refused(await world.post("admin", "/v1/agreements", body), ["body", field])


@SQLITE_ONLY
@pytest.mark.usefixtures("unchanged")
async def test_a_review_date_in_year_ten_thousand_minus_one_is_refused(world: World) -> None:
    body = agreement_body([TRUST, "LA001"], review_date="9999-12-31")
    _refused(await world.post("admin", "/v1/agreements", body), ["body", "review_date"])


@SQLITE_ONLY
@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("path", ["/v1/reports/timeliness", "/v1/audit/export"])
@pytest.mark.parametrize("edge", ["from", "to"])
async def test_report_and_export_ranges_at_the_edge_of_the_calendar_are_refused(
    world: World, path: str, edge: str
) -> None:
    period = {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "format": "csv"}
    period[edge] = EARLIEST_EXTREME if edge == "from" else LATEST_EXTREME
    _refused(await world.get(TRUST, path, **period), ["query", edge])


@SQLITE_ONLY
@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "nhs_number",
    [
        "0000000000",  # the placeholder many systems store for "unknown"
        "4444444444",  # one digit repeated, with a valid check digit
        "0101010001",  # a Scottish CHI number (born 01/01/01), not an NHS number
        "5000000005",  # never issued
        "8000000008",  # never issued
    ],
)
async def test_reserved_nhs_numbers_are_refused(world: World, nhs_number: str) -> None:
    response = await world.publish(subject={"nhs_number": nhs_number})
    _refused(response, ["body", "subject", "nhs_number"])
    assert "reserved" in response.text or "valid" in response.text


async def test_an_unforeseen_error_is_a_counted_problem_that_logs_no_personal_data(
    runtime: Runtime,
) -> None:
    app = create_app(runtime)

    @app.get("/v1/boom/{nhs_number}")
    async def boom(nhs_number: str) -> None:
        # A real database error whose statement carries the NHS number as a parameter.
        async with runtime.db.unit_of_work() as session:
            await session.execute(
                text("SELECT * FROM no_such_table WHERE x = :n"), {"n": nhs_number}
            )

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://imb.test") as client:
        with captured_logs() as out:
            response = await client.get(f"/v1/boom/{NHS_NUMBER}")

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["type"] == "urn:imb:problem:internal"
    assert NHS_NUMBER not in response.text and "no_such_table" not in response.text
    # What the operator's collector reads: the route's template, the error's type and frames.
    logged = out.getvalue()
    # OperationalError on SQLite, ProgrammingError on PostgreSQL: the type, never the message
    # (the driver's text, and the statement with its parameters).
    assert re.search(r"unexpected \w+Error on GET /v1/boom/\{nhs_number\}", logged), logged
    assert "(message withheld)" in logged and "in boom" in logged
    assert NHS_NUMBER not in logged and "[SQL:" not in logged
    counted = runtime.metrics.http_requests.labels("GET", "500")._value.get()
    assert counted == 1


def test_database_errors_never_quote_their_parameters(runtime: Runtime) -> None:
    assert runtime.db.engine.sync_engine.hide_parameters


@SQLITE_ONLY
async def test_a_burst_of_events_round_trips_after_the_checks(world: World) -> None:
    # The bounded range changes nothing for ordinary instants with any offset.
    response = await world.publish(occurred_at="2026-11-22T10:00:00+05:30")
    assert response.status_code == 202, response.text
    other = await world.post(TRUST, "/v1/events", risk_event(occurred_at="1900-01-01T00:00:00Z"))
    assert other.status_code == 202, other.text


@SQLITE_ONLY
async def test_a_problem_names_the_route_never_the_nhs_number_in_the_path(world: World) -> None:
    padded = await world.get("metrics", f"/v1/subjects/%09{NHS_NUMBER}%20/consents")
    unrouted = await world.get(TRUST, f"/v1/people/{NHS_NUMBER}")

    assert padded.json()["instance"] == "/v1/subjects/{nhs_number}/consents"
    assert NHS_NUMBER not in padded.text + unrouted.text
    assert unrouted.status_code == 404 and unrouted.json()["instance"] == "/v1/people/{…}"

"""The timeliness report an auditor reads: per recipient agency and event type, how fast
deliveries were received and acknowledged, and how many missed a deadline."""

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from broker.db.models import Delivery
from schemas.vocabulary import Scope
from tests.integration.deadlines import deliveries_of, dispatched_here, pass_at, routed_here
from tests.rows import row_counts
from tests.world import COUNCIL, GP, HOUSING, TRUST, World, risk_event

MINUTE = timedelta(minutes=1)
ACK = {"outcome": "accepted", "acknowledged_by": {"name": "D. Okafor", "role": "Social worker"}}
REPORT = "/v1/reports/timeliness"


async def _sent_at(world: World, at: datetime) -> dict[str, UUID]:
    world.rt.clock = lambda: at
    message_id = await routed_here(world, TRUST, risk_event())
    await dispatched_here(world.rt, [message_id])
    return {agency: d.id for agency, d in (await deliveries_of(world.rt, message_id)).items()}


async def _council_reads_and_acks(
    world: World, delivery: UUID, read: datetime, ack: datetime
) -> None:
    world.rt.clock = lambda: read
    assert (await world.get(COUNCIL, f"/v1/inbox/{delivery}")).status_code == 200
    world.rt.clock = lambda: ack
    acked = await world.post(COUNCIL, f"/v1/inbox/{delivery}/ack", ACK)
    assert acked.status_code == 200, acked.text


def _range(start: datetime) -> dict[str, Any]:
    return {"from": (start - MINUTE).isoformat(), "to": (start + timedelta(hours=1)).isoformat()}


async def test_report_shows_percentile_times_and_breaches_per_agency(world: World) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + 5 * MINUTE
    first = await _sent_at(world, start)
    second = await _sent_at(world, start + MINUTE)
    await _council_reads_and_acks(world, first[COUNCIL], start + 2 * MINUTE, start + 3 * MINUTE)
    await _council_reads_and_acks(world, second[COUNCIL], start + 5 * MINUTE, start + 10 * MINUTE)
    await pass_at(world.rt, start + timedelta(days=30))  # Housing never acknowledged either
    world.tokens["auditor"] = await world.token_for(TRUST, [Scope.AUDIT_READ, Scope.ADMIN])

    sender = (await world.get(TRUST, REPORT, **_range(start))).json()["rows"]
    recipient = (await world.get(COUNCIL, REPORT, **_range(start))).json()["rows"]
    bystander = (await world.get(GP, REPORT, **_range(start))).json()["rows"]
    spreadsheet = await world.get("auditor", REPORT, format="csv", **_range(start))

    housing, council = sender  # ordered by agency code
    assert (council["agency"], council["event_type"]) == (COUNCIL, "risk.changed")
    assert (council["deliveries"], council["acknowledged"], council["breaches"]) == (2, 2, 0)
    # Receipts after 2 and 4 minutes; acknowledgements after 3 and 9.
    assert council["time_to_receipt"]["median"] == {"iso": "PT3M", "seconds": 180.0}
    assert council["time_to_receipt"]["p90"]["seconds"] == 228.0
    assert council["time_to_acknowledgement"]["median"]["iso"] == "PT6M"
    assert council["time_to_acknowledgement"]["p90"]["seconds"] == 504.0
    assert (housing["agency"], housing["acknowledged"]) == (HOUSING, 0)
    assert (housing["breaches"], housing["breach_rate"]) == (2, 1.0)
    assert housing["time_to_acknowledgement"]["median"] is None
    assert [row["agency"] for row in recipient] == [COUNCIL]
    assert bystander == []
    assert spreadsheet.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(spreadsheet.text)))
    assert [(r["agency"], r["ack_median_seconds"], r["breach_rate"]) for r in table] == [
        (HOUSING, "", "1"),
        (COUNCIL, "360", "0"),
    ]


async def test_bad_ranges_agencies_and_formats_are_422_on_the_field(world: World) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    reversed_range = {"from": start.isoformat(), "to": (start - MINUTE).isoformat()}
    before = await row_counts(world.rt, Delivery)

    backwards = await world.get(TRUST, REPORT, **reversed_range)
    unknown = await world.get(TRUST, REPORT, agency="NOPE1", **_range(start))
    bad_format = await world.get(TRUST, REPORT, format="xml", **_range(start))

    for response, field in ((backwards, "to"), (unknown, "agency"), (bad_format, "format")):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert ["query", field] in [error["loc"][:2] for error in response.json()["errors"]]
    assert await row_counts(world.rt, Delivery) == before

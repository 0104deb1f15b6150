"""`imb escalation list`: the duty teams' missed deadlines as an administrator reads them, in
words for people and as the API gives them for scripts, and never the person's NHS number."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from broker.console import duration_in_words, utc_instant
from broker.runtime import Runtime
from tests.databases import SQLITE_ONLY
from tests.e2e.processes import ImbInstallation
from tests.integration.deadlines import SECOND, deliveries_of, dispatched_here, pass_at, routed_here
from tests.world import COUNCIL, HOUSING, NHS_NUMBER, TRUST, World, build_world, crisis_event

pytestmark = pytest.mark.slow

# The broker's clock stands an hour behind the wall clock while the partnership is set up and
# the crisis sent, so that when `imb` reads the escalations (on the wall clock) the open one is
# long overdue.
SENT_AGO = timedelta(hours=1)
ACKNOWLEDGED_LATE = 8 * SECOND
ACK = {"outcome": "actioned", "acknowledged_by": {"name": "D. Shah", "role": "duty manager"}}
ISO_DURATION: TypeAdapter[timedelta] = TypeAdapter(timedelta)


async def _escalations_of_a_missed_crisis(runtime: Runtime, api: httpx.AsyncClient) -> World:
    """A crisis to the council and the housing association that neither acknowledged in time:
    the deadline monitor escalated both, and the council's duty team closed its own 8 s late."""
    sent_at = datetime.now(UTC).replace(microsecond=0) - SENT_AGO
    runtime.clock = lambda: sent_at
    world = await build_world(runtime, api)
    crisis = crisis_event(recipients=[COUNCIL, HOUSING], occurred_at=sent_at.isoformat())
    message_id = await routed_here(world, TRUST, crisis)
    await dispatched_here(world.rt, [message_id])
    ack_by = (await deliveries_of(world.rt, message_id))[COUNCIL].ack_by
    assert ack_by is not None
    await pass_at(world.rt, ack_by + ACKNOWLEDGED_LATE)
    (council,) = (await world.get(COUNCIL, "/v1/escalations")).json()["items"]
    closed = await world.post(COUNCIL, f"/v1/escalations/{council['id']}/ack", ACK)
    assert closed.status_code == 200, closed.text
    return world


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _line_naming(table: str, reference: str) -> str:
    (line,) = [line for line in table.splitlines() if reference in line]
    return line


@pytest.mark.parametrize("database_url", SQLITE_ONLY, indirect=True)
async def test_escalation_list_shows_who_was_escalated_and_how_late_in_words_and_as_json(
    runtime: Runtime, api: httpx.AsyncClient, database_url: str, kafka_bootstrap: str
) -> None:
    world = await _escalations_of_a_missed_crisis(runtime, api)
    imb = ImbInstallation(world.rt.settings.data_dir, database_url, kafka_bootstrap)

    table = imb.run("escalation", "list").stdout
    listed = _json_lines(imb.run("escalation", "list", "--json").stdout)
    open_ones = _json_lines(imb.run("escalation", "list", "--open", "--json").stdout)

    by_agency = {item["agency"]: item for item in listed}
    council, housing = by_agency[COUNCIL], by_agency[HOUSING]
    assert len(listed) == 2
    assert (council["status"], council["late_by"]) == ("acknowledged", "PT8S")
    assert housing["status"] == "open"
    assert ISO_DURATION.validate_python(housing["late_by"]) >= SENT_AGO - timedelta(minutes=15)
    for item in (council, housing):
        row = _line_naming(table, item["reference"])
        assert item["agency"] in row and item["status"] in row
        assert item["delivery"]["delivery_id"] in row
        assert utc_instant(item["deadline"]) in row
        assert duration_in_words(item["late_by"]) in row
        assert item["late_by"] not in row  # ISO 8601 is for --json
    assert "8 s" in _line_naming(table, council["reference"])
    assert " min" in _line_naming(table, housing["reference"])
    assert [item["reference"] for item in open_ones] == [housing["reference"]]
    assert NHS_NUMBER not in table + json.dumps(listed)

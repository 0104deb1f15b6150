"""A short run of the fault campaign inside the suite: IMB's roles as separate processes on
PostgreSQL under a steady mixed load, three workers SIGKILLed at random moments and the
database cut for a few seconds meanwhile. The API is killed 2.5 s into the outage: it cannot
start until the database is back, and the campaign starts it again as its supervisor would.
Afterwards nothing accepted is lost or delivered twice, every breached deadline is escalated
once, and the audit chain verifies.

The whole campaign, each fault on its own and at full size, is `make faults`."""

import os
from pathlib import Path

import pytest

from tests.databases import POSTGRES_ENV
from tests.faults.scenarios import KILLS_AND_AN_OUTAGE, SHORT, run_scenario

pytestmark = pytest.mark.skipif(
    not os.environ.get(POSTGRES_ENV),
    reason=f"the campaign cuts IMB off from PostgreSQL: set {POSTGRES_ENV}",
)


async def test_nothing_is_lost_or_doubled_when_processes_die_and_the_database_goes(
    tmp_path: Path,
) -> None:
    outcome = await run_scenario(KILLS_AND_AN_OUTAGE, SHORT, os.environ[POSTGRES_ENV], tmp_path)

    figures = outcome.figures
    assert figures.problems == [], outcome.line()
    assert outcome.faults >= 5, "four kills and an outage were injected"
    assert ("api", 1) in outcome.exited_by_themselves, "started mid-outage, the API exits 1"
    assert figures.accepted > 50, "under load"
    assert figures.delivered == figures.expected > 0
    assert figures.escalations_raised == figures.escalations_expected > 0
    assert figures.chain_verified

"""Several router and dispatcher processes in one consumer group, as a platform team scales
them: every event is decided once, and each person's events in the order they were accepted,
whichever process and lane each one went through."""

import asyncio
import re
import subprocess
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adapters.imb_client import AsyncImbClient
from broker.db.engine import create_engine, is_sqlite
from tests.e2e.processes import ImbInstallation, ServingImb
from tests.world import COUNCIL, TRUST, nhs_numbers_for_testing, risk_event

pytestmark = [pytest.mark.slow, pytest.mark.acceptance]
EVENTS, PEOPLE = 240, 8
# Each person's events alternate between the routine and urgent lanes (their own topics and
# consumer groups), so one person's events are spread over both routers.
URGENCIES = ("routine", "urgent", "routine", "emergency")

ASSIGNED = re.compile(r"group (?P<group>\S+): this process reads (?P<partitions>.+)$")
DECISIONS = """
SELECT m.subject_pseudonym, m.received_at, m.id, a.id AS decided
FROM messages m JOIN audit_records a ON a.message_id = m.id AND a.event = 'delivery.decided'
"""


async def test_two_routers_decide_each_persons_events_in_the_order_they_were_accepted(
    database_url: str, request: pytest.FixtureRequest
) -> None:
    if is_sqlite(database_url):
        pytest.skip("SQLite has one writer: scaled-out workers run on PostgreSQL")
    installation, partnership = _partners(request)
    server = installation.serve("--no-workers")
    names = ("relay", "router", "router", "dispatcher", "dispatcher")
    workers = [installation.worker(name) for name in names]
    try:
        people = nhs_numbers_for_testing(PEOPLE)
        events = [
            risk_event(
                urgency=URGENCIES[i % len(URGENCIES)],
                recipients=[COUNCIL],
                subject={"nhs_number": people[i % PEOPLE]},
            )
            for i in range(EVENTS)
        ]
        async with AsyncImbClient(server.base_url, *partnership[TRUST]) as trust:
            for start in range(0, EVENTS, 50):  # many transactions, so many relay batches
                await trust.publish_many(events[start : start + 50])
        await _until_delivered(installation.database_url, EVENTS)
        decisions = await _rows(installation.database_url, DECISIONS)
    finally:
        _stop(server, workers)

    assert len(decisions) == EVENTS  # each decided once: no message twice, none left out
    by_person: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for subject, received_at, message_id, decided in decisions:
        by_person[subject].append((received_at, str(message_id), decided))
    for subject, rows in by_person.items():
        in_acceptance_order = [decided for *_, decided in sorted(rows)]
        assert in_acceptance_order == sorted(in_acceptance_order), subject
    # Both routers shared the work: each read some of each lane's partitions.
    group = installation.env["IMB_KAFKA__ROUTER_GROUP"]
    for number in (1, 2):
        last = _last_assignments(installation.data_dir / f"worker-router-{number}.log")
        assert set(last) == {group, f"{group}-urgent"}, last
        assert "no partitions" not in last.values(), last


def _stop(server: ServingImb, workers: list[subprocess.Popen[bytes]]) -> None:
    """The workers first (each finishes its batch on SIGTERM), then the API."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=30)
    server.stop()


def _partners(
    request: pytest.FixtureRequest,
) -> tuple[ImbInstallation, dict[str, tuple[str, str]]]:
    """The installation and its partners, set up only once the test knows it will run."""
    return request.getfixturevalue("installation"), request.getfixturevalue("partnership")


async def _until_delivered(database_url: str, expected: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    query = "SELECT count(*) FROM deliveries WHERE status = 'delivered'"
    while (delivered := (await _rows(database_url, query))[0][0]) < expected:
        assert time.monotonic() < deadline, f"{delivered} of {expected} delivered"
        await asyncio.sleep(0.25)


async def _rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(sql))).all()]
    finally:
        await engine.dispose()


def _last_assignments(log: Path) -> dict[str, str]:
    """Each consumer group's partitions as the process's last rebalance left them."""
    last: dict[str, str] = {}
    for line in log.read_text().splitlines():
        if match := ASSIGNED.search(line):
            last[match["group"]] = match["partitions"]
    return last


async def test_a_relay_process_is_woken_by_the_commit_not_by_its_poll(
    database_url: str, request: pytest.FixtureRequest
) -> None:
    """The API and the relay in separate processes: the relay polls only every 30 s here, yet
    an event is in the inbox within seconds, its two outbox hops each woken by the commit."""
    if is_sqlite(database_url):
        pytest.skip("SQLite serves one process: its relay is woken in memory")
    installation, partnership = _partners(request)
    installation.env["IMB_WORKERS__RELAY_IDLE_SECONDS"] = "30"
    server = installation.serve("--no-workers")
    workers = [installation.worker(name) for name in ("relay", "router", "dispatcher")]
    try:
        async with AsyncImbClient(server.base_url, *partnership[TRUST]) as trust:
            await _until_relay_listens(installation)
            sent = time.monotonic()
            await trust.publish(risk_event(recipients=[COUNCIL]))
            await _until_delivered(installation.database_url, 1, timeout=60)
            took = time.monotonic() - sent
    finally:
        _stop(server, workers)

    assert took < 10, f"{took:.1f} s: the relay waited for its poll"


async def _until_relay_listens(installation: ImbInstallation, timeout: float = 60) -> None:
    """Until the relay process is listening (a fresh process takes a moment to start)."""
    deadline = time.monotonic() + timeout
    query = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
    while not (await _rows(installation.database_url, query))[0][0]:
        assert time.monotonic() < deadline, "the relay never listened"
        await asyncio.sleep(0.2)

"""P2: how long a crisis takes from publish to the recipient's inbox while routine traffic
flows, and how far ahead of a 20,000-event routine backlog it arrives."""

import asyncio
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from bench.estate import Estate, fresh_database, set_up
from bench.load import Api, available, in_batches, routine_event, steady, wait_available
from bench.measure import summary_ms
from broker.db.engine import create_engine
from broker.db.models import Delivery
from tests.world import COUNCIL, HOUSING, TRUST, crisis_event, nhs_numbers_for_testing

BACKGROUND_RATE = 200.0  # routine events a second, unless asked otherwise
CRISIS_EVERY = 0.5  # seconds
# Crises are about other people than the routine traffic: a person's own earlier events are
# decided first by design (docs/performance.md), which is not what this measures.
CRISIS_PEOPLE = nhs_numbers_for_testing(1000)[500:]


def crisis(index: int) -> dict[str, Any]:
    return crisis_event(
        recipients=[COUNCIL, HOUSING],
        subject={"nhs_number": CRISIS_PEOPLE[index % len(CRISIS_PEOPLE)]},
    )


async def under_background(
    estate: Estate, seconds: float, separate: bool, rate: float = BACKGROUND_RATE
) -> dict[str, Any]:
    """Routine events at a steady `rate` a second and a crisis every half second, for
    `seconds`; with `separate`, in production's shape: the API alone, and a relay, a router
    and a dispatcher process beside it."""
    serving = estate.serve("--no-workers") if separate else estate.serve()
    for stage in ("relay", "router", "dispatcher") if separate else ():
        estate.worker(stage)
    try:
        async with Api(serving.base_url, 64) as api:
            auth = await api.bearer(estate.clients[TRUST])
            # One event through first: worker processes join their consumer groups after they
            # start, and the load must not wait for that.
            await api.publish(auth, routine_event(0))
            await wait_available(estate, 2, timeout=120)
            routine, crises = await asyncio.gather(
                steady(api, auth, routine_event, rate, seconds),
                steady(api, auth, crisis, 1 / CRISIS_EVERY, seconds),
            )
            expected = 2 * (len(routine) + len(crises)) + 2
            await wait_available(estate, expected, timeout=600)
    finally:
        estate.stop()
    arrivals = await available(estate)

    def latencies(sent: dict[str, float]) -> list[float]:
        return [at - sent[m] for m, ats in arrivals.items() if m in sent for at in ats]

    return {
        "shape": "API and workers in separate processes" if separate else "one imb serve",
        "routine_rate_per_s": rate,
        "seconds": seconds,
        "crisis_publish_to_inbox_ms": summary_ms(latencies(crises)),
        "routine_publish_to_inbox_ms": summary_ms(latencies(routine)),
    }


async def overtaking(estate: Estate, backlog: int) -> dict[str, Any]:
    """`backlog` routine events published in batches, then one crisis: when it arrived, and
    how much of the backlog had arrived by then."""
    serving = estate.serve()
    try:
        async with Api(serving.base_url, 8) as api:
            auth = await api.bearer(estate.clients[TRUST])
            load = [routine_event(i, recipients=[COUNCIL]) for i in range(backlog)]
            began = time.time()
            await in_batches(api, auth, load, 500, 4)
            queued = time.time() - began
            sent = time.time()
            crisis_id = await api.publish(auth, crisis(0))
            arrived = await _arrival(estate, crisis_id, timeout=300)
            routine_by_then = await _routine_available(estate, before=arrived)
            drained = await wait_available(estate, backlog + 2, timeout=900)
    finally:
        estate.stop()
    return {
        "backlog": backlog,
        "backlog_published_s": round(queued, 1),
        "crisis_publish_to_inbox_ms": round((arrived - sent) * 1000, 1),
        "backlog_available_when_crisis_arrived": routine_by_then,
        "backlog_drained_s_after_crisis": round(drained - sent, 1),
    }


async def _arrival(estate: Estate, message_id: str, timeout: float) -> float:
    """When the first delivery of `message_id` became available (epoch s)."""
    query = select(func.min(Delivery.delivered_at)).where(Delivery.message_id == UUID(message_id))
    engine = create_engine(estate.database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as connection:
                at = (await connection.execute(query)).scalar()
            if at is not None:
                return float(at.timestamp())
            await asyncio.sleep(0.02)
    finally:
        await engine.dispose()
    raise TimeoutError(f"the crisis did not arrive within {timeout:g} s")


async def _routine_available(estate: Estate, before: float) -> int:
    arrivals = await available(estate)
    return sum(1 for ats in arrivals.values() for at in ats if at <= before) - 1


def measure(
    kafka: str,
    folder: Path,
    database: str,
    admin_url: str,
    seconds: float,
    backlog: int,
    rate: float = BACKGROUND_RATE,
) -> dict[str, Any]:
    """Steady load in one `imb serve` and (on PostgreSQL) in separate processes; then the
    backlog (unless `backlog` is 0)."""
    results: dict[str, Any] = {}
    with fresh_database(database, folder, admin_url) as url:
        estate = set_up(folder, url, kafka)
        results["steady"] = asyncio.run(under_background(estate, seconds, False, rate))
    if database != "sqlite":  # SQLite serves one process
        with fresh_database(database, folder, admin_url) as url:
            estate = set_up(folder, url, kafka)
            steady = under_background(estate, seconds, True, rate)
            results["steady_separate_processes"] = asyncio.run(steady)
    if not backlog:
        return results
    with fresh_database(database, folder, admin_url) as url:
        results["backlog"] = asyncio.run(overtaking(set_up(folder, url, kafka), backlog))
    return results

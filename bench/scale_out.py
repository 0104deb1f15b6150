"""P5: routing as the bottleneck, with one router process and then with two.

A backlog of events is accepted and relayed to Kafka with no router running; then the routers
start, and the rate is taken while they drain it (between 10 % and 90 % of it routed, so that
start-up and the group's first rebalance are left out). The API and the relay are separate
processes, stopped once the backlog is on Kafka.
"""

import asyncio
import time
from pathlib import Path
from typing import Any

from bench.estate import Estate, fresh_database, set_up
from bench.load import Api, in_batches, routine_event
from bench.measure import CpuMeter
from tests.world import TRUST

STEADY_FROM, STEADY_TO = 0.1, 0.9


async def _queue(estate: Estate, events: int) -> None:
    serving = estate.serve("--no-workers")
    estate.worker("relay")
    async with Api(serving.base_url, 4) as api:
        auth = await api.bearer(estate.clients[TRUST])
        await in_batches(api, auth, [routine_event(i) for i in range(events)], 500, 2)
    await _until_relayed(estate)
    estate.stop()


async def _until_relayed(estate: Estate, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
    while time.monotonic() < deadline:
        if not await estate.scalar(unpublished):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the relay did not publish the backlog")


async def _routed(estate: Estate) -> int:
    value = await estate.scalar("SELECT count(*) FROM messages WHERE status <> 'accepted'")
    return int(value or 0)


async def _drain(estate: Estate, events: int, routers: int) -> dict[str, Any]:
    processes = [estate.worker("router") for _ in range(routers)]
    meter = CpuMeter({"routers": [p.pid for p in processes]}).start()
    marks: dict[float, float] = {}
    deadline = time.monotonic() + 900
    try:
        while (routed := await _routed(estate)) < events:
            for share in (STEADY_FROM, STEADY_TO):
                if routed >= share * events and share not in marks:
                    marks[share] = time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{routed} of {events} routed")
            await asyncio.sleep(0.05)
        marks.setdefault(STEADY_TO, time.monotonic())
        cpu = meter.stop()
    finally:
        estate.stop()
    steady = (STEADY_TO - STEADY_FROM) * events / (marks[STEADY_TO] - marks[STEADY_FROM])
    return {
        "routers": routers,
        "events_routed_per_s": round(steady, 1),
        "router_cpu_ms_per_event": round(cpu["routers"] * 1000 / events, 2),
        "postgresql_cpu_ms_per_event": round(cpu["postgresql"] * 1000 / events, 2),
    }


def measure(kafka: str, folder: Path, database: str, admin_url: str, events: int) -> dict[str, Any]:
    if database == "sqlite":
        return {"skipped": "SQLite has one writer: scaled-out workers run on PostgreSQL"}
    runs = []
    for routers in (1, 2):
        with fresh_database(database, folder, admin_url) as url:
            estate = set_up(folder, url, kafka)
            asyncio.run(_queue(estate, events))
            runs.append(asyncio.run(_drain(estate, events, routers)))
    one, two = (run["events_routed_per_s"] for run in runs)
    return {
        "events": events,
        "one_router": runs[0],
        "two_routers": runs[1],
        "second_router_adds": round((two - one) / one, 2),
    }

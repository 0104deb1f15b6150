"""Driving IMB's API as fast as asked: single events, batches, at a steady rate or flat out.

aiohttp rather than httpx on the driving side: the load generator shares the machine's two
cores with what it measures, so the cheaper its requests, the more of the machine is IMB's.
"""

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp
from sqlalchemy import select

from bench.estate import Estate
from broker.db.engine import create_engine
from broker.db.models import Delivery
from tests.world import COUNCIL, HOUSING, nhs_numbers_for_testing, risk_event

PEOPLE = nhs_numbers_for_testing(500)


def routine_event(index: int, **overrides: Any) -> dict[str, Any]:
    """A routine risk change to the council and housing, about one of 500 people."""
    fields: dict[str, Any] = {
        "urgency": "routine",
        "recipients": [COUNCIL, HOUSING],
        "subject": {"nhs_number": PEOPLE[index % len(PEOPLE)]},
    }
    return risk_event(**{**fields, **overrides})


class Api:
    def __init__(self, base_url: str, connections: int) -> None:
        connector = aiohttp.TCPConnector(limit=connections, force_close=False)
        self.http = aiohttp.ClientSession(base_url, connector=connector)

    async def __aenter__(self) -> "Api":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.close()

    async def bearer(self, client: tuple[str, str]) -> dict[str, str]:
        auth = aiohttp.BasicAuth(*client)
        async with self.http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=auth
        ) as response:
            body = await response.json()
        return {"Authorization": f"Bearer {body['access_token']}"}

    async def publish(self, auth: dict[str, str], event: dict[str, Any]) -> str:
        async with self.http.post("/v1/events", json=event, headers=auth) as response:
            body = await response.json()
            if response.status != 202:
                raise RuntimeError(f"publish answered {response.status}: {body}")
        message_id: str = body["message_id"]
        return message_id

    async def publish_batch(self, auth: dict[str, str], events: list[dict[str, Any]]) -> list[str]:
        async with self.http.post(
            "/v1/events:batch", json={"events": events}, headers=auth
        ) as response:
            body = await response.json()
            if response.status != 207 or body["refused"]:
                raise RuntimeError(f"batch answered {response.status}: {str(body)[:500]}")
        return [r["message_id"] for r in body["results"]]

    async def get(self, auth: dict[str, str], path: str, **params: Any) -> Any:
        async with self.http.get(path, params=params, headers=auth) as response:
            return await response.json()

    async def post(self, auth: dict[str, str], path: str, body: Any) -> Any:
        async with self.http.post(path, json=body, headers=auth) as response:
            return await response.json()


async def flat_out(
    api: Api, auth: dict[str, str], events: list[dict[str, Any]], concurrency: int
) -> dict[str, float]:
    """Publish every event, `concurrency` at a time; message id → when its POST was sent."""
    sent: dict[str, float] = {}
    queue = iter(events)

    async def publisher() -> None:
        for event in queue:
            started = time.time()
            sent[await api.publish(auth, event)] = started

    await asyncio.gather(*(publisher() for _ in range(concurrency)))
    return sent


async def steady(
    api: Api,
    auth: dict[str, str],
    make: Callable[[int], dict[str, Any]],
    rate: float,
    seconds: float,
) -> dict[str, float]:
    """Publish `rate` events a second for `seconds`, each on time whatever the last took."""
    sent: dict[str, float] = {}
    begin = time.time()
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int) -> None:
        started = time.time()
        sent[await api.publish(auth, make(index))] = started

    for index in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, begin + index / rate - time.time()))
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return sent


async def in_batches(
    api: Api, auth: dict[str, str], events: list[dict[str, Any]], size: int, concurrency: int
) -> dict[str, float]:
    sent: dict[str, float] = {}
    chunks = iter([events[i : i + size] for i in range(0, len(events), size)])

    async def publisher() -> None:
        for chunk in chunks:
            started = time.time()
            for message_id in await api.publish_batch(auth, chunk):
                sent[message_id] = started

    await asyncio.gather(*(publisher() for _ in range(concurrency)))
    return sent


async def available(estate: Estate, message_ids: set[str] | None = None) -> dict[str, list[float]]:
    """Message id → when each of its deliveries became available in an inbox (epoch s)."""
    engine = create_engine(estate.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Delivery.message_id, Delivery.delivered_at).where(
                    Delivery.delivered_at.is_not(None)
                )
            )
            found: dict[str, list[float]] = {}
            for message_id, delivered_at in rows.all():
                key = str(message_id)
                if message_ids is None or key in message_ids:
                    found.setdefault(key, []).append(_epoch(delivered_at))
            return found
    finally:
        await engine.dispose()


def _epoch(at: datetime) -> float:
    return at.timestamp()


async def count_available(estate: Estate) -> int:
    value = await estate.scalar("SELECT count(*) FROM deliveries WHERE delivered_at IS NOT NULL")
    return int(value or 0)


async def wait_available(estate: Estate, expected: int, timeout: float) -> float:
    """Until `expected` deliveries are available (or the timeout); when that was (epoch s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await count_available(estate) >= expected:
            return time.time()
        await asyncio.sleep(0.1)
    raise TimeoutError(f"fewer than {expected} deliveries available after {timeout:g} s")


def new_id() -> str:
    return str(uuid.uuid4())

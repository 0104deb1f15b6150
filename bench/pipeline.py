"""Pipeline benchmark: N events (2 recipients each) through a fresh `imb serve`.

Prints events/s accepted, deliveries/s available in inboxes and publish→inbox latency
percentiles, and, measured in the same run on the same Kafka-protocol broker, a bare aiokafka
produce→consume of N records, with our throughput as a ratio of it.

    python bench/pipeline.py --events 5000 [--database-url postgresql+asyncpg://…]
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from broker.kafka.embedded import EmbeddedKafka
from tests.e2e.processes import ImbInstallation
from tests.world import COUNCIL, HOUSING, TRUST, agreement_body, risk_event

SCOPES = "events:publish inbox:read inbox:ack"


def _setup(imb: ImbInstallation, folder: Path) -> dict[str, tuple[str, str]]:
    imb.run("migrate")
    for code, kind in ((TRUST, "nhs_trust"), (COUNCIL, "local_authority"), (HOUSING, "housing")):
        imb.run("agency", "add", code, "--name", code, "--kind", kind)
        # One client publishes the whole load as fast as it can: far above a partner's default
        # limit, so its agency's limits are raised as an operator would for such a system.
        imb.run("agency", "limits", code, "--publish", "1000/second", "--read", "1000/second")
    partners = [TRUST, COUNCIL, HOUSING]
    (folder / "agreement.json").write_text(json.dumps(agreement_body(partners)))
    imb.agree(folder / "agreement.json", partners)
    return {code: imb.add_client(code, SCOPES) for code in (TRUST, COUNCIL, HOUSING)}


async def _token(http: httpx.AsyncClient, creds: tuple[str, str]) -> dict[str, str]:
    response = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=creds
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _publish_all(
    http: httpx.AsyncClient,
    auth: dict[str, str],
    events: int,
    concurrency: int,
    rate: float | None,
) -> tuple[dict[str, float], float]:
    """As fast as `concurrency` publishers can, or at a steady `rate` of events per second."""
    sent_at: dict[str, float] = {}
    queue = iter(range(events))
    begin_wall = time.time()

    async def worker() -> None:
        for index in queue:
            if rate:
                await asyncio.sleep(max(0.0, begin_wall + index / rate - time.time()))
            started = time.time()
            response = await http.post(
                "/v1/events", json=risk_event(recipients=[COUNCIL, HOUSING]), headers=auth
            )
            assert response.status_code == 202, response.text
            sent_at[response.json()["message_id"]] = started

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent_at, time.perf_counter() - begin


async def _inbox(http: httpx.AsyncClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/v1/inbox", params=params, headers=auth)).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def _wait_for_inboxes(
    http: httpx.AsyncClient, auths: list[dict[str, str]], expected: int, timeout: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        items = [i for auth in auths for i in await _inbox(http, auth)]
        if len(items) >= expected or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.5)


async def bare_kafka(bootstrap: str, records: int, size: int) -> float:
    """Records per second for a produce→consume of `records` records of `size` bytes."""
    topic = f"bench-bare-{uuid.uuid4().hex[:8]}"
    value = b"x" * size
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest"
    )
    await producer.start()
    await consumer.start()
    try:
        begin = time.perf_counter()
        sends = [
            await producer.send(topic, value, key=str(i % 64).encode()) for i in range(records)
        ]
        await asyncio.gather(*sends)
        seen = 0
        while seen < records:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(r) for r in batch.values())
        return records / (time.perf_counter() - begin)
    finally:
        await producer.stop()
        await consumer.stop()


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder, EmbeddedKafka() as kafka:
        workdir = Path(folder)
        database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'imb.db'}"
        imb = ImbInstallation(workdir / "imb-data", database_url, kafka.bootstrap_servers)
        creds = _setup(imb, workdir)
        server = imb.serve()
        try:
            limits = httpx.Limits(max_connections=args.concurrency)
            async with httpx.AsyncClient(
                base_url=server.base_url, timeout=60, limits=limits
            ) as http:
                auth = {code: await _token(http, c) for code, c in creds.items()}
                sent_at, accept_seconds = await _publish_all(
                    http, auth[TRUST], args.events, args.concurrency, args.rate
                )
                items = await _wait_for_inboxes(
                    http, [auth[COUNCIL], auth[HOUSING]], 2 * args.events, args.timeout
                )
        finally:
            server.stop()
        bare = await bare_kafka(kafka.bootstrap_servers, args.events, args.record_size)
    _report(args, sent_at, accept_seconds, items, bare, database_url)


def _report(
    args: argparse.Namespace,
    sent_at: dict[str, float],
    accept_seconds: float,
    items: list[dict[str, Any]],
    bare: float,
    database_url: str,
) -> None:
    latencies = [
        datetime.fromisoformat(i["delivered_at"]).timestamp() - sent_at[i["message_id"]]
        for i in items
    ]
    first = min(sent_at.values())
    last = max(datetime.fromisoformat(i["delivered_at"]).timestamp() for i in items)
    deliveries_per_second = len(items) / (last - first)
    print(f"database            {database_url.split(':')[0]}")
    print(
        f"load                {f'{args.rate:g} events/s' if args.rate else 'as fast as possible'}"
    )
    print(f"events              {args.events} ({len(items)}/{2 * args.events} deliveries arrived)")
    print(f"accepted            {args.events / accept_seconds:8.1f} events/s")
    print(f"available in inbox  {deliveries_per_second:8.1f} deliveries/s")
    for q in (50, 95, 99):
        print(f"publish→inbox p{q}   {_percentile(latencies, q) * 1000:8.1f} ms")
    print(f"bare aiokafka       {bare:8.1f} records/s produce→consume, same broker")
    print(
        f"ratio               {deliveries_per_second / bare:8.3f} (deliveries/s ÷ bare records/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=None, help="steady events/s (default: max)")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--record-size", type=int, default=1200, help="bare Kafka record bytes")
    parser.add_argument("--timeout", type=float, default=600.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
